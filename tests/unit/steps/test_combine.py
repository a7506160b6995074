"""Group-and-aggregate and join: their checks (the messages a user reads), results against pandas, the join's size
estimate and descriptions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pipeline.steps.library  # noqa: F401  (registers every step kind)
from pipeline.engines import CpuEngine
from pipeline.errors import DataError
from pipeline.steps.spec import STEP_KINDS, Context, Schema, Step, apply_step, checked

FRAME = pd.DataFrame(
    {
        "id": [1, 2, 2, 3, 4],
        "k": pd.Series(["b", "a", "b", "a", "c"], dtype="str"),
        "x": [1.0, 2.0, np.nan, 4.0, 8.0],
    }
)
OTHER = pd.DataFrame({"id": [2, 2, 3, 5], "score": [20.0, 21.0, 30.0, 50.0], "k": ["p", "q", "r", "s"]})
SCHEMA = Schema.of(FRAME)
SCHEMAS = {"scores": Schema.of(OTHER), "more": Schema.of(OTHER)}
CPU = CpuEngine()


def check(kind: str, params: dict) -> dict:
    return dict(checked(Step(kind, params), SCHEMA, SCHEMAS).params)


def refusal(kind: str, params: dict, schemas: dict | None = None) -> str:
    with pytest.raises(DataError) as raised:
        checked(Step(kind, params), SCHEMA, SCHEMAS if schemas is None else schemas)
    return str(raised.value)


def apply(kind: str, params: dict, datasets: dict | None = None) -> pd.DataFrame:
    step = checked(Step(kind, params), SCHEMA, SCHEMAS)
    return apply_step(step, FRAME, Context(CPU, {"scores": OTHER} if datasets is None else datasets))


def join_size(params: dict, datasets: dict) -> tuple[int, str]:
    step = checked(Step("join", params), SCHEMA, SCHEMAS)
    return STEP_KINDS["join"].output_size(FRAME, dict(step.params), Context(CPU, datasets))


@pytest.mark.parametrize("aggregations", [None, [], {"column": "x", "function": "sum"}])
def test_a_group_needs_a_list_of_aggregations(aggregations):
    params = {"by": ["k"], **({} if aggregations is None else {"aggregations": aggregations})}
    assert refusal("group_aggregate", params) == "Add at least one aggregation (column and function)."


def test_each_aggregation_is_an_object_with_a_known_function():
    assert refusal("group_aggregate", {"by": ["k"], "aggregations": [["x", "sum"]]}) == (
        "Each aggregation needs a column and a function."
    )
    assert refusal("group_aggregate", {"by": ["k"], "aggregations": [{"column": "x", "function": "median"}]}) == (
        "function must be one of count, sum, mean, min, max, std, nunique; got 'median'."
    )
    assert refusal("group_aggregate", {"aggregations": [{"column": "x", "function": "sum"}]}) == (
        "Choose at least 1 column(s) for this step."
    )


@pytest.mark.parametrize("function", ["sum", "mean", "std"])
def test_sums_means_and_spreads_take_numbers_only(function):
    assert refusal("group_aggregate", {"by": ["id"], "aggregations": [{"column": "k", "function": function}]}) == (
        "'k' is text; this step needs a numeric column."
    )


@pytest.mark.parametrize("function", ["count", "min", "max", "nunique"])
def test_counts_and_extremes_take_any_column(function):
    checked_params = check("group_aggregate", {"by": ["id"], "aggregations": [{"column": "k", "function": function}]})
    assert checked_params == {"by": ["id"], "aggregations": [{"column": "k", "function": function}]}


def test_a_group_key_is_not_aggregated():
    assert refusal("group_aggregate", {"by": ["k", "id"], "aggregations": [{"column": "id", "function": "count"}]}) == (
        "'id' is a group key; aggregate another column."
    )


def test_a_group_is_pandas_groupby_sorted_by_its_keys():
    aggregations = [
        {"column": "x", "function": "sum"},
        {"column": "id", "function": "nunique"},
        {"column": "x", "function": "std"},
    ]
    result = apply("group_aggregate", {"by": ["k"], "aggregations": aggregations})
    assert list(result.columns) == ["k", "x_sum", "x_std", "id_nunique"]
    grouped = FRAME.groupby("k")
    expected = pd.DataFrame(
        {
            "k": ["a", "b", "c"],
            "x_sum": grouped["x"].sum().tolist(),
            "x_std": grouped["x"].std().tolist(),
            "id_nunique": grouped["id"].nunique().tolist(),
        }
    )
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)


def test_a_group_describes_itself():
    step = Step("group_aggregate", {"by": ["k", "id"], "aggregations": [{"column": "x", "function": "sum"}]})
    assert step.describe() == "by k, id: sum(x)"


def test_a_join_names_the_datasets_loaded_when_its_dataset_is_not():
    assert refusal("join", {"dataset": "nope", "on": ["id"]}) == (
        "No loaded dataset called 'nope' to join with; loaded: more, scores."
    )
    assert refusal("join", {"dataset": "nope", "on": ["id"]}, {}) == (
        "No loaded dataset called 'nope' to join with; loaded: none loaded."
    )


def test_a_join_is_inner_unless_told_and_its_keys_are_on_both_sides():
    assert check("join", {"dataset": "scores", "on": ["id"]}) == {"dataset": "scores", "on": ["id"], "how": "inner"}
    assert check("join", {"dataset": "scores", "on": ["id"], "how": "left"})["how"] == "left"
    assert refusal("join", {"dataset": "scores", "on": ["id"], "how": "outer"}) == (
        "how must be one of inner, left; got 'outer'."
    )
    assert refusal("join", {"dataset": "scores", "on": ["x"]}).startswith("No column 'x' at this step")


def test_join_keys_of_different_kinds_are_refused_naming_both():
    schemas = {"scores": Schema.of(OTHER.assign(id=OTHER["id"].astype("str")))}
    assert refusal("join", {"dataset": "scores", "on": ["id"]}, schemas) == (
        "Join key 'id' is numeric here but text in 'scores': cast one side so both match."
    )


def test_a_join_is_pandas_merge_with_the_other_sides_clashing_names_suffixed():
    inner = apply("join", {"dataset": "scores", "on": ["id"]})
    pd.testing.assert_frame_equal(inner, FRAME.merge(OTHER, on="id", suffixes=("", "_right")))
    assert list(inner.columns) == ["id", "k", "x", "score", "k_right"]
    left = apply("join", {"dataset": "scores", "on": ["id"], "how": "left"})
    pd.testing.assert_frame_equal(left, FRAME.merge(OTHER, on="id", how="left", suffixes=("", "_right")))


def test_a_join_with_a_dataset_not_on_the_engine_says_to_load_it():
    with pytest.raises(DataError) as raised:
        apply("join", {"dataset": "scores", "on": ["id"]}, datasets={})
    assert str(raised.value) == "The dataset 'scores' is not on CPU (pandas); load it there first."


def test_a_joins_size_counts_its_rows_from_both_sides_keys():
    width = CPU.frame_nbytes(FRAME) / len(FRAME) + CPU.frame_nbytes(OTHER.drop(columns=["id"])) / len(OTHER)
    inner_rows = len(FRAME.merge(OTHER, on="id"))  # id 2 twice here and twice there, 3 once: 5 rows
    assert join_size({"dataset": "scores", "on": ["id"]}, {"scores": OTHER}) == (
        int(inner_rows * width),
        f"{inner_rows} rows",
    )
    left_rows = len(FRAME.merge(OTHER, on="id", how="left"))  # and ids 1 and 4 unmatched: 7 rows
    assert (inner_rows, left_rows) == (5, 7)
    assert join_size({"dataset": "scores", "on": ["id"], "how": "left"}, {"scores": OTHER}) == (
        int(left_rows * width),
        f"{left_rows} rows",
    )


def test_a_joins_size_counts_missing_keys_matching_as_pandas_matches_them():
    here = pd.DataFrame({"id": [1.0, np.nan, np.nan], "x": [1.0, 2.0, 3.0]})
    there = pd.DataFrame({"id": [np.nan, 1.0, 5.0], "score": [1.0, 2.0, 3.0]})
    schemas = {"scores": Schema.of(there)}
    for how in ("inner", "left"):
        step = checked(Step("join", {"dataset": "scores", "on": ["id"], "how": how}), Schema.of(here), schemas)
        _, what = STEP_KINDS["join"].output_size(here, dict(step.params), Context(CPU, {"scores": there}))
        assert what == f"{len(here.merge(there, on='id', how=how))} rows" == "3 rows"


def test_a_joins_size_from_a_one_row_table_is_that_rows_width_per_match():
    one = FRAME.iloc[1:2]
    step = checked(Step("join", {"dataset": "scores", "on": ["id"]}), SCHEMA, SCHEMAS)
    made, what = STEP_KINDS["join"].output_size(one, dict(step.params), Context(CPU, {"scores": OTHER}))
    width = CPU.frame_nbytes(one) + CPU.frame_nbytes(OTHER.drop(columns=["id"])) / len(OTHER)
    assert (made, what) == (int(2 * width), "2 rows")


def test_a_left_join_with_an_empty_table_keeps_every_row():
    empty = OTHER.iloc[:0]
    width = CPU.frame_nbytes(FRAME) / len(FRAME) + CPU.frame_nbytes(empty.drop(columns=["id"]))
    assert join_size({"dataset": "scores", "on": ["id"], "how": "left"}, {"scores": empty}) == (
        int(len(FRAME) * width),
        "5 rows",
    )
    assert join_size({"dataset": "scores", "on": ["id"]}, {"scores": empty}) == (0, "0 rows")


def test_a_joins_size_counts_thousands_with_separators():
    many = pd.DataFrame({"id": [2] * 600, "score": 1.0, "k": "p"})
    _, what = join_size({"dataset": "scores", "on": ["id"]}, {"scores": many})
    assert what == "1,200 rows"


def test_a_join_with_a_dataset_not_loaded_here_has_no_size():
    assert join_size({"dataset": "scores", "on": ["id"]}, {}) == (0, "nothing")


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"dataset": "scores", "on": ["id", "k"]}, "inner join scores on id, k"),
        ({"dataset": "scores", "on": ["id"], "how": "left"}, "left join scores on id"),
    ],
)
def test_a_join_describes_itself(params, text):
    assert Step("join", params).describe() == text
