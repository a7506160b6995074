"""Views of two or three columns and row filters, computed on the engine; only bins or a sample leave it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.data.catalog import EngineCopy
from pipeline.data.datetimes import from_ticks, naive_utc
from pipeline.engines import Engine
from pipeline.errors import DataError
from pipeline.tables.column_kinds import BOOLEAN, DATETIME, NUMERIC, TEXT, column_kind
from pipeline.timing import clock

MAX_SAMPLE_ROWS = 5_000
OTHER_LABEL = "(other)"


@dataclass(frozen=True)
class Filter:
    """Keep rows whose value lies in [low, high] (numbers, times) or is one of `values` (text, flags)."""

    column: str
    low: Any = None
    high: Any = None
    values: tuple[str, ...] | None = None

    def describe(self) -> str:
        if self.values is not None:
            shown = ", ".join(self.values[:5]) + (" …" if len(self.values) > 5 else "")
            return f"{self.column} in {{{shown}}}"
        low, high = (f"{v:.6g}" if isinstance(v, float) else str(v) for v in (self.low, self.high))
        return f"{low} ≤ {self.column} ≤ {high}"


def check_column(frame: Any, name: str) -> str:
    """`name` when the frame has that column, else a DataError listing a few it has."""
    names = [str(c) for c in frame.columns]
    if name not in names:
        raise DataError(
            f"No column {name!r} in this table; it has {', '.join(names[:10])}{' …' if len(names) > 10 else ''}."
        )
    return name


def apply_filters(frame: Any, filters: list[Filter]) -> Any:
    """The rows that pass every filter, selected on the engine (missing values never pass)."""
    mask = None
    for rule in filters:
        series = frame[check_column(frame, rule.column)]
        kind = column_kind(series.dtype)
        if rule.values is not None:
            if kind not in (TEXT, BOOLEAN):
                raise DataError(f"{rule.column!r} is {kind}; filter it by a range, not by values.")
            keep = series.astype("str").isin(list(rule.values))
        else:
            if kind not in (NUMERIC, DATETIME):
                raise DataError(f"{rule.column!r} is {kind}; filter it by values, not by a range.")
            keep = (series >= rule.low) & (series <= rule.high)
        keep = keep.fillna(False)
        mask = keep if mask is None else mask & keep
    return frame if mask is None else frame[mask]


@dataclass
class Axis:
    """How one column becomes a grouping key: its bin codes (or labels) and how to name them."""

    name: str
    kind: str
    keys: Any
    present: Any
    start: float = 0.0
    width: float = 1.0
    unit: str | None = None
    tz: str | None = None

    def labels(self, codes: pd.Series) -> pd.DataFrame:
        """Host columns naming each bin: `<name>` (and `<name> end` for numbers and times)."""
        if self.kind not in (NUMERIC, DATETIME):
            return pd.DataFrame({self.name: codes.astype(str).to_numpy()})
        starts = self.start + self.width * codes.to_numpy(dtype="float64")
        ends = starts + self.width
        if self.kind == DATETIME:
            starts, ends = (from_ticks(v, self.unit, self.tz) for v in (starts, ends))
        return pd.DataFrame({self.name: starts, f"{self.name} end": ends})


def _numeric_ticks(engine: Engine, series: Any) -> tuple[Any, str | None, str | None]:
    """Float values of a numeric or time column (NaN where missing or infinite), with the time unit and zone."""
    if column_kind(series.dtype) != DATETIME:
        values = engine.float_values(series)
        return engine.xp.where(engine.xp.isfinite(values), values, np.nan), None, None
    series, unit, tz = naive_utc(series)
    missing = engine.float_values(series.isna()) == 1
    ticks = engine.float_values(series.fillna(np.datetime64(0, unit)).astype("int64"))
    return engine.xp.where(missing, np.nan, ticks), unit, tz


def make_axis(engine: Engine, series: Any, bins: int, top: int) -> Axis:
    """Bin a numeric or time column into `bins` equal bins, or keep a text column's `top` values and lump the rest."""
    name = str(series.name)
    kind = column_kind(series.dtype)
    if kind in (NUMERIC, DATETIME):
        xp = engine.xp
        ticks, unit, tz = _numeric_ticks(engine, series)
        if not bool(xp.isfinite(ticks).any()):
            raise DataError(f"{name!r} has no finite values to bin.")
        low, high = float(xp.nanmin(ticks)), float(xp.nanmax(ticks))
        width = (high - low) / bins if high > low else 1.0
        present = xp.isfinite(ticks)
        codes = xp.clip(xp.floor((xp.where(present, ticks, low) - low) / width), 0, bins - 1).astype(xp.int64)
        return Axis(name, kind, codes, present, low, width, unit, tz)
    if kind not in (TEXT, BOOLEAN):
        raise DataError(f"{name!r} is {kind}: pick a numeric, time, text or yes/no column.")
    labels = series.astype("str")
    kept = engine.to_pandas(labels.value_counts().head(top)).index.tolist()  # at most `top` labels to the host
    lumped = labels.where(labels.isin(kept) | labels.isna(), OTHER_LABEL).reset_index(drop=True)
    return Axis(name, kind, lumped, engine.float_values(lumped.notna()) == 1)


