"""Engines for tests that need a second engine without a GPU: pandas underneath, a GPU's traits on top."""

from pipeline.engines import CpuEngine, DeviceMemory

GIB = 2**30


class HostBackedGpu(CpuEngine):
    """Computes as the CPU engine does, but has a GPU engine's name, label and traits, so the code under test
    treats it as a GPU; `free` bytes of its 16 GiB device are free, and it counts `release_memory` calls."""

    name = "gpu"
    label = "GPU (cuDF)"
    device = memory_of_its_own = True
    is_reference = holds_python_objects = False
    arrow_phase = "host → device"

    def __init__(self, free: int = 16 * GIB, total: int = 16 * GIB) -> None:
        self.free, self.total = free, total
        self.released = 0

    def memory_info(self) -> DeviceMemory:
        return DeviceMemory(total=self.total, used=self.total - self.free)

    def release_memory(self) -> None:
        self.released += 1
