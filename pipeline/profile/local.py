"""The profile of a table one engine holds whole: table facts, per-column statistics, correlations, missing
values, alerts; and the model (Profile, ColumnProfile, …) and kernels the partitioned profile builds on.

Every aggregation runs where the data lives (pandas/numpy on the CPU, cuDF/CuPy on the GPU);
only small results (scalars, histogram bins, top values, small matrices) come back to the host.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from pipeline.data.datetimes import from_ticks, naive_utc
from pipeline.engines import Engine
from pipeline.errors import DataError
from pipeline.parity import Parity, compare_nested
from pipeline.tables.column_kinds import BOOLEAN, DATETIME, NUMERIC, TEXT, column_kind
from pipeline.tables.column_roles import HIGH_CARDINALITY_MIN, HIGH_CARDINALITY_SHARE
from pipeline.timing import PhaseClock

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
    chunk_rows: int = 1 << 22
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
    """A JSON-ready version of a scalar: numpy numbers to Python, NaN to None, times to ISO text."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
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


def _host_float(value: Any) -> float:
    return float(value.item() if hasattr(value, "item") else value)


@dataclass(frozen=True)
class BinLayout:
    """Equal-width bins: the first edge, the width and how many; `high` closes the last bin exactly."""

    start: float
    width: float
    count: int
    high: float
    exact_end: bool

    @classmethod
    def of(cls, low: float, high: float, bins: int, integer: bool) -> BinLayout:
        """Whole numbers spanning fewer values than `bins` get one bin per value."""
        if integer and high - low + 1 <= bins:
            return cls(low - 0.5, 1.0, int(high - low) + 1, high, False)
        if high == low:
            return cls(low - 0.5, 1.0, 1, high, False)
        return cls(low, (high - low) / bins, bins, high, not integer)

    def counts(self, engine: Engine, finite: Any, weights: Any = None) -> np.ndarray:
        """How many of the finite values fall in each bin (each counting its weight, where given: how often a
        distinct value occurs), counted on the engine.

        The bin of each value is floor((x - start) / width), the same IEEE operations on numpy
        and CuPy, so every engine (and every partition of a Dask frame) puts a value in the same bin.
        """
        xp = engine.xp
        index = xp.clip(xp.floor((finite - self.start) / self.width), 0, self.count - 1).astype(xp.int64)
        counts = engine.to_numpy(xp.bincount(index, weights=weights, minlength=self.count))
        return np.rint(counts).astype(np.int64)

    def table(self, counts: np.ndarray) -> pd.DataFrame:
        edges = self.start + self.width * np.arange(self.count + 1)
        if self.exact_end:
            edges[-1] = self.high
        return pd.DataFrame({"start": edges[:-1], "end": edges[1:], "count": counts.astype(np.int64)})


def histogram(
    engine: Engine, finite: Any, low: float, high: float, bins: int, integer: bool, weights: Any = None
) -> pd.DataFrame:
    """Counts of finite values (each counting its weight, where given) in equal-width bins from low to high, binned
    on the engine."""
    layout = BinLayout.of(low, high, bins, integer)
    return layout.table(layout.counts(engine, finite, weights))


def central_sums(engine: Engine, finite: Any, mean: float) -> np.ndarray:
    """Sums of (x - mean)², (x - mean)³ and (x - mean)⁴ over the finite values, on the engine."""
    centred = finite - mean
    squares = centred * centred
    return np.array([_host_float(part.sum()) for part in (squares, squares * centred, squares * squares)])


def moments(engine: Engine, finite: Any) -> dict[str, float | None]:
    """Mean, sample standard deviation, and unbiased skew and excess kurtosis (as pandas and scipy define them)."""
    mean = _host_float(finite.mean())
    return moments_from_sums(int(finite.size), mean, central_sums(engine, finite, mean))


