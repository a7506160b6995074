"""Human-readable numbers for the pages."""

from __future__ import annotations

import math
import re
from numbers import Integral, Real

import numpy as np
import pandas as pd

from pipeline.profile import shown as profile_shown
from pipeline.render.charts import size_unit

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def literal(text: str) -> str:
    """`text` shown as it is in a markdown element (a caption, a message): every markdown character escaped, so a
    name or note from a file (or from someone else's workspace) cannot become a link, an image or an icon."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def size(nbytes: float) -> str:
    unit, divisor = size_unit(nbytes)
    return f"{nbytes:,.0f} B" if unit == "B" else f"{nbytes / divisor:,.1f} {unit}"


def counted(count: int, noun: str) -> str:
    """`count` of `noun` as people say it: "1 step", "4 steps"."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def seconds(value: float) -> str:
    if value < 1e-3:
        return f"{value * 1e6:,.0f} µs"
    if value < 1:
        return f"{value * 1e3:,.1f} ms"
    return f"{value:,.2f} s"


def amount(value: float) -> str:
    """A price or cost in plain digits, two significant ones below a cent: `1.50`, `0.00000067`."""
    if value >= 0.01:
        return f"{value:,.2f}"
    return np.format_float_positional(value, precision=2, unique=False, fractional=False, trim="-")


def time_left(value: float | None) -> str:
    """The time left as a progress bar says it after its text: nothing before an estimate, whole seconds and
    minutes after, and no number once the estimate has run out."""
    if value is None:
        return ""
    if value <= 0:
        return " · taking longer than estimated"
    minutes, rest = divmod(math.ceil(value), 60)
    return f" · about {minutes} min {rest:02d} s left" if minutes else f" · about {rest} s left"


MISSING = "—"


def significant(value: float, digits: int = 4) -> float:
    """`value` rounded to `digits` significant digits, never into its whole part (1,234,567.8 stays 1,234,568)."""
    if not math.isfinite(value) or value == 0:
        return value
    return round(value, max(0, digits - 1 - math.floor(math.log10(abs(value)))))


def number(value: float, digits: int | None = 4) -> str:
    """A number as text: `digits` significant digits (all of them for None), thousands separated."""
    if isinstance(value, Integral):
        return f"{int(value):,}"
    rounded = float(value) if digits is None else significant(float(value), digits)
    text = f"{rounded:,}"
    return text.removesuffix(".0")


def people_table(frame: pd.DataFrame, digits: int | None = 4) -> pd.DataFrame:
    """A table as the pages show it to people: numbers to `digits` significant digits (None: as they are), time
    spans in words, and a missing value as “—” (Streamlit draws one as "None"), which makes its column text;
    a column of numbers with none missing stays numbers, so it still sorts as numbers."""
    shown = frame.copy()
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        present = column.notna()
        if pd.api.types.is_timedelta64_dtype(column.dtype):
            values = [profile_shown(v) for v in column]
        elif pd.api.types.is_bool_dtype(column.dtype) or not _numbers(column[present]):
            values = [_cell(v, ok, digits) for v, ok in zip(column, present, strict=True)]
        elif present.all() and pd.api.types.is_integer_dtype(column.dtype):
            values = column
        elif present.all():
            values = column.astype("float64").map(lambda v: significant(v, digits) if digits else v)
        else:
            values = [number(v, digits) if ok else MISSING for v, ok in zip(column, present, strict=True)]
        shown.isetitem(position, values)
    return shown


def _is_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


def _numbers(values: pd.Series) -> bool:
    """Whether every value is a number (not a flag): a column of them may be shown as numbers."""
    return pd.api.types.is_numeric_dtype(values.dtype) or bool(values.map(_is_number).all())


def _cell(value: object, present: bool, digits: int | None) -> object:
    """A value of a column of text, flags or mixed values as shown: numbers rounded, missing as “—”."""
    if not present:
        return MISSING
    return number(value, digits) if _is_number(value) else value
