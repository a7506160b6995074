"""Pairwise statistics of a table on its engine: Pearson and Spearman matrices, Cramér's V of category
columns and the missing-value matrices, from sums that come back to the host only as p x p matrices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.engines import Engine
from pipeline.profile.model import MAX_MATRIX_COLUMNS, ColumnProfile, ProfileSettings
from pipeline.tables.column_kinds import BOOLEAN, NUMERIC, TEXT

FLAT_SPREAD = 1e-10  # a spread this small a part of the sum of squares is what rounding leaves of a constant


@dataclass
class PairwiseSums:
    """Sums over the rows where both columns i and j hold a finite value, for pairwise statistics."""

    n: np.ndarray
    sx: np.ndarray
    sxx: np.ndarray
    sxy: np.ndarray

    def pearson(self) -> np.ndarray:
        """Pearson correlation per pair over its complete rows; NaN where a column does not vary on them (as
        pandas gives), fewer than two rows included: a spread within rounding of its sums counts as none."""
        n, sx, sxx, sxy = self.n, self.sx, self.sxx, self.sxy
        spread = np.maximum(n * sxx - sx * sx, 0.0)  # n² times the variance over the pair's rows
        flat = spread <= n * sxx * FLAT_SPREAD
        r = np.divide(
            n * sxy - sx * sx.T, np.sqrt(spread * spread.T), out=np.full(n.shape, np.nan), where=~(flat | flat.T)
        )
        return np.clip(r, -1.0, 1.0)


Block = Callable[[int, int], Any]


def pairwise_sums(engine: Engine, block: Block, rows: int, p: int, chunk_rows: int) -> PairwiseSums:
    """Pairwise sums over complete pairs of the (rows x p) matrix that `block(start, stop)` hands out in chunks.

    Chunks (of `chunk_rows` rows at most, and the engine's `block_bytes`) with no missing value take column sums and
    one Gram matrix XᵀX; others weigh each pair by the rows where both are present. Everything runs on the engine;
    only p x p sums come back.
    """
    xp = engine.xp
    chunk_rows = engine.block_rows(p, chunk_rows)
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
    """1-based ranks of the non-NaN values, ties sharing their average rank; NaN stays NaN (one sort)."""
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


def finite_or_nan(xp: Any, values: Any) -> Any:
    """The values with ±inf as missing, as Pearson (complete finite rows) and pandas' Spearman take them."""
    return xp.where(xp.isinf(values), xp.nan, values)


def ranks_within(xp: Any, ranks: Any, rows: Any) -> Any:
    """The average ranks among themselves of the values in `rows` (a mask of present rows), from their average ranks
    over the whole column, by counting in O(n), no sort: twice an average rank is a whole number, the same for equal
    values and larger for larger ones, so it orders the rows as their values do."""
    keys = (2 * ranks[rows]).astype(xp.int64)
    counts = xp.bincount(keys)
    return (xp.cumsum(counts) - counts + (counts + 1) / 2)[keys]


def pairs_missing_apart(xp: Any, missing: list[Any]) -> list[tuple[int, int]]:
    """The pairs (i < j) of columns whose missing values are not in the same rows."""
    patterns: list[int] = []
    for index, flags in enumerate(missing):
        same = next((k for k in range(index) if patterns[k] == k and bool(xp.array_equal(flags, missing[k]))), index)
        patterns.append(same)
    return [(i, j) for i in range(len(missing)) for j in range(i + 1, len(missing)) if patterns[i] != patterns[j]]


def shared_rank_correlation(xp: Any, x_ranks: Any, y_ranks: Any) -> float:
    """Spearman's coefficient of two columns over the rows both hold (their average ranks given, NaN where missing):
    each ranked again within those rows by `ranks_within`."""
    shared = ~(xp.isnan(x_ranks) | xp.isnan(y_ranks))
    n = int(shared.sum())
    if n < 2:
        return float("nan")
    centre = (n + 1) / 2
    x, y = ranks_within(xp, x_ranks, shared) - centre, ranks_within(xp, y_ranks, shared) - centre
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

    Pearson uses each pair's complete finite rows, and so does Spearman (±inf counts as missing, as in pandas):
    Pearson of the ranks within each pair's shared non-missing rows (ties get their average rank), as pandas and
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
    series = [frame[name] for name in names]
    ranks = list(engine.each(lambda column: average_ranks(xp, finite_or_nan(xp, engine.float_values(column))), series))
    centres = xp.asarray([(c.count + 1) / 2 for c in usable])

    def ranked(start: int, stop: int) -> Any:
        return xp.stack([r[start:stop] for r in ranks], axis=1) - centres

    spearman = pairwise_sums(engine, ranked, rows, p, chunk).pearson()
    for i, j in pairs_missing_apart(xp, [xp.isnan(r) for r in ranks]):
        spearman[i, j] = spearman[j, i] = shared_rank_correlation(xp, ranks[i], ranks[j])
    result = {"pearson": _square(pearson, names), "spearman": _square(spearman, names)}
    return result, " ".join(notes) or None


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
