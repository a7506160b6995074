"""The host memory a pipeline step takes at its peak, estimated from its input before it runs.

Each step kind states its `HostCost` next to its registration (`pipeline.steps.columns`, `rows`, …): multiples of
its input's bytes, measured on pandas for every kind (tests/unit/test_host_peaks.py runs each kind in a fresh
process at two sizes and fails where the real peak passes this estimate). Steps that can multiply their data (a
join's rows, one-hot's columns, long text) add what they make besides (`StepKind.output_size`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.budget import WORK_OVERHEAD
from pipeline.tables.column_bytes import is_fixed_width, spelt_out_bytes

COLUMN_KEYS = ("columns", "column", "by", "on")  # parameters that name the columns a step works on
ITEM_KEYS = ("conditions", "aggregations")  # parameters holding items that each name one


def worked_columns(params: Mapping[str, Any]) -> list[str]:
    """The columns a step's (checked) parameters name, each once."""
    names: list[str] = []
    for key in COLUMN_KEYS:
        value = params.get(key)
        names += value if isinstance(value, list) else [value] if isinstance(value, str) else []
    for key in ITEM_KEYS:
        names += [item["column"] for item in params.get(key, []) if isinstance(item, dict)]
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class HostCost:
    """Host memory a step takes beyond its input at its peak, in multiples of the input's bytes.

    `table` multiplies the whole input (a step that may gather every row again: a filter, a sort, a join);
    `number` multiplies each column it works on that holds numbers, flags or times (8 bytes a value at least) and
    `text` each that holds text or other objects (its bytes, categorical text written out in every row). Text is
    dearer: hashing, parsing and making Python strings cost many times the bytes a string holds. `row_bytes` are
    the arrays a row that the step makes whatever its columns (indexers, masks, random numbers).
    """

    table: float = 0.0
    number: float = 0.0
    text: float = 0.0
    row_bytes: int = 0

    def need(self, frame: Any, params: Mapping[str, Any], frame_bytes: int) -> int:
        """Bytes beyond `frame` (of `frame_bytes`) that a step of this cost with these parameters takes at its peak."""
        worked = 0.0
        for name in worked_columns(params):
            if name in frame.columns:
                series = frame[name]
                worked += (self.number if is_fixed_width(series) else self.text) * spelt_out_bytes(series)
        return int(WORK_OVERHEAD + self.table * frame_bytes + worked + self.row_bytes * len(frame))


# For a kind that states no cost of its own: a copy of every row, temporaries thrice the numbers and six times the
# text it works on, and a few arrays a row. Every registered kind states its own (the peak test measures each).
UNMEASURED = HostCost(table=1.0, number=3.0, text=6.0, row_bytes=32)
