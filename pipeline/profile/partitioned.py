"""The profile of a Dask frame: the same `Profile` as on pandas and cuDF, in two passes over the partitions.

The first pass is one Dask graph of reductions: row and missing counts, memory, duplicate rows,
extremes, sums, zeros, value counts of text, Dask's approximate quantiles and HyperLogLog distinct
counts. The second pass runs the single-machine code of `pipeline.profile` on each partition (central
sums for the moments, histogram counts, pairwise sums for Pearson and the missing-value matrices) and
adds the partitions' results up, so those results equal the other engines' up to rounding. Quantiles
and non-text distinct counts are estimates, and the profile says so; Spearman correlation needs every
column ranked as a whole and is left out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from pipeline.data.datetimes import from_ticks, naive_utc
from pipeline.engines import Engine
from pipeline.engines.dask import DaskEngine, approximate_distinct, partition_engine
from pipeline.profile.alerts import column_flags
from pipeline.profile.correlations import (
    PairwiseSums,
    correlation_columns,
    frame_block,
    missing_columns,
    missing_sums,
    missing_tables,
    pairwise_sums,
)
from pipeline.profile.kernels import BinLayout, boolean_summary, central_sums, moments_from_sums, shown_top
from pipeline.profile.local import assembled
from pipeline.profile.model import ColumnProfile, Profile, ProfileProgress, ProfileSettings, TableStats
from pipeline.tables.column_kinds import BOOLEAN, DATETIME, NUMERIC, TEXT, column_kind
from pipeline.timing import PhaseClock

QUANTILES_NOTE = "Quantiles (p5 … p95) are Dask's approximate percentiles, merged from the partitions'."
DISTINCT_NOTE = (
    "Distinct counts of numeric, date-time and other columns are HyperLogLog estimates (usually within 2 %); "
    "text columns' are exact."
)
SPEARMAN_NOTE = "Spearman correlation ranks each column as a whole, which Dask does not do: only Pearson is shown."


def _text(series: Any) -> Any:
    """A text column as strings (categoricals by their labels), as the single-machine profile reads it."""
    return series if pd.api.types.is_string_dtype(series.dtype) else series.astype("str")


def _ticks(series: Any) -> Any:
    """A date-time column's present values as int64 ticks of naive UTC."""
    return naive_utc(series)[0].dropna().astype("int64")


def _top_of_partition(counts: Any, k: int) -> Any:
    """The k most frequent values of one partition of value counts (ties by value), as value/count rows."""
    table = counts.reset_index()
    table.columns = ["value", "count"]
    return table.sort_values(["count", "value"], ascending=[False, True]).head(k)


def _first_pass(engine: DaskEngine, frame: Any, kinds: dict[str, str], settings: ProfileSettings) -> dict[Any, Any]:
    """The lazy reductions of the first pass, keyed by (column, what)."""
    lazy: dict[Any, Any] = {
        "rows": frame.shape[0],
        "missing": frame.isna().sum(),
        "memory": frame.memory_usage(deep=True, index=True).sum(),
    }
    if settings.duplicates:
        lazy["unique rows"] = engine.drop_duplicates(frame, list(frame.columns), "first").shape[0]
    for name, kind in kinds.items():
        series = frame[name]
        if kind == NUMERIC:
            values = series.astype("float64")
            infinite = values.abs() == np.inf
            finite = values[~values.isna() & ~infinite]
            lazy |= {
                (name, "finite"): finite.count(),
                (name, "min"): finite.min(),
                (name, "max"): finite.max(),
                (name, "sum"): finite.sum(),
                (name, "infinite"): infinite.sum(),
                (name, "zeros"): (finite == 0).sum(),
                (name, "negatives"): (finite < 0).sum(),
                (name, "quantiles"): finite.quantile(list(settings.quantiles)),
                (name, "distinct"): approximate_distinct(series),
            }
        elif kind == BOOLEAN:
            lazy[(name, "true")] = series.dropna().astype(bool).sum()
        elif kind == DATETIME:
            ticks = _ticks(series)
            lazy |= {
                (name, "min"): ticks.min(),
                (name, "max"): ticks.max(),
                (name, "mean"): ticks.astype("float64").mean(),
                (name, "distinct"): approximate_distinct(ticks),
            }
        elif kind == TEXT:
            text = _text(series)
            counts = text.value_counts()
            lengths = text.str.len()
            kth = counts.nlargest(settings.top_k).min()
            lazy |= {
                (name, "distinct"): counts.shape[0],
                (name, "top"): counts[counts >= kth].map_partitions(_top_of_partition, settings.top_k),
                (name, "rare"): counts[counts < settings.rare_share * text.count()].sum(),
                (name, "min"): lengths.min(),
                (name, "max"): lengths.max(),
                (name, "mean"): lengths.mean(),
            }
        else:
            lazy[(name, "distinct")] = approximate_distinct(series)
    return lazy


