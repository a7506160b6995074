"""The parameter checks every step kind shares: what they accept, their defaults, and the messages a user reads."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.errors import DataError
from pipeline.steps.params import (
    MAX_TEXT_LENGTH,
    bounded_text,
    choice,
    column_list,
    name_text,
    new_column,
    number,
    value_for,
    with_columns,
)
from pipeline.steps.spec import Schema
from pipeline.tables.column_kinds import BOOLEAN, DATETIME, NUMERIC, OTHER, TEXT


def refusal(call, *args, **kwargs) -> str:
    """The message of the DataError the call raises."""
    with pytest.raises(DataError) as raised:
        call(*args, **kwargs)
    return str(raised.value)


def test_a_choice_is_one_of_its_options_or_its_default():
    assert choice({"how": "all"}, "how", ("any", "all"), "any") == "all"
    assert choice({}, "how", ("any", "all"), "any") == "any"
    assert refusal(choice, {"how": "some"}, "how", ("any", "all"), "any") == (
        "how must be one of any, all; got 'some'."
    )
    assert refusal(choice, {}, "op", ("lower", "upper")) == "op must be one of lower, upper; got None."


def test_a_number_is_taken_between_its_bounds_inclusive():
    assert number({"f": 0.0}, "f", 0.0, 0.5) == 0.0
    assert number({"f": 0.5}, "f", 0.0, 0.5) == 0.5
    assert refusal(number, {"f": 0.51}, "f", 0.0, 0.5) == "f must be between 0 and 0.5; got 0.51."
    assert refusal(number, {"f": -0.01}, "f", 0.0, 0.5) == "f must be between 0 and 0.5; got -0.01."
    assert refusal(number, {"n": 101}, "n", 2, 100, whole=True) == "n must be between 2 and 100; got 101."


def test_a_number_absent_takes_its_default_and_comes_back_as_float_or_int():
    taken = number({}, "f", 0.0, 1.0, 0.1)
    assert taken == 0.1 and type(taken) is float
    assert type(number({"f": 1}, "f", 0.0, 1.0)) is float
    whole = number({"n": 4.0}, "n", 2, 100, whole=True)
    assert whole == 4 and type(whole) is int
    assert refusal(number, {}, "f", 0.0, 1.0) == "f must be a number; got 'None'."


def test_a_number_refuses_flags_and_text_naming_what_it_got():
    assert refusal(number, {"f": True}, "f", 0, 1) == "f must be a number; got 'True'."
    assert refusal(number, {"n": False}, "n", 0, 1, whole=True) == "n must be a whole number; got 'False'."
    assert refusal(number, {"f": "x" * 50}, "f", 0, 1) == f"f must be a number; got {'x' * 40!r}."


def test_a_whole_number_refuses_a_fraction():
    assert refusal(number, {"n": 2.5}, "n", 2, 100, whole=True) == "n must be a whole number; got 2.5."


def test_a_huge_whole_number_out_of_bounds_is_shown_up_to_twenty_characters():
    twenty_digits, minus_and_nineteen = 10**19, -(10**18)
    assert refusal(number, {"n": twenty_digits}, "n", 0, 100) == (
        "n must be between 0 and 100; got 10,000,000,000,000,000,000."
    )
    assert refusal(number, {"n": minus_and_nineteen}, "n", 0, 100) == (
        "n must be between 0 and 100; got -1,000,000,000,000,000,000."
    )
    assert refusal(number, {"n": 10**20}, "n", 0, 100) == "n must be between 0 and 100; got a larger one."
    assert refusal(number, {"f": 1e300}, "f", 0, 1) == "f must be between 0 and 1; got 1e+300."


def test_a_whole_numbers_bounds_are_shown_in_full():
    # 4.29497e+09 (the bound rounded) would read as more than the 4,294,967,296 refused
    assert refusal(number, {"seed": 2**32}, "seed", 0, 2**32 - 1, whole=True) == (
        "seed must be between 0 and 4,294,967,295; got 4,294,967,296."
    )
    assert refusal(number, {"f": 2e-7}, "f", 1e-6, 1.0) == "f must be between 1e-06 and 1; got 2e-07."


def test_text_is_taken_up_to_its_limit_exactly():
    assert bounded_text("a" * MAX_TEXT_LENGTH, "pattern") == "a" * MAX_TEXT_LENGTH
    assert refusal(bounded_text, "a" * (MAX_TEXT_LENGTH + 1), "pattern") == (
        "pattern is 1,001 characters long; a step takes at most 1,000."
    )


def test_a_name_is_stripped_and_must_not_be_empty():
    assert name_text({"output": "  new  "}, "output") == "new"
    assert name_text({}, "output", "fallback") == "fallback"
    assert name_text({"output": " " + "a" * MAX_TEXT_LENGTH + " "}, "output") == "a" * MAX_TEXT_LENGTH
    assert refusal(name_text, {"output": "   "}, "output") == "output must be a non-empty name; got '   '."
    assert refusal(name_text, {"output": 3}, "output") == "output must be a non-empty name; got 3."
    assert refusal(name_text, {}, "value") == "value must be a non-empty name; got None."
    assert refusal(name_text, {"value": "b" * (MAX_TEXT_LENGTH + 1)}, "value") == (
        "value is 1,001 characters long; a step takes at most 1,000."
    )


def test_a_new_column_needs_a_name_not_taken():
    schema = Schema({"x": NUMERIC, "split": TEXT})
    assert new_column({}, schema, "x_bin") == "x_bin"
    assert new_column({"output": "y"}, schema, "x_bin") == "y"
    assert new_column({"column": "part"}, schema, "split", key="column") == "part"
    assert refusal(new_column, {}, schema, "split", key="column") == (
        "A column called 'split' exists already; choose another name for the new one."
    )
    assert refusal(new_column, {"output": "x"}, schema, "x_bin") == (
        "A column called 'x' exists already; choose another name for the new one."
    )


def test_with_columns_replaces_and_adds_keeping_the_rest():
    frame = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    result = with_columns(frame, {"b": [5, 6], "c": [7, 8]})
    assert result.to_dict("list") == {"a": [1, 2], "b": [5, 6], "c": [7, 8]}
    assert frame.to_dict("list") == {"a": [1, 2], "b": [3, 4]}


def test_a_column_list_is_its_names_joined():
    assert column_list({"columns": ["a", "b"]}) == "a, b"
    assert column_list({}) == ""
    assert column_list({"by": ["k"]}, "by") == "k"


@pytest.mark.parametrize(
    ("kind", "value"),
    [(NUMERIC, 3), (NUMERIC, -2.5), (BOOLEAN, True), (BOOLEAN, False), (TEXT, "Oslo"), (TEXT, "")],
)
def test_a_value_of_the_columns_kind_is_taken_as_it_is(kind, value):
    taken = value_for(kind, value, "c")
    assert taken == value and type(taken) is type(value)


def test_a_time_is_taken_as_iso_text():
    assert value_for(DATETIME, "2024-01-31", "when") == "2024-01-31T00:00:00"
    assert value_for(DATETIME, "2024-01-31 08:30+01:00", "when") == "2024-01-31T08:30:00+01:00"


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (NUMERIC, True, "True does not fit 'c', a numeric column: give a number."),
        (NUMERIC, "3", "'3' does not fit 'c', a numeric column: give a number."),
        (NUMERIC, None, "None does not fit 'c', a numeric column: give a number."),
        (BOOLEAN, 1, "1 does not fit 'c', a boolean column: give a true or false."),
        (TEXT, 1, "1 does not fit 'c', a text column: give a text value."),
        (DATETIME, 20240131, "20240131 does not fit 'c', a datetime column: give a date such as 2024-01-31."),
        (OTHER, "x", "'x' does not fit 'c', a other column: give a value of its type."),
        (
            NUMERIC,
            float("nan"),
            "nan is no value for 'c': give a finite number (a filter finds missing values with 'is missing' or "
            "'is not missing').",
        ),
        (
            NUMERIC,
            float("-inf"),
            "-inf is no value for 'c': give a finite number (a filter finds missing values with 'is missing' or "
            "'is not missing').",
        ),
        (
            DATETIME,
            "NaT",
            "'NaT' is no date or time for 'c': give one such as 2024-01-31 (a filter finds missing values with "
            "'is missing' or 'is not missing').",
        ),
        (DATETIME, "soon", "'soon' is not a date or time for 'c' (use e.g. 2024-01-31 or 2024-01-31T08:00)."),
        (TEXT, "t" * (MAX_TEXT_LENGTH + 1), "The value for 'c' is 1,001 characters long; a step takes at most 1,000."),
    ],
)
def test_a_value_that_does_not_fit_its_column_is_refused_saying_what_to_give(kind, value, message):
    assert refusal(value_for, kind, value, "c") == message


def test_text_at_the_limit_is_a_value():
    assert value_for(TEXT, "t" * MAX_TEXT_LENGTH, "c") == "t" * MAX_TEXT_LENGTH
