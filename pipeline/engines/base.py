"""What every engine offers (the interface), the engine names and the facts engines report."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa

from pipeline.tables.formats import FileFormat
from pipeline.tables.synthetic import SyntheticSpec, estimated_bytes

Item = TypeVar("Item")
Done = TypeVar("Done")

CPU = "cpu"
GPU = "gpu"
FORCE_CPU_ENV = "GPL_FORCE_CPU"


@dataclass(frozen=True)
class EngineStatus:
    """Whether an engine can be used here and, if not, why."""

    name: str
    label: str
    available: bool
    reason: str | None = None


@dataclass(frozen=True)
class DeviceMemory:
    """Memory of the engine's device, in bytes."""

    total: int
    used: int

    @property
    def free(self) -> int:
        return self.total - self.used


class Engine(ABC):
    """What every engine offers: frames, arrays, conversion, sync and memory."""

    name: str
    label: str
    memory_kind = "process RSS"  # what memory_in_use() measures for this engine
    holds_data_here = True  # frames live in this process (host or its GPU), not on other machines' workers
    spills_to_disk = False  # past its memory the engine spills to disk instead of failing
    lazy = False  # frames are task graphs in partitions, computed when asked (Dask)
    device = False  # computes on a GPU
    memory_of_its_own = False  # data lives in memory of its own (a GPU, workers): checked before work, reported
    estimates_quantiles = False  # quantiles (and distinct counts) are estimates, not exact
    holds_python_objects = False  # object columns may hold any Python value (pandas only)
    is_reference = False  # the engine others are compared with and speed-ups are measured against
    arrow_phase = "Arrow → engine"  # the load phase `from_arrow` is timed as
    closed = False  # a Dask cluster shut down: its frames are gone
    native_formats: frozenset[FileFormat] = frozenset()  # formats `read_native` parses itself
    # bytes of float64 worked on at once where a computation goes through rows in blocks (pairwise sums): on a GPU
    # as much as the memory bound allows, each block costing kernel launches
    block_bytes = 1 << 30

    @classmethod
    def block_rows(cls, width: int, at_most: int) -> int:
        """How many rows of `width` 8-byte columns one block of work takes here: `block_bytes` of them, `at_most`."""
        return max(1, min(at_most, cls.block_bytes // (8 * max(width, 1))))

    at_once = 1  # how many independent pieces of work (one column's statistics, its ranks) `each` runs at a time

    def each(self, work: Callable[[Item], Done], items: Iterable[Item]) -> Iterator[Done]:
        """`work(item)` for every item, in order, as each is needed: one after the other on an engine that works
        on one thing at a time (a GPU), `at_once` at a time on one with cores to spare. The pieces must be
        independent of each other; the first failure is raised and the pieces not started are dropped."""
        return map(work, items)

    @property
    def data_in_host_memory(self) -> bool:
        """Frames live in this server's own RAM (pandas): work on them is checked against the session's
        `MemoryBudget` before it starts (a GPU's device memory and Dask workers are checked against their own)."""
        return self.holds_data_here and not self.memory_of_its_own

    @property
    @abstractmethod
    def frames(self) -> ModuleType:
        """The DataFrame library (pandas or cudf)."""

    @property
    @abstractmethod
    def xp(self) -> ModuleType:
        """The array library (numpy or cupy)."""

    @abstractmethod
    def from_arrow(self, table: pa.Table) -> Any:
        """An engine frame from a host Arrow table (a host-to-device copy on GPU)."""

    @abstractmethod
    def to_pandas(self, frame: Any) -> pd.DataFrame:
        """A pandas copy of an engine frame."""

    def synchronize(self) -> None:
        """Wait until queued device work has finished (no-op on CPU)."""
        return None

    def compute(self, result: Any, timeout_s: float | None = None) -> Any:
        """The result made concrete: a lazy engine (Dask) computes it here, giving up after `timeout_s`; the
        others have computed it already and return it as it is."""
        return result

    def notes(self) -> list[str]:
        """What the user should know of the engine since the last call (Dask: workers lost); usually nothing."""
        return []

    def host_route(self, why: str) -> str:
        """How a file this engine's own reader could not take reached it (`why` says why)."""
        return f"{why}: parsed on the host, then copied to the engine"

    def generate(self, spec: Any) -> dict[str, Any]:
        """A synthetic dataset's tables (`pipeline.tables.synthetic.SyntheticSpec`) made on this engine."""
        return spec.build_on(self)

    def duplicated(self, frame: Any, subset: list[str] | None = None, keep: str = "first") -> Any:
        """A boolean series: True for rows equal to another row kept instead (as `DataFrame.duplicated`)."""
        return frame.duplicated(subset=subset or list(frame.columns), keep=keep)

    def duplicate_rows(self, frame: Any, chunk_rows: int) -> int:
        """How many rows equal an earlier row (the rows `duplicated` marks); an engine that counts them in chunks
        takes `chunk_rows` rows at a time."""
        return int(self.duplicated(frame).sum())

    def drop_duplicates(self, frame: Any, subset: list[str], keep: str) -> Any:
        """The frame without rows equal (on `subset`) to another row kept instead."""
        return frame[~self.duplicated(frame, subset, keep)]

    def category_levels(self, series: Any) -> list[Any] | None:
        """The levels every part of the frame must code a column with, or None where the frame is one part and
        `astype("category")` finds them itself."""
        return None

    def null_and_distinct_counts(self, frame: Any) -> tuple[pd.Series, pd.Series]:
        """Per column: missing values and distinct present values (estimated where `estimates_quantiles`)."""
        nulls = self.to_pandas(frame.isna().sum().to_frame("nulls"))["nulls"]
        return nulls, self.to_pandas(frame.nunique().to_frame("unique"))["unique"]

    def memory_info(self) -> DeviceMemory | None:
        """The device's memory, or None where the engine has no device of its own."""
        return None

    def explain_failure(self, error: BaseException) -> str | None:
        """A message for an error that only this kind of engine raises (a Dask cluster lost), or None."""
        return None

    def room_for_data(self) -> tuple[int, str]:
        """Bytes that new data may take on this engine now, and the words for where that is."""
        memory = self.memory_info()
        if memory is not None:
            return memory.free, "free GPU memory"
        return psutil.virtual_memory().available, "available host memory"

    def generation_need(self, spec: SyntheticSpec) -> tuple[int, str]:
        """Bytes generating the spec's tables takes on this engine at its peak (the tables and the copies made of them
        on the way), and the words for what that counts where it is anything else ('' here)."""
        return estimated_bytes(spec), ""

    def active(self) -> AbstractContextManager[Any]:
        """A context in which libraries that compute on their own (dask-ml, cuML's Dask estimators) use this
        engine; nothing to set for the single-machine engines."""
        return contextlib.nullcontext()

    def parse_datetimes(self, text: Any, fmt: str) -> Any:
        """Text parsed by pandas as date-times in seconds with a strptime format; values that do not fit are missing.

        Every engine parses with pandas (cuDF's parser knows no month names and leaves misfits undefined), so all
        engines read the same dates."""
        return pd.to_datetime(text, format=fmt, errors="coerce").astype("datetime64[s]")

    def head(self, frame: Any, rows: int) -> Any:
        """The first rows, as a frame of the engine that runs single-machine code on them (`local`)."""
        return frame.head(rows)

    @property
    def local(self) -> Engine:
        """The engine that holds one partition's (or a head's) rows: this one, or pandas/cuDF under Dask."""
        return self

    def persist(self, frame: Any) -> Any:
        """The frame with its values computed and held (a lazy engine computes it here); others return it."""
        return frame

    def persist_all(self, frames: dict[str, Any]) -> dict[str, Any]:
        """Frames by name, computed and held together (a lazy engine waits for all of them here)."""
        return frames

    def aggregate(self, grouped: Any, how: Any, many_groups: bool = False) -> Any:
        """`grouped.agg(how)` for a groupby of this engine's frame; `many_groups` (about one group per row) lets a
        lazy engine keep such a result in several partitions."""
        return grouped.agg(how)

    def row_count(self, frame: Any) -> int:
        return len(frame)

    def per_partition(self, frame: Any, fn: Callable[[Engine, Any, int], Any]) -> Any:
        """`fn(engine, part, first_row)` over the frame's partitions, put together: here the whole frame is one
        partition starting at row 0; a Dask engine calls it on each partition with the engine that holds it."""
        return fn(self, frame, 0)

    def release_memory(self) -> None:
        """Hand cached device memory back after frames were dropped (no-op on CPU)."""
        return None

    @staticmethod
    def frame_nbytes(frame: Any) -> int:
        """Bytes held by a frame, strings included."""
        return int(frame.memory_usage(deep=True, index=True).sum())

    def to_numpy(self, array: Any) -> np.ndarray:
        """A host numpy copy of an engine array."""
        return np.asarray(array)

    def float_values(self, values: Any, dtype: str = "float64") -> Any:
        """A float engine array of a numeric or boolean series (or frame: rows × columns), NaN where missing."""
        return values.to_numpy(dtype=dtype, na_value=np.nan)

    def int_values(self, series: Any) -> Any:
        """An int64 engine array of an integer series that has no missing values."""
        return series.to_numpy(dtype="int64")

    def with_missing(self, series: Any, missing: Any) -> Any:
        """The series with values marked missing where `missing` is true; integers stay integers."""
        return series.mask(missing)

    def read_native(
        self, fmt: FileFormat, payload: bytes | Path, delimiter: str, schema: pa.Schema | None
    ) -> Any | None:
        """A frame read by the engine's own reader (one of `native_formats`), or None where it has none.

        With None the caller parses on the host (pyarrow) and converts with `from_arrow`. CSV payloads given
        here are UTF-8; CSV and JSON lines come with the schema pyarrow infers on the host (`text_schema`), which
        the reader must keep, so a column has the same type on every engine.
        """
        return None
