"""One timer for every measurement: warm-up, repeats, device sync before the clock stops."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of the first call and of the timed repeats after warm-up."""

    first_s: float
    runs_s: tuple[float, ...]

    @property
    def median_s(self) -> float:
        return statistics.median(self.runs_s)

    @property
    def min_s(self) -> float:
        return min(self.runs_s)

    @property
    def max_s(self) -> float:
        return max(self.runs_s)


@dataclass(frozen=True)
class Measured(Generic[T]):
    result: T
    timing: Timing


def clock(fn: Callable[[], T], sync: Callable[[], None]) -> tuple[T, float]:
    """Run `fn` once; the clock stops only after `sync` has waited for queued device work."""
    sync()
    start = time.perf_counter()
    result = fn()
    sync()
    return result, time.perf_counter() - start


def measure(
    fn: Callable[[], T],
    *,
    sync: Callable[[], None] = lambda: None,
    warmup: int = 0,
    repeats: int = 1,
) -> Measured[T]:
    """Time `fn` and return its last result.

    The first call is always timed and reported apart as `first_s` (it pays for JIT,
    caches and library start-up). With `warmup` >= 1 it is the first of the warm-up
    calls and `repeats` timed runs follow; with warmup=0 it is also the first run.
    Each call starts after the last one's result is let go and collected (off the clock):
    an engine that holds results (Dask's persisted partitions, GPU memory) makes every
    result anew and in the memory the last one took, never hands back the one it holds.
    """
    if warmup < 0 or repeats < 1:
        raise ValueError(f"warmup must be >= 0 and repeats >= 1, got {warmup} and {repeats}")
    result, first = clock(fn, sync)
    runs = [] if warmup else [first]
    for _ in range(max(warmup - 1, 0)):
        del result
        gc.collect()
        result = fn()
    while len(runs) < repeats:
        del result
        gc.collect()
        result, seconds = clock(fn, sync)
        runs.append(seconds)
    return Measured(result, Timing(first, tuple(runs)))


class PhaseClock:
    """Seconds per named phase of one piece of work, summed when a phase runs more than once."""

    def __init__(self, sync: Callable[[], None]) -> None:
        self.sync = sync
        self.phases: dict[str, float] = {}

    def run(self, phase: str, fn: Callable[[], T]) -> T:
        result, seconds = clock(fn, self.sync)
        self.phases[phase] = self.phases.get(phase, 0.0) + seconds
        return result


def speedups(times: Mapping[K, Any], reference: K) -> dict[K, Any]:
    """How many times faster than `reference` every other entry of `times` ran: the reference's seconds over its
    own. Seconds are numbers (None where missing) or aligned pandas Series (a wide frame's columns work too);
    a ratio is None (NaN in a Series) where either time is missing or not positive."""
    base = times.get(reference)
    return {key: _ratio(base, seconds) for key, seconds in times.items() if key != reference}


def _ratio(base: Any, seconds: Any) -> Any:
    if base is None or seconds is None:
        return None
    if isinstance(base, int | float) and isinstance(seconds, int | float):
        return base / seconds if base > 0 and seconds > 0 else None
    return (base / seconds).where((base > 0) & (seconds > 0))
