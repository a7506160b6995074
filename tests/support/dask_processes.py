"""A Dask cluster of real processes, started as an operator does (docs/deploy.md): one `dask scheduler` and N
`dask worker`, the venv's own `dask` command, on 127.0.0.1 with free ports.

The processes run in a folder outside the repository, with PYTHONPATH at the app's folder (as docs/deploy.md's
commands set it), at another copy of it, or without any, each in a process group of its own that is killed when the
block ends, whatever happened. Every wait is bounded: a cluster that does not come up in time is a RuntimeError
carrying the processes' logs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.paths import REPO_ROOT
from tests.support.server import free_port

DASK = Path(sys.executable).parent / "dask"
START_S = 60.0  # the most a scheduler or its workers may take to come up (2 busy cores: usually 3–6 s)
STOP_S = 10.0


@dataclass
class DaskProcesses:
    """A running scheduler and its workers; their logs are files in `folder`."""

    folder: Path
    port: int
    environment: dict[str, str]
    spill_directory: Path
    worker_count: int
    worker_options: list[str]
    scheduler: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)
    _started: int = 0  # processes started so far (names their logs)

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _spawn(self, name: str, arguments: list[str], program: list[str] | None = None) -> subprocess.Popen:
        """`program arguments` (the venv's `dask` by default) in the cluster's folder, logged to a file there."""
        self._started += 1
        log = self.folder / f"{self._started:02d}-{name}.log"
        with log.open("wb") as sink:  # a file, not a pipe: nobody reads a pipe, and a full one stalls the process
            return subprocess.Popen(
                [*(program or [str(DASK)]), *arguments],
                cwd=self.folder,
                env=self.environment,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a process group of its own: killed whole (a worker's nanny and its child)
            )

    def output(self) -> str:
        """Everything the processes have printed so far, log by log."""
        return "\n".join(
            f"--- {log.name}\n{log.read_text(encoding='utf-8', errors='replace')[-4000:]}"
            for log in sorted(self.folder.glob("*.log"))
        )

    def start_scheduler(self) -> None:
        """`dask scheduler` on this cluster's port, waited for until it accepts connections."""
        self.scheduler = self._spawn(
            "scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"]
        )
        self._wait(self._scheduler_listens, "the scheduler to listen")

    def start_workers(self) -> None:
        """The workers, each its own `dask worker` process with a nanny, waited for until all are registered."""
        for number in range(self.worker_count):
            options = ["--host", "127.0.0.1", "--no-dashboard", "--name", f"worker-{number}", "--nthreads", "1"]
            self.workers.append(self._spawn("worker", ["worker", self.address, *options, *self.worker_options]))
        self.wait_for_workers()

    def wait_for_workers(self, count: int | None = None) -> None:
        """Until `count` workers (all of them by default) are registered with the scheduler."""
        self._wait(lambda: self.registered_workers() >= (self.worker_count if count is None else count), "workers")

    def registered_workers(self) -> int:
        """How many workers the scheduler knows now (0 when it does not answer)."""
        from distributed import Client

        try:
            with Client(self.address, timeout=5) as client:
                return len(client.scheduler_info(n_workers=-1).get("workers", {}))
        except OSError:
            return 0

    def kill_scheduler(self) -> None:
        """The scheduler killed at once (SIGKILL: no goodbye to its clients and workers)."""
        if self.scheduler is not None:
            _kill(self.scheduler)
            self.scheduler = None

    def restart_scheduler(self) -> None:
        """The scheduler killed and a new one started on the same port, then the workers, as an operator's supervisor
        (systemd, a container's restart policy) does: a `dask worker` ends when its scheduler goes away (here it is
        not waited for: killed with the scheduler)."""
        self.kill_scheduler()
        for worker in self.workers:
            _kill(worker)
        self.workers = []
        self.start_scheduler()
        self.start_workers()

    def close(self) -> None:
        """Every process killed with its process group, and waited for."""
        for process in [*self.workers, *([self.scheduler] if self.scheduler else [])]:
            _kill(process)
        self.workers, self.scheduler = [], None

    def _scheduler_listens(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if ready():
                return
            for process in [*self.workers, *([self.scheduler] if self.scheduler else [])]:
                if process.poll() is not None:
                    raise RuntimeError(f"a Dask process ended (status {process.returncode}):\n{self.output()}")
            time.sleep(0.2)
        raise RuntimeError(f"waited {START_S:g} s for {what}:\n{self.output()}")


def _kill(process: subprocess.Popen) -> None:
    """The process's group killed (its own, from start_new_session: a nanny and its worker too), and waited for."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_S)


def cluster_environment(app_code: Path | None) -> dict[str, str]:
    """This environment for the cluster's processes, with PYTHONPATH at `app_code` (a folder holding the app's
    `pipeline` package, as docs/deploy.md's commands set it) or without any."""
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    if app_code is not None:
        environment["PYTHONPATH"] = str(app_code)
    return environment


@contextmanager
def dask_processes(
    folder: Path,
    workers: int = 2,
    memory: str = "1GiB",
    app_code: Path | None = REPO_ROOT,
    spill_directory: Path | None = None,
) -> Iterator[DaskProcesses]:
    """A scheduler and `workers` workers of `memory` each (one thread each), run in `folder` (outside the repository:
    nothing importable from the working directory), until the block ends; `app_code` on their PYTHONPATH (None: the
    app's code is not importable there); the workers spill to `spill_directory` (default a folder in `folder`)."""
    assert not folder.resolve().is_relative_to(REPO_ROOT), "run the cluster outside the repository"
    folder.mkdir(parents=True, exist_ok=True)
    spill = spill_directory or folder / "spill"
    spill.mkdir(parents=True, exist_ok=True)
    cluster = DaskProcesses(
        folder=folder,
        port=free_port(),
        environment=cluster_environment(app_code),
        spill_directory=spill,
        worker_count=workers,
        worker_options=["--memory-limit", memory, "--local-directory", str(spill)],
    )
    try:
        cluster.start_scheduler()
        cluster.start_workers()
        yield cluster
    finally:
        cluster.close()
