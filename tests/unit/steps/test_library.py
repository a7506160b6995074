"""Each pipeline step against an independent computation on small data; checks, recipes and the runner."""

from __future__ import annotations

import json
import operator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from pipeline.errors import DataError
from pipeline.parity import compare_results
from pipeline.steps.runner import check_recipe, run_recipe
from pipeline.steps.spec import STEP_KINDS, Recipe, Step
from pipeline.tables.random_streams import CounterRandom
from tests.support.step_cases import PARITY_STEPS


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "x": [1.5, np.nan, -2.0, 4.0, 4.0, 10.0],
            "city": pd.Series(["Oslo", " Rome ", None, "oslo", "Rome", "Oslo"], dtype="str"),
            "when": pd.to_datetime(
                ["2024-01-01 08:00", "2024-02-15 13:30", None, "2024-12-31 23:00", "2024-06-01", "2024-06-02"],
                format="ISO8601",
            ),
            "ok": [True, False, True, True, False, True],
        }
    )


def run(cpu, table, *steps: Step, datasets=None) -> pd.DataFrame:
    checked = check_recipe(Recipe(steps), table, cpu, datasets)
    result = run_recipe(checked, table, cpu, datasets)
    assert result.ok, result.error
    return result.frame


def test_select_drop_rename(cpu, table):
    assert list(run(cpu, table, Step("select", {"columns": ["x", "id"]})).columns) == ["x", "id"]
    assert "city" not in run(cpu, table, Step("drop", {"columns": ["city"]})).columns
    renamed = run(cpu, table, Step("rename", {"mapping": {"x": "value"}}))
    assert list(renamed.columns) == ["id", "value", "city", "when", "ok"]


def test_filter_and_or_with_missing_values_never_passing(cpu, table):
    both = Step(
        "filter",
        {
            "conditions": [
                {"column": "x", "op": ">=", "value": 0},
                {"column": "city", "op": "contains", "value": "Rom"},
            ],
            "combine": "and",
        },
    )
    expected = [i for i, (x, c) in enumerate(zip(table["x"], table["city"], strict=True)) if x >= 0 and "Rom" in str(c)]
    assert run(cpu, table, both)["id"].tolist() == [table["id"][i] for i in expected]
    either = Step(
        "filter",
        {
            "conditions": [{"column": "x", "op": "is missing"}, {"column": "when", "op": ">", "value": "2024-06-01"}],
            "combine": "or",
        },
    )
    assert run(cpu, table, either)["id"].tolist() == [2, 4, 6]
    listed = Step("filter", {"conditions": [{"column": "city", "op": "in", "value": ["Oslo", "Rome"]}]})
    assert run(cpu, table, listed)["id"].tolist() == [1, 5, 6]


GAPPY = pd.DataFrame(  # row 2 is missing in every column, each kind of column with its own kind of gap
    {
        "id": [1, 2, 3, 4],
        "f": [1.0, np.nan, 3.0, 2.0],
        "i": pd.array([1, None, 3, 2], dtype="Int64"),
        "t": pd.to_datetime(["2024-01-01", None, "2024-01-03", "2024-01-02"]),
        "b": pd.array([True, None, False, True], dtype="boolean"),
        "s": pd.Series(["a", None, "c", "b"], dtype="str"),
        "o": pd.Series(["a", None, "c", "b"], dtype=object),  # text of mixed origin stays Python objects
    }
)
COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
ON_THE_BOUNDARY = [  # each value is row 4's, so <=, >= and == keep it and <, >, != do not
    *((column, op, value) for column, value in (("f", 2.0), ("i", 2), ("t", "2024-01-02")) for op in COMPARE),
    *((column, op, value) for column, value in (("b", True), ("s", "b"), ("o", "b")) for op in ("==", "!=")),
]


@pytest.mark.parametrize(("column", "op", "value"), ON_THE_BOUNDARY, ids=[f"{c}{o}" for c, o, _ in ON_THE_BOUNDARY])
def test_a_comparison_keeps_the_present_values_that_pass_and_never_a_missing_one(cpu, column, op, value):
    kept = run(cpu, GAPPY, Step("filter", {"conditions": [{"column": column, "op": op, "value": value}]}))
    reference = pd.Timestamp(value) if column == "t" else value
    expected = [
        i for i, v in zip(GAPPY["id"], GAPPY[column], strict=True) if not pd.isna(v) and COMPARE[op](v, reference)
    ]
    assert kept["id"].tolist() == expected
    assert kept[column].notna().all()


