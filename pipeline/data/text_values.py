"""Text columns that hold numbers or dates: numbers written with separators become numbers, dates get a note.

`1,234,567.89` (comma between thousands) and `1.234,56` (decimal comma) are read as text by every
CSV parser; both are converted on the engine with the same string operations in pandas and cuDF.
A column is converted only when every value fits one convention; where a value fits both
(`12,000`), a `;`-separated file is taken to use decimal commas and any other file thousands commas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline.data.column_kinds import TEXT, column_kind
from pipeline.engines import Engine

COMMA_THOUSANDS = r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$"
DECIMAL_COMMA = r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$"
DATE_LIKE = re.compile(
    r"^(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}[/.]\d{1,2}[/.]\d{1,2}"
    r"|\d{1,2} [A-Za-z]{3,9}\.? \d{4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4})$"
)
DATE_SAMPLE_ROWS = 200


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
    """The convention every non-missing value in `values` (text) follows, or None."""
    present = values.dropna()
    if len(present) == 0 or not bool(present.str.contains(",", regex=False).any()):
        return None
    fits = [style for style in (COMMA, EUROPEAN) if bool(present.str.contains(style.pattern, regex=True).all())]
    if len(fits) == 2:
        return EUROPEAN if delimiter == ";" else COMMA
    return fits[0] if fits else None


def as_number(values: Any, style: NumberStyle) -> Any:
    plain = values.str.replace(style.thousands, "", regex=False)
    if style.decimal != ".":
        plain = plain.str.replace(style.decimal, ".", regex=False)
    return plain.astype("float64")


def convert_numbers(frame: Any, delimiter: str) -> tuple[Any, list[str]]:
    """The frame with text columns of separated numbers converted, and a note for each."""
    notes = []
    for column in list(frame.columns):
        if column_kind(frame[column].dtype) != TEXT:
            continue
        style = number_style(frame[column], delimiter)
        if style is None:
            continue
        frame[column] = as_number(frame[column], style)
        notes.append(
            f"Column {column!r} holds numbers written like {style.example()!r} "
            f"({style.thousands!r} between thousands, {style.decimal!r} before decimals): read as numbers."
        )
    return frame, notes


def date_hints(frame: Any, engine: Engine) -> list[str]:
    """A note for each text column whose first values all look like dates in a non-ISO format."""
    head = engine.to_pandas(frame.head(DATE_SAMPLE_ROWS))
    notes = []
    for column in head.columns:
        if column_kind(head[column].dtype) != TEXT:
            continue
        values = head[column].dropna().astype(str)
        if len(values) and all(DATE_LIKE.match(value.strip()) for value in values):
            notes.append(
                f"Column {column!r} looks like dates written as text (e.g. {values.iloc[0]!r}): it is read as "
                "text. Make it a date with the Pipeline's “Change type” step (to datetime)."
            )
    return notes