@dataclass(frozen=True)
class SecondPass:
    """What the second pass computes on every partition, from what the first pass found."""

    gpu: bool
    moments: dict[str, float]  # numeric column -> mean of its finite values
    value_bins: dict[str, BinLayout]
    time_bins: dict[str, BinLayout]
    length_bins: dict[str, BinLayout]
    pearson: tuple[list[str], np.ndarray]  # columns and their means; no columns: none computed
    missing: list[str]
    chunk_rows: int

    def partition_sums(self, part: Any) -> dict[Any, np.ndarray]:
        """This partition's share of every sum (runs on a worker)."""
        engine = partition_engine(self.gpu)
        xp = engine.xp
        sums: dict[Any, np.ndarray] = {}
        for name, layout in self.value_bins.items():
            values = engine.float_values(part[name])
            finite = values[xp.isfinite(values)]
            sums[(name, "moments")] = central_sums(engine, finite, self.moments[name], self.chunk_rows)
            sums[(name, "bins")] = layout.counts(engine, finite, self.chunk_rows)
        for name, layout in self.time_bins.items():
            sums[(name, "bins")] = layout.counts(engine, engine.int_values(_ticks(part[name])), self.chunk_rows)
        for name, layout in self.length_bins.items():
            lengths = engine.float_values(_text(part[name]).str.len())
            sums[(name, "bins")] = layout.counts(engine, lengths[xp.isfinite(lengths)], self.chunk_rows)
        names, means = self.pearson
        if names:
            block = frame_block(engine, part, names, means)
            sums["pearson"] = _stacked(pairwise_sums(engine, block, len(part), len(names), self.chunk_rows))
        if self.missing:
            sums["missing"] = _stacked(missing_sums(engine, part, self.missing, self.chunk_rows))
        return sums


def _stacked(sums: PairwiseSums) -> np.ndarray:
    return np.stack([sums.n, sums.sx, sums.sxx, sums.sxy])


def _added(parts: list[dict[Any, np.ndarray]]) -> dict[Any, np.ndarray]:
    """The partitions' sums added up, key by key."""
    total: dict[Any, np.ndarray] = {}
    for part in parts:
        for key, value in part.items():
            total[key] = total[key] + value if key in total else value
    return total


def _second_pass(frame: Any, plan: SecondPass) -> Any:
    from dask import delayed

    parts = [delayed(plan.partition_sums)(part) for part in frame.to_delayed()]
    return delayed(_added)(parts)