@pytest.mark.parametrize("column", ["f", "i", "s", "o"])
def test_in_and_contains_keep_no_missing_value(cpu, column):
    listed = [1.0, 3.0] if column == "f" else [1, 3] if column == "i" else ["a", "c"]
    kept = run(cpu, GAPPY, Step("filter", {"conditions": [{"column": column, "op": "in", "value": listed}]}))
    assert kept["id"].tolist() == [1, 3]
    if column in ("s", "o"):
        found = run(cpu, GAPPY, Step("filter", {"conditions": [{"column": column, "op": "contains", "value": "b"}]}))
        assert found["id"].tolist() == [4]


def test_drop_missing_and_duplicates(cpu, table):
    assert run(cpu, table, Step("drop_missing", {"columns": ["x", "city"]}))["id"].tolist() == [1, 4, 5, 6]
    assert len(run(cpu, table, Step("drop_missing", {}))) == 4
    deduplicated = run(cpu, table, Step("drop_duplicates", {"columns": ["x"], "keep": "last"}))
    assert deduplicated["id"].tolist() == [1, 2, 3, 5, 6]


def test_fill_missing_each_method(cpu, table):
    present = [v for v in table["x"] if not np.isnan(v)]
    assert run(cpu, table, Step("fill_missing", {"columns": ["x"], "method": "mean"}))["x"][1] == np.mean(present)
    assert run(cpu, table, Step("fill_missing", {"columns": ["x"], "method": "median"}))["x"][1] == np.median(present)
    assert run(cpu, table, Step("fill_missing", {"columns": ["x"], "method": "mode"}))["x"][1] == 4.0
    assert run(cpu, table, Step("fill_missing", {"columns": ["x"], "method": "forward"}))["x"][1] == 1.5
    filled = run(cpu, table, Step("fill_missing", {"columns": ["city"], "method": "constant", "value": "?"}))
    assert filled["city"][2] == "?"
    dated = run(cpu, table, Step("fill_missing", {"columns": ["when"], "method": "constant", "value": "2020-01-01"}))
    assert dated["when"][2] == pd.Timestamp("2020-01-01")


def test_fill_with_tied_modes_takes_the_smallest(cpu):
    frame = pd.DataFrame(
        {"n": [3.0, 1.0, np.nan, 3.0, 1.0], "city": pd.Series(["Rome", "Lima", None, "Rome", "Lima"], dtype="str")}
    )
    filled = run(cpu, frame, Step("fill_missing", {"columns": ["n", "city"], "method": "mode"}))
    assert filled["n"].tolist() == [3.0, 1.0, 1.0, 3.0, 1.0]  # 1 and 3 both twice: pandas' mode() lists 1 first
    assert filled["city"].tolist() == ["Rome", "Lima", "Lima", "Rome", "Lima"]


def test_cast(cpu, table):
    assert run(cpu, table, Step("cast", {"column": "id", "to": "float64"}))["id"].dtype == "float64"
    assert run(cpu, table, Step("cast", {"column": "id", "to": "str"}))["id"].tolist() == [str(i) for i in range(1, 7)]
    frame = pd.DataFrame({"d": ["2024-01-01", "2024-01-02"], "f": [1.0, 2.0]})
    assert run(cpu, frame, Step("cast", {"column": "d", "to": "datetime"}))["d"].dt.day.tolist() == [1, 2]
    assert run(cpu, frame, Step("cast", {"column": "f", "to": "int64"}))["f"].tolist() == [1, 2]


def test_datetime_parts(cpu, table):
    parts = run(cpu, table, Step("datetime_parts", {"column": "when", "parts": ["year", "month", "weekday", "hour"]}))
    stamps = [t for t in table["when"]]
    assert parts["when_month"].tolist()[:2] == [t.month for t in stamps[:2]]
    assert parts["when_weekday"][0] == stamps[0].weekday() and parts["when_hour"][1] == 13


@pytest.mark.parametrize(
    ("op", "extra", "expected"),
    [
        ("lower", {}, ["oslo", " rome ", None, "oslo", "rome", "oslo"]),
        ("upper", {}, ["OSLO", " ROME ", None, "OSLO", "ROME", "OSLO"]),
        ("strip", {}, ["Oslo", "Rome", None, "oslo", "Rome", "Oslo"]),
        ("replace", {"pattern": "O", "replacement": "0"}, ["0slo", " Rome ", None, "oslo", "Rome", "0slo"]),
    ],
)
def test_string_operations(cpu, table, op, extra, expected):
    result = run(cpu, table, Step("string", {"column": "city", "op": op, **extra}))["city"]
    assert [None if pd.isna(v) else v for v in result] == expected


