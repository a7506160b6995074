"""The kinds of column the app tells apart, from pandas and cuDF dtypes alike."""

from __future__ import annotations

from typing import Any

import pandas as pd

NUMERIC, BOOLEAN, DATETIME, TEXT, OTHER = "numeric", "boolean", "datetime", "text", "other"
KINDS = (NUMERIC, BOOLEAN, DATETIME, TEXT, OTHER)


def column_kind(dtype: Any) -> str:
    """How a column is profiled, from its dtype (pandas and cuDF dtypes alike)."""
    types = pd.api.types
    if types.is_bool_dtype(dtype):
        return BOOLEAN
    if types.is_datetime64_any_dtype(dtype):
        return DATETIME
    if types.is_timedelta64_dtype(dtype):
        return OTHER
    if types.is_numeric_dtype(dtype):
        return NUMERIC
    if types.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype) or str(dtype) == "category":
        return TEXT
    return OTHER
