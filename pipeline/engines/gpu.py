"""The GPU engine (cuDF frames, CuPy arrays) and the probes that tell why it cannot run here.

GPU libraries are imported only inside `GpuEngine` and these probes, so everything works on a machine that has
none of them.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.engines.base import FORCE_CPU_ENV, GPU, DeviceMemory, Engine
from pipeline.tables.formats import FileFormat
from pipeline.tables.type_map import device_dtypes


class GpuEngine(Engine):
    name = GPU
    label = "GPU (cuDF)"
    memory_kind = "GPU device"
    device = True
    memory_of_its_own = True
    arrow_phase = "host → device"
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

    def host_route(self, why: str) -> str:
        return f"{why}: parsed on the host, then copied to the GPU"

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

    def parse_datetimes(self, text: Any, fmt: str) -> Any:
        """pandas parses the column on the host (see Engine.parse_datetimes); the dates come back to the GPU."""
        return self._cudf.Series.from_pandas(super().parse_datetimes(text.to_pandas(), fmt))

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
    """The first reason the GPU engine cannot run here, or None when it can: the driver (and a device) first, since
    without one installing cuDF would not help, then cuDF, then importing it."""
    if os.environ.get(FORCE_CPU_ENV, "").strip() not in ("", "0"):
        return f"The GPU engine is switched off by {FORCE_CPU_ENV}={os.environ[FORCE_CPU_ENV]}."
    for probe in (nvidia_driver_reason, cudf_missing_reason, gpu_import_reason):
        reason = probe()
        if reason is not None:
            return reason
    return None
