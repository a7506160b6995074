"""The engines of this machine: which can run, and each one built once."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TypeVar

from pipeline.engines.base import CPU, GPU, Engine, EngineStatus
from pipeline.engines.cpu import CpuEngine
from pipeline.engines.gpu import GpuEngine, gpu_unavailable_reason
from pipeline.errors import EngineUnavailableError

T = TypeVar("T")
REFERENCE = CPU  # the engine every other is compared with, and its speed-up measured against


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


def split_reference(by_engine: Mapping[str, T]) -> tuple[T | None, dict[str, T]]:
    """The reference engine's entry of a mapping by engine name (None when it has none) and the others'."""
    return by_engine.get(REFERENCE), {name: value for name, value in by_engine.items() if name != REFERENCE}


def status_of(name: str) -> EngineStatus:
    """Whether this machine's engine called `name` can run, and why not."""
    return next(status for status in detect() if status.name == name)


def device_status() -> EngineStatus:
    """Whether this machine's GPU engine can run, and why not."""
    return status_of(GPU)
