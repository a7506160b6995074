"""The reader process's workers stay warm between loads: a worker keeps what a load freed as memory the kernel may
take back at any time, rather than giving it up and faulting it in again for the next load."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pandas as pd
import psutil

from pipeline.data.io import Source, prepare
from pipeline.tables.sandbox import RETIRE_RESIDENT

MIB = 2**20


def workers() -> list[psutil.Process]:
    """The workers of this process's reader process."""
    readers = [child for child in psutil.Process().children() if "sandbox import serve" in " ".join(child.cmdline())]
    return [worker for reader in readers for worker in reader.children()]


def memory_of(worker: psutil.Process) -> dict[str, int]:
    """A worker's anonymous memory and what of it was freed lazily (MADV_FREE), in bytes."""
    with open(f"/proc/{worker.pid}/smaps_rollup") as rollup:
        fields = dict(line.split(":", 1) for line in rollup.read().splitlines()[1:])
    return {name: int(fields[name].split()[0]) * 1024 for name in ("Anonymous", "LazyFree")}


def test_a_worker_keeps_what_a_load_freed_as_lazily_freed_memory_and_stays(tmp_path):
    """A 160 MB table: once the load is over its worker holds the memory it freed only lazily (the kernel takes it
    whenever it needs it, and counts it as available meanwhile), so the next load reuses it; and the worker is not
    retired for holding it, since what it truly keeps stays under the limit for retiring."""
    path = tmp_path / "zeros.parquet"
    pd.DataFrame({f"c{i}": np.zeros(2_500_000) for i in range(8)}).to_parquet(path)
    prepare(Source.from_path(path))
    deadline, kept = time.monotonic() + 30, []
    while time.monotonic() < deadline and not kept:
        kept = [worker for worker in workers() if memory_of(worker)["LazyFree"] > 100 * MIB]
        time.sleep(0.1)
    assert kept, f"no worker kept freed memory lazily: {[memory_of(worker) for worker in workers()]}"
    memory = memory_of(kept[0])
    assert memory["Anonymous"] - memory["LazyFree"] < 2 * RETIRE_RESIDENT, memory
    time.sleep(1)
    assert kept[0].is_running(), "the worker was retired for memory the kernel may take back"


def test_a_forked_process_loads_through_a_reader_process_of_its_own(tmp_path):
    """A process forked after loads (a worker of a pre-forking server, `make mutation`'s test runs) starts its own
    reader process: the parent's answers reach only the parent's listening thread (the child sees the parent's
    reader as ended, since it cannot wait for it)."""
    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1, 2, 3]}).to_parquet(path)
    assert prepare(Source.from_path(path)).table.num_rows == 3
    child = os.fork()
    if child == 0:
        try:
            os._exit(0 if prepare(Source.from_path(path)).table.num_rows == 3 else 1)
        finally:
            os._exit(2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    raise AssertionError("the forked process's load never ended")
