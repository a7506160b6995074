"""What every step kind shares: parameter checks, the named choices steps offer, and small helpers."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from pipeline.errors import DataError
from pipeline.steps.spec import Schema
from pipeline.tables.column_kinds import BOOLEAN, DATETIME, NUMERIC, TEXT

CAST_TARGETS = ("float64", "int64", "str", "category", "datetime", "bool")
FILL_METHODS = ("constant", "mean", "median", "mode", "forward")
DATETIME_PARTS = ("year", "month", "day", "weekday", "hour", "minute")
STRING_OPS = ("lower", "upper", "strip", "length", "contains", "replace")
SCALE_METHODS = ("standard", "minmax", "robust")
AGGREGATIONS = ("count", "sum", "mean", "min", "max", "std", "nunique")
MAX_ONE_HOT_LEVELS = 1_000
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
FILTER_OPERATORS = (*COMPARISONS, "in", "contains", "is missing", "is not missing")
INT64_LIMIT = 2.0**63  # the floats int64 holds are those from -2**63 up to (not including) 2**63
CAST_REFUSALS = {  # why a cast would change values, for the run and the exported script alike
    "missing": "{column!r} has missing values, which {target} cannot hold: fill or drop them first.",
    "range": "{column!r} has values beyond the range of int64 (±9.2e18); keep it as float64.",
    "fraction": "{column!r} has fractional values; round them or cast to float64 instead.",
}


def choice(params: dict[str, Any], key: str, options: tuple[str, ...], default: str | None = None) -> str:
    value = params.get(key, default)
    if value not in options:
        raise DataError(f"{key} must be one of {', '.join(options)}; got {value!r}.")
    return value


def number(
    params: dict[str, Any], key: str, low: float, high: float, default: float | None = None, *, whole: bool = False
) -> float | int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f"{key} must be a {'whole ' if whole else ''}number; got {str(value)[:40]!r}.")
    if not low <= value <= high:  # before anything turns a huge whole number into a float
        shown = (
            f"{value:g}" if isinstance(value, float) else (f"{value:,}" if len(str(value)) <= 20 else "a larger one")
        )
        bounds = f"{low:,} and {high:,}" if whole else f"{low:g} and {high:g}"  # a whole bound in full, not rounded
        raise DataError(f"{key} must be between {bounds}; got {shown}.")
    if whole and not float(value).is_integer():
        raise DataError(f"{key} must be a whole number; got {value!r}.")
    return int(value) if whole else float(value)


MAX_TEXT_LENGTH = 1_000  # characters of any text a step is given: a name, a value, a pattern


def bounded_text(value: str, key: str) -> str:
    if len(value) > MAX_TEXT_LENGTH:
        raise DataError(f"{key} is {len(value):,} characters long; a step takes at most {MAX_TEXT_LENGTH:,}.")
    return value


def name_text(params: dict[str, Any], key: str, default: str | None = None) -> str:
    value = params.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{key} must be a non-empty name; got {value!r}.")
    return bounded_text(value.strip(), key)


def with_columns(frame: Any, columns: dict[str, Any]) -> Any:
    """The frame with these columns replaced or added; the others are shared, not copied."""
    return frame.assign(**columns)


def new_column(params: dict[str, Any], schema: Schema, default: str, key: str = "output") -> str:
    """The name of a column a step adds; DataError when the table has one of that name already."""
    name = name_text(params, key, default)
    if name in schema.kinds:
        raise DataError(f"A column called {name!r} exists already; choose another name for the new one.")
    return name


MISSING_HINT = " (a filter finds missing values with 'is missing' or 'is not missing')."


def value_for(kind: str, value: Any, column: str) -> Any:
    """A filter or fill value checked against the column's kind (JSON carries times as ISO text); a missing value
    (NaN, infinity, NaT: a recipe file may write them) is no value to compare with or fill in."""
    if kind == NUMERIC and isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise DataError(f"{value!r} is no value for {column!r}: give a finite number{MISSING_HINT}")
        return value
    if kind == BOOLEAN and isinstance(value, bool):
        return value
    if kind == TEXT and isinstance(value, str):
        return bounded_text(value, f"The value for {column!r}")
    if kind == DATETIME and isinstance(value, str):
        try:
            moment = pd.Timestamp(value)
        except ValueError as error:
            raise DataError(
                f"{value!r} is not a date or time for {column!r} (use e.g. 2024-01-31 or 2024-01-31T08:00)."
            ) from error
        if pd.isna(moment):
            raise DataError(f"{value!r} is no date or time for {column!r}: give one such as 2024-01-31{MISSING_HINT}")
        return moment.isoformat()
    raise DataError(f"{value!r} does not fit {column!r}, a {kind} column: give a {_example(kind)}.")


def _example(kind: str) -> str:
    return {NUMERIC: "number", BOOLEAN: "true or false", TEXT: "text value", DATETIME: "date such as 2024-01-31"}.get(
        kind, "value of its type"
    )


def scalar_for(series: Any, value: Any) -> Any:  # pragma: no mutate block (exported scripts copy its source)
    """A checked value as the column needs it at run time (times in the column's time zone)."""
    if isinstance(value, str) and pd.api.types.is_datetime64_any_dtype(series.dtype):
        moment = pd.Timestamp(value)
        tz = getattr(series.dtype, "tz", None)
        if tz is not None:
            return moment.tz_localize(tz) if moment.tzinfo is None else moment.tz_convert(tz)
        return moment.tz_convert(None) if moment.tzinfo is not None else moment
    return value


def column_list(params: dict[str, Any], key: str = "columns") -> str:
    return ", ".join(params.get(key, []))
