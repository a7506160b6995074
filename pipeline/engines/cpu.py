"""The CPU engine: pandas frames and numpy arrays."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.engines.base import CPU, Engine
from pipeline.tables.column_kinds import TEXT, column_kind
from pipeline.tables.type_map import pandas_column

ROW_HASH_MULTIPLIER = np.uint64(0x100000001B3)


class CpuEngine(Engine):
    name = CPU
    label = "CPU (pandas)"
    holds_python_objects = True
    is_reference = True
    arrow_phase = "Arrow → pandas"

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
        machine), so each row gets a 64-bit hash (numbers hashed as they are, text through its factorize codes)
        and only the rows whose hash is shared are compared exactly: equal rows always share a hash.
        """
        columns = subset or list(frame.columns)
        marks = pd.Series(False, index=frame.index)
        if len(frame) < 2:
            return marks
        row_hash = np.zeros(len(frame), dtype=np.uint64)
        for name in columns:
            series = frame[name]
            if column_kind(series.dtype) == TEXT or series.dtype == object:
                column_hash = pd.util.hash_array(pd.factorize(series)[0])
            else:
                column_hash = pd.util.hash_pandas_object(series, index=False).to_numpy()
            row_hash = row_hash * ROW_HASH_MULTIPLIER ^ column_hash
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

    def with_missing(self, series: Any, missing: Any) -> Any:
        if series.dtype.kind in "iu":
            series = series.astype("Int64")  # pandas needs its nullable integer type; cuDF ints hold nulls as they are
        return series.mask(missing)
