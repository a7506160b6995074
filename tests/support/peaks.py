"""The real peak of host memory that a piece of work takes, each measured in a process of its own.

How: a child Python imports everything and runs every case once at a few rows (so imports, caches and lazily
loaded code are in place), then forks a fresh process for each measurement (`multiprocessing`, one task per
process, two at a time). That process builds the case's input, frees what building it left over (garbage
collection, `malloc_trim`), resets the kernel's high-water mark of its resident memory (`/proc/self/clear_refs`,
which also resets `getrusage`'s `ru_maxrss`), notes its resident memory, runs the work and reads `ru_maxrss`: the
peak above that baseline is what the work took, its output included.

Why RSS and not tracemalloc: pandas' text lives in Arrow buffers that tracemalloc does not see. To make RSS follow
what is allocated rather than what allocators keep for later, the child runs with Arrow's system allocator and
glibc's mmap threshold fixed at 64 KiB (large arrays are mapped and unmapped as they come and go).
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import json
import multiprocessing
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support.paths import REPO_ROOT

ALLOCATORS = {"ARROW_DEFAULT_MEMORY_POOL": "system", "MALLOC_MMAP_THRESHOLD_": "65536"}
WARM_ROWS = 2_000

Prepare = Callable[[int], tuple[Callable[[], Any], int]]  # rows -> (the work, the model's estimate of its peak)


@dataclass(frozen=True)
class Peak:
    """One measurement: the case, its rows, the real peak above the baseline and the model's estimate, in bytes."""

    case: str
    rows: int
    peak: int
    model: int

    def __str__(self) -> str:
        return (
            f"{self.case} at {self.rows:,} rows: {self.peak / 2**20:,.1f} MiB, modelled {self.model / 2**20:,.1f} MiB"
        )


def _resident() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def _settle() -> None:
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def measure(prepare: Prepare, rows: int) -> tuple[int, int]:
    """(real peak above the baseline, modelled peak) of the work `prepare(rows)` gives, in this process."""
    work, model = prepare(rows)
    _settle()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    baseline = _resident()
    result = work()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - baseline
    del result
    return peak, model


_CASES: dict[str, Prepare] = {}


def _measure_case(task: tuple[str, int]) -> tuple[str, int, int, int]:
    name, rows = task
    return (name, rows, *measure(_CASES[name], rows))


def main() -> None:
    """`python -m tests.support.peaks MODULE ROWS,ROWS NAME...`: measure MODULE.PEAK_CASES[NAME] at each size and
    print the peaks as JSON."""
    module, sizes, *names = sys.argv[1:]
    _CASES.update(importlib.import_module(module).PEAK_CASES)
    for name in names:  # warm: imports and caches happen here, once, before any fork
        work, _model = _CASES[name](WARM_ROWS)
        work()
    _settle()
    tasks = [(name, int(rows)) for name in names for rows in sizes.split(",")]
    with multiprocessing.get_context("fork").Pool(2, maxtasksperchild=1) as pool:
        print(json.dumps(pool.map(_measure_case, tasks, chunksize=1)))


def measure_peaks(module: str, names: list[str], sizes: tuple[int, ...], timeout: float = 600) -> list[Peak]:
    """The peaks of cases `names` of `module`'s PEAK_CASES at each size, measured by a child Python."""
    command = [sys.executable, "-m", "tests.support.peaks", module, ",".join(map(str, sizes)), *names]
    env = {**os.environ, **ALLOCATORS}
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"the measuring child failed:\n{done.stderr[-4000:]}")
    return [Peak(*row) for row in json.loads(done.stdout.strip().splitlines()[-1])]


if __name__ == "__main__":
    main()
