"""The encoding steps' checks (limits, the messages a user reads), results against pandas, sizes and descriptions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pipeline.steps.library  # noqa: F401  (registers every step kind)
from pipeline.engines import CpuEngine
from pipeline.errors import DataError
from pipeline.steps.params import MAX_ONE_HOT_LEVELS
from pipeline.steps.spec import STEP_KINDS, Context, Schema, Step, checked
from tests.support.engines import TwoPartEngine
from tests.support.step_checks import applied, checked_params, refusal_of

FRAME = pd.DataFrame(
    {
        "city": pd.Series(["Oslo", "Rome", None, "Lima", "Oslo", "Rome"], dtype="str"),
        "n": [1.5, 2.0, 1.5, np.nan, 3.0, 2.0],
        "ok": [True, False, True, True, False, True],
        "when": pd.to_datetime(["2024-01-01"] * 6),
    }
)
SCHEMA = Schema.of(FRAME)


def check(kind: str, params: dict) -> dict:
    return checked_params(kind, params, SCHEMA)


def refusal(kind: str, params: dict) -> str:
    return refusal_of(kind, params, SCHEMA)


def apply(kind: str, params: dict, frame: pd.DataFrame = FRAME, engine=None) -> pd.DataFrame:
    return applied(kind, params, frame, engine)


def test_one_hot_takes_columns_or_one_column_and_fifty_levels_unless_told():
    assert check("one_hot", {"columns": ["city", "ok"]}) == {"columns": ["city", "ok"], "max_levels": 50}
    assert check("one_hot", {"column": "n"}) == {"columns": ["n"], "max_levels": 50}
    assert check("one_hot", {"column": "n", "max_levels": 2})["max_levels"] == 2
    assert check("one_hot", {"column": "n", "max_levels": MAX_ONE_HOT_LEVELS})["max_levels"] == 1_000
    assert refusal("one_hot", {"column": "n", "max_levels": 1}) == "max_levels must be between 2 and 1,000; got 1."
    assert refusal("one_hot", {"column": "n", "max_levels": 1_001}) == (
        "max_levels must be between 2 and 1,000; got 1,001."
    )
    assert refusal("one_hot", {"column": "n", "max_levels": 2.5}) == "max_levels must be a whole number; got 2.5."
    assert refusal("one_hot", {}) == "Choose at least 1 column(s) for this step."
    assert refusal("one_hot", {"column": "when"}) == (
        "'when' is datetime; this step needs a text or boolean or numeric column."
    )


def test_one_hot_marks_each_level_with_an_int8_indicator_in_place_of_the_column():
    encoded = apply("one_hot", {"columns": ["city", "n"]})
    assert list(encoded.columns) == [
        "ok",
        "when",
        "city=Lima",
        "city=Oslo",
        "city=Rome",
        "n=1.5",
        "n=2.0",
        "n=3.0",
    ]
    for column, level in (("city", "Lima"), ("city", "Oslo"), ("city", "Rome"), ("n", 1.5), ("n", 2.0), ("n", 3.0)):
        indicator = encoded[f"{column}={level}"]
        assert indicator.dtype == "int8"
        assert indicator.tolist() == [int(v == level) for v in FRAME[column]]


def test_one_hot_marks_a_missing_number_of_a_nullable_column_with_zeros():
    frame = pd.DataFrame({"i": pd.array([1, None, 2, 1], dtype="Int64")})
    encoded = apply("one_hot", {"column": "i"}, frame)
    assert encoded.to_dict("list") == {"i=1": [1, 0, 0, 1], "i=2": [0, 0, 1, 0]}


def test_one_hot_takes_exactly_its_limit_of_levels():
    encoded = apply("one_hot", {"column": "city", "max_levels": 3})
    assert [c for c in encoded.columns if c.startswith("city=")] == ["city=Lima", "city=Oslo", "city=Rome"]
    with pytest.raises(DataError) as raised:
        apply("one_hot", {"column": "city", "max_levels": 2})
    assert str(raised.value) == (
        "'city' has 3 distinct values, more than the 2 allowed here: one-hot encoding it would add that many "
        "columns. Use label encoding, or group rare values first."
    )


def test_one_hot_counts_thousands_with_separators():
    frame = pd.DataFrame({"k": pd.Series([f"k{i}" for i in range(1_200)], dtype="str")})
    with pytest.raises(DataError, match="'k' has 1,200 distinct values, more than the 1,000 allowed here"):
        apply("one_hot", {"column": "k", "max_levels": 1_000}, frame)


def test_one_hot_adds_a_byte_per_row_and_level_up_to_its_limit():
    step = checked(Step("one_hot", {"columns": ["city", "n"], "max_levels": 2}), SCHEMA)
    made, what = STEP_KINDS["one_hot"].output_size(FRAME, dict(step.params), Context(CpuEngine()))
    assert (made, what) == (CpuEngine.frame_nbytes(FRAME) + 6 * 4, "4 new columns of 6 rows")
    step = checked(Step("one_hot", {"columns": ["city", "ok"]}), SCHEMA)
    made, what = STEP_KINDS["one_hot"].output_size(FRAME, dict(step.params), Context(CpuEngine()))
    assert (made, what) == (CpuEngine.frame_nbytes(FRAME) + 6 * 5, "5 new columns of 6 rows")


def test_one_hot_sizes_count_thousands_with_separators():
    frame = pd.DataFrame({"k": [i % 2 for i in range(1_500)]})
    step = checked(Step("one_hot", {"column": "k"}), Schema.of(frame))
    _, what = STEP_KINDS["one_hot"].output_size(frame, dict(step.params), Context(CpuEngine()))
    assert what == "2 new columns of 1,500 rows"


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"columns": ["city", "ok"]}, "one-hot city, ok (at most 50 levels each)"),
        ({"column": "city", "max_levels": 10}, "one-hot city (at most 10 levels each)"),
    ],
)
def test_one_hot_describes_itself(params, text):
    assert Step("one_hot", params).describe() == text


def test_label_codes_take_text_or_flags():
    assert check("label_encode", {"column": "ok"}) == {"column": "ok"}
    assert refusal("label_encode", {"column": "n"}) == "'n' is numeric; this step needs a text or boolean column."
    assert Step("label_encode", {"column": "city"}).describe() == "codes for city"


def test_label_codes_are_the_sorted_levels_positions_and_minus_one_for_missing():
    codes = apply("label_encode", {"column": "city"})["city"]
    assert codes.dtype == "int32"
    assert codes.tolist() == [1, 2, -1, 0, 1, 2]
    assert codes.tolist() == pd.Categorical(FRAME["city"]).codes.tolist()
    assert apply("label_encode", {"column": "ok"})["ok"].tolist() == [1, 0, 1, 1, 0, 1]


def test_label_codes_in_partitions_are_the_whole_columns_codes():
    frame = pd.DataFrame({"city": pd.Series(["Rome", "Rome", "Lima", "Oslo"], dtype="str")})
    parts = apply("label_encode", {"column": "city"}, frame, TwoPartEngine())["city"]
    assert parts.tolist() == apply("label_encode", {"column": "city"}, frame)["city"].tolist() == [2, 2, 0, 1]