def test_string_length_and_contains_make_new_columns(cpu, table):
    result = run(cpu, table, Step("string", {"column": "city", "op": "length"}))
    assert [None if pd.isna(v) else v for v in result["city_length"]] == [4, 6, None, 4, 4, 4]
    found = run(cpu, table, Step("string", {"column": "city", "op": "contains", "pattern": "s", "output": "has_s"}))
    assert found["has_s"].fillna(False).tolist() == [True, False, False, True, False, True]


SCALERS = [("standard", StandardScaler), ("minmax", MinMaxScaler), ("robust", RobustScaler)]


@pytest.mark.parametrize(("method", "scaler"), SCALERS)
def test_scaling_matches_scikit_learn(cpu, table, method, scaler):
    result = run(cpu, table, Step("scale", {"columns": ["x"], "method": method}))["x"].to_numpy()
    expected = scaler().fit_transform(table[["x"]]).ravel()  # scikit-learn ignores NaN when fitting
    np.testing.assert_allclose(result, expected, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize(("method", "scaler"), SCALERS)
def test_scaling_a_constant_column_gives_zeros_as_scikit_learn(cpu, method, scaler):
    frame = pd.DataFrame({"v": [7.0, 7.0, np.nan, 7.0]})  # no spread: nothing to divide by
    result = run(cpu, frame, Step("scale", {"columns": ["v"], "method": method}))["v"].to_numpy()
    np.testing.assert_array_equal(result, [0.0, 0.0, np.nan, 0.0])
    np.testing.assert_array_equal(result, scaler().fit_transform(frame[["v"]]).ravel())


def test_log1p_and_clip(cpu, table):
    positive = table.assign(x=table["x"].abs())
    np.testing.assert_allclose(run(cpu, positive, Step("log1p", {"columns": ["x"]}))["x"], np.log1p(positive["x"]))
    clipped = run(cpu, table, Step("clip", {"columns": ["x"], "lower": 0.25, "upper": 0.75}))["x"]
    low, high = np.nanquantile(table["x"], [0.25, 0.75])
    np.testing.assert_allclose(clipped, np.clip(table["x"], low, high))


def test_quantile_bins(cpu):
    frame = pd.DataFrame({"v": [float(i) for i in range(12)] + [np.nan]})
    bins = run(cpu, frame, Step("quantile_bin", {"column": "v", "bins": 4}))["v_bin"]
    assert bins.tolist()[:12] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert pd.isna(bins.iloc[12])


def test_a_value_on_a_quantile_edge_lands_in_the_bin_qcut_gives_it(cpu):
    frame = pd.DataFrame({"v": [float(i) for i in range(1, 10)]})  # the quartiles 3, 5 and 7 are values
    bins = run(cpu, frame, Step("quantile_bin", {"column": "v", "bins": 4}))["v_bin"]
    assert bins.tolist() == [0, 0, 0, 1, 1, 2, 2, 3, 3]
    assert bins.tolist() == pd.qcut(frame["v"], 4, labels=False).tolist()


def test_the_smallest_values_of_a_skewed_column_are_in_the_first_bin(cpu):
    frame = pd.DataFrame({"v": [0.0] * 6 + [1.0, 2.0, 3.0, 4.0]})  # the first two quartiles are both 0
    bins = run(cpu, frame, Step("quantile_bin", {"column": "v", "bins": 4}))["v_bin"]
    assert bins.tolist() == [0] * 6 + [2, 3, 3, 3]  # a repeated edge leaves its bin empty (qcut refuses such edges)


def test_rolling_mean(cpu, table):
    result = run(cpu, table, Step("rolling_mean", {"column": "id", "window": 3}))["id_rolling_3"]
    assert result.tolist() == [1.0, 1.5, 2.0, 3.0, 4.0, 5.0]


def test_encoders(cpu, table):
    one_hot = run(cpu, table, Step("one_hot", {"column": "city"}))
    levels = sorted(v for v in set(table["city"].dropna()))
    assert [c for c in one_hot.columns if c.startswith("city=")] == [f"city={v}" for v in levels]
    assert one_hot["city=Oslo"].tolist() == [1, 0, 0, 0, 0, 1]
    codes = run(cpu, table, Step("label_encode", {"column": "city"}))["city"]
    assert codes.tolist() == [levels.index(v) if isinstance(v, str) else -1 for v in table["city"]]


def test_group_aggregate(cpu, table):
    result = run(
        cpu,
        table,
        Step(
            "group_aggregate",
            {
                "by": ["ok"],
                "aggregations": [{"column": "x", "function": "mean"}, {"column": "id", "function": "count"}],
            },
        ),
    )
    assert list(result.columns) == ["ok", "x_mean", "id_count"]
    for flag in (False, True):
        part = table[table["ok"] == flag]
        row = result[result["ok"] == flag].iloc[0]
        assert row["x_mean"] == pytest.approx(np.nanmean(part["x"]))
        assert row["id_count"] == len(part)


def test_join_with_another_dataset(cpu, table):
    other = pd.DataFrame({"id": [1, 3, 5, 7], "score": [10, 30, 50, 70]})
    inner = run(cpu, table, Step("join", {"dataset": "scores", "on": ["id"]}), datasets={"scores": other})
    assert sorted(zip(inner["id"], inner["score"], strict=True)) == [(1, 10), (3, 30), (5, 50)]
    left = run(cpu, table, Step("join", {"dataset": "scores", "on": ["id"], "how": "left"}), datasets={"scores": other})
    assert len(left) == 6 and left["score"].isna().sum() == 3


def test_sample_and_split_use_engine_identical_random_numbers(cpu, table):
    shares = CounterRandom(np, 4, len(table)).uniform(0)
    sample = run(cpu, table, Step("sample", {"fraction": 0.3, "seed": 4}))
    assert sample["id"].tolist() == table["id"][shares < 0.3].tolist() == [2, 5]
    split = run(cpu, table, Step("train_test_split", {"test_fraction": 0.2, "seed": 4}))
    assert split["split"].tolist() == ["test" if s < 0.2 else "train" for s in shares]
    assert split["split"].tolist().count("test") == 1


def test_a_split_puts_its_test_fraction_of_the_rows_on_the_test_side(cpu):
    frame = pd.DataFrame({"id": np.arange(2_000)})
    split = run(cpu, frame, Step("train_test_split", {"test_fraction": 0.2, "seed": 7}))["split"]
    assert split.tolist() == ["test" if s < 0.2 else "train" for s in CounterRandom(np, 7, 2_000).uniform(0)]
    assert 0.18 < (split == "test").mean() < 0.22  # 0.2 give or take two standard deviations (0.009)


def test_sort(cpu, table):
    result = run(cpu, table, Step("sort", {"columns": ["x"], "ascending": False}))
    assert result["x"].dropna().tolist() == sorted(table["x"].dropna(), reverse=True)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([Step("drop", {"columns": ["x"]}), Step("scale", {"columns": ["x"]})], "Step 2 .*No column 'x'"),
        ([Step("scale", {"columns": ["city"]})], "'city' is text"),
        ([Step("filter", {"conditions": [{"column": "x", "op": ">", "value": "big"}]})], "does not fit 'x'"),
        ([Step("filter", {"conditions": [{"column": "city", "op": "<", "value": "a"}]})], "compares numbers or times"),
        ([Step("filter", {"conditions": [{"column": "x", "op": "in", "value": [1.5, float("nan")]}]})], "is missing"),
        ([Step("filter", {"conditions": [{"column": "x", "op": "<", "value": float("inf")}]})], "a finite number"),
        ([Step("filter", {"conditions": [{"column": "when", "op": "!=", "value": "NaT"}]})], "is no date or time"),
        ([Step("fill_missing", {"columns": ["x"], "value": float("nan")})], "is no value for 'x'"),
        ([Step("one_hot", {"column": "id", "max_levels": 3})], "6 distinct values, more than the 3"),
        ([Step("cast", {"column": "x", "to": "int64"})], "missing values"),
        ([Step("cast", {"column": "city", "to": "float64"})], "Cannot cast 'city' to float64"),
        ([Step("join", {"dataset": "nope", "on": ["id"]})], "No loaded dataset called 'nope'"),
        ([Step("rename", {"mapping": {"x": "id"}})], "names would repeat: id"),
        ([Step("teleport", {})], "Unknown step 'teleport'"),
        ([Step("sample", {"fraction": 2})], "fraction must be between"),
        ([Step("drop", {"columns": ["id", "x", "city", "when", "ok"]})], "leaves nothing"),
    ],
)
def test_bad_steps_are_refused_with_the_step_named(cpu, table, steps, message):
    with pytest.raises(DataError, match=message):
        check_recipe(Recipe(tuple(steps)), table, cpu)


