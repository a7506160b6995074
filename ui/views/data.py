"""Tables for the Data page: each copy's load time and route, memory held, and load speed-ups."""

from __future__ import annotations

import pandas as pd

from pipeline.data.catalog import Dataset
from ui import format as fmt
from ui.views import engine_speedups


def load_table(dataset: Dataset) -> pd.DataFrame:
    """One row per engine copy: total load time, the host → device part, and how it got there."""
    return pd.DataFrame(
        [
            {
                "engine": copy.engine.label,
                "total": fmt.seconds(copy.seconds),
                "host → device": fmt.seconds(copy.transfer_s) if copy.transfer_s is not None else "—",
                "how": copy.route,
            }
            for copy in dataset.copies.values()
        ]
    )


def held_memory(dataset: Dataset) -> pd.DataFrame:
    """Bytes each copy held here takes (columns: engine, memory, bytes); copies on Dask workers left out."""
    held = [copy for copy in dataset.copies.values() if copy.engine.holds_data_here]
    return pd.DataFrame(
        [{"engine": copy.engine.label, "memory": copy.engine.memory_kind, "bytes": copy.nbytes} for copy in held],
        columns=["engine", "memory", "bytes"],
    )


def load_speedups(dataset: Dataset) -> dict[str, float]:
    """Each other copy's load speed-up over the reference copy's, by label."""
    return engine_speedups(dataset.copies, lambda copy: copy.seconds, lambda copy: copy.engine.label)
