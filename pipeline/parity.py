"""Parity of results across engines: the same columns, missing values and values, within tolerance."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Parity:
    """Whether two frames agree; each mismatch is one sentence naming a column."""

    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was not compared, and why

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _is_number(dtype: Any) -> bool:
    """Numbers compared within tolerance; flags are not numbers here (True must not pass for 1)."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _column_mismatch(name: str, left: pd.Series, right: pd.Series, rtol: float, atol: float) -> str | None:
    missing_left, missing_right = left.isna().to_numpy(), right.isna().to_numpy()
    if not np.array_equal(missing_left, missing_right):
        differ = int((missing_left != missing_right).sum())
        return f"{name!r}: missing values differ in {differ:,} rows"
    present = ~missing_left
    a, b = left[present], right[present]
    if _is_number(a.dtype) and _is_number(b.dtype):
        left_values, right_values = a.to_numpy(dtype="float64"), b.to_numpy(dtype="float64")
        finite = np.abs(left_values[np.isfinite(left_values)])
        # rounding noise is relative to the column's scale: a running sum (pandas' rolling mean) leaves 1e-16
        # where another order of additions gives exactly 0
        atol = max(atol, rtol * float(finite.max())) if finite.size else atol
        close = np.isclose(left_values, right_values, rtol=rtol, atol=atol)
        if not close.all():
            return f"{name!r}: {int((~close).sum()):,} values differ beyond rtol={rtol:g}"
        return None
    equal = a.astype(str).to_numpy() == b.astype(str).to_numpy()
    if not equal.all():
        first = int(np.flatnonzero(~equal)[0])
        return f"{name!r}: {int((~equal).sum()):,} values differ (first: {a.iloc[first]!r} vs {b.iloc[first]!r})"
    return None


def compare_frames(left: pd.DataFrame, right: pd.DataFrame, *, rtol: float = 1e-9, atol: float = 0.0) -> Parity:
    """Compare two host frames by value; dtypes may differ (e.g. str vs object, Int64 vs int64)."""
    mismatches = []
    if list(left.columns) != list(right.columns):
        mismatches.append(f"columns differ: {list(left.columns)} vs {list(right.columns)}")
        return Parity(mismatches)
    if len(left) != len(right):
        return Parity([f"row counts differ: {len(left):,} vs {len(right):,}"])
    for name in left.columns:
        mismatch = _column_mismatch(
            str(name), left[name].reset_index(drop=True), right[name].reset_index(drop=True), rtol, atol
        )
        if mismatch:
            mismatches.append(mismatch)
    return Parity(mismatches)


def compare_nested(left: Any, right: Any, *, rtol: float = 1e-7, atol: float = 1e-9, path: str = "") -> list[str]:
    """Differences between two JSON-like results: whole numbers, text and flags exactly, floats within tolerance."""
    where = path or "result"
    if isinstance(left, dict) and isinstance(right, dict):
        if left.keys() != right.keys():
            return [f"{where}: keys differ ({sorted(map(str, left))} vs {sorted(map(str, right))})"]
        return [
            m for key in left for m in compare_nested(left[key], right[key], rtol=rtol, atol=atol, path=f"{path}.{key}")
        ]
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return [f"{where}: {len(left)} vs {len(right)} items"]
        return [
            m
            for i, pair in enumerate(zip(left, right, strict=True))
            for m in compare_nested(*pair, rtol=rtol, atol=atol, path=f"{path}[{i}]")
        ]
    if isinstance(left, float) or isinstance(right, float):
        both_numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
        if both_numbers and math.isclose(left, right, rel_tol=rtol, abs_tol=atol):
            return []
    elif left == right and type(left) is type(right):
        return []
    return [f"{where}: {left!r} vs {right!r}"]


def in_row_order(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows sorted by every column (missing last), for results whose row order is not defined."""
    keys = frame.astype({name: str for name in frame.columns if frame[name].dtype == object})
    order = keys.sort_values(list(keys.columns), kind="stable", na_position="last").index
    return frame.loc[order].reset_index(drop=True)


def compare_results(left: pd.DataFrame, right: pd.DataFrame, *, ordered: bool, rtol: float = 1e-9) -> Parity:
    """Whether two engines' results agree; with `ordered` False, rows are matched after sorting both."""
    if not ordered and list(left.columns) == list(right.columns) and len(left) == len(right):
        left, right = in_row_order(left), in_row_order(right)
    return compare_frames(left, right, rtol=rtol)
