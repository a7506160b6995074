"""The row steps' checks (defaults, limits, the messages a user reads), results against pandas, and descriptions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pipeline.steps.library  # noqa: F401  (registers every step kind)
from pipeline.steps.params import MAX_TEXT_LENGTH
from pipeline.steps.spec import Schema, Step
from pipeline.tables.random_streams import CounterRandom
from tests.support.engines import TwoPartEngine
from tests.support.step_checks import applied, checked_params, refusal_of

FRAME = pd.DataFrame(
    {
        "id": [1, 2, 3, 4, 5],
        "x": [1.0, np.nan, 3.0, 2.0, 3.0],
        "city": pd.Series(["Oslo", "Rome", None, "Lima", "Oslo"], dtype="str"),
        "when": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-04", "2024-01-05"]),
        "ok": [True, False, True, False, True],
    }
)
SCHEMA = Schema.of(FRAME)


def check(kind: str, params: dict) -> dict:
    return checked_params(kind, params, SCHEMA)


def refusal(kind: str, params: dict) -> str:
    return refusal_of(kind, params, SCHEMA)


def apply(kind: str, params: dict, frame: pd.DataFrame = FRAME, engine=None) -> pd.DataFrame:
    return applied(kind, params, frame, engine)


def kept_ids(kind: str, params: dict, frame: pd.DataFrame = FRAME) -> list[int]:
    return apply(kind, params, frame)["id"].tolist()


@pytest.mark.parametrize("conditions", [None, [], {"column": "x"}, "x > 1"])
def test_a_filter_needs_a_list_of_conditions(conditions):
    params = {} if conditions is None else {"conditions": conditions}
    assert refusal("filter", params) == "Add at least one condition (column, operator, value)."


def test_each_condition_is_an_object():
    assert refusal("filter", {"conditions": [["x", ">", 1]]}) == (
        "Each condition needs a column, an operator and a value."
    )


def test_a_filter_names_its_operators_when_given_another():
    assert refusal("filter", {"conditions": [{"column": "x", "op": "like", "value": 1}]}) == (
        "op must be one of ==, !=, <, <=, >, >=, in, contains, is missing, is not missing; got 'like'."
    )


def test_a_filter_combines_with_and_by_default_or_with_or():
    condition = {"column": "x", "op": "is missing"}
    assert check("filter", {"conditions": [condition]}) == {"conditions": [condition], "combine": "and"}
    assert check("filter", {"conditions": [condition], "combine": "or"})["combine"] == "or"
    assert refusal("filter", {"conditions": [condition], "combine": "xor"}) == (
        "combine must be one of and, or; got 'xor'."
    )


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_order_comparisons_take_numbers_and_times_only(op):
    assert check("filter", {"conditions": [{"column": "x", "op": op, "value": 2}]})["conditions"][0]["value"] == 2
    when = check("filter", {"conditions": [{"column": "when", "op": op, "value": "2024-01-02"}]})
    assert when["conditions"][0]["value"] == "2024-01-02T00:00:00"
    for column, kind in (("city", "text"), ("ok", "boolean")):
        assert refusal("filter", {"conditions": [{"column": column, "op": op, "value": "a"}]}) == (
            f"{op} compares numbers or times; {column!r} is {kind}."
        )


@pytest.mark.parametrize("op", ["==", "!="])
def test_equality_takes_every_kind(op):
    for column, value in (("city", "Oslo"), ("ok", True), ("x", 3.0)):
        entry = check("filter", {"conditions": [{"column": column, "op": op, "value": value}]})["conditions"][0]
        assert entry == {"column": column, "op": op, "value": value}
    assert refusal("filter", {"conditions": [{"column": "ok", "op": op, "value": "yes"}]}) == (
        "'yes' does not fit 'ok', a boolean column: give a true or false."
    )


def test_contains_takes_text_columns_and_a_non_empty_value():
    entry = check("filter", {"conditions": [{"column": "city", "op": "contains", "value": "sl"}]})["conditions"][0]
    assert entry == {"column": "city", "op": "contains", "value": "sl"}
    assert refusal("filter", {"conditions": [{"column": "x", "op": "contains", "value": "1"}]}) == (
        "'x' is numeric; this step needs a text column."
    )
    assert refusal("filter", {"conditions": [{"column": "city", "op": "contains", "value": ""}]}) == (
        "value must be a non-empty name; got ''."
    )


def test_is_missing_takes_no_value():
    for op in ("is missing", "is not missing"):
        entry = check("filter", {"conditions": [{"column": "x", "op": op, "value": 5}]})["conditions"][0]
        assert entry == {"column": "x", "op": op}


def test_in_takes_a_list_of_values_up_to_the_limit():
    listed = check("filter", {"conditions": [{"column": "x", "op": "in", "value": list(range(MAX_TEXT_LENGTH))}]})
    assert listed["conditions"][0]["value"] == list(range(MAX_TEXT_LENGTH))
    too_many = list(range(MAX_TEXT_LENGTH + 1))
    assert refusal("filter", {"conditions": [{"column": "x", "op": "in", "value": too_many}]}) == (
        "'in' takes at most 1,000 values; 'x' has 1,001."
    )
    for value in ([], "Oslo", None):
        assert refusal("filter", {"conditions": [{"column": "city", "op": "in", "value": value}]}) == (
            "'in' needs a list of values for 'city'."
        )
    assert refusal("filter", {"conditions": [{"column": "city", "op": "in", "value": ["Oslo", 3]}]}) == (
        "3 does not fit 'city', a text column: give a text value."
    )


def test_a_filter_on_a_missing_column_is_refused():
    assert refusal("filter", {"conditions": [{"column": "nope", "op": "is missing"}]}).startswith(
        "No column 'nope' at this step"
    )


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("==", 3.0, FRAME["x"] == 3.0),
        ("!=", 3.0, FRAME["x"].notna() & (FRAME["x"] != 3.0)),
        ("<", 3.0, FRAME["x"] < 3.0),
        ("<=", 2.0, FRAME["x"] <= 2.0),
        (">", 2.0, FRAME["x"] > 2.0),
        (">=", 2.0, FRAME["x"] >= 2.0),
        ("in", [1.0, 2.0], FRAME["x"].isin([1.0, 2.0])),
        ("is missing", None, FRAME["x"].isna()),
        ("is not missing", None, FRAME["x"].notna()),
    ],
)
def test_each_operator_keeps_the_rows_pandas_keeps(op, value, expected):
    condition = {"column": "x", "op": op, **({} if value is None else {"value": value})}
    assert kept_ids("filter", {"conditions": [condition]}) == FRAME["id"][expected].tolist()


def test_contains_is_literal_text_and_skips_missing_values():
    frame = pd.DataFrame({"id": [1, 2, 3, 4], "t": pd.Series(["a.b", "axb", None, "A.B"], dtype="str")})
    assert kept_ids("filter", {"conditions": [{"column": "t", "op": "contains", "value": "a.b"}]}, frame) == [1]


def test_times_compare_as_times():
    condition = {"column": "when", "op": ">=", "value": "2024-01-04"}
    assert kept_ids("filter", {"conditions": [condition]}) == [4, 5]
    listed = {"column": "when", "op": "in", "value": ["2024-01-02", "2024-01-05"]}
    assert kept_ids("filter", {"conditions": [listed]}) == [2, 5]


def test_and_keeps_rows_passing_every_condition_or_rows_passing_any():
    conditions = [
        {"column": "x", "op": ">=", "value": 2.0},
        {"column": "ok", "op": "==", "value": True},
        {"column": "city", "op": "==", "value": "Oslo"},
    ]
    x, ok, oslo = FRAME["x"] >= 2.0, FRAME["ok"], FRAME["city"] == "Oslo"
    assert kept_ids("filter", {"conditions": conditions}) == FRAME["id"][x & ok & oslo].tolist() == [5]
    either = FRAME["id"][x | ok | oslo.fillna(False)].tolist()
    assert kept_ids("filter", {"conditions": conditions, "combine": "or"}) == either == [1, 3, 4, 5]


def test_a_filter_describes_its_conditions():
    step = Step(
        "filter",
        {"conditions": [{"column": "x", "op": ">", "value": 2}, {"column": "city", "op": "is missing"}]},
    )
    assert step.describe() == "keep rows where x > 2 and city is missing"
    either = Step(
        "filter",
        {
            "conditions": [{"column": "x", "op": "in", "value": [1, 2]}, {"column": "ok", "op": "==", "value": True}],
            "combine": "or",
        },
    )
    assert either.describe() == "keep rows where x in [1, 2] or ok == True"
    assert Step("filter", {}).describe() == "keep rows where "


def test_drop_missing_looks_at_every_column_unless_told_and_at_any_gap_unless_told():
    assert check("drop_missing", {}) == {"columns": list(FRAME.columns), "how": "any"}
    assert check("drop_missing", {"columns": ["x"], "how": "all"}) == {"columns": ["x"], "how": "all"}
    assert refusal("drop_missing", {"how": "some"}) == "how must be one of any, all; got 'some'."
    both = pd.DataFrame({"id": [1, 2, 3], "a": [1.0, None, None], "b": [None, 2.0, None]})
    assert kept_ids("drop_missing", {"columns": ["a", "b"], "how": "all"}, both) == [1, 2]
    assert kept_ids("drop_missing", {"columns": ["a", "b"]}, both) == []


def test_drop_duplicates_compares_every_column_unless_told_and_keeps_the_first_unless_told():
    assert check("drop_duplicates", {}) == {"columns": list(FRAME.columns), "keep": "first"}
    assert refusal("drop_duplicates", {"keep": "none"}) == "keep must be one of first, last; got 'none'."
    assert kept_ids("drop_duplicates", {"columns": ["city"]}) == FRAME.drop_duplicates(["city"])["id"].tolist()
    last = FRAME.drop_duplicates(["city"], keep="last")["id"].tolist()
    assert kept_ids("drop_duplicates", {"columns": ["city"], "keep": "last"}) == last == [2, 3, 4, 5]


def test_sort_is_ascending_unless_told():
    assert check("sort", {"columns": ["x"]}) == {"columns": ["x"], "ascending": True}
    assert check("sort", {"columns": ["x"], "ascending": False})["ascending"] is False
    assert refusal("sort", {"columns": ["x"], "ascending": "yes"}) == "ascending must be true or false; got 'yes'."
    assert refusal("sort", {"columns": ["x"], "ascending": 1}) == "ascending must be true or false; got 1."
    assert refusal("sort", {}) == "Choose at least 1 column(s) for this step."
    assert kept_ids("sort", {"columns": ["city", "id"]}) == FRAME.sort_values(["city", "id"])["id"].tolist()
    assert kept_ids("sort", {"columns": ["id"], "ascending": False}) == [5, 4, 3, 2, 1]


def test_a_sample_takes_a_tenth_with_seed_0_unless_told():
    assert check("sample", {}) == {"fraction": 0.1, "seed": 0}
    assert check("sample", {"fraction": 1e-6, "seed": 2**32 - 1}) == {"fraction": 1e-6, "seed": 2**32 - 1}
    assert check("sample", {"fraction": 1, "seed": 0})["fraction"] == 1.0
    assert refusal("sample", {"fraction": 0}) == "fraction must be between 1e-06 and 1; got 0."
    assert refusal("sample", {"fraction": 1.01}) == "fraction must be between 1e-06 and 1; got 1.01."
    assert refusal("sample", {"seed": 2**32}) == "seed must be between 0 and 4,294,967,295; got 4,294,967,296."
    assert refusal("sample", {"seed": -1}) == "seed must be between 0 and 4,294,967,295; got -1."
    assert refusal("sample", {"seed": 1.5}) == "seed must be a whole number; got 1.5."


def test_a_sample_keeps_the_rows_whose_share_is_under_the_fraction():
    frame = pd.DataFrame({"id": np.arange(50)})
    shares = CounterRandom(np, 3, 50).uniform(0)
    assert kept_ids("sample", {"fraction": 0.5, "seed": 3}, frame) == frame["id"][shares < 0.5].tolist()
    assert kept_ids("sample", {"fraction": 1.0, "seed": 3}, frame) == list(range(50))


def test_a_row_whose_draw_equals_the_fraction_is_left_out():
    frame = pd.DataFrame({"id": np.arange(10)})
    shares = CounterRandom(np, 3, 10).uniform(0)
    fraction = float(shares[4])
    kept = kept_ids("sample", {"fraction": fraction, "seed": 3}, frame)
    assert 4 not in kept and kept == frame["id"][shares < fraction].tolist()
    split = apply("train_test_split", {"test_fraction": fraction, "seed": 3}, frame)["split"]
    assert split[4] == "train" and split.tolist() == ["test" if s < fraction else "train" for s in shares]


def test_a_sample_in_partitions_keeps_the_rows_it_keeps_whole():
    frame = pd.DataFrame({"id": np.arange(40)})
    whole = apply("sample", {"fraction": 0.5, "seed": 9}, frame)
    parts = apply("sample", {"fraction": 0.5, "seed": 9}, frame, TwoPartEngine())
    assert parts["id"].tolist() == whole["id"].tolist()


def test_a_split_marks_a_fifth_as_test_in_a_column_called_split_unless_told():
    assert check("train_test_split", {}) == {"test_fraction": 0.2, "seed": 0, "column": "split"}
    assert check("train_test_split", {"test_fraction": 0.01, "seed": 5, "column": "part"}) == {
        "test_fraction": 0.01,
        "seed": 5,
        "column": "part",
    }
    assert check("train_test_split", {"test_fraction": 0.99})["test_fraction"] == 0.99
    assert check("train_test_split", {"seed": 2**32 - 1})["seed"] == 2**32 - 1
    assert refusal("train_test_split", {"test_fraction": 1.0}) == "test_fraction must be between 0.01 and 0.99; got 1."
    assert refusal("train_test_split", {"test_fraction": 0.001}) == (
        "test_fraction must be between 0.01 and 0.99; got 0.001."
    )
    assert refusal("train_test_split", {"seed": 2**32}) == (
        "seed must be between 0 and 4,294,967,295; got 4,294,967,296."
    )
    assert refusal("train_test_split", {"column": "x"}) == (
        "A column called 'x' exists already; choose another name for the new one."
    )


def test_a_split_labels_rows_test_under_the_fraction_and_keeps_every_row():
    frame = pd.DataFrame({"id": np.arange(30)})
    shares = CounterRandom(np, 2, 30).uniform(0)
    split = apply("train_test_split", {"test_fraction": 0.3, "seed": 2, "column": "part"}, frame)
    assert list(split.columns) == ["id", "part"]
    assert split["part"].tolist() == ["test" if s < 0.3 else "train" for s in shares]
    parts = apply("train_test_split", {"test_fraction": 0.3, "seed": 2}, frame, TwoPartEngine())
    assert parts["split"].tolist() == split["part"].tolist()
