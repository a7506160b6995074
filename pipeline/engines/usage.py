"""How busy a device is while work runs on it, sampled on a background thread.

On the GPU: NVML's utilisation (the share of time a kernel was running) and the device memory in use,
read through torch.cuda (which asks nvidia-ml-py and maps CUDA_VISIBLE_DEVICES to NVML's numbering).
On the CPU: this process's CPU time as a share of every core, and its resident memory (psutil).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

SAMPLE_INTERVAL_S = 0.05


@dataclass(frozen=True)
class Usage:
    """A stretch of work: mean busy share (0–100 %) and peak memory in MiB; None where nothing was read."""

    busy_percent: float | None
    memory_mib: float | None


Reading = tuple[float, float]  # (busy %, memory in bytes)


def cpu_reader() -> Callable[[], Reading]:
    """This process's CPU use since the last reading, as a share of all cores, and its resident memory."""
    process, cores = psutil.Process(), psutil.cpu_count() or 1
    process.cpu_percent(None)  # the first call only sets the starting point

    def read() -> Reading:
        return process.cpu_percent(None) / cores, float(process.memory_info().rss)

    return read


def cuda_reader(torch: Any, device: str) -> tuple[Callable[[], Reading] | None, str | None]:
    """NVML's utilisation and used memory of `device`, or None and why NVML cannot be read."""

    def read() -> Reading:
        return float(torch.cuda.utilization(device)), float(torch.cuda.device_memory_used(device))

    try:
        read()
    except Exception as error:  # no nvidia-ml-py, no NVML, a driver that refuses: the reason is shown, not raised
        return None, f"GPU use is not measured: NVML could not be read ({type(error).__name__}: {error})."
    return read, None


class UsageSampler:
    """Reads a device every `interval_s` on a thread; `take()` sums up the readings since the last take, each
    busy share weighted by the time since the reading before it."""

    def __init__(self, read: Callable[[], Reading] | None, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self._read, self._interval_s = read, interval_s
        self._readings: list[tuple[float, float, float]] = []  # (busy %, memory in bytes, seconds covered)
        self._last = time.perf_counter()
        self.failure: str | None = None  # why readings stopped part-way, if they did
        self._lock, self._done = threading.Lock(), threading.Event()
        self._thread = threading.Thread(target=self._sample, name="device-usage", daemon=True)

    def __enter__(self) -> UsageSampler:
        if self._read is not None:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _sample(self) -> None:
        while not self._done.wait(self._interval_s):
            self._keep()

    def _keep(self) -> None:
        if self.failure is not None:
            return
        try:
            reading = self._read()
        except Exception as error:  # a reading that fails ends the sampling, never the work being watched
            self.failure = f"Device use stopped being measured: {type(error).__name__}: {error}"
            return
        with self._lock:
            now = time.perf_counter()
            self._readings.append((*reading, now - self._last))
            self._last = now

    def take(self) -> Usage:
        """Mean busy share and peak memory over the readings since the last take, plus one taken now."""
        if self._read is None:
            return Usage(None, None)
        self._keep()
        with self._lock:
            readings, self._readings = self._readings, []
        covered = sum(seconds for _, _, seconds in readings)
        if not readings or covered <= 0:
            return Usage(None, None)
        busy = sum(share * seconds for share, _, seconds in readings) / covered
        return Usage(min(busy, 100.0), max(memory for _, memory, _ in readings) / 2**20)
