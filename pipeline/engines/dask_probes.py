"""What the app asks a Dask cluster's processes about themselves: whether they can import the app's code, and the
free disk where workers spill.

Dask sends a graph's functions by reference (module and name), and the scheduler and workers unpickle them: they
need the app's `pipeline` package themselves. The probes are therefore made inside functions here, so that Dask's
cloudpickle sends them by value: they run where the app's code cannot be imported, and say so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.errors import EngineUnavailableError

CODE_DOCS = "docs/deploy.md, “The app's code on the cluster”"


def app_code_probe() -> Callable[[], str | None]:
    """A function that says, wherever it runs, which `pipeline` package is importable there: a fingerprint of its
    Python files (path and content), or None where there is none."""

    def fingerprint() -> str | None:
        import hashlib
        import importlib.util
        from pathlib import Path

        spec = importlib.util.find_spec("pipeline")
        if spec is None or not spec.submodule_search_locations:
            return None
        root = Path(next(iter(spec.submodule_search_locations)))
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()[:16]

    return fingerprint


def check_app_code(client: Any, address: str) -> None:
    """An EngineUnavailableError, naming who and what the operator must do, unless the scheduler at `address` and
    every worker it has now import the same `pipeline` package as this server."""
    probe = app_code_probe()
    here = probe()
    found = {"its scheduler": client.run_on_scheduler(probe)}
    workers = client.run(probe)
    found |= {f"worker {worker}": code for worker, code in workers.items()}
    missing = [who for who, code in found.items() if code is None]
    other = [who for who, code in found.items() if code is not None and code != here]
    if not missing and not other:
        return
    problems = []
    if missing:
        problems.append(f"{_who(missing, len(workers))} cannot import the app's `pipeline` package")
    if other:
        problems.append(f"{_who(other, len(workers))} import another version of it than this server")
    raise EngineUnavailableError(
        f"The Dask cluster at {address} cannot run the app's work: {' and '.join(problems)} (Dask sends them the "
        "work as references to the app's functions). The operator starts the scheduler and every worker with this "
        "version of the app's folder on their Python path, e.g. `PYTHONPATH=/path/to/gpu-pipeline-lab dask "
        "scheduler …` and `PYTHONPATH=/path/to/gpu-pipeline-lab dask worker …` (the app's container image sets "
        f"it): see {CODE_DOCS}."
    )


def _who(names: list[str], workers: int) -> str:
    """'its scheduler and 2 of its 3 workers', for a message."""
    parts = ["its scheduler"] if "its scheduler" in names else []
    count = len([name for name in names if name != "its scheduler"])
    if count:
        parts.append(f"{count} of its {workers} worker{'s' if workers != 1 else ''}")
    return " and ".join(parts)


def spill_disk_probe() -> Callable[[Any], tuple[str, int, int] | None]:
    """A function that says, on a worker (`client.run` passes `dask_worker`), where it spills past its memory limit:
    (machine, device, free bytes) of its local directory's disk, or None where it does not spill to disk."""

    def spill_disk(dask_worker: Any) -> tuple[str, int, int] | None:
        import os
        import shutil
        import socket

        from distributed.spill import SpillBuffer

        data = dask_worker.data  # dask-cuda's DeviceHostFile spills device → host → disk (named: dask-cuda is optional)
        if not isinstance(data, SpillBuffer) and type(data).__name__ != "DeviceHostFile":
            return None  # no memory limit, or spilling turned off
        directory = dask_worker.local_directory
        try:  # the kernel's boot id: the same for every container on one machine, which may share a disk
            with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
                machine = boot.read().strip()
        except OSError:
            machine = socket.gethostname()
        return machine, os.stat(directory).st_dev, shutil.disk_usage(directory).free

    return spill_disk


def spill_disks(client: Any) -> list[int]:
    """The free bytes of each disk the cluster's workers spill to, counted once however many workers share it."""
    disks = {(machine, device): free for machine, device, free in filter(None, client.run(spill_disk_probe()).values())}
    return list(disks.values())
