"""Compute engines: CPU (pandas + scikit-learn) and GPU (cuDF + cuML + CuPy).

Both engines share one small interface. GPU libraries are imported only inside
`GpuEngine` and the probes that decide whether it can be built, so everything
here works on a machine that has none of them.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import io
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa

from pipeline.errors import EngineUnavailableError, GpuMemoryError, PipelineError
from pipeline.formats import FileFormat
from pipeline.type_map import device_dtypes, pandas_column

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
    distributed = False  # a Dask engine: lazy frames in partitions, some results (quantiles) estimated
    closed = False  # a Dask cluster shut down: its frames are gone
    native_formats: frozenset[FileFormat] = frozenset()  # formats `read_native` parses itself

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

    def finish(self, result: Any, timeout_s: float | None = None) -> Any:
        """The result made concrete: a lazy engine (Dask) computes it here, giving up after `timeout_s`; the
        others have computed it already and return it as it is."""
        return result

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

    def active(self) -> AbstractContextManager[Any]:
        """A context in which libraries that compute on their own (dask-ml, cuML's Dask estimators) use this
        engine; nothing to set for the single-machine engines."""
        return contextlib.nullcontext()

    def head(self, frame: Any, rows: int) -> Any:
        """The first rows, as a frame of the engine that runs single-machine code on them (`local`)."""
        return frame.head(rows)

    @property
    def local(self) -> Engine:
        """The engine that holds one partition's (or a head's) rows: this one, or pandas/cuDF under Dask."""
        return self

    def materialized(self, frame: Any) -> Any:
        """The frame with its values computed and held (a lazy engine computes it here); others return it."""
        return frame

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


class GpuEngine(Engine):
    name = GPU
    label = "GPU (cuDF)"
    memory_kind = "GPU device"
    # cuDF has no Excel reader, and its Feather reader parses on the host: those take the host route
    native_formats = frozenset({FileFormat.CSV, FileFormat.PARQUET, FileFormat.JSONL})

    def __init__(self) -> None:
        self._cudf = importlib.import_module("cudf")
        self._cupy = importlib.import_module("cupy")

    @property
    def frames(self) -> ModuleType:
        return self._cudf

    @property
    def xp(self) -> ModuleType:
        return self._cupy

    def from_arrow(self, table: pa.Table) -> Any:
        return self._cudf.DataFrame.from_arrow(table)

    def to_pandas(self, frame: Any) -> pd.DataFrame:
        return frame.to_pandas()

    def synchronize(self) -> None:
        self._cupy.cuda.runtime.deviceSynchronize()

    def memory_info(self) -> DeviceMemory:
        free, total = self._cupy.cuda.runtime.memGetInfo()
        return DeviceMemory(total=int(total), used=int(total - free))

    def release_memory(self) -> None:
        import gc

        gc.collect()
        self._cupy.get_default_memory_pool().free_all_blocks()

    def to_numpy(self, array: Any) -> np.ndarray:
        return self._cupy.asnumpy(array)

    def float_values(self, values: Any, dtype: str = "float64") -> Any:
        return values.to_cupy(dtype=dtype, na_value=np.nan)

    def int_values(self, series: Any) -> Any:
        return series.to_cupy(dtype="int64")

    def read_native(
        self, fmt: FileFormat, payload: bytes | Path, delimiter: str, schema: pa.Schema | None
    ) -> Any | None:
        source = str(payload) if isinstance(payload, Path) else io.BytesIO(payload)
        if fmt is FileFormat.PARQUET:  # the file's own schema
            return self._cudf.read_parquet(source)
        # Text is parsed on the device with the host's types given, so cuDF cannot infer others.
        dtypes = device_dtypes(schema) if schema is not None else None
        if dtypes is None:
            return None
        if fmt is FileFormat.CSV:
            return self._cudf.read_csv(source, sep=delimiter, dtype=dtypes)
        if fmt is FileFormat.JSONL:
            by_name = dict(zip(schema.names, dtypes, strict=True))
            return self._cudf.read_json(source, lines=True, engine="cudf", dtype=by_name)
        return None

    @property
    def device_name(self) -> str:
        props = self._cupy.cuda.runtime.getDeviceProperties(self._cupy.cuda.Device().id)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)


def cudf_missing_reason() -> str | None:
    """Why cuDF cannot be found, or None when it is installed."""
    if importlib.util.find_spec("cudf") is None:
        return (
            "cuDF is not installed. On a machine with an NVIDIA GPU, "
            "`pip install -r requirements-gpu.txt` (or use the container)."
        )
    return None


def nvidia_driver_reason() -> str | None:
    """Why the NVIDIA driver or a device is unusable, or None when one device answers."""
    try:
        import pynvml
    except ImportError:
        return "nvidia-ml-py is not installed, so the NVIDIA driver cannot be queried."
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as error:
        return f"No NVIDIA driver found (NVML: {error})."
    try:
        count = pynvml.nvmlDeviceGetCount()
    finally:
        pynvml.nvmlShutdown()
    if count == 0:
        return "The NVIDIA driver is loaded but reports no GPU device."
    return None


def gpu_import_reason() -> str | None:
    """Why importing cuDF and CuPy fails, with the library's own text, or None."""
    for module in ("cudf", "cupy"):
        try:
            importlib.import_module(module)
        except Exception as error:  # any failure to import is the reason itself
            return f"Importing {module} failed: {type(error).__name__}: {error}"
    return None