def test_one_hot_on_a_million_levels_is_refused_at_run_time_too(cpu):
    small = pd.DataFrame({"key": pd.Series([f"k{i % 3}" for i in range(600)], dtype="str")})
    steps = check_recipe(Recipe((Step("one_hot", {"column": "key"}),)), small, cpu)
    huge = pd.DataFrame({"key": pd.Series([f"k{i}" for i in range(1_000_000)], dtype="str")})
    result = run_recipe(steps, huge, cpu)
    assert not result.ok and "1,000,000 distinct values" in result.error


def test_a_library_error_on_the_sample_names_the_step(cpu):
    mixed = pd.DataFrame({"m": pd.Series([1, "a", 2.5], dtype=object)})
    with pytest.raises(DataError, match=r"Step 1 \(sort by m ascending\): TypeError"):
        check_recipe(Recipe((Step("sort", {"columns": ["m"]}),)), mixed, cpu)


def test_join_keys_of_different_kinds_are_refused(cpu, table):
    other = pd.DataFrame({"id": ["1", "2"], "score": [1, 2]})
    with pytest.raises(DataError, match="'id' is numeric here but text"):
        check_recipe(Recipe((Step("join", {"dataset": "s", "on": ["id"]}),)), table, cpu, {"s": other})


def test_a_step_failing_on_the_data_is_reported_and_the_run_stops(cpu):
    frame = pd.DataFrame({"v": [0.5, 1.0]})
    steps = check_recipe(Recipe((Step("log1p", {"columns": ["v"]}),)), frame, cpu)
    result = run_recipe(steps, pd.DataFrame({"v": [-3.0, 1.0]}), cpu)
    assert not result.ok and "above -1" in result.error
    assert result.steps[0].seconds is None


