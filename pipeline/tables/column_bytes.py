"""Bytes a column of a pandas frame takes for the work done on it in this server's memory: what the host-memory
estimates of steps and profiles multiply by their factors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.tables.column_kinds import BOOLEAN, DATETIME, NUMERIC, column_kind

VALUE_BYTES = 8  # work turns narrow numbers, flags and times into 8-byte floats or integers (and indexers are int64)


def is_fixed_width(series: Any) -> bool:
    """Numbers, flags and times: columns whose work makes 8-byte arrays of them; text and objects are the rest."""
    return column_kind(series.dtype) in (NUMERIC, BOOLEAN, DATETIME)


def held_bytes(series: pd.Series) -> int:
    """Bytes the column holds: its values (Arrow's or Python's text included), without the index; numbers, flags and
    times counted at VALUE_BYTES a value at least. Categorical text counts its codes and its categories."""
    held = int(series.memory_usage(deep=True, index=False))
    return max(held, VALUE_BYTES * len(series)) if is_fixed_width(series) else held


def spelt_out_bytes(series: pd.Series) -> int:
    """`held_bytes`, but categorical text as its labels written out in every row (an 8-byte offset and the label's
    bytes each), which is what work that reads the text rather than the codes makes of it."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        return held_bytes(series)
    codes = series.cat.codes.to_numpy()
    labels = pd.Series(series.cat.categories.astype("str"))
    per_label = labels.str.encode("utf-8").str.len().to_numpy(dtype=np.int64) + VALUE_BYTES
    counts = np.bincount(codes[codes >= 0], minlength=len(labels))
    return int(counts @ per_label) + VALUE_BYTES * len(series)