def gpu_unavailable_reason() -> str | None:
    """The first reason the GPU engine cannot run here, or None when it can."""
    if os.environ.get(FORCE_CPU_ENV, "").strip() not in ("", "0"):
        return f"The GPU engine is switched off by {FORCE_CPU_ENV}={os.environ[FORCE_CPU_ENV]}."
    for probe in (cudf_missing_reason, nvidia_driver_reason, gpu_import_reason):
        reason = probe()
        if reason is not None:
            return reason
    return None


@functools.cache
def detect() -> tuple[EngineStatus, ...]:
    """The engines of this machine, CPU first; probed once per process."""
    reason = gpu_unavailable_reason()
    return (
        EngineStatus(CPU, CpuEngine.label, True),
        EngineStatus(GPU, GpuEngine.label, reason is None, reason),
    )


@functools.cache
def get_engine(name: str) -> Engine:
    """The engine called `name`; raises EngineUnavailableError with the reason."""
    statuses = {status.name: status for status in detect()}
    if name not in statuses:
        raise EngineUnavailableError(f"Unknown engine {name!r}: choose one of {sorted(statuses)}.")
    status = statuses[name]
    if not status.available:
        raise EngineUnavailableError(f"The {status.label} engine is not available: {status.reason}")
    return CpuEngine() if name == CPU else GpuEngine()


def available_engines() -> list[Engine]:
    """Every engine that can run here, CPU first."""
    return [get_engine(status.name) for status in detect() if status.available]


def is_out_of_memory(error: BaseException) -> bool:
    """True for the ways RMM, cuDF and CuPy say the device is out of memory."""
    text = str(error).lower()
    return isinstance(error, MemoryError) or "out of memory" in text or "out_of_memory" in text


def is_gpu_out_of_memory(error: BaseException) -> bool:
    """True when the memory that ran out is the GPU's (RMM, CUDA, CuPy and cuDF say so in the text or type)."""
    text = f"{type(error).__module__} {error}".lower()
    return is_out_of_memory(error) and any(word in text for word in ("cuda", "rmm", "cupy", "cudf", "device"))


def out_of_memory_error(engine: Engine, doing: str) -> GpuMemoryError:
    """A message for an out-of-memory failure that says how much is free and what to do.

    The engine's cached memory is handed back first, so the engine is usable again and the
    free memory reported is what the next attempt will find.
    """
    engine.release_memory()
    memory = engine.memory_info()
    free = f" ({memory.free / 2**30:.1f} of {memory.total / 2**30:.1f} GiB free now)" if memory else ""
    return GpuMemoryError(
        f"{engine.label} ran out of memory {doing}{free}. Remove datasets you no longer need, "
        "use fewer rows, or keep this dataset on the CPU engine."
    )


def failure_message(engine: Engine, doing: str, error: BaseException) -> str:
    """What the user is told when work on an engine raised: our own messages as they are, GPU
    out-of-memory with the way forward, anything else by type and text (and logged with its traceback)."""
    if isinstance(error, PipelineError):
        return str(error)
    if is_out_of_memory(error):
        return str(out_of_memory_error(engine, doing))
    explained = engine.explain_failure(error)
    if explained:
        return explained
    logging.getLogger(__name__).warning("%s failed on %s", doing, engine.label, exc_info=error)
    return f"{type(error).__name__}: {error}"
