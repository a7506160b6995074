"""The column steps' checks (the messages a user reads), results against pandas, and descriptions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pipeline.steps.library  # noqa: F401  (registers every step kind)
from pipeline.errors import DataError
from pipeline.steps.spec import Schema, Step
from tests.support.step_checks import applied, checked_params, refusal_of

FRAME = pd.DataFrame(
    {
        "id": [1, 2, 3],
        "x": [1.0, np.nan, 3.0],
        "whole": [1.0, 2.0, 3.0],
        "city": pd.Series(["Oslo", "Rome", None], dtype="str"),
        "day": pd.Series(["2024-01-31", "2024-02-01", "2024-02-02"], dtype="str"),
    }
)
SCHEMA = Schema.of(FRAME)


def check(kind: str, params: dict) -> dict:
    return checked_params(kind, params, SCHEMA)


def refusal(kind: str, params: dict) -> str:
    return refusal_of(kind, params, SCHEMA)


def apply(kind: str, params: dict, frame: pd.DataFrame = FRAME) -> pd.DataFrame:
    return applied(kind, params, frame)


def apply_refusal(kind: str, params: dict, frame: pd.DataFrame = FRAME) -> str:
    with pytest.raises(DataError) as raised:
        apply(kind, params, frame)
    return str(raised.value)


def test_select_keeps_the_columns_in_the_order_given():
    assert check("select", {"columns": ["city", "id"]}) == {"columns": ["city", "id"]}
    assert refusal("select", {}) == "Choose at least 1 column(s) for this step."
    assert list(apply("select", {"columns": ["city", "id"]}).columns) == ["city", "id"]


def test_drop_leaves_at_least_one_column():
    assert list(apply("drop", {"columns": ["id", "x", "whole", "city"]}).columns) == ["day"]
    assert (
        refusal("drop", {"columns": list(FRAME.columns)}) == "Dropping every column leaves nothing; keep at least one."
    )
    assert refusal("drop", {"columns": ["nope"]}).startswith("No column 'nope' at this step")


def test_rename_takes_new_names_stripped():
    assert check("rename", {"mapping": {"x": " value "}}) == {"mapping": {"x": "value"}}
    assert list(apply("rename", {"mapping": {"x": "value", "id": "key"}}).columns) == [
        "key",
        "value",
        "whole",
        "city",
        "day",
    ]


def test_rename_may_swap_names():
    swapped = apply("rename", {"mapping": {"x": "id", "id": "x"}})
    assert list(swapped.columns) == ["x", "id", "whole", "city", "day"]
    assert swapped["x"].tolist() == [1, 2, 3]


@pytest.mark.parametrize("mapping", [None, {}, [["x", "y"]]])
def test_rename_needs_a_mapping(mapping):
    params = {} if mapping is None else {"mapping": mapping}
    assert refusal("rename", params) == "Give at least one column to rename, with its new name."


def test_rename_refuses_repeated_names_naming_them_in_order():
    assert refusal("rename", {"mapping": {"x": "whole", "city": "id"}}) == (
        "After renaming, names would repeat: id, whole. Choose unique names."
    )
    assert refusal("rename", {"mapping": {"x": " "}}) == "x must be a non-empty name; got ' '."


def test_cast_names_its_targets():
    assert check("cast", {"column": "id", "to": "str"}) == {"column": "id", "to": "str"}
    assert refusal("cast", {"column": "id", "to": "int"}) == (
        "to must be one of float64, int64, str, category, datetime, bool; got 'int'."
    )


@pytest.mark.parametrize(
    ("column", "to"),
    [
        ("id", "float64"),
        ("id", "str"),
        ("x", "str"),
        ("x", "category"),
        ("city", "category"),
        ("whole", "int64"),
        ("id", "bool"),
        ("id", "int64"),
    ],
)
def test_a_cast_is_pandas_astype(column, to):
    cast = apply("cast", {"column": column, "to": to})
    pd.testing.assert_series_equal(cast[column], FRAME[column].astype(to))
    assert list(cast.columns) == list(FRAME.columns)


def test_a_cast_to_times_parses_text():
    assert apply("cast", {"column": "day", "to": "datetime"})["day"].tolist() == list(pd.to_datetime(FRAME["day"]))


@pytest.mark.parametrize("to", ["int64", "bool"])
def test_a_cast_to_whole_numbers_or_flags_refuses_missing_values(to):
    assert apply_refusal("cast", {"column": "x", "to": to}) == (
        f"'x' has missing values, which {to} cannot hold: fill or drop them first."
    )


def test_a_cast_to_whole_numbers_refuses_fractions():
    frame = pd.DataFrame({"f": [1.0, 2.5]})
    assert apply_refusal("cast", {"column": "f", "to": "int64"}, frame) == (
        "'f' has fractional values; round them or cast to float64 instead."
    )


def test_a_cast_to_whole_numbers_refuses_numbers_past_their_range():
    frame = pd.DataFrame({"f": [1.0, 1e19]})
    assert apply_refusal("cast", {"column": "f", "to": "int64"}, frame) == (
        "'f' has values beyond the range of int64 (±9.2e18); keep it as float64."
    )
    assert apply_refusal("cast", {"column": "f", "to": "int64"}, pd.DataFrame({"f": [np.inf]})) == (
        "'f' has values beyond the range of int64 (±9.2e18); keep it as float64."
    )
    assert apply_refusal("cast", {"column": "f", "to": "int64"}, pd.DataFrame({"f": [2.0**63]})) == (
        "'f' has values beyond the range of int64 (±9.2e18); keep it as float64."
    )
    largest = pd.DataFrame({"f": [-(2.0**63), 2.0**62]})
    assert apply("cast", {"column": "f", "to": "int64"}, largest)["f"].tolist() == [-(2**63), 2**62]


def test_a_cast_the_library_refuses_is_explained():
    assert apply_refusal("cast", {"column": "city", "to": "float64"}, FRAME.dropna()) == (
        "Cannot cast 'city' to float64: could not convert string to float: 'Oslo'"
    )
    assert apply_refusal("cast", {"column": "city", "to": "datetime"}, FRAME.dropna()).startswith(
        "Cannot cast 'city' to datetime: "
    )


@pytest.mark.parametrize(
    ("step", "text"),
    [
        (Step("select", {"columns": ["a", "b"]}), "keep a, b"),
        (Step("drop", {"columns": ["a"]}), "drop a"),
        (Step("rename", {"mapping": {"a": "b", "c": "d"}}), "rename a → b, c → d"),
        (Step("cast", {"column": "a", "to": "int64"}), "cast a to int64"),
    ],
)
def test_column_steps_describe_themselves(step, text):
    assert step.describe() == text
