"""The engines of this machine: which can run, and each one built once."""

from __future__ import annotations

import functools

from pipeline.engines.base import CPU, GPU, Engine, EngineStatus
from pipeline.engines.cpu import CpuEngine
from pipeline.engines.gpu import GpuEngine, gpu_unavailable_reason
from pipeline.errors import EngineUnavailableError


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
