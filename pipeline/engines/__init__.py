"""Compute engines: the only package that knows engines apart.

`base` (the interface every engine offers), `cpu` (pandas + numpy), `gpu` (cuDF + CuPy, and why it cannot
run here), `registry` (the engines of this machine), `memory` (out-of-memory messages), `dask` (Dask clusters
of either) and `cluster` (which clusters the operator offers). The names most code needs are here.
"""

from pipeline.engines.base import CPU, FORCE_CPU_ENV, GPU, DeviceMemory, Engine, EngineStatus
from pipeline.engines.cpu import CpuEngine
from pipeline.engines.gpu import (
    GpuEngine,
    cudf_missing_reason,
    gpu_import_reason,
    gpu_unavailable_reason,
    nvidia_driver_reason,
)
from pipeline.engines.memory import failure_message, is_gpu_out_of_memory, is_out_of_memory, out_of_memory_error
from pipeline.engines.registry import (
    REFERENCE,
    available_engines,
    detect,
    device_status,
    get_engine,
    split_reference,
)

__all__ = [
    "CPU",
    "FORCE_CPU_ENV",
    "GPU",
    "REFERENCE",
    "CpuEngine",
    "DeviceMemory",
    "Engine",
    "EngineStatus",
    "GpuEngine",
    "available_engines",
    "cudf_missing_reason",
    "detect",
    "device_status",
    "failure_message",
    "get_engine",
    "gpu_import_reason",
    "gpu_unavailable_reason",
    "is_gpu_out_of_memory",
    "is_out_of_memory",
    "nvidia_driver_reason",
    "out_of_memory_error",
    "split_reference",
]
