"""The NVIDIA GPUs of this machine, as NVML reports them (nothing imported from the engines, which ask it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    memory_total: int
    memory_used: int
    driver: str
    cuda: str


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def gpu_devices() -> tuple[tuple[GpuInfo, ...], str | None]:
    """The NVIDIA GPUs NVML sees, or none and the reason it could not be asked."""
    try:
        import pynvml
    except ImportError:
        return (), "nvidia-ml-py is not installed."
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as error:
        return (), f"No NVIDIA driver found (NVML: {error})."
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        cuda_raw = pynvml.nvmlSystemGetCudaDriverVersion()
        cuda = f"{cuda_raw // 1000}.{cuda_raw % 1000 // 10}"
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            name = _text(pynvml.nvmlDeviceGetName(handle))
            gpus.append(GpuInfo(index, name, int(memory.total), int(memory.used), driver, cuda))
        return tuple(gpus), None
    except pynvml.NVMLError as error:
        return (), f"NVML could not read the GPUs: {error}"
    finally:
        pynvml.nvmlShutdown()