def moments_from_sums(n: int, mean: float, sums: np.ndarray) -> dict[str, float | None]:
    """The moments of `n` values from their mean and central sums (see `central_sums`)."""
    m2, m3, m4 = sums / n if n else sums
    std = math.sqrt(m2 * n / (n - 1)) if n > 1 else None
    skew = kurtosis = None
    if m2 > 0 and n > 2:
        skew = math.sqrt(n * (n - 1)) / (n - 2) * m3 / m2**1.5
    if m2 > 0 and n > 3:
        kurtosis = ((n + 1) * (m4 / m2**2 - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    return {"mean": mean, "std": std, "skew": skew, "kurtosis": kurtosis}


def sorted_distinct(xp: Any, values: Any) -> int:
    """How many distinct values a NaN-free array holds, by sorting it.

    numpy's and CuPy's sorts beat hash tables (pandas' nunique) by about 15x on 1e7 distinct floats.
    """
    if values.size == 0:
        return 0
    ordered = xp.sort(values)
    return int((ordered[1:] != ordered[:-1]).sum()) + 1


def _numeric(engine: Engine, series: Any, settings: ProfileSettings) -> tuple[dict[str, Any], pd.DataFrame | None, int]:
    xp = engine.xp
    values = engine.float_values(series)
    integer = pd.api.types.is_integer_dtype(series.dtype)
    # whole numbers are counted as integers: above 2**53 distinct ones can share a float
    distinct = sorted_distinct(xp, engine.int_values(series.dropna()) if integer else values[~xp.isnan(values)])
    finite = values[xp.isfinite(values)]
    stats: dict[str, Any] = {"infinite": int(xp.isinf(values).sum())}
    if finite.size == 0:
        return stats, None, distinct
    low, high = _host_float(finite.min()), _host_float(finite.max())
    quantiles = engine.to_numpy(xp.quantile(finite, xp.asarray(settings.quantiles, dtype=xp.float64)))
    stats.update(moments(engine, finite))
    stats.update({"min": low, "max": high})
    stats.update({f"p{round(q * 100):g}": float(v) for q, v in zip(settings.quantiles, quantiles, strict=True)})
    stats["zeros"] = int((finite == 0).sum())
    stats["negatives"] = int((finite < 0).sum())
    return stats, histogram(engine, finite, low, high, settings.bins, integer), distinct


def _boolean(engine: Engine, series: Any, count: int) -> tuple[dict[str, Any], pd.DataFrame]:
    return boolean_summary(int((engine.float_values(series) == 1).sum()), count)


def boolean_summary(true: int, count: int) -> tuple[dict[str, Any], pd.DataFrame]:
    """A flag column's statistics and its top values, from how many of its `count` values are true."""
    top = pd.DataFrame({"value": ["True", "False"], "count": [true, count - true]})
    top = top[top["count"] > 0].sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
    top["share"] = top["count"] / count if count else 0.0
    return {"true": true, "false": count - true, "true_share": true / count if count else None}, top


def _datetime(
    engine: Engine, series: Any, settings: ProfileSettings
) -> tuple[dict[str, Any], pd.DataFrame | None, int]:
    naive, unit, tz = naive_utc(series)
    ints = engine.int_values(naive.dropna().astype("int64"))
    if ints.size == 0:
        return {"timezone": tz}, None, 0
    ticks = ints.astype(engine.xp.float64)
    low, high = _host_float(ticks.min()), _host_float(ticks.max())
    bins = histogram(engine, ticks, low, high, settings.time_bins, integer=False)
    bins["start"] = from_ticks(bins["start"], unit, tz)
    bins["end"] = from_ticks(bins["end"], unit, tz)
    first, last, mean = from_ticks([low, high, round(_host_float(ticks.mean()))], unit, tz)
    stats = {"min": first, "max": last, "range": last - first, "mean": mean, "timezone": tz}
    return stats, bins, sorted_distinct(engine.xp, ints)


def type_listing(types: dict[str, int]) -> str:
    """Python types of an object column with their counts, e.g. `str (2), int (1)`."""
    return ", ".join(f"{kind} ({count:,})" for kind, count in types.items())


def _mixed_types(series: pd.Series, sample: int) -> dict[str, int]:
    """Python types of a sample of an object column's values, by how often they occur."""
    values = series.dropna().head(sample)
    return dict(Counter(type(value).__name__ for value in values).most_common())


def shown_value(value: Any) -> str:
    """A value as a top-values table shows it: its text, cut at MAX_SHOWN_CHARS."""
    text = str(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 1] + "…"


def is_categorical(series: Any) -> bool:
    """Dictionary-encoded: a pandas or cuDF categorical (what Arrow dictionaries and Parquet's become)."""
    return str(series.dtype) == "category"


def label_counts(series: Any) -> Any:
    """How often each present value occurs, indexed by its text, on the engine. A categorical is counted on its
    codes and only its categories are written out as text, never its rows (a few long labels repeated over many
    rows stay a few labels)."""
    counts = series.value_counts()
    counts = counts[counts > 0]  # categoricals list unused categories with count 0
    if not is_categorical(series):
        return counts
    counts.index = counts.index.astype("str")
    return counts if counts.index.is_unique else counts.groupby(level=0).sum()


def top_values(engine: Engine, counts: Any, count: int, k: int) -> tuple[pd.DataFrame, int]:
    """The k most frequent values (ties by value) and the distinct count, from the engine's `label_counts`."""
    distinct = len(counts)
    table = counts.reset_index()
    table.columns = ["value", "count"]
    if distinct > k:
        table = table[table["count"] >= int(counts.nlargest(k).iloc[-1])]
    table = engine.to_pandas(table.sort_values(["count", "value"], ascending=[False, True]).head(k))
    return shown_top(table, count), distinct


def shown_top(table: pd.DataFrame, count: int) -> pd.DataFrame:
    """Host top values, most frequent first, as the profile keeps them: values as text, with their share of
    the `count` values present."""
    table = table.reset_index(drop=True)
    table["value"] = [shown_value(value) for value in table["value"]]
    table["share"] = table["count"] / count if count else 0.0
    return table


def _text(
    engine: Engine, series: Any, count: int, settings: ProfileSettings
) -> tuple[dict[str, Any], pd.DataFrame | None, pd.DataFrame, int]:
    """Top values, distinct count and lengths of a text column, all from its distinct values and how often each
    occurs: the lengths of the distinct values, weighted by their counts, are the lengths of the rows."""
    stats: dict[str, Any] = {}
    if engine.holds_python_objects and series.dtype == object:
        stats["types"] = _mixed_types(series, settings.mixed_type_sample)
        series = series.astype("str")
    elif not is_categorical(series) and not pd.api.types.is_string_dtype(series.dtype):
        series = series.astype("str")
    counts = label_counts(series)
    top, distinct = top_values(engine, counts, count, settings.top_k)
    if count:
        stats["top"] = top["value"].iloc[0]
        stats["top_share"] = float(top["share"].iloc[0])
        stats["rare_share"] = int(counts[counts < settings.rare_share * count].sum()) / count
    bins = None
    if distinct:
        lengths = engine.float_values(engine.frames.Series(counts.index).str.len())
        weights = engine.float_values(counts)
        low, high = _host_float(lengths.min()), _host_float(lengths.max())
        mean = _host_float((lengths * weights).sum()) / _host_float(weights.sum())
        stats.update({"min_length": int(low), "mean_length": mean, "max_length": int(high)})
        bins = histogram(engine, lengths, low, high, settings.bins, integer=True, weights=weights)
    return stats, bins, top, distinct


def profile_column(engine: Engine, series: Any, missing: int, settings: ProfileSettings) -> ColumnProfile:
    """Statistics of one engine series whose missing count is known."""
    kind = column_kind(series.dtype)
    count = len(series) - missing
    column = ColumnProfile(str(series.name), kind, str(series.dtype), count, missing, 0)
    if kind == NUMERIC:
        column.stats, column.histogram, column.distinct = _numeric(engine, series, settings)
        column.histogram_of = "value"
    elif kind == BOOLEAN:
        column.stats, column.top_values = _boolean(engine, series, count)
        column.distinct = len(column.top_values)
    elif kind == DATETIME:
        column.stats, column.histogram, column.distinct = _datetime(engine, series, settings)
        column.histogram_of = "time"
    elif kind == TEXT:
        column.stats, column.histogram, column.top_values, column.distinct = _text(engine, series, count, settings)
        column.histogram_of = "length"
    else:
        column.distinct = int(series.nunique())
    column.flags = column_flags(column, settings)
    return column


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


def column_flags(column: ColumnProfile, settings: ProfileSettings) -> dict[str, str]:
    """Alert codes for one column, each with the sentence a user reads."""
    flags: dict[str, str] = {}
    name, rows = column.name, column.rows
    if rows and column.count == 0:
        return {"all_missing": f"{name!r} has no values: every row is missing."}
    if column.missing_share >= settings.high_missing_share:
        flags["high_missing"] = f"{name!r} is missing in {column.missing_share:.1%} of rows."
    if column.distinct == 1:
        flags["constant"] = f"{name!r} holds one value only; it carries no information."
    types = column.stats.get("types") or {}
    if len(types) > 1:
        flags["mixed_types"] = f"{name!r} mixes Python types: {type_listing(types)}. Clean it before modelling."
    skew = column.stats.get("skew")
    if skew is not None and abs(skew) >= settings.skew_threshold:
        flags["skewed"] = f"{name!r} is highly skewed (skew {skew:.2f}); consider a log or rank transform."
    if column.stats.get("infinite"):
        flags["infinite"] = f"{name!r} has {column.stats['infinite']:,} infinite values (left out of its statistics)."
    flags.update(range_flags(column))
    integer_like = column.kind == TEXT or (column.kind == NUMERIC and "int" in column.dtype.lower())
    if integer_like and column.count > 1 and column.distinct == column.count:
        flags["likely_id"] = f"{name!r} is unique in every row: likely an id column, not a feature."
    elif column.kind == TEXT and column.distinct > max(
        settings.high_cardinality_min, settings.high_cardinality_share * column.count
    ):
        flags["high_cardinality"] = f"{name!r} has {column.distinct:,} distinct values (high cardinality)."
    return flags


NEVER_NEGATIVE = re.compile(
    r"(^|[^a-z])(age|ages|count|counts|quantity|qty|price|prices|weight|height|duration|distance|salary|income)"
    r"([^a-z]|$)"
)


def range_flags(column: ColumnProfile) -> dict[str, str]:
    """Values outside the range a column's meaning allows: a negative age, count or price; dates in the future."""
    name, stats = column.name, column.stats
    low, high = stats.get("min"), stats.get("max")
    if column.kind == NUMERIC and low is not None and low < 0 and NEVER_NEGATIVE.search(str(name).lower()):
        return {"negative_values": f"{name!r} has negative values (as low as {low:g}): check them."}
    if column.kind == DATETIME and high is not None:
        now = pd.Timestamp.now(tz="UTC")
        now = now.tz_convert(high.tz) if high.tz is not None else now.tz_localize(None)
        if high > now + pd.Timedelta(days=1):
            return {"future_dates": f"{name!r} has dates in the future (the latest is {high}): check them."}
    return {}


@dataclass
class PairwiseSums:
    """Sums over the rows where both columns i and j hold a finite value, for pairwise statistics."""

    n: np.ndarray
    sx: np.ndarray
    sxx: np.ndarray
    sxy: np.ndarray

    def pearson(self) -> np.ndarray:
        """Pearson correlation per pair over its complete rows; NaN where a column does not vary."""
        n, sx, sxx, sxy = self.n, self.sx, self.sxx, self.sxy
        spread = n * sxx - sx * sx
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (n * sxy - sx * sx.T) / np.sqrt(spread * spread.T)
        r[(n < 2) | (spread <= 0) | (spread.T <= 0)] = np.nan
        return np.clip(r, -1.0, 1.0)


Block = Callable[[int, int], Any]


def pairwise_sums(engine: Engine, block: Block, rows: int, p: int, chunk_rows: int) -> PairwiseSums:
    """Pairwise sums over complete pairs of the (rows x p) matrix that `block(start, stop)` hands out in chunks.

    Chunks with no missing value take column sums and one Gram matrix XᵀX; others weigh each
    pair by the rows where both are present. Everything runs on the engine; only p x p sums come back.
    """
    xp = engine.xp
    n, sx, sxx, sxy = (xp.zeros((p, p)) for _ in range(4))
    for start in range(0, rows, chunk_rows):
        values = block(start, min(start + chunk_rows, rows))
        valid = xp.isfinite(values)
        if bool(valid.all()):  # the common case: every pair sees every row of the chunk
            n += values.shape[0]
            sx += values.sum(axis=0)[:, None]
            gram = values.T @ values
            sxx += xp.diagonal(gram)[:, None]
            sxy += gram
            continue
        values = xp.where(valid, values, 0.0)
        present = valid.astype(xp.float64)
        n += present.T @ present
        sx += values.T @ present
        sxx += (values * values).T @ present
        sxy += values.T @ values
    return PairwiseSums(*(engine.to_numpy(total) for total in (n, sx, sxx, sxy)))


def frame_block(engine: Engine, frame: Any, columns: list[str], shift: np.ndarray) -> Block:
    """Rows start..stop of the named columns as a float matrix on the engine, minus `shift` per column."""
    shift_device = engine.xp.asarray(shift, dtype=engine.xp.float64)

    def block(start: int, stop: int) -> Any:
        arrays = [engine.float_values(frame[name].iloc[start:stop]) for name in columns]
        return engine.xp.stack(arrays, axis=1) - shift_device

    return block


def average_ranks(xp: Any, values: Any) -> Any:
    """1-based ranks of the non-NaN values, ties sharing their average rank; NaN stays NaN."""
    kept = ~xp.isnan(values)
    present = int(kept.sum())
    ranks = xp.full(values.shape, xp.nan)
    if present == 0:
        return ranks
    if present == values.size:
        order = xp.argsort(values)
    else:  # sort only the values present, whatever place a library gives NaN
        where = xp.flatnonzero(kept)
        order = where[xp.argsort(values[where])]
    ordered = values[order]
    starts_group = xp.concatenate([xp.ones(1, dtype=bool), ordered[1:] != ordered[:-1]])
    group = xp.cumsum(starts_group) - 1
    starts = xp.flatnonzero(starts_group)
    ends = xp.concatenate([starts[1:], xp.asarray([present])])
    ranks[order] = ((starts + ends - 1) / 2 + 1)[group]
    return ranks


def pairs_missing_apart(xp: Any, missing: list[Any]) -> list[tuple[int, int]]:
    """The pairs (i < j) of columns whose missing values are not in the same rows."""
    patterns: list[int] = []
    for index, flags in enumerate(missing):
        same = next((k for k in range(index) if patterns[k] == k and bool(xp.array_equal(flags, missing[k]))), index)
        patterns.append(same)
    return [(i, j) for i in range(len(missing)) for j in range(i + 1, len(missing)) if patterns[i] != patterns[j]]


def shared_rank_correlation(engine: Engine, x_ranks: Any, y_ranks: Any) -> float:
    """Spearman's coefficient of two columns over the rows both hold (their ranks given with NaN where missing)."""
    xp = engine.xp
    shared = ~(xp.isnan(x_ranks) | xp.isnan(y_ranks))
    if int(shared.sum()) < 2:
        return float("nan")
    x, y = (average_ranks(xp, r[shared]) for r in (x_ranks, y_ranks))
    x, y = x - x.mean(), y - y.mean()
    spread = float(xp.sqrt((x * x).sum() * (y * y).sum()))
    return float(xp.clip((x * y).sum() / spread, -1.0, 1.0)) if spread > 0 else float("nan")


def _square(matrix: np.ndarray, names: list[str]) -> pd.DataFrame:
    return pd.DataFrame(matrix, index=names, columns=names)


def correlation_columns(columns: list[ColumnProfile]) -> tuple[list[ColumnProfile], list[str]]:
    """The numeric columns that vary (at most MAX_MATRIX_COLUMNS) and notes on those left out; with fewer
    than two, the last note says there are no correlations."""
    numeric = [c for c in columns if c.kind == NUMERIC]
    usable = [c for c in numeric if c.count > 1 and c.stats.get("std")]
    notes = []
    if len(usable) < len(numeric):
        notes.append(f"{len(numeric) - len(usable)} numeric column(s) left out: constant or (almost) empty.")
    if len(usable) > MAX_MATRIX_COLUMNS:
        notes.append(f"Only the first {MAX_MATRIX_COLUMNS} of {len(usable)} numeric columns are correlated.")
        usable = usable[:MAX_MATRIX_COLUMNS]
    if len(usable) < 2:
        kinds = "no numeric columns" if not numeric else f"{len(usable)} varying numeric column(s)"
        notes.append(f"No correlations: they need at least two numeric columns that vary, and this table has {kinds}.")
    return usable, notes


def correlations(
    engine: Engine, frame: Any, columns: list[ColumnProfile], settings: ProfileSettings
) -> tuple[dict[str, pd.DataFrame], str | None]:
    """Pearson and Spearman matrices of the varying numeric columns, or why there are none.

    Pearson uses each pair's complete finite rows. Spearman is Pearson of the ranks within each
    pair's shared non-missing rows (ties get their average rank), as pandas and
    `scipy.stats.spearmanr(nan_policy="omit")` compute it: columns missing in the same rows share
    one ranking; a pair missing in different rows is ranked again over the rows both hold.
    """
    usable, notes = correlation_columns(columns)
    if len(usable) < 2:
        return {}, notes[-1]
    names = [c.name for c in usable]
    means = np.array([c.stats["mean"] for c in usable])
    rows, p, chunk = len(frame), len(names), settings.chunk_rows
    pearson = pairwise_sums(engine, frame_block(engine, frame, names, means), rows, p, chunk).pearson()
    xp = engine.xp
    ranks = [average_ranks(xp, engine.float_values(frame[name])) for name in names]
    centres = xp.asarray([(c.count + 1) / 2 for c in usable])

    def ranked(start: int, stop: int) -> Any:
        return xp.stack([r[start:stop] for r in ranks], axis=1) - centres

    spearman = pairwise_sums(engine, ranked, rows, p, chunk).pearson()
    for i, j in pairs_missing_apart(xp, [xp.isnan(r) for r in ranks]):
        spearman[i, j] = spearman[j, i] = shared_rank_correlation(engine, ranks[i], ranks[j])
    result = {"pearson": _square(pearson, names), "spearman": _square(spearman, names)}
    return result, " ".join(notes) or None


CRAMERS_V = "cramers_v"
CORRELATION_LABELS = {"pearson": "Pearson", "spearman": "Spearman", CRAMERS_V: "Cramér's V (categories)"}
MEASURES = {"pearson": "r", "spearman": "r", CRAMERS_V: "V"}  # what each matrix's values are called
BOUNDED = {CRAMERS_V}  # methods whose values run from 0 to 1, not from -1 to 1
SPARSE_EXPECTED = 5  # Cochran's rule: a chi-squared measure is rough where many cells expect fewer rows than this
SPARSE_SHARE = 0.2
MAX_CATEGORY_LEVELS = 50
MAX_CATEGORY_COLUMNS = 20


def category_columns(columns: list[ColumnProfile]) -> list[str]:
    """The text and boolean columns of 2 to MAX_CATEGORY_LEVELS values (ids left out), MAX_CATEGORY_COLUMNS at most."""
    return [
        c.name
        for c in columns
        if c.kind in (TEXT, BOOLEAN) and 2 <= c.distinct <= MAX_CATEGORY_LEVELS and "likely_id" not in c.flags
    ][:MAX_CATEGORY_COLUMNS]


def corrected_cramers_v(counts: np.ndarray) -> float:
    """Bias-corrected Cramér's V of a contingency table (Bergsma 2013, J. Korean Stat. Soc. 42: 323-328), from 0
    (the columns are unrelated) to 1 (one decides the other). The plain V of unrelated columns grows as rows get
    fewer; the correction takes out what chance alone gives. NaN where a side has fewer than two values."""
    n = counts.sum()
    rows, columns = counts.shape
    if min(rows, columns) < 2 or n < 2:
        return np.nan
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / n
    phi2 = float(((counts - expected) ** 2 / expected).sum()) / n  # Pearson's chi-squared over n, no continuity
    phi2 = max(0.0, phi2 - (rows - 1) * (columns - 1) / (n - 1))
    rows_c, columns_c = rows - (rows - 1) ** 2 / (n - 1), columns - (columns - 1) ** 2 / (n - 1)
    shorter = min(rows_c, columns_c) - 1
    return float(np.sqrt(phi2 / shorter)) if shorter > 0 else np.nan


def is_sparse(counts: np.ndarray) -> bool:
    """Whether more than a fifth of the table's cells expect fewer than 5 rows (Cochran's rule), where a measure
    built on chi-squared, V too, is rough."""
    n = counts.sum()
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / max(n, 1)
    return bool((expected < SPARSE_EXPECTED).mean() > SPARSE_SHARE)


def cramers_v(engine: Engine, frame: Any, names: list[str]) -> tuple[pd.DataFrame, str | None]:
    """Bias-corrected Cramér's V of every pair of category columns over the rows both hold (the counts of each pair
    of values taken on the engine; only the small table comes here), and a note naming the pairs too sparse for V
    to be more than rough."""
    matrix = np.eye(len(names))
    sparse = []
    for i, left in enumerate(names):
        for j in range(i + 1, len(names)):
            right = names[j]
            counts = frame[[left, right]].dropna().groupby([left, right]).size().to_frame("n").reset_index()
            table = engine.to_pandas(counts).pivot(index=left, columns=right, values="n").fillna(0).to_numpy()
            matrix[i, j] = matrix[j, i] = corrected_cramers_v(table)
            if table.size and is_sparse(table):
                sparse.append(f"{left} × {right}")
    note = None
    if sparse:
        listed = ", ".join(sparse[:5]) + (f" and {len(sparse) - 5:,} more" if len(sparse) > 5 else "")
        note = (
            f"Few rows for the values they combine ({listed}: more than a fifth of the pairs of values expect "
            f"fewer than {SPARSE_EXPECTED} rows): V is rough there, bias correction or not."
        )
    return _square(matrix, names), note


def missing_columns(columns: list[ColumnProfile]) -> list[str]:
    """The columns the missing-value matrices cover: those with missing values, at most MAX_MATRIX_COLUMNS."""
    return [c.name for c in columns if c.missing > 0][:MAX_MATRIX_COLUMNS]


def missing_sums(engine: Engine, frame: Any, names: list[str], chunk_rows: int) -> PairwiseSums:
    """Pairwise sums of the named columns' missing flags (1 missing, 0 present)."""
    flags = frame[names].isna()
    return pairwise_sums(
        engine, frame_block(engine, flags, names, np.zeros(len(names))), len(frame), len(names), chunk_rows
    )


def missing_tables(sums: PairwiseSums, names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows missing in both columns, and the correlation of missingness, from the flags' pairwise sums."""
    return _square(np.rint(sums.sxy).astype(np.int64), names), _square(sums.pearson(), names)


def missing_matrices(
    engine: Engine, frame: Any, columns: list[ColumnProfile], settings: ProfileSettings
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Rows missing in both columns, and the correlation of missingness, for columns with missing values."""
    names = missing_columns(columns)
    if not names:
        return None, None
    return missing_tables(missing_sums(engine, frame, names, settings.chunk_rows), names)


def _correlation_alerts(matrix: pd.DataFrame | None, threshold: float) -> list[Alert]:
    if matrix is None:
        return []
    alerts = []
    names = list(matrix.columns)
    for i, left in enumerate(names):
        for right in names[i + 1 :]:
            r = matrix.loc[left, right]
            if np.isfinite(r) and abs(r) >= threshold:
                alerts.append(
                    Alert(left, "high_correlation", f"{left!r} and {right!r} are highly correlated (Pearson {r:.3f}).")
                )
    return alerts


def _table_alerts(table: TableStats) -> list[Alert]:
    alerts = []
    if table.duplicate_rows:
        share = table.duplicate_rows / table.rows
        rows = "row repeats" if table.duplicate_rows == 1 else "rows repeat"
        alerts.append(Alert(None, "duplicates", f"{table.duplicate_rows:,} {rows} an earlier row ({share:.1%})."))
    if table.rows == 1:
        alerts.append(Alert(None, "single_row", "The table has one row: spreads, skew and correlations need more."))
    return alerts


def profile_local(engine: Engine, frame: Any, settings: ProfileSettings, report: ProfileProgress) -> Profile:
    """The profile of a frame held whole by one engine (pandas or cuDF)."""
    timer = PhaseClock(engine.synchronize)
    run = timer.run
    rows, width = len(frame), len(frame.columns)
    report(0.0, "Counting missing values and duplicate rows…")
    missing = run("table", lambda: engine.to_pandas(frame.isna().sum().to_frame("missing"))["missing"].to_numpy())
    duplicates = run("table", lambda: int(engine.duplicated(frame).sum())) if settings.duplicates else None
    columns = []
    for i, name in enumerate(frame.columns):
        report(i / (width + 2), f"Column {i + 1} of {width}: {name}")
        columns.append(
            run("columns", lambda name=name, i=i: profile_column(engine, frame[name], int(missing[i]), settings))
        )
    matrices: dict[str, pd.DataFrame] = {}
    method_notes: dict[str, str] = {}
    note = "Correlations were not computed (minimal profile)."
    together = missing_correlation = None
    if settings.correlations:
        report(width / (width + 2), "Correlations…")
        matrices, note = run("correlations", lambda: correlations(engine, frame, columns, settings))
        categories = category_columns(columns)
        if len(categories) >= 2:
            matrix, sparse_note = run("correlations", lambda: cramers_v(engine, frame, categories))
            matrices = {**matrices, CRAMERS_V: matrix}
            if sparse_note:
                method_notes[CRAMERS_V] = sparse_note
    if settings.missing_matrices:
        report((width + 1) / (width + 2), "Missing values together…")
        together, missing_correlation = run(
            "missing values", lambda: missing_matrices(engine, frame, columns, settings)
        )
    table = TableStats(
        rows=rows,
        columns=width,
        memory_bytes=engine.frame_nbytes(frame),
        duplicate_rows=duplicates,
        missing_cells=int(missing.sum()),
        kinds={kind: n for kind, n in Counter(c.kind for c in columns).items()},
    )
    report(1.0, "Done")
    profile = assembled(engine, table, columns, (matrices, note), (together, missing_correlation), settings, timer)
    profile.method_notes = method_notes
    return profile


def assembled(
    engine: Engine,
    table: TableStats,
    columns: list[ColumnProfile],
    correlations: tuple[dict[str, pd.DataFrame], str | None],
    missing: tuple[pd.DataFrame | None, pd.DataFrame | None],
    settings: ProfileSettings,
    timer: PhaseClock,
    approximate: tuple[str, ...] = (),
) -> Profile:
    """The Profile of an engine's statistics (correlation matrices and their note; missing-together counts and
    the correlation of missingness), with its alerts and the phases' seconds."""
    matrices, note = correlations
    return Profile(
        engine=engine.name,
        engine_label=engine.label,
        table=table,
        columns=columns,
        correlations=matrices,
        correlation_note=note,
        missing_together=missing[0],
        missing_correlation=missing[1],
        alerts=profile_alerts(table, columns, matrices, settings),
        phases=dict(timer.phases),
        approximate=approximate,
    )


def profile_alerts(
    table: TableStats, columns: list[ColumnProfile], matrices: dict[str, pd.DataFrame], settings: ProfileSettings
) -> list[Alert]:
    """The table's alerts, then each column's, then highly correlated pairs."""
    alerts = _table_alerts(table)
    alerts += [Alert(c.name, code, message) for c in columns for code, message in c.flags.items()]
    return alerts + _correlation_alerts(matrices.get("pearson"), settings.high_correlation)


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
