"""Text columns that hold numbers or dates: numbers written with separators become numbers, dates become dates.

`1,234,567.89` (comma between thousands) and `1.234,56` (decimal comma) are read as text by every
CSV parser; both are converted on the engine with the same string operations in pandas and cuDF.
A column is converted only when every value fits one convention; where a value fits both
(`12,000`), a `;`-separated file is taken to use decimal commas and any other file thousands commas.

Dates the CSV parser leaves as text (`2012/01/01`, `31/01/2024`, `Jan 1 2000`) become dates when one
format fits every value; day-first and month-first are told apart by a day above 12, and a column
where either could be meant stays text with a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.engines import Engine
from pipeline.tables.column_kinds import TEXT, column_kind
from pipeline.tables.text_numbers import as_number

COMMA_THOUSANDS = r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$"
DECIMAL_COMMA = r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$"
DATE_LIKE = re.compile(
    r"^(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}[/.]\d{1,2}[/.]\d{1,2}"
    r"|\d{1,2} [A-Za-z]{3,9}\.? \d{4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4})( \d{1,2}:\d{2}(:\d{2})?)?$"
)
DATE_ORDERS = {
    "%Y/%m/%d": "year/month/day",
    "%Y.%m.%d": "year.month.day",
    "%d/%m/%Y": "day/month/year",
    "%m/%d/%Y": "month/day/year",
    "%d.%m.%Y": "day.month.year",
    "%d-%m-%Y": "day-month-year",
    "%m-%d-%Y": "month-day-year",
    "%d %b %Y": "day month-name year",
    "%d %B %Y": "day month-name year",
    "%b %d %Y": "month-name day year",
    "%b %d, %Y": "month-name day, year",
    "%B %d %Y": "month-name day year",
    "%B %d, %Y": "month-name day, year",
}
TIMES = ("", " %H:%M", " %H:%M:%S")
DATE_SAMPLE_ROWS = 200
NUMBER_SAMPLE_ROWS = 1_000


@dataclass(frozen=True)
class NumberStyle:
    thousands: str
    decimal: str
    pattern: str

    def example(self) -> str:
        return f"1{self.thousands}234{self.decimal}5"


COMMA = NumberStyle(",", ".", COMMA_THOUSANDS)
EUROPEAN = NumberStyle(".", ",", DECIMAL_COMMA)


def number_style(values: Any, delimiter: str) -> NumberStyle | None:
    """The convention every non-missing value in `values` (text) follows, or None. The first rows are looked at
    first: where they already fit no convention, the whole column cannot (most text columns end there)."""
    head = values.head(NUMBER_SAMPLE_ROWS).dropna()
    styles = (COMMA, EUROPEAN)
    if not any(bool(head.str.contains(style.pattern, regex=True).all()) for style in styles):
        return None
    present = values.dropna()
    if len(present) == 0 or not bool(present.str.contains(",", regex=False).any()):
        return None
    fits = [style for style in (COMMA, EUROPEAN) if bool(present.str.contains(style.pattern, regex=True).all())]
    if len(fits) == 2:
        return EUROPEAN if delimiter == ";" else COMMA
    return fits[0] if fits else None


def convert_numbers(frame: Any, delimiter: str) -> tuple[Any, list[str], tuple[tuple[str, str, str], ...]]:
    """The frame with text columns of separated numbers converted, a note for each, and what was converted: each
    column's name with its decimal and thousands marks."""
    notes = []
    converted = []
    for column in list(frame.columns):
        if column_kind(frame[column].dtype) != TEXT:
            continue
        style = number_style(frame[column], delimiter)
        if style is None:
            continue
        frame[column] = as_number(frame[column], style.decimal, style.thousands)
        converted.append((str(column), style.decimal, style.thousands))
        notes.append(
            f"Column {column!r} holds numbers written like {style.example()!r} "
            f"({style.thousands!r} between thousands, {style.decimal!r} before decimals): read as numbers."
        )
    return frame, notes, tuple(converted)


def fitting_date_formats(values: pd.Series) -> list[str]:
    """The strptime formats (of DATE_ORDERS, with or without a time) that every value fits."""
    if len(values) == 0 or not all(DATE_LIKE.match(value) for value in values):
        return []
    return [
        date + time
        for date in DATE_ORDERS
        for time in TIMES
        if not pd.to_datetime(values, format=date + time, errors="coerce").isna().any()
    ]


def convert_dates(frame: Any, engine: Engine) -> tuple[Any, list[str]]:
    """The frame with text columns of non-ISO dates made date-times where one format fits every value, and a note
    for each column converted or left as text."""
    head = engine.to_pandas(frame.head(DATE_SAMPLE_ROWS))
    notes = []
    for column in head.columns:
        if column_kind(head[column].dtype) != TEXT:
            continue
        values = head[column].dropna().astype(str).str.strip()
        formats = fitting_date_formats(values)
        orders = {DATE_ORDERS[f.split(" %H")[0]] for f in formats}
        example = values.iloc[0] if len(values) else ""
        if len(orders) > 1:
            notes.append(
                f"Column {column!r} looks like dates (e.g. {example!r}) but could be {' or '.join(sorted(orders))}: "
                "it is read as text. Make it a date with the Pipeline's “Change type” step (to datetime)."
            )
            continue
        if not formats:
            continue
        text = frame[column]
        parsed = engine.parse_datetimes(text.str.strip(), formats[0])
        unfit = int(engine.compute(parsed.isna().sum() - text.isna().sum()))
        if unfit:
            notes.append(
                f"Column {column!r} looks like dates ({orders.pop()}, e.g. {example!r}) but {unfit:,} value(s) "
                "further down do not fit that format: it is read as text."
            )
            continue
        frame[column] = parsed
        notes.append(f"Column {column!r} holds dates written as {orders.pop()} (e.g. {example!r}): read as dates.")
    return frame, notes
