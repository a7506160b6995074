"""The CPU engine: pandas frames and numpy arrays."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.data.type_map import pandas_column
from pipeline.engines.base import CPU, Engine


class CpuEngine(Engine):
    name = CPU
    label = "CPU (pandas)"

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

    def with_missing(self, series: Any, missing: Any) -> Any:
        if series.dtype.kind in "iu":
            series = series.astype("Int64")  # pandas needs its nullable integer type; cuDF ints hold nulls as they are
        return series.mask(missing)
