"""Properties every step keeps on random small frames (hypothesis), whatever the values and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import StandardScaler

from pipeline.engines import get_engine
from pipeline.steps.runner import check_recipe, run_recipe
from pipeline.steps.spec import Recipe, Step
from pipeline.tables.random_streams import CounterRandom

CPU = get_engine("cpu")
values = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))
labels = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]))


@st.composite
def frames(draw) -> pd.DataFrame:
    rows = draw(st.integers(1, 40))
    x = draw(st.lists(values, min_size=rows, max_size=rows))
    y = draw(st.lists(values, min_size=rows, max_size=rows))
    k = draw(st.lists(labels, min_size=rows, max_size=rows))
    return pd.DataFrame(
        {"x": pd.Series(x, dtype="float64"), "y": pd.Series(y, dtype="float64"), "k": pd.Series(k, dtype="str")}
    )


def run(frame: pd.DataFrame, *steps: Step) -> pd.DataFrame:
    result = run_recipe(check_recipe(Recipe(steps), frame, CPU), frame, CPU)
    assert result.ok, result.error
    return result.frame


common = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(frames(), st.floats(-1e6, 1e6, allow_nan=False))
def test_filter_keeps_exactly_the_rows_that_pass(frame, threshold):
    kept = run(frame, Step("filter", {"conditions": [{"column": "x", "op": ">", "value": threshold}]}))
    assert (kept["x"] > threshold).all()
    assert len(kept) == int((frame["x"] > threshold).sum())


@common
@given(frames())
def test_drop_missing_leaves_no_gaps_and_keeps_complete_rows(frame):
    kept = run(frame, Step("drop_missing", {"columns": ["x", "k"]}))
    assert not kept[["x", "k"]].isna().any().any()
    assert len(kept) == int(frame[["x", "k"]].notna().all(axis=1).sum())


@common
@given(frames(), st.sampled_from(["mean", "median", "mode", "constant"]))
def test_fill_leaves_no_gaps_where_a_value_exists(frame, method):
    params = {"columns": ["x"], "method": method, **({"value": 0.0} if method == "constant" else {})}
    filled = run(frame, Step("fill_missing", params))
    if frame["x"].notna().any() or method == "constant":
        assert filled["x"].notna().all()
    assert filled["x"][frame["x"].notna()].equals(frame["x"][frame["x"].notna()])


CONSTANT_ROUNDED = pd.DataFrame(  # hypothesis found it under make mutation: the mean is 2.7e-48 off, as is the spread
    {
        "x": [1.765522e-32] * 3,
        "y": pd.Series([None] * 3, dtype="float64"),
        "k": pd.Series([None] * 3, dtype="str"),
    }
)
TINY_SPREAD = pd.DataFrame(
    {
        "x": [0.0, 9.696338e-279],
        "y": pd.Series([None, None], dtype="float64"),
        "k": pd.Series([None, None], dtype="str"),
    }
)


@common
@given(frames())
@example(TINY_SPREAD)
@example(CONSTANT_ROUNDED)
def test_standard_scaling_centres_and_scales(frame):
    scaled = run(frame, Step("scale", {"columns": ["x"], "method": "standard"}))["x"].dropna()
    values = frame["x"].dropna()
    if values.empty:
        assert scaled.empty
    elif StandardScaler().fit(values.to_frame()).scale_[0] != 1.0:
        assert abs(scaled.mean()) < 1e-6
        assert abs(scaled.std(ddof=0) - 1) < 1e-6
    else:  # constant (to rounding of its mean), or a spread whose square underflows: centred only, as scikit-learn
        assert np.allclose(scaled, values - values.mean(), rtol=0, atol=1e-300)


@common
@given(frames(), st.integers(2, 6))
def test_quantile_bins_are_in_range_and_follow_the_values(frame, bins):
    result = run(frame, Step("quantile_bin", {"column": "x", "bins": bins}))
    present = result[result["x"].notna()]
    codes = present["x_bin"].astype("int64")
    assert codes.between(0, bins - 1).all()
    ordered = present.assign(code=codes).sort_values("x")
    assert ordered["code"].is_monotonic_increasing
    assert result["x_bin"][result["x"].isna()].isna().all()


@common
@given(frames())
def test_one_hot_marks_one_level_per_present_value(frame):
    encoded = run(frame, Step("one_hot", {"column": "k", "max_levels": 10}))
    indicators = encoded[[c for c in encoded.columns if c.startswith("k=")]]
    sums = indicators.sum(axis=1) if len(indicators.columns) else pd.Series(0, index=encoded.index)
    assert (sums == frame["k"].notna().astype(int)).all()


@common
@given(frames(), st.floats(0.01, 1.0), st.integers(0, 2**32 - 1))
def test_sample_is_a_repeatable_subset(frame, fraction, seed):
    step = Step("sample", {"fraction": fraction, "seed": seed})
    first, second = run(frame, step), run(frame, step)
    assert first.index.equals(second.index)
    picked = CounterRandom(np, seed, len(frame)).uniform(0) < fraction  # the numbers every engine draws
    assert first.index.equals(frame.index[picked])
    pd.testing.assert_frame_equal(first, frame.loc[first.index])


@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.95])
def test_a_sample_keeps_its_fraction_of_the_rows(fraction):
    frame = pd.DataFrame({"id": np.arange(2_000), "x": np.arange(2_000) * 0.5})
    kept = run(frame, Step("sample", {"fraction": fraction, "seed": 5}))
    spread = (len(frame) * fraction * (1 - fraction)) ** 0.5
    assert abs(len(kept) - fraction * len(frame)) < 3 * spread
    assert len(kept) < len(frame) and kept.index.is_unique
    pd.testing.assert_frame_equal(kept, frame.loc[kept.index])


@common
@given(frames())
def test_group_counts_add_up(frame):
    grouped = run(frame, Step("group_aggregate", {"by": ["k"], "aggregations": [{"column": "x", "function": "count"}]}))
    assert grouped["x_count"].sum() == int(frame.loc[frame["k"].notna(), "x"].notna().sum())


@common
@given(frames())
def test_recipes_survive_a_json_round_trip(frame):
    recipe = Recipe(
        (
            Step("filter", {"conditions": [{"column": "k", "op": "in", "value": ["a", "b"]}], "combine": "or"}),
            Step("fill_missing", {"columns": ["y"], "method": "constant", "value": -1.0}),
        )
    )
    again = Recipe.from_json(recipe.to_json())
    left, right = run(frame, *recipe.steps), run(frame, *again.steps)
    pd.testing.assert_frame_equal(left, right)
    assert np.isfinite(left["y"]).all()
