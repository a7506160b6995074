"""Numbers written as text with other marks, as float64: one implementation for the app and the exported scripts
(which copy its source)."""

from __future__ import annotations

from typing import Any


def as_number(values: Any, decimal: str, thousands: str) -> Any:
    """Text numbers written with `decimal` before decimals and `thousands` (or nothing) between thousands, as float64
    (the same string operations on pandas and cuDF)."""
    plain = values.str.replace(thousands, "", regex=False) if thousands else values
    if decimal != ".":
        plain = plain.str.replace(decimal, ".", regex=False)
    return plain.astype("float64")