def binned_pairs(
    engine: Engine, frame: Any, x: str, y: str, colour: str | None = None, bins: int = 40, top: int = 20
) -> pd.DataFrame:
    """Row counts per (x bin, y bin), and the mean of a numeric `colour` column per cell, grouped on the engine."""
    if x == y:
        raise DataError("Pick two different columns for the x and y axes.")
    xp = engine.xp
    axes = [make_axis(engine, frame[check_column(frame, name)], bins, top) for name in (x, y)]
    columns = {"x": axes[0].keys, "y": axes[1].keys, "rows": xp.ones(len(frame))}
    if colour is not None:
        series = frame[check_column(frame, colour)]
        if column_kind(series.dtype) != NUMERIC:
            raise DataError(f"Colour by a numeric column on the binned view; {colour!r} is not numeric.")
        values = _numeric_ticks(engine, series)[0]
        # sums and counts rather than a mean, so missing values need no null-or-NaN convention
        columns["colour_sum"] = xp.where(xp.isfinite(values), values, 0.0)
        columns["colour_n"] = xp.isfinite(values).astype(xp.float64)
    keep = axes[0].present & axes[1].present
    pairs = engine.frames.DataFrame(columns)[engine.frames.Series(keep)]  # a boolean Series: same on both libraries
    grouped = engine.to_pandas(pairs.groupby(["x", "y"]).sum().reset_index())
    result = pd.concat([axes[0].labels(grouped["x"]), axes[1].labels(grouped["y"])], axis=1)
    result["count"] = grouped["rows"].round().astype("int64").to_numpy()
    if colour is not None:
        n = grouped["colour_n"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            result[f"mean {colour}"] = np.where(n > 0, grouped["colour_sum"].to_numpy() / n, np.nan)
    return result


def sample_rows(
    engine: Engine, frame: Any, columns: list[str], rows: int = MAX_SAMPLE_ROWS, seed: int = 0
) -> pd.DataFrame:
    """At most `rows` random rows of the named columns, drawn on the engine, as a host frame."""
    if not 1 <= rows <= MAX_SAMPLE_ROWS:
        raise DataError(f"A sample holds between 1 and {MAX_SAMPLE_ROWS:,} rows; asked for {rows:,}.")
    names = list(dict.fromkeys(check_column(frame, name) for name in columns))
    picked = frame[names]
    if len(picked) > rows:
        picked = picked.sample(n=rows, random_state=seed)
    return engine.to_pandas(picked).reset_index(drop=True)


def filter_from_selection(frame: Any, column: str, selection: Any) -> Filter | None:
    """A filter from a chart selection on `column`: an x-interval over bins, or clicked values; None if empty.

    Interval selections arrive as {field: [low, high]} (times as epoch milliseconds), point
    selections as [{"value": ...}, ...], the shapes Vega-Lite and Streamlit hand back.
    """
    series = frame[check_column(frame, column)]
    kind = column_kind(series.dtype)
    if isinstance(selection, list):
        values = tuple(str(point["value"]) for point in selection if isinstance(point, dict) and "value" in point)
        return Filter(column, values=values) if values and kind in (TEXT, BOOLEAN) else None
    if not isinstance(selection, dict) or kind not in (NUMERIC, DATETIME):
        return None
    bounds = next(iter(selection.values()), None)
    if not isinstance(bounds, list) or len(bounds) != 2:
        return None
    low, high = sorted(bounds)
    if kind == DATETIME:
        tz = getattr(series.dtype, "tz", None)
        low, high = (pd.Timestamp(v, unit="ms", tz="UTC") for v in (low, high))
        low, high = (v.tz_convert(tz) if tz is not None else v.tz_localize(None) for v in (low, high))
    return Filter(column, low=low, high=high)


def filter_step_params(filters: list[Filter], kinds: dict[str, str]) -> dict[str, Any]:
    """The Pipeline filter step that keeps the same rows as `filters` (columns' kinds by name): values become `in`,
    ranges `>=` and `<=` (times as ISO text, as a recipe carries them)."""

    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, pd.Timestamp) else float(value)

    conditions: list[dict[str, Any]] = []
    for rule in filters:
        if rule.values is not None:
            values = [v == "True" for v in rule.values] if kinds.get(rule.column) == BOOLEAN else list(rule.values)
            conditions.append({"column": rule.column, "op": "in", "value": values})
        else:
            conditions.append({"column": rule.column, "op": ">=", "value": plain(rule.low)})
            conditions.append({"column": rule.column, "op": "<=", "value": plain(rule.high)})
    return {"conditions": conditions, "combine": "and"}


