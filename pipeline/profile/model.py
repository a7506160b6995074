"""A profile as data: what to compute (ProfileSettings, PRESETS), what was found (Profile, ColumnProfile, alerts),
how it reads (plain JSON values, shown text) and whether two engines' profiles agree."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import DataError
from pipeline.parity import Parity, compare_nested
from pipeline.tables.column_kinds import DATETIME, NUMERIC, TEXT
from pipeline.tables.column_roles import HIGH_CARDINALITY_MIN, HIGH_CARDINALITY_SHARE

MAX_MATRIX_COLUMNS = 60
MAX_SHOWN_CHARS = 200
QUANTILE_KEY = re.compile(r"^p\d+(\.\d+)?$")

ProfileProgress = Callable[[float, str], None]


@dataclass(frozen=True)
class ProfileSettings:
    """What a profile computes and when it raises an alert; the defaults suit most tables."""

    bins: int = 30
    time_bins: int = 40
    top_k: int = 10
    quantiles: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
    high_missing_share: float = 0.2
    skew_threshold: float = 2.0
    high_cardinality_share: float = HIGH_CARDINALITY_SHARE
    high_cardinality_min: int = HIGH_CARDINALITY_MIN
    rare_share: float = 0.01
    high_correlation: float = 0.9
    mixed_type_sample: int = 100_000
    chunk_rows: int = 1 << 20
    duplicates: bool = True
    correlations: bool = True
    missing_matrices: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.bins <= 200 or not 1 <= self.time_bins <= 200:
            raise DataError(f"Histogram bins must be between 1 and 200; got {self.bins} and {self.time_bins}.")
        if not 1 <= self.top_k <= 100:
            raise DataError(f"Top values must be between 1 and 100; got {self.top_k}.")
        if not all(0 <= q <= 1 for q in self.quantiles):
            raise DataError(f"Quantiles must lie between 0 and 1; got {self.quantiles}.")


PRESETS = {
    "full": ProfileSettings(),
    "minimal": ProfileSettings(duplicates=False, correlations=False, missing_matrices=False),
}
"""`minimal` computes what ydata-profiling's minimal mode does: per-column statistics, no pairwise work."""


@dataclass
class ColumnProfile:
    """One column's statistics; `histogram` bins values, string lengths or time, as `histogram_of` says."""

    name: str
    kind: str
    dtype: str
    count: int
    missing: int
    distinct: int
    stats: dict[str, Any] = field(default_factory=dict)
    histogram: pd.DataFrame | None = None
    histogram_of: str | None = None
    top_values: pd.DataFrame | None = None
    flags: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.count + self.missing

    @property
    def missing_share(self) -> float:
        return self.missing / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class Alert:
    """Something a user should look at: which column (None for the table), what, and why."""

    column: str | None
    code: str
    message: str


@dataclass
class TableStats:
    rows: int
    columns: int
    memory_bytes: int
    duplicate_rows: int | None
    missing_cells: int
    kinds: dict[str, int]


@dataclass
class Profile:
    """A table's profile on one engine, and how long each phase took there."""

    engine: str
    engine_label: str
    table: TableStats
    columns: list[ColumnProfile]
    correlations: dict[str, pd.DataFrame]
    correlation_note: str | None
    missing_together: pd.DataFrame | None
    missing_correlation: pd.DataFrame | None
    alerts: list[Alert]
    phases: dict[str, float]
    approximate: tuple[str, ...] = ()  # which results are estimates, in words (Dask's quantiles and distinct counts)
    method_notes: dict[str, str] = field(default_factory=dict)  # what to know about one method's matrix

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())

    def column(self, name: str) -> ColumnProfile:
        for column in self.columns:
            if column.name == name:
                return column
        raise DataError(f"The profile has no column {name!r}; choose one of the table's columns.")

    def summary(self) -> pd.DataFrame:
        """One row per column: kind, missing share, distinct count, the headline statistic (a number as it is, to
        be rounded where it is shown; a date as text) and its alerts in words."""
        rows = []
        for column in self.columns:
            headline = _headline(column)
            rows.append(
                {
                    "column": column.name,
                    "kind": column.kind,
                    "dtype": column.dtype,
                    "missing %": 100 * column.missing_share,
                    "distinct": column.distinct,
                    "mean / top value": headline if _is_number(headline) else shown(headline),
                    "alerts": ", ".join(ALERT_LABELS.get(code, code) for code in column.flags),
                }
            )
        return pd.DataFrame(rows)

    def statistics(self) -> dict[str, Any]:
        """Everything computed, as plain JSON values, without what depends on the engine (times, dtypes, bytes)."""
        return {
            "table": {
                "rows": self.table.rows,
                "columns": self.table.columns,
                "duplicate_rows": self.table.duplicate_rows,
                "missing_cells": self.table.missing_cells,
                "kinds": self.table.kinds,
            },
            "columns": [_column_statistics(column) for column in self.columns],
            "correlations": {method: _matrix_records(matrix) for method, matrix in self.correlations.items()},
            "correlation_note": self.correlation_note,
            "missing_together": _matrix_records(self.missing_together),
            "missing_correlation": _matrix_records(self.missing_correlation),
            "alerts": [{"column": a.column, "code": a.code, "message": a.message} for a in self.alerts],
        }

    def to_dict(self) -> dict[str, Any]:
        """The statistics plus the run facts: engine, seconds per phase, memory and dtypes."""
        result = self.statistics()
        result["engine"] = {"name": self.engine, "label": self.engine_label}
        result["seconds"] = {**self.phases, "total": self.seconds}
        result["table"]["memory_bytes"] = self.table.memory_bytes
        for record, column in zip(result["columns"], self.columns, strict=True):
            record["dtype"] = column.dtype
        return result


