"""Every engine a user can choose by name (the machine's own and the Dask clusters'): its label, chart colour,
whether it computes on a GPU and whether it runs on a cluster, why it cannot run here, and how to open it."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.engines.base import CPU, GPU, Engine
from pipeline.engines.cpu import CpuEngine
from pipeline.engines.dask import DASK_CPU, DASK_GPU, DASK_LABELS, dask_missing_reason
from pipeline.engines.gpu import GpuEngine
from pipeline.engines.registry import get_engine, status_of


@dataclass(frozen=True)
class EngineChoice:
    name: str
    label: str
    colour: str
    gpu: bool
    cluster: bool  # opens (or joins) a Dask cluster, which takes time: never chosen by default

    def missing_reason(self) -> str | None:
        """Why this engine cannot run here, or None."""
        if self.cluster:
            return dask_missing_reason(gpu=self.gpu)
        here = status_of(self.name)
        return None if here.available else here.reason

    def open(self) -> Engine:
        """This machine's engine; a cluster's is reached with `pipeline.engines.dask.cluster_work`, which counts the
        work on it."""
        if self.cluster:
            raise ValueError(f"{self.label} runs on a cluster: reach it with cluster_work")
        return get_engine(self.name)


ENGINE_CHOICES = {
    choice.name: choice
    for choice in (
        EngineChoice(CPU, CpuEngine.label, "#4c78a8", gpu=False, cluster=False),
        EngineChoice(GPU, GpuEngine.label, "#76b900", gpu=True, cluster=False),
        EngineChoice(DASK_CPU, DASK_LABELS[DASK_CPU], "#f58518", gpu=False, cluster=True),
        EngineChoice(DASK_GPU, DASK_LABELS[DASK_GPU], "#2f6b00", gpu=True, cluster=True),
    )
}