def _plan(
    engine: DaskEngine, frame: Any, kinds: dict[str, str], first: dict[Any, Any], settings: ProfileSettings
) -> SecondPass:
    value_bins, time_bins, length_bins, means = {}, {}, {}, {}
    for name, kind in kinds.items():
        if kind == NUMERIC and first[(name, "finite")]:
            low, high = float(first[(name, "min")]), float(first[(name, "max")])
            integer = pd.api.types.is_integer_dtype(frame[name].dtype)
            value_bins[name] = BinLayout.of(low, high, settings.bins, integer)
            means[name] = float(first[(name, "sum")]) / int(first[(name, "finite")])
        elif kind == DATETIME and not pd.isna(first[(name, "min")]):
            low, high = float(first[(name, "min")]), float(first[(name, "max")])
            time_bins[name] = BinLayout.of(low, high, settings.time_bins, integer=False)
        elif kind == TEXT and not pd.isna(first[(name, "min")]):
            low, high = float(first[(name, "min")]), float(first[(name, "max")])
            length_bins[name] = BinLayout.of(low, high, settings.bins, integer=True)
    return SecondPass(
        gpu=engine.settings.gpu,
        moments=means,
        value_bins=value_bins,
        time_bins=time_bins,
        length_bins=length_bins,
        pearson=([], np.zeros(0)),
        missing=[],
        chunk_rows=settings.chunk_rows,
    )


def _numeric(
    name: str, count: int, first: dict[Any, Any], sums: dict[Any, Any], plan: SecondPass, settings: ProfileSettings
) -> tuple[dict[str, Any], pd.DataFrame | None, int]:
    finite = int(first[(name, "finite")])
    stats: dict[str, Any] = {"infinite": int(first[(name, "infinite")])}
    distinct = _estimate(first[(name, "distinct")], count)
    if not finite:
        return stats, None, distinct
    low, high = float(first[(name, "min")]), float(first[(name, "max")])
    stats.update(moments_from_sums(finite, plan.moments[name], sums[(name, "moments")], constant=low == high))
    stats.update({"min": low, "max": high})
    quantiles = np.asarray(first[(name, "quantiles")], dtype=np.float64)
    stats.update({f"p{round(q * 100):g}": float(v) for q, v in zip(settings.quantiles, quantiles, strict=True)})
    stats["zeros"] = int(first[(name, "zeros")])
    stats["negatives"] = int(first[(name, "negatives")])
    if low == high and not stats["infinite"]:
        distinct = 1  # one finite value and nothing else: no estimate needed
    return stats, plan.value_bins[name].table(sums[(name, "bins")]), distinct


def _estimate(value: Any, count: int) -> int:
    """A HyperLogLog estimate as a whole number of distinct values, never more than the values present."""
    return min(count, max(round(float(value)), 1 if count else 0))


def _column(
    name: str,
    kind: str,
    dtype: Any,
    missing: int,
    rows: int,
    first: dict[Any, Any],
    sums: dict[Any, Any],
    plan: SecondPass,
    host: Engine,
    settings: ProfileSettings,
) -> ColumnProfile:
    count = rows - missing
    column = ColumnProfile(name, kind, str(dtype), count, missing, 0)
    if kind == NUMERIC:
        column.stats, column.histogram, column.distinct = _numeric(name, count, first, sums, plan, settings)
        column.histogram_of = "value"
    elif kind == BOOLEAN:
        column.stats, column.top_values = boolean_summary(int(first[(name, "true")]), count)
        column.distinct = len(column.top_values)
    elif kind == DATETIME:
        _naive, unit, tz = naive_utc(pd.Series([], dtype=dtype))
        column.stats, column.histogram_of = {"timezone": tz}, "time"
        if name in plan.time_bins:
            bins = plan.time_bins[name].table(sums[(name, "bins")])
            bins["start"], bins["end"] = from_ticks(bins["start"], unit, tz), from_ticks(bins["end"], unit, tz)
            mean = round(float(first[(name, "mean")]))
            first_time, last_time, mean_time = from_ticks([first[(name, "min")], first[(name, "max")], mean], unit, tz)
            column.stats |= {"min": first_time, "max": last_time, "range": last_time - first_time, "mean": mean_time}
            column.histogram, column.distinct = bins, _estimate(first[(name, "distinct")], count)
    elif kind == TEXT:
        column.distinct = int(first[(name, "distinct")])
        column.top_values = _top_values(host.to_pandas(first[(name, "top")]), count, settings.top_k)
        column.histogram_of = "length"
        if count:
            column.stats = {
                "top": column.top_values["value"].iloc[0],
                "top_share": float(column.top_values["share"].iloc[0]),
                "rare_share": int(first[(name, "rare")]) / count,
            }
        if name in plan.length_bins:
            column.stats |= {
                "min_length": int(first[(name, "min")]),
                "mean_length": float(first[(name, "mean")]),
                "max_length": int(first[(name, "max")]),
            }
            column.histogram = plan.length_bins[name].table(sums[(name, "bins")])
    else:
        column.distinct = _estimate(first[(name, "distinct")], count)
    column.flags = column_flags(column, settings)
    return column