def filtered_copies(copies: dict[str, EngineCopy], filters: list[Filter]) -> dict[str, EngineCopy]:
    """Each engine's copy (an EngineCopy) narrowed to the rows that pass `filters`, selected on its engine and timed;
    copies on a Dask cluster are left out (their rows are selected when a computation asks)."""
    kept = {}
    for name, copy in copies.items():
        if copy.engine.lazy:
            continue
        frame, seconds = clock(lambda copy=copy: apply_filters(copy.frame, filters), copy.engine.synchronize)
        kept[name] = EngineCopy(copy.engine, frame, {"filter": seconds}, "the rows kept on the Explore page")
    return kept


BOX_QUANTILES = {"min": 0.0, "q1": 0.25, "median": 0.5, "q3": 0.75, "max": 1.0}
MAX_BOXES = 20


def box_stats(engine: Engine, frame: Any, category: str, value: str, top: int = MAX_BOXES) -> pd.DataFrame:
    """A numeric column's spread within each of the `top` most frequent values of a category column, computed on
    the engine (columns: category, count, min, q1, median, q3, max; most frequent first)."""
    for name in (category, value):
        check_column(frame, name)
    if column_kind(frame[value].dtype) != NUMERIC:
        raise DataError(f"{value!r} is not numeric: a box plot shows a number's spread within each category.")
    pairs = frame[[category, value]].dropna()
    pairs = pairs.assign(**{category: pairs[category].astype("str")})
    grouped = pairs.groupby(category)[value]
    parts = {"count": grouped.count()} | {name: grouped.quantile(q) for name, q in BOX_QUANTILES.items()}
    stats = engine.to_pandas(engine.frames.DataFrame(parts))
    stats = stats.rename_axis("category").reset_index()
    stats = stats.sort_values(["count", "category"], ascending=[False, True], kind="stable").head(top)
    return stats.reset_index(drop=True)
