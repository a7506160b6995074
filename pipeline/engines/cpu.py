"""The CPU engine: pandas frames and numpy arrays."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa

from pipeline.engines.base import CPU, Done, Engine, Item
from pipeline.tables.type_map import pandas_column

ROW_HASH_MULTIPLIER = np.uint64(0x100000001B3)
HASH_SALT = np.uint64(secrets.randbits(64))  # unknown to whoever writes a table, so no one can make rows collide
HASH_CHUNK = 1 << 20  # rows hashed at a time by `duplicated`: its temporaries stay this size, whatever the table's


class CpuEngine(Engine):
    name = CPU
    label = "CPU (pandas)"
    holds_python_objects = True
    is_reference = True
    arrow_phase = "Arrow → pandas"
    # blocks that fit the caches and the allocator's heap: larger ones are fresh pages on every block, page faults
    # that made the pairwise sums of 1e6 x 10 values 10x slower (1.3 s against 0.08 s in blocks of 1.3 MB)
    block_bytes = 1 << 21
    # numpy's sorts and Arrow's kernels let go of the GIL: two columns at once use a second core (the profile of 1e6
    # x 20 columns on 2 cores: sorts and ranks 1.7x faster), two columns' work in memory (profile/memory.py)
    at_once = min(2, psutil.cpu_count() or 1)

    def each(self, work: Callable[[Item], Done], items: Iterable[Item]) -> Iterator[Done]:
        if self.at_once < 2:
            return map(work, items)
        return _in_threads(work, items, self.at_once)

    @property
    def frames(self) -> ModuleType:
        return pd

    @property
    def xp(self) -> ModuleType:
        return np

    def from_arrow(self, table: pa.Table) -> pd.DataFrame:
        frame = table.to_pandas()
        for position, column in enumerate(table.columns):
            values = pandas_column(column)
            if values is not None:
                frame.isetitem(position, values)
        return frame

    def to_pandas(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame

    def host_route(self, why: str) -> str:
        return "parsed by pyarrow"  # the host is where the CPU engine works: there is no other route to explain

    def duplicated(self, frame: Any, subset: list[str] | None = None, keep: str = "first") -> Any:
        """As `DataFrame.duplicated`, fast with many distinct rows.

        pandas' `duplicated` slows down sharply with many distinct rows (28 s for 1e7 x 20 on our 2-core
        machine), so each row gets a 64-bit hash (`row_hashes`) and only the rows whose hash is shared are compared
        exactly: equal rows always share a hash.
        """
        columns = subset or list(frame.columns)
        marks = pd.Series(False, index=frame.index)
        if len(frame) < 2:
            return marks
        row_hash = row_hashes(frame, columns, HASH_CHUNK)
        order = np.argsort(row_hash)
        ordered = row_hash[order]
        same = ordered[1:] == ordered[:-1]
        shared = np.zeros(len(frame), dtype=bool)
        shared[1:] |= same
        shared[:-1] |= same
        candidates = np.sort(order[shared])
        if candidates.size:
            marks.iloc[candidates] = frame.iloc[candidates].duplicated(subset=columns, keep=keep).to_numpy()
        return marks

    def duplicate_rows(self, frame: Any, chunk_rows: int) -> int:
        """How many rows equal an earlier row, as `duplicated().sum()` counts them, without pandas' hash table of
        every row or a copy of the rows that repeat.

        The rows are ordered by their 64-bit hashes (`row_hashes`); a row whose hash its neighbour in that order
        shares is compared with that neighbour column by column, `chunk_rows` rows at a time. Where all such
        neighbours are equal, every row after the first of its hash repeats it. Rows that share a hash without
        being equal (hashes are salted, so a collision is chance alone: about one in 2**64 a pair) are counted
        by `duplicated` instead.
        """
        rows = len(frame)
        if rows < 2:
            return 0
        row_hash = row_hashes(frame, list(frame.columns), chunk_rows)
        order = np.argsort(row_hash)
        same = np.empty(rows - 1, dtype=bool)  # same[i]: rows order[i] and order[i + 1] share a hash
        for start in range(0, rows - 1, chunk_rows):
            ordered = row_hash[order[start : start + chunk_rows + 1]]
            same[start : start + ordered.size - 1] = ordered[1:] == ordered[:-1]
        del row_hash
        if not same.any():
            return 0
        for name in frame.columns:
            keys = column_keys(frame[name])
            for start in range(0, rows - 1, chunk_rows):
                at = start + np.flatnonzero(same[start : start + chunk_rows])
                if (keys[order[at]] != keys[order[at + 1]]).any():
                    return int(self.duplicated(frame).sum())
        return int(same.sum())

    def with_missing(self, series: Any, missing: Any) -> Any:
        if series.dtype.kind in "iu":
            series = series.astype("Int64")  # pandas needs its nullable integer type; cuDF ints hold nulls as they are
        return series.mask(missing)


def column_keys(series: pd.Series) -> np.ndarray:
    """Integers equal exactly where `DataFrame.duplicated` finds the column's values equal: whole numbers and flags
    as they are, floats by their bits (-0.0 as 0.0, every NaN alike), times by their ticks, anything else (text,
    categories, objects, nullable types) by its factorize codes."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return series.to_numpy()
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = series.to_numpy() + 0.0  # a copy, with -0.0 as 0.0
        values[np.isnan(values)] = np.nan
        return values.view(f"u{values.itemsize}")
    if isinstance(dtype, np.dtype) and dtype.kind in "mM":
        return series.to_numpy().view("i8")
    return pd.factorize(series)[0]


def row_hashes(frame: pd.DataFrame, columns: list[str], chunk_rows: int) -> np.ndarray:
    """A 64-bit hash of each row's values in `columns`, salted: rows equal as `DataFrame.duplicated` compares them
    share it. Each column is hashed `chunk_rows` rows at a time."""
    hashes = np.zeros(len(frame), dtype=np.uint64)
    for name in columns:
        keys = column_keys(frame[name])
        for start in range(0, len(frame), chunk_rows):
            part = hashes[start : start + chunk_rows]
            part *= ROW_HASH_MULTIPLIER
            part ^= pd.util.hash_array(keys[start : start + chunk_rows].astype(np.uint64) ^ HASH_SALT)
    return hashes


def _in_threads(work: Callable[[Item], Done], items: Iterable[Item], threads: int) -> Iterator[Done]:
    """`work(item)` for every item in a few threads, yielded in order; stopping early (a failure, the caller done)
    drops what has not started and waits for what has."""
    pool = ThreadPoolExecutor(threads, thread_name_prefix="engine-work")
    try:
        yield from pool.map(work, items)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