def _top_values(candidates: pd.DataFrame, count: int, k: int) -> pd.DataFrame:
    """The k most frequent values (ties by value) among the partitions' candidates."""
    table = candidates.sort_values(["count", "value"], ascending=[False, True]).head(k)
    return shown_top(table.astype({"count": np.int64}), count)


def profile_dask(engine: DaskEngine, frame: Any, settings: ProfileSettings, report: ProfileProgress) -> Profile:
    """The profile of a Dask frame on its cluster (see the module's docstring for what is exact)."""
    timer = PhaseClock(engine.synchronize)
    host = engine.local
    kinds = {str(name): column_kind(frame[name].dtype) for name in frame.columns}
    report(0.0, "First pass over the partitions: counts, extremes, value counts, quantiles…")
    first = timer.run("first pass", lambda: engine.compute(_first_pass(engine, frame, kinds, settings)))
    rows = int(first["rows"])
    missing = host.to_pandas(first["missing"].to_frame("missing"))["missing"]
    plan = _plan(engine, frame, kinds, first, settings)
    provisional = {
        name: ColumnProfile(name, kinds[name], "", rows - int(missing[name]), int(missing[name]), 0) for name in kinds
    }
    for name, mean in plan.moments.items():
        provisional[name].stats = {"std": 1.0 if first[(name, "min")] != first[(name, "max")] else 0.0, "mean": mean}
    usable, notes = correlation_columns(list(provisional.values())) if settings.correlations else ([], [])
    if len(usable) >= 2:
        plan = replace(plan, pearson=([c.name for c in usable], np.array([c.stats["mean"] for c in usable])))
    if settings.missing_matrices:
        plan = replace(plan, missing=missing_columns(list(provisional.values())))
    report(0.5, "Second pass over the partitions: moments, histograms, correlations…")
    sums = timer.run("second pass", lambda: engine.compute(_second_pass(frame, plan)))
    columns = [
        _column(name, kind, frame[name].dtype, int(missing[name]), rows, first, sums, plan, host, settings)
        for name, kind in kinds.items()
    ]
    matrices: dict[str, pd.DataFrame] = {}
    note = "Correlations were not computed (minimal profile)."
    if settings.correlations:
        names = plan.pearson[0]
        if names:
            pearson = PairwiseSums(*sums["pearson"]).pearson()
            matrices["pearson"] = pd.DataFrame(pearson, index=names, columns=names)
            notes.append(SPEARMAN_NOTE)
        note = " ".join(notes) or None
    together = missing_correlation = None
    if plan.missing:
        together, missing_correlation = missing_tables(PairwiseSums(*sums["missing"]), plan.missing)
    table = TableStats(
        rows=rows,
        columns=len(kinds),
        memory_bytes=int(first["memory"]),
        duplicate_rows=rows - int(first["unique rows"]) if settings.duplicates else None,
        missing_cells=int(missing.sum()),
        kinds=dict(Counter(c.kind for c in columns)),
    )
    approximate = []
    if any(kind == NUMERIC for kind in kinds.values()):
        approximate.append(QUANTILES_NOTE)
    if any(kind not in (TEXT, BOOLEAN) for kind in kinds.values()):
        approximate.append(DISTINCT_NOTE)
    report(1.0, "Done")
    missing_matrices = (together, missing_correlation)
    return assembled(engine, table, columns, (matrices, note), missing_matrices, settings, timer, tuple(approximate))