def plain(value: Any) -> Any:
    """A JSON-ready version of a scalar: numpy numbers to Python, NaN and ±inf to None, times to ISO text."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):  # NaN and ±inf (a spread too large for floats) have no JSON
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (pd.Timestamp, pd.Timedelta)):
        return value.isoformat()
    return str(value)


def _headline(column: ColumnProfile) -> Any:
    """A column's mean (numbers, dates; to the day when its first and last dates have no time of day), else its
    most frequent value."""
    if column.kind not in (NUMERIC, DATETIME):
        return column.stats.get("top")
    mean, ends = column.stats.get("mean"), (column.stats.get("min"), column.stats.get("max"))
    if column.kind == DATETIME and mean is not None and all(end == end.normalize() for end in ends):
        return mean.round("D")
    return mean


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def shown(value: Any) -> str:
    """A statistic as people read it: 6 significant digits, thousands separated, a time span in words, `—` for
    none."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)) or value is pd.NaT:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (timedelta, np.timedelta64)):
        return time_span(pd.Timedelta(value))
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.strftime("%Y-%m-%d") + ("" if value.tz is None else f" {value.tzname()}")
    if isinstance(value, (float, np.floating)):
        return f"{value:,.6g}"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return str(value)


YEAR_S = 365.25 * 86_400
SPAN_UNITS = (("days", 86_400), ("hours", 3_600), ("minutes", 60), ("seconds", 1))


def time_span(delta: pd.Timedelta) -> str:
    """A time span in words, e.g. `12.0 years (4,383 days)`, `3.5 days`, `45 minutes`."""
    seconds = delta.total_seconds()
    if abs(seconds) >= YEAR_S:
        return f"{seconds / YEAR_S:,.1f} years ({seconds / 86_400:,.0f} days)"
    unit, size = next(((unit, size) for unit, size in SPAN_UNITS if abs(seconds) >= size), SPAN_UNITS[-1])
    amount = f"{seconds / size:,.3g}"
    return f"{amount} {unit.removesuffix('s') if amount == '1' else unit}"


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if frame is None:
        return None
    return [{str(key): plain(value) for key, value in row.items()} for row in frame.to_dict(orient="records")]


def _matrix_records(matrix: pd.DataFrame | None) -> dict[str, Any] | None:
    if matrix is None:
        return None
    return {"columns": [str(c) for c in matrix.columns], "values": [[plain(v) for v in row] for row in matrix.values]}


def _column_statistics(column: ColumnProfile) -> dict[str, Any]:
    return {
        "name": column.name,
        "kind": column.kind,
        "count": column.count,
        "missing": column.missing,
        "distinct": column.distinct,
        "stats": {key: plain(value) for key, value in column.stats.items()},
        "histogram_of": column.histogram_of,
        "histogram": _records(column.histogram),
        "top_values": _records(column.top_values),
        "flags": dict(column.flags),
    }


def type_listing(types: dict[str, int]) -> str:
    """Python types of an object column with their counts, e.g. `str (2), int (1)`."""
    return ", ".join(f"{kind} ({count:,})" for kind, count in types.items())


ALERT_LABELS = {
    "all_missing": "all missing",
    "high_missing": "many missing",
    "constant": "one value",
    "mixed_types": "mixed types",
    "skewed": "skewed",
    "infinite": "infinite values",
    "negative_values": "negative values",
    "future_dates": "future dates",
    "likely_id": "likely an id",
    "high_cardinality": "many distinct values",
}
"""Each column alert's code in a few words, as the overview's table lists them."""


CRAMERS_V = "cramers_v"
CORRELATION_LABELS = {"pearson": "Pearson", "spearman": "Spearman", CRAMERS_V: "Cramér's V (categories)"}
MEASURES = {"pearson": "r", "spearman": "r", CRAMERS_V: "V"}  # what each matrix's values are called
BOUNDED = {CRAMERS_V}  # methods whose values run from 0 to 1, not from -1 to 1


def compare_profiles(left: Profile, right: Profile, *, rtol: float = 1e-7, atol: float = 1e-9) -> Parity:
    """Whether two engines' profiles agree: counts exactly, floating-point statistics within tolerance.

    Where either profile holds estimates (a Dask profile), only the exact results are compared: the
    quantiles, the distinct counts of non-text columns, Spearman and the alerts (some rest on distinct
    counts) are left out.
    """
    statistics = [left.statistics(), right.statistics()]
    if left.approximate or right.approximate:
        statistics = [exact_statistics(part) for part in statistics]
    return Parity(compare_nested(*statistics, rtol=rtol, atol=atol))


def exact_statistics(statistics: dict[str, Any]) -> dict[str, Any]:
    """`Profile.statistics()` without what a Dask profile estimates."""
    columns = []
    for column in statistics["columns"]:
        column = {**column, "stats": {k: v for k, v in column["stats"].items() if not QUANTILE_KEY.match(k)}}
        column.pop("flags")
        if column["kind"] != TEXT:
            column.pop("distinct")
        columns.append(column)
    correlations = {k: v for k, v in statistics["correlations"].items() if k not in ("spearman", CRAMERS_V)}
    kept = {k: v for k, v in statistics.items() if k not in ("alerts", "correlation_note")}
    return {**kept, "columns": columns, "correlations": correlations}
