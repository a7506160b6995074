"""Engines for tests that need another engine without a GPU or a cluster: pandas underneath, the traits of a GPU
or of partitions on top."""

import pandas as pd

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


class TwoPartEngine(CpuEngine):
    """Computes as the CPU engine does, on frames cut in two partitions as a Dask engine cuts them: each part is
    worked on knowing the row it starts at, and a column is coded with the whole column's levels."""

    def per_partition(self, frame, fn):
        half = len(frame) // 2
        return pd.concat([fn(self, frame.iloc[:half], 0), fn(self, frame.iloc[half:], half)])

    def category_levels(self, series):
        return sorted(series.dropna().drop_duplicates().tolist())
