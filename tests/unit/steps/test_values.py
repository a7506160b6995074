"""The value steps' checks (defaults, limits, the messages a user reads), results against pandas, sizes and
descriptions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

import pipeline.steps.library  # noqa: F401  (registers every step kind)
from pipeline.budget import gib
from pipeline.engines import CpuEngine
from pipeline.errors import DataError
from pipeline.steps.params import MAX_TEXT_LENGTH
from pipeline.steps.spec import STEP_KINDS, Context, Schema, Step, apply_step, checked
from tests.support.engines import TwoPartEngine

FRAME = pd.DataFrame(
    {
        "id": [1, 2, 3, 4, 5],
        "x": [1.0, np.nan, 4.0, 2.0, 4.0],
        "n": [10, 20, 30, 40, 60],
        "city": pd.Series(["Oslo", None, "Rome", "Lima", None], dtype="str"),
        "when": pd.to_datetime(["2024-01-31 08:15", "2023-02-28 13:45", None, "2024-12-01 23:00", "2022-07-04 00:00"]),
    }
)
SCHEMA = Schema.of(FRAME)
CPU = Context(CpuEngine())


def check(kind: str, params: dict) -> dict:
    return dict(checked(Step(kind, params), SCHEMA).params)


def refusal(kind: str, params: dict, frame: pd.DataFrame = FRAME) -> str:
    with pytest.raises(DataError) as raised:
        checked(Step(kind, params), Schema.of(frame))
    return str(raised.value)


def apply(kind: str, params: dict, frame: pd.DataFrame = FRAME, engine=None) -> pd.DataFrame:
    context = CPU if engine is None else Context(engine)
    return apply_step(checked(Step(kind, params), Schema.of(frame)), frame, context)


def output_size(kind: str, params: dict, frame: pd.DataFrame = FRAME) -> tuple[int, str]:
    step = checked(Step(kind, params), Schema.of(frame))
    return STEP_KINDS[kind].output_size(frame, dict(step.params), CPU)


def test_a_fill_is_a_constant_unless_told_and_names_its_methods():
    assert check("fill_missing", {"columns": ["x"], "value": 0}) == {"columns": ["x"], "method": "constant", "value": 0}
    assert check("fill_missing", {"columns": ["x"], "method": "mean", "value": 0}) == {
        "columns": ["x"],
        "method": "mean",
    }
    assert refusal("fill_missing", {"columns": ["x"], "method": "zero"}) == (
        "method must be one of constant, mean, median, mode, forward; got 'zero'."
    )
    assert refusal("fill_missing", {"columns": ["x"]}) == "None does not fit 'x', a numeric column: give a number."


@pytest.mark.parametrize("method", ["mean", "median"])
def test_a_mean_or_median_fills_numbers_only(method):
    assert refusal("fill_missing", {"columns": ["city"], "method": method}) == (
        "'city' is text; this step needs a numeric column."
    )


@pytest.mark.parametrize("method", ["mode", "forward"])
def test_a_mode_or_forward_fill_takes_any_column(method):
    assert check("fill_missing", {"columns": ["city", "x", "when"], "method": method})["columns"] == [
        "city",
        "x",
        "when",
    ]


def test_a_constant_fills_one_kind_of_column_with_a_value_of_that_kind():
    assert refusal("fill_missing", {"columns": ["x", "city"], "value": 0}) == (
        "A constant fills columns of one kind at a time; split this step by column kind."
    )
    assert check("fill_missing", {"columns": ["x", "n"], "value": 0})["value"] == 0
    assert refusal("fill_missing", {"columns": ["city"], "value": 0}) == (
        "0 does not fit 'city', a text column: give a text value."
    )


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("mean", FRAME["x"].fillna(FRAME["x"].mean())),
        ("median", FRAME["x"].fillna(FRAME["x"].median())),
        ("mode", FRAME["x"].fillna(4.0)),
        ("forward", FRAME["x"].ffill()),
        ("constant", FRAME["x"].fillna(-1.0)),
    ],
)
def test_each_fill_fills_as_pandas_does(method, expected):
    filled = apply("fill_missing", {"columns": ["x"], "method": method, "value": -1.0})
    pd.testing.assert_series_equal(filled["x"], expected)
    pd.testing.assert_frame_equal(filled.drop(columns="x"), FRAME.drop(columns="x"))


def test_a_mode_leaves_an_all_missing_column_as_it_is_and_fills_the_others():
    frame = pd.DataFrame({"gone": [np.nan, np.nan, np.nan], "y": [2.0, np.nan, 2.0]})
    filled = apply("fill_missing", {"columns": ["gone", "y"], "method": "mode"}, frame)
    assert filled["gone"].isna().all() and filled["y"].tolist() == [2.0, 2.0, 2.0]


def test_a_forward_fill_fills_every_column_chosen():
    filled = apply("fill_missing", {"columns": ["x", "city"], "method": "forward"})
    assert filled["x"].tolist() == [1.0, 1.0, 4.0, 2.0, 4.0]
    assert filled["city"].tolist() == ["Oslo", "Oslo", "Rome", "Lima", "Lima"]


def test_a_constant_text_grows_the_table_by_its_bytes_in_every_missing_cell():
    size = CpuEngine.frame_nbytes(FRAME)
    assert output_size("fill_missing", {"columns": ["city"], "value": "é?"}) == (
        size + 2 * 3,
        "2 cells of 2 characters",
    )
    assert output_size("fill_missing", {"columns": ["x"], "value": 0.0}) == (size, "the same table")
    assert output_size("fill_missing", {"columns": ["city"], "method": "mode"}) == (size, "the same table")


def test_a_thousand_missing_cells_are_counted_with_a_separator():
    frame = pd.DataFrame({"t": pd.Series([None] * 1_500, dtype="str")})
    made, what = output_size("fill_missing", {"columns": ["t"], "value": "ab"}, frame)
    assert (made, what) == (CpuEngine.frame_nbytes(frame) + 3_000, "1,500 cells of 2 characters")


def test_date_parts_are_year_month_and_weekday_unless_told():
    assert check("datetime_parts", {"column": "when"}) == {"column": "when", "parts": ["year", "month", "weekday"]}
    assert check("datetime_parts", {"column": "when", "parts": ["day", "hour", "day"]})["parts"] == ["day", "hour"]
    for parts in ([], "year", ["year", "second"]):
        assert refusal("datetime_parts", {"column": "when", "parts": parts}) == (
            f"parts must be a list drawn from year, month, day, weekday, hour, minute; got {parts!r}."
        )
    assert refusal("datetime_parts", {"column": "x"}) == "'x' is numeric; this step needs a datetime column."


def test_date_parts_refuse_names_taken():
    frame = FRAME.assign(when_year=1, when_day=2)
    assert refusal("datetime_parts", {"column": "when", "parts": ["year", "month", "day"]}, frame) == (
        "Columns when_year, when_day exist already; rename or drop them first."
    )


def test_date_parts_are_pandas_parts():
    parts = ["year", "month", "day", "weekday", "hour", "minute"]
    result = apply("datetime_parts", {"column": "when", "parts": parts})
    assert list(result.columns) == [*FRAME.columns, *(f"when_{part}" for part in parts)]
    for part in parts:
        pd.testing.assert_series_equal(result[f"when_{part}"], getattr(FRAME["when"].dt, part), check_names=False)


def test_a_text_operation_names_its_operations():
    assert refusal("string", {"column": "city", "op": "title"}) == (
        "op must be one of lower, upper, strip, length, contains, replace; got 'title'."
    )
    assert refusal("string", {"column": "x", "op": "lower"}) == "'x' is numeric; this step needs a text column."


@pytest.mark.parametrize(
    ("op", "extra", "output"),
    [
        ("lower", {}, "city"),
        ("upper", {}, "city"),
        ("strip", {}, "city"),
        ("replace", {"pattern": "o", "replacement": "0"}, "city"),
        ("length", {}, "city_length"),
        ("contains", {"pattern": "o"}, "city_contains"),
    ],
)
def test_a_text_operation_writes_to_its_column_or_a_new_one_unless_told(op, extra, output):
    assert check("string", {"column": "city", "op": op, **extra})["output"] == output
    assert check("string", {"column": "city", "op": op, "output": "out", **extra})["output"] == "out"
    assert check("string", {"column": "city", "op": op, "output": "city", **extra})["output"] == "city"
    assert refusal("string", {"column": "city", "op": op, "output": "x", **extra}) == (
        "A column called 'x' exists already; choose another name for the new one."
    )


def test_replace_and_contains_need_a_pattern_and_replace_takes_text_up_to_the_limit():
    assert check("string", {"column": "city", "op": "replace", "pattern": "o"}) == {
        "column": "city",
        "op": "replace",
        "pattern": "o",
        "replacement": "",
        "output": "city",
    }
    assert check("string", {"column": "city", "op": "lower", "pattern": "o"}) == {
        "column": "city",
        "op": "lower",
        "output": "city",
    }
    assert check("string", {"column": "city", "op": "contains", "pattern": "o"})["pattern"] == "o"
    assert refusal("string", {"column": "city", "op": "contains"}) == "pattern must be a non-empty name; got None."
    assert refusal("string", {"column": "city", "op": "replace"}) == "pattern must be a non-empty name; got None."
    assert refusal("string", {"column": "city", "op": "replace", "pattern": "o", "replacement": 0}) == (
        "replacement must be text; got 0."
    )
    at_limit = {"column": "city", "op": "replace", "pattern": "o", "replacement": "r" * MAX_TEXT_LENGTH}
    assert check("string", at_limit)["replacement"] == "r" * MAX_TEXT_LENGTH
    assert refusal("string", {**at_limit, "replacement": "r" * (MAX_TEXT_LENGTH + 1)}) == (
        "replacement is 1,001 characters long; a step takes at most 1,000."
    )


def test_a_replacement_longer_than_its_pattern_grows_the_text_by_their_ratio():
    size, text = CpuEngine.frame_nbytes(FRAME), CpuEngine.frame_nbytes(FRAME[["city"]])
    longer = output_size("string", {"column": "city", "op": "replace", "pattern": "ab", "replacement": "abcde"})
    assert longer == (int(size + text * 2.5), f"a text column of up to {gib(text * 2.5)}")
    shorter = output_size("string", {"column": "city", "op": "replace", "pattern": "abc", "replacement": "a"})
    assert shorter == (size + text, f"a text column of up to {gib(text)}")
    assert output_size("string", {"column": "city", "op": "contains", "pattern": "a"}) == shorter
    assert output_size("string", {"column": "city", "op": "upper"}) == shorter


def test_a_replacement_a_thousand_times_its_pattern_says_how_large_its_column_may_grow():
    frame = pd.DataFrame({"t": pd.Series(["a" * 100] * 2_000, dtype="str")})
    text = CpuEngine.frame_nbytes(frame[["t"]])
    made, what = output_size(
        "string", {"column": "t", "op": "replace", "pattern": "a", "replacement": "b" * 1_000}, frame
    )
    assert (made, what) == (
        int(CpuEngine.frame_nbytes(frame) + text * 1_000),
        f"a text column of up to {gib(text * 1_000)}",
    )
    assert what != "a text column of up to 0.00 GiB"


def test_text_operations_on_categories_and_python_objects_work_on_their_labels():
    frame = pd.DataFrame({"c": pd.Categorical(["Ab", "ab", None]), "o": pd.Series(["Ab", 1, None], dtype=object)})
    lowered = apply("string", {"column": "c", "op": "lower", "output": "low"}, frame)["low"]
    assert lowered.tolist()[:2] == ["ab", "ab"]
    assert apply("string", {"column": "o", "op": "length"}, frame)["o_length"].tolist()[:2] == [2, 1]
    numbered = pd.DataFrame({"c": pd.Categorical([10, 2, 10])})  # categories of numbers are text to a step
    assert apply("string", {"column": "c", "op": "length"}, numbered)["c_length"].tolist() == [2, 1, 2]


def test_a_text_operation_keeps_a_text_columns_own_type_and_its_missing_values():
    frame = pd.DataFrame({"t": pd.Series(["Ab", None], dtype="string")})  # pandas' text type that holds pd.NA
    lowered = apply("string", {"column": "t", "op": "lower"}, frame)["t"]
    assert lowered.dtype == "string" and lowered[0] == "ab" and lowered[1] is pd.NA


def test_replace_and_contains_are_literal():
    frame = pd.DataFrame({"t": pd.Series(["a.b", "axb"], dtype="str")})
    assert apply("string", {"column": "t", "op": "replace", "pattern": ".", "replacement": "-"}, frame)[
        "t"
    ].tolist() == ["a-b", "axb"]
    assert apply("string", {"column": "t", "op": "contains", "pattern": "."}, frame)["t_contains"].tolist() == [
        True,
        False,
    ]
    assert apply("string", {"column": "t", "op": "replace", "pattern": "b"}, frame)["t"].tolist() == ["a.", "ax"]


def test_log1p_takes_numbers_above_minus_one():
    assert check("log1p", {"columns": ["x", "n"]}) == {"columns": ["x", "n"]}
    assert refusal("log1p", {"columns": ["city"]}) == "'city' is text; this step needs a numeric column."
    near = pd.DataFrame({"v": [-0.5, 0.0, 3.0], "w": [1, 2, 3]})
    result = apply("log1p", {"columns": ["v", "w"]}, near)
    np.testing.assert_allclose(result["v"], np.log1p(near["v"]))
    np.testing.assert_allclose(result["w"], np.log1p(near["w"].astype("float64")))
    at_minus_one = pd.DataFrame({"v": [-1.0, 0.0]})
    with pytest.raises(DataError) as raised:
        apply("log1p", {"columns": ["v"]}, at_minus_one)
    assert str(raised.value) == "log1p needs values above -1; 'v' has smaller ones. Clip or shift it first."


def test_scaling_is_standard_unless_told():
    assert check("scale", {"columns": ["x"]}) == {"columns": ["x"], "method": "standard"}
    assert refusal("scale", {"columns": ["x"], "method": "zscore"}) == (
        "method must be one of standard, minmax, robust; got 'zscore'."
    )
    values = FRAME["n"].astype("float64")
    scaled = apply("scale", {"columns": ["n"]})["n"]
    pd.testing.assert_series_equal(scaled, (values - values.mean()) / values.std(ddof=0))


@pytest.mark.parametrize(
    ("constant", "rows"), [(0.1, 3), (-0.1, 3), (123456.789, 5), (-123456.789, 5), (7.7, 7)], ids=str
)
def test_standard_scaling_centres_a_constant_whose_mean_rounds_off_as_scikit_learn(constant, rows):
    """The mean of 0.1 three times is 1.4e-17 off and the deviation as large: scaled, every value would be ±1."""
    frame = pd.DataFrame({"v": [constant] * rows})
    assert frame["v"].std(ddof=0) > 0
    scaled = apply("scale", {"columns": ["v"]}, frame)["v"]
    assert scaled.tolist() == StandardScaler().fit_transform(frame[["v"]]).ravel().tolist()
    assert scaled.abs().max() < 1e-10


def test_standard_scaling_scales_a_column_that_varies_a_little_around_a_large_mean():
    frame = pd.DataFrame({"v": [1e6, 1e6 + 1e-3, 1e6 + 2e-3]})
    scaled = apply("scale", {"columns": ["v"]}, frame)["v"]
    np.testing.assert_allclose(scaled, StandardScaler().fit_transform(frame[["v"]]).ravel(), atol=1e-6)
    assert scaled.std(ddof=0) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("method", "scaler"), [("minmax", MinMaxScaler), ("robust", RobustScaler)], ids=["minmax", "robust"]
)
def test_a_spread_of_one_rounding_step_is_scaled_as_scikit_learn_scales_it(method, scaler):
    """Values one float apart near a million (1.2e-10): a spread, not rounding; only the standard deviation has a
    mean whose rounding it could be."""
    step = np.spacing(1e6)
    frame = pd.DataFrame({"v": [1e6, 1e6, 1e6 + step, 1e6 + step]})
    scaled = apply("scale", {"columns": ["v"], "method": method}, frame)["v"]
    assert scaled.tolist() == scaler().fit_transform(frame[["v"]]).ravel().tolist()
    assert scaled.max() - scaled.min() >= 1.0


def test_robust_scaling_uses_the_median_and_the_interquartile_range():
    values = FRAME["n"].astype("float64")
    scaled = apply("scale", {"columns": ["n"], "method": "robust"})["n"]
    expected = (values - values.quantile(0.5)) / (values.quantile(0.75) - values.quantile(0.25))
    pd.testing.assert_series_equal(scaled, expected)


def test_robust_scaling_of_a_column_with_no_interquartile_range_centres_it_as_scikit_learn():
    frame = pd.DataFrame({"v": [1.0, 1.0, 1.0, 1.0, 5.0]})
    scaled = apply("scale", {"columns": ["v"], "method": "robust"}, frame)["v"]
    assert scaled.tolist() == RobustScaler().fit_transform(frame[["v"]]).ravel().tolist() == [0.0, 0.0, 0.0, 0.0, 4.0]


def test_clipping_is_to_the_1st_and_99th_percentiles_unless_told():
    assert check("clip", {"columns": ["x"]}) == {"columns": ["x"], "lower": 0.01, "upper": 0.99}
    assert check("clip", {"columns": ["x"], "lower": 0.0, "upper": 0.5}) == {
        "columns": ["x"],
        "lower": 0.0,
        "upper": 0.5,
    }
    assert check("clip", {"columns": ["x"], "lower": 0.5, "upper": 1.0})["upper"] == 1.0
    assert refusal("clip", {"columns": ["x"], "lower": 0.51}) == "lower must be between 0 and 0.5; got 0.51."
    assert refusal("clip", {"columns": ["x"], "upper": 0.49}) == "upper must be between 0.5 and 1; got 0.49."
    assert refusal("clip", {"columns": ["city"]}) == "'city' is text; this step needs a numeric column."
    values = FRAME["n"]
    clipped = apply("clip", {"columns": ["n"]})["n"]
    pd.testing.assert_series_equal(clipped, values.clip(values.quantile(0.01), values.quantile(0.99)))


def test_quantile_bins_are_four_in_a_column_named_after_the_input_unless_told():
    assert check("quantile_bin", {"column": "x"}) == {"column": "x", "bins": 4, "output": "x_bin"}
    assert check("quantile_bin", {"column": "x", "bins": 2, "output": "b"})["bins"] == 2
    assert check("quantile_bin", {"column": "x", "bins": 100})["bins"] == 100
    assert refusal("quantile_bin", {"column": "x", "bins": 1}) == "bins must be between 2 and 100; got 1."
    assert refusal("quantile_bin", {"column": "x", "bins": 101}) == "bins must be between 2 and 100; got 101."
    assert refusal("quantile_bin", {"column": "x", "output": "n"}) == (
        "A column called 'n' exists already; choose another name for the new one."
    )
    assert refusal("quantile_bin", {"column": "city"}) == "'city' is text; this step needs a numeric column."


@pytest.mark.parametrize("bins", [2, 3, 5])
def test_quantile_bins_are_qcuts_bins(bins):
    frame = pd.DataFrame({"v": [float(i) for i in range(1, 31)]})
    result = apply("quantile_bin", {"column": "v", "bins": bins, "output": "b"}, frame)["b"]
    assert result.tolist() == pd.qcut(frame["v"], bins, labels=False).tolist()


def test_quantile_bins_in_partitions_are_the_whole_columns_bins():
    frame = pd.DataFrame({"v": [5.0, 1.0, np.nan, 3.0, 2.0, 8.0, 4.0, 7.0]})
    parts = apply("quantile_bin", {"column": "v", "output": "b"}, frame, TwoPartEngine())["b"]
    assert parts.tolist()[:2] + parts.tolist()[3:] == [2, 0, 1, 0, 3, 1, 3]
    pd.testing.assert_series_equal(parts, apply("quantile_bin", {"column": "v", "output": "b"}, frame)["b"])


def test_a_rolling_mean_is_over_three_rows_unless_told():
    assert check("rolling_mean", {"column": "n"}) == {"column": "n", "window": 3, "output": "n_rolling_3"}
    assert check("rolling_mean", {"column": "n", "window": 2})["output"] == "n_rolling_2"
    assert check("rolling_mean", {"column": "n", "window": 100_000})["window"] == 100_000
    assert refusal("rolling_mean", {"column": "n", "window": 1}) == "window must be between 2 and 100,000; got 1."
    assert refusal("rolling_mean", {"column": "n", "window": 100_001}) == (
        "window must be between 2 and 100,000; got 100,001."
    )
    assert refusal("rolling_mean", {"column": "city"}) == "'city' is text; this step needs a numeric column."
    assert refusal("rolling_mean", {"column": "n", "output": "x"}) == (
        "A column called 'x' exists already; choose another name for the new one."
    )
    means = apply("rolling_mean", {"column": "n", "window": 2})["n_rolling_2"]
    pd.testing.assert_series_equal(
        means, FRAME["n"].astype("float64").rolling(2, min_periods=1).mean(), check_names=False
    )
    assert means.tolist() == [10.0, 15.0, 25.0, 35.0, 50.0]


@pytest.mark.parametrize(
    ("step", "text"),
    [
        (Step("fill_missing", {"columns": ["x", "n"], "method": "constant", "value": 0}), "fill missing x, n with 0"),
        (Step("fill_missing", {"columns": ["city"], "method": "constant", "value": "?"}), "fill missing city with '?'"),
        (Step("fill_missing", {"columns": ["x"], "method": "median"}), "fill missing x with median"),
        (Step("datetime_parts", {"column": "when", "parts": ["year", "hour"]}), "year, hour of when"),
        (Step("string", {"column": "city", "op": "lower", "output": "c"}), "lower of city → c"),
        (Step("string", {"column": "city", "op": "strip"}), "strip of city"),
        (Step("log1p", {"columns": ["x", "n"]}), "log1p of x, n"),
        (Step("scale", {"columns": ["x"]}), "standard scale x"),
        (Step("scale", {"columns": ["x"], "method": "robust"}), "robust scale x"),
        (Step("clip", {"columns": ["x"]}), "clip x to quantiles 0.01–0.99"),
        (Step("quantile_bin", {"column": "x"}), "4 quantile bins of x"),
        (Step("rolling_mean", {"column": "n", "window": 7}), "mean of n over 7 rows"),
    ],
)
def test_value_steps_describe_themselves(step, text):
    assert step.describe() == text
