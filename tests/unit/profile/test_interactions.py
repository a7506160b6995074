"""Pair binning, samples and filters on the engine, checked against numpy and pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipeline.errors import DataError
from pipeline.profile.interactions import (
    OTHER_LABEL,
    Filter,
    apply_filters,
    binned_pairs,
    filter_from_selection,
    filter_step_params,
    sample_rows,
)


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 2_000
    x = rng.normal(size=n)
    x[:7] = np.nan
    x[7] = np.inf
    return pd.DataFrame(
        {
            "x": x,
            "y": rng.uniform(0, 10, n),
            "c": rng.integers(0, 100, n).astype("float64"),
            "kind": pd.Series(rng.choice(list("abcdefg"), n), dtype="str"),
            "when": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 86_400 * 30, n), unit="s"),
            "flag": rng.uniform(size=n) < 0.5,
        }
    )


def test_binned_counts_match_numpy_histogram2d(cpu, table):
    binned = binned_pairs(cpu, table, "x", "y", bins=10)
    finite = np.isfinite(table["x"])
    assert binned["count"].sum() == finite.sum()
    x, y = table.loc[finite, "x"], table.loc[finite, "y"]
    expected, _, _ = np.histogram2d(x, y, bins=10, range=[[x.min(), x.max()], [y.min(), y.max()]])
    assert sorted(binned["count"].tolist()) == sorted(int(v) for v in expected.ravel() if v)
    assert len(binned) <= 100


def test_colour_is_the_mean_per_cell(cpu, table):
    binned = binned_pairs(cpu, table, "kind", "flag", colour="c")
    expected = table.groupby(["kind", "flag"])["c"].mean()
    for row in binned.itertuples(index=False):
        assert row[-1] == pytest.approx(expected[(row[0], row[1] == "True")])


def test_text_axis_keeps_the_top_values_and_lumps_the_rest(cpu, table):
    binned = binned_pairs(cpu, table, "kind", "y", bins=5, top=3)
    top = table["kind"].value_counts().index[:3]
    assert set(binned["kind"]) == {*top, OTHER_LABEL}
    assert binned["count"].sum() == len(table)


def test_time_axis_is_labelled_with_times_in_the_column_zone(cpu, table):
    binned = binned_pairs(cpu, table, "when", "y", bins=6)
    assert str(binned["when"].dt.tz) == "UTC"
    assert binned["when"].min() == table["when"].min()
    assert binned["count"].sum() == len(table)


def test_pairs_refuse_bad_choices(cpu, table):
    with pytest.raises(DataError, match="two different"):
        binned_pairs(cpu, table, "x", "x")
    with pytest.raises(DataError, match="No column 'nope'"):
        binned_pairs(cpu, table, "x", "nope")
    with pytest.raises(DataError, match="not numeric"):
        binned_pairs(cpu, table, "x", "y", colour="kind")


def test_sample_rows_is_bounded_and_keeps_columns(cpu, table):
    sample = sample_rows(cpu, table, ["x", "kind", "x"], rows=100)
    assert list(sample.columns) == ["x", "kind"] and len(sample) == 100
    assert len(sample_rows(cpu, table.head(10), ["x"])) == 10
    with pytest.raises(DataError, match="between 1 and 5,000"):
        sample_rows(cpu, table, ["x"], rows=10_000)


def test_filters_combine_on_the_engine(cpu, table):
    rules = [
        Filter("y", low=2.0, high=5.0),
        Filter("kind", values=("a", "b")),
        Filter("when", low=pd.Timestamp("2024-01-05", tz="UTC"), high=pd.Timestamp("2024-01-20", tz="UTC")),
    ]
    kept = apply_filters(table, rules)
    expected = table[
        table["y"].between(2, 5)
        & table["kind"].isin(["a", "b"])
        & table["when"].between(pd.Timestamp("2024-01-05", tz="UTC"), pd.Timestamp("2024-01-20", tz="UTC"))
    ]
    assert kept.index.tolist() == expected.index.tolist()
    assert apply_filters(table, []) is table
    assert len(apply_filters(table, [Filter("x", low=-1.0, high=1.0)])) == table["x"].between(-1, 1).sum()


def test_the_filters_become_a_pipeline_step_that_keeps_the_same_rows(cpu, table):
    from pipeline.steps.runner import check_recipe, run_recipe
    from pipeline.steps.spec import Recipe, Step
    from pipeline.tables.column_kinds import column_kind

    rules = [
        Filter("y", low=np.float64(2.0), high=np.float64(5.0)),
        Filter("kind", values=("a", "b")),
        Filter("flag", values=("True",)),
        Filter("when", low=pd.Timestamp("2024-01-05", tz="UTC"), high=pd.Timestamp("2024-01-20", tz="UTC")),
    ]
    kinds = {name: column_kind(table[name].dtype) for name in table.columns}
    step = Step("filter", filter_step_params(rules, kinds))
    steps = check_recipe(Recipe((step,)), table, cpu)
    result = run_recipe(steps, table, cpu)
    assert result.ok, result.error
    assert result.frame.index.tolist() == apply_filters(table, rules).index.tolist()


def test_filters_refuse_the_wrong_kind(cpu, table):
    with pytest.raises(DataError, match="by a range"):
        apply_filters(table, [Filter("kind", low=1, high=2)])
    with pytest.raises(DataError, match="by values"):
        apply_filters(table, [Filter("x", values=("1",))])


def test_chart_selections_become_filters(table):
    assert filter_from_selection(table, "y", {"start": [5.0, 2.0]}) == Filter("y", low=2.0, high=5.0)
    picked = filter_from_selection(table, "kind", [{"value": "a"}, {"value": "c"}])
    assert picked == Filter("kind", values=("a", "c"))
    ms = pd.Timestamp("2024-01-02", tz="UTC").value // 10**6
    timed = filter_from_selection(table, "when", {"start": [ms, ms + 86_400_000]})
    assert timed.low == pd.Timestamp("2024-01-02", tz="UTC")
    assert timed.high == pd.Timestamp("2024-01-03", tz="UTC")
    assert filter_from_selection(table, "y", {}) is None
    assert filter_from_selection(table, "kind", []) is None
    assert filter_from_selection(table, "y", [{"value": "a"}]) is None


@pytest.mark.gpu
def test_gpu_binning_and_filters_match_cpu(cpu, gpu, table):
    device = gpu.frames.from_pandas(table)
    for x, y, colour in (("x", "y", "c"), ("kind", "when", None), ("flag", "x", "y")):
        on_cpu = binned_pairs(cpu, table, x, y, colour).sort_values([x, y]).reset_index(drop=True)
        on_gpu = binned_pairs(gpu, device, x, y, colour).sort_values([x, y]).reset_index(drop=True)
        pd.testing.assert_frame_equal(on_cpu, on_gpu, check_dtype=False, rtol=1e-9)
    rules = [Filter("y", low=2.0, high=5.0), Filter("kind", values=("a", "b"))]
    assert len(apply_filters(device, rules)) == len(apply_filters(table, rules))


def test_box_stats_match_pandas_quantiles_per_category(cpu, table):
    from pipeline.profile.interactions import box_stats

    stats = box_stats(cpu, table, "kind", "y").set_index("category")
    expected = table.groupby("kind")["y"]
    for kind in stats.index:
        assert stats.loc[kind, "median"] == pytest.approx(expected.median()[kind])
        assert stats.loc[kind, "q1"] == pytest.approx(expected.quantile(0.25)[kind])
        assert stats.loc[kind, "count"] == expected.count()[kind]
    assert list(stats["count"]) == sorted(stats["count"], reverse=True)
    with pytest.raises(DataError, match="not numeric"):
        box_stats(cpu, table, "kind", "kind")


@pytest.mark.gpu
def test_gpu_box_stats_match_cpu(cpu, gpu, table):
    from pipeline.profile.interactions import box_stats

    on_gpu = box_stats(gpu, gpu.from_arrow(pa.Table.from_pandas(table, preserve_index=False)), "flag", "y")
    pd.testing.assert_frame_equal(on_gpu, box_stats(cpu, table, "flag", "y"), check_dtype=False, rtol=1e-9)