def test_recipes_round_trip_and_bad_files_are_explained(table, cpu):
    recipe = Recipe(
        (
            Step("filter", {"conditions": [{"column": "x", "op": ">", "value": 0}]}),
            Step("one_hot", {"column": "city", "max_levels": 10}),
        )
    )
    assert Recipe.from_json(recipe.to_json()) == recipe
    assert len(check_recipe(Recipe.from_json(recipe.to_json()), table, cpu)) == 2
    for text, message in (
        ("{not json", "not valid JSON"),
        ("[]", 'with a "steps" list'),
        (json.dumps({"version": 99, "steps": []}), "version 99"),
        (json.dumps({"version": 1, "steps": [{"kind": "eval", "params": {}}]}), "unknown kind"),
        (json.dumps({"version": 1, "steps": [{"params": {}}]}), 'has no "kind"'),
    ):
        with pytest.raises(DataError, match=message):
            Recipe.from_json(text)


def test_every_step_kind_is_tested_here():
    source = Path(__file__).read_text(encoding="utf-8")
    untested = [name for name in STEP_KINDS if f'"{name}"' not in source]
    assert not untested


def test_unordered_results_compare_after_sorting(table):
    shuffled = table.iloc[::-1].reset_index(drop=True)
    assert not compare_results(table, shuffled, ordered=True).ok
    assert compare_results(table, shuffled, ordered=False).ok


@pytest.mark.gpu
@pytest.mark.parametrize("step", PARITY_STEPS, ids=[s.kind for s in PARITY_STEPS])
def test_every_step_gives_the_same_result_on_cpu_and_gpu(cpu, gpu, table, step):
    import pyarrow as pa

    from pipeline.steps.spec import STEP_KINDS

    scores = pd.DataFrame({"id": [1, 3, 5], "score": [10.0, 30.0, 50.0]})
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    steps = check_recipe(Recipe((step,)), table, cpu, {"scores": scores})
    on_cpu = run_recipe(steps, table, cpu, {"scores": scores})
    on_gpu = run_recipe(steps, gpu.from_arrow(arrow), gpu, {"scores": gpu.frames.from_pandas(scores)})
    assert on_cpu.ok and on_gpu.ok, (on_cpu.error, on_gpu.error)
    parity = compare_results(
        on_cpu.frame.reset_index(drop=True),
        gpu.to_pandas(on_gpu.frame).reset_index(drop=True),
        ordered=STEP_KINDS[step.kind].keeps_row_order,
    )
    assert parity.ok, parity.mismatches


def test_parity_steps_cover_every_kind():
    assert {s.kind for s in PARITY_STEPS} == set(STEP_KINDS)


def test_one_hot_takes_several_columns_and_refuses_before_changing_any(cpu):
    table = pd.DataFrame({"city": ["Oslo", "Lima", "Oslo"], "size": ["S", "M", "L"], "n": [1, 2, 3]})
    encoded = run(cpu, table, Step("one_hot", {"columns": ["city", "size"]}))
    assert list(encoded.columns) == ["n", "city=Lima", "city=Oslo", "size=L", "size=M", "size=S"]
    assert encoded["size=M"].tolist() == [0, 1, 0]
    with pytest.raises(DataError, match="'size' has 3 distinct values, more than the 2"):
        run(cpu, table, Step("one_hot", {"columns": ["city", "size"], "max_levels": 2}))
