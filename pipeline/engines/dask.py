"""Dask engines: dask.dataframe on CPU workers and dask-cudf on GPU workers (one worker per GPU).

Dask partitions the data and schedules the work; this module only starts a local cluster (or reaches
an existing scheduler), says what the cluster is, and makes frames on it: files read lazily as
partitions, generated tables made partition by partition on the workers. Results stay lazy until
`compute()` computes them. dask, distributed, dask-cuda and dask-cudf are imported only here and only
when a Dask engine is built.
"""

from __future__ import annotations

import glob
import importlib
import importlib.util
import logging
import re
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.budget import gib
from pipeline.engines import CpuEngine, DeviceMemory, Engine, GpuEngine
from pipeline.engines.dask_probes import check_app_code, spill_disks
from pipeline.errors import DataError, EngineUnavailableError, PipelineError
from pipeline.gpus import gpu_devices
from pipeline.settings import positive_int_setting
from pipeline.tables.synthetic import (
    GENERATORS,
    JOIN_TABLES,
    WHOLE_JOIN_TABLES,
    SyntheticSpec,
    check_fits,
    join_table,
    partitioned_bytes,
    row_bytes,
    validate,
)

DASK_CPU, DASK_GPU = "dask-cpu", "dask-gpu"
DASK_LABELS = {DASK_CPU: "Dask CPU (dask.dataframe)", DASK_GPU: "Dask GPU (dask-cudf)"}
CONNECT_TIMEOUT_S = 5
PARTITION_BYTES = 64 * 2**20  # generated partitions of about this size
MAX_WORKERS = 256
MIN_WORKER_MEMORY = 2**30  # measured: a worker process takes 200 MiB here, 425 MiB in CI, before any data
HLL_SPLIT = 8  # pieces a partition is cut into for the distinct-count estimate (see approximate_distinct)
SCHEDULER_ADDRESS = re.compile(r"^(tcp|tls)://(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})$")
HANDSHAKE_LIMIT = 1 << 16  # a Dask comm's first message (its handshake) is well under this
SPILL_SHARE = 0.5  # of the free disk where local workers spill, the most generated data may take there
SECONDS_ENV = "GPL_DASK_SECONDS"  # the most seconds one Dask action (a computation, a persist) may run
RESTARTS_ENV = "GPL_DASK_RESTARTS"  # worker restarts (or losses) one Dask action may see before it is cancelled
DEFAULT_SECONDS, DEFAULT_RESTARTS = 1800, 3
WATCH_EVERY_S = 1.0  # how often an action still running looks at the cluster's workers


def approximate_distinct(series: Any) -> Any:
    """Dask's HyperLogLog estimate of a series' distinct present values, lazily.

    Its per-partition step expands every value's hash to a 32-column int64 bit matrix and its running
    sum (about 550 bytes a row), which killed a 1 GiB worker on 600,000-row partitions: the partitions
    are cut into HLL_SPLIT pieces first, which leaves the estimate as it is.
    """
    present = series.dropna()
    return present.repartition(npartitions=present.npartitions * HLL_SPLIT).nunique_approx()


def is_dask_frame(frame: Any) -> bool:
    """True for a Dask collection (without importing dask)."""
    return type(frame).__module__.split(".")[0] in ("dask", "dask_cudf", "dask_expr")


@dataclass(frozen=True)
class ClusterSettings:
    """Where the Dask engine runs: a local cluster (default) or the scheduler at `address`."""

    gpu: bool = False
    address: str | None = None  # tcp://host:port of a running scheduler; None starts a local cluster
    workers: int | None = None  # local: one per core (CPU) or per GPU when None
    threads_per_worker: int | None = None
    memory_limit: str = "auto"  # per local worker, e.g. "2GiB"; past it workers spill to disk
    spill_directory: str | None = None  # where local workers spill; the system's temporary folder when None

    def checked(self) -> ClusterSettings:
        """The settings, or a DataError naming the first one that cannot work and what to write instead."""
        from dask.utils import parse_bytes

        if self.address is not None:
            address = self.address.strip()
            if not SCHEDULER_ADDRESS.match(address):
                raise DataError(
                    f"{self.address!r} is not a scheduler address. Write it as tcp://host:8786 or tls://host:8786 "
                    "(the address `dask scheduler` prints)."
                )
            return replace(self, address=address)
        for what, value in (("workers", self.workers), ("threads per worker", self.threads_per_worker)):
            if value is not None and not 1 <= value <= MAX_WORKERS:
                raise DataError(f"The number of {what} must be between 1 and {MAX_WORKERS}; got {value}.")
        if self.memory_limit != "auto":
            try:
                limit = parse_bytes(self.memory_limit)
            except (ValueError, TypeError):
                raise DataError(
                    f"Memory limit {self.memory_limit!r} is not a size: write it like 1GiB or 4GiB, or auto."
                ) from None
            if limit < MIN_WORKER_MEMORY:
                raise DataError(
                    f"A worker needs at least 1 GiB; {self.memory_limit} is too little: its own process takes "
                    "200–450 MiB, and a worker past 80 % of its limit pauses and never finishes its work."
                )
        return self


def _tls_context() -> ssl.SSLContext:
    """The client's TLS context from Dask's own configuration (distributed.comm.tls.*)."""
    from distributed.security import Security

    context = Security().get_connection_args("client").get("ssl_context")
    if context is None:
        raise EngineUnavailableError(
            "This scheduler's address is tls:// but Dask has no TLS settings. The operator sets them in Dask's "
            "configuration: distributed.comm.tls.ca-file, .client.cert and .client.key (for example through "
            "DASK_DISTRIBUTED__COMM__TLS__CA_FILE)."
        )
    return context


def _receive(stream: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("the connection was closed")
        data += chunk
    return data


def check_scheduler_answers(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """An EngineUnavailableError, saying what happened, unless a Dask scheduler answers at `address` in time.

    A Dask comm sends its handshake as soon as it is connected: an 8-byte length, then a small message
    naming its pickle protocol. Anything else (a web server that waits for a request, a peer that sends
    garbage, nothing listening) is found out here, within `timeout_s`, before `distributed` reads a byte.
    """
    match = SCHEDULER_ADDRESS.match(address)
    if match is None:
        raise EngineUnavailableError(f"{address!r} is not a scheduler address (tcp://host:port or tls://host:port).")
    host, port = match["host"].strip("[]"), int(match["port"])
    context = _tls_context() if address.startswith("tls://") else None
    why = None
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as raw:
            raw.settimeout(timeout_s)
            stream = context.wrap_socket(raw, server_hostname=host) if context else raw
            size = struct.unpack("<Q", _receive(stream, 8))[0]
            if not 0 < size <= HANDSHAKE_LIMIT or b"pickle-protocol" not in _receive(stream, size):
                why = "something answers there, but not as a Dask scheduler"
    except TimeoutError:
        why = f"nothing answered as a Dask scheduler within {timeout_s:g} s (a firewall, or another kind of server)"
    except ConnectionRefusedError:
        why = "the connection was refused: no scheduler listens on that port"
    except socket.gaierror:
        why = f"the host name {host!r} is unknown"
    except ssl.SSLError as error:
        why = f"the TLS handshake failed ({error.reason or error})"
    except OSError as error:
        why = f"it could not be reached ({error.strerror or error})"
    if why:
        raise EngineUnavailableError(
            f"The Dask scheduler at {address} cannot be used: {why}. Ask the operator to check that "
            "`dask scheduler` runs there and that this server may connect to it; a local cluster works meanwhile."
        )


CLUSTER_GONE_ERRORS = {
    "ClosedClientError",
    "CommClosedError",
    "StreamClosedError",
    "FutureCancelledError",
    "FuturesCancelledError",
    "CancelledError",
}
CLUSTER_GONE_MODULES = ("distributed", "asyncio", "concurrent", "tornado")
DASK_MODULES = ("dask", "distributed", "dask_expr", "dask_ml", "dask_cuda", "dask_cudf", "tornado")
CLUSTER_LOST = (
    "The Dask cluster was shut down or lost while this ran (idle too long, stopped or restarted by the operator, or "
    "its workers died), and what it held with it; what was loaded outside it is kept. The next use connects to it "
    "again (or starts the local cluster again): load the data there again and repeat the action."
)


def _raised_in(error: BaseException, modules: tuple[str, ...]) -> bool:
    """True when the error's traceback passes through code of one of these modules (or packages)."""
    trace = error.__traceback__
    while trace is not None:
        name = trace.tb_frame.f_globals.get("__name__", "")
        if any(name == module or name.startswith(f"{module}.") for module in modules):
            return True
        trace = trace.tb_next
    return False


def cluster_lost_message(error: BaseException, engines: Iterable[Engine] = ()) -> str | None:
    """What to tell the user when `error` says the Dask cluster went away mid-work, or None for any other error:
    distributed's own errors for a client or connection closed and futures cancelled with it, an OSError of its
    comms (a scheduler that no longer answers), and any error raised in Dask's code while one of `engines` has lost
    its cluster (a closed client fails in many ways)."""
    kind = type(error)
    if kind.__name__ in CLUSTER_GONE_ERRORS and kind.__module__.startswith(CLUSTER_GONE_MODULES):
        return CLUSTER_LOST
    if isinstance(error, OSError) and _raised_in(error, ("distributed.comm",)):
        return CLUSTER_LOST
    if _raised_in(error, DASK_MODULES) and any(isinstance(engine, DaskEngine) and engine.lost for engine in engines):
        return CLUSTER_LOST
    return None


def dask_missing_reason(gpu: bool = False) -> str | None:
    """Why a Dask engine cannot be built here (a package missing), or None."""
    needed = ["dask", "distributed"] + (["dask_cuda", "dask_cudf", "cudf"] if gpu else [])
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    names = ", ".join(name.replace("_", "-") for name in missing)
    how = (
        "On GPU machines: pip install dask-cuda dask-cudf-cu13 rapids-dask-dependency (the container has them)."
        if gpu
        else "pip install -r requirements.txt installs them."
    )
    return f"{names} {'is' if len(missing) == 1 else 'are'} not installed. {how}"


@dataclass(frozen=True)
class WorkerFacts:
    address: str
    threads: int
    memory_limit: int  # bytes; 0 where the worker has none
    gpus: tuple[str, ...]  # names of the GPUs the worker sees


@dataclass(frozen=True)
class ClusterFacts:
    scheduler: str
    dashboard: str | None
    local: bool
    workers: tuple[WorkerFacts, ...]

    @property
    def threads(self) -> int:
        return sum(worker.threads for worker in self.workers)

    @property
    def memory_limit(self) -> int:
        return sum(worker.memory_limit for worker in self.workers)

    @property
    def gpus(self) -> int:
        return sum(len(worker.gpus) for worker in self.workers)

    def frame(self) -> pd.DataFrame:
        """One row per worker, for a table."""
        return pd.DataFrame(
            [
                {
                    "worker": w.address,
                    "threads": w.threads,
                    "memory limit GiB": round(w.memory_limit / 2**30, 2) if w.memory_limit else None,
                    "GPUs": ", ".join(w.gpus) or "—",
                }
                for w in self.workers
            ]
        )


def _worker_gpus() -> tuple[str, ...]:
    """The names of the GPUs this process sees through NVML (runs on each worker)."""
    return tuple(gpu.name for gpu in gpu_devices()[0])


class DaskEngine(Engine):
    """A Dask cluster as an engine: frames are dask DataFrames (pandas or cuDF partitions)."""

    memory_kind = "Dask workers' memory"
    holds_data_here = False
    spills_to_disk = True
    lazy = True
    memory_of_its_own = True
    estimates_quantiles = True
    arrow_phase = "host → workers"

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings.checked()
        gpu = self.settings.gpu
        self.name = DASK_GPU if gpu else DASK_CPU
        self.label = DASK_LABELS[self.name]
        reason = dask_missing_reason(gpu)
        if reason:
            raise EngineUnavailableError(f"The {self.label} engine is not available: {reason}")
        import dask

        # Partitions keep the string type pandas (or cuDF) gave them, as the other engines' frames do.
        dask.config.set({"dataframe.convert-string": False})
        # Every shuffle (drop_duplicates, value_counts, merges) logs its start and end as warnings: routine here.
        logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)
        self._dd = importlib.import_module("dask.dataframe")
        self._closed = False
        self._busy = 0  # computations running now (sessions compute from several threads)
        self._busy_lock = threading.Lock()
        self._last_used = time.monotonic()
        self._cluster, self.client = self._start()
        self._comm = self.client.scheduler_comm  # the connection it holds: replaced when the client connects again
        try:
            if self.settings.address:
                check_app_code(self.client, self.settings.address)
            self._workers = self._worker_addresses()  # as notes() last saw them
            if gpu:
                self._check_gpus()
        except Exception:
            self.close()
            raise

    def _start(self) -> tuple[Any, Any]:
        from distributed import Client

        settings = self.settings
        if settings.address:
            check_scheduler_answers(settings.address)
            try:
                return None, Client(settings.address, timeout=CONNECT_TIMEOUT_S)
            except Exception as error:  # distributed raises many types for a peer it cannot use
                raise EngineUnavailableError(
                    f"The Dask scheduler at {settings.address} answered but the client could not connect "
                    f"({type(error).__name__}: {error}). Check that this server's dask and distributed versions "
                    "match the cluster's (the System page lists them)."
                ) from None
        options = {
            "n_workers": settings.workers,  # None: one per core, or one per visible GPU
            "threads_per_worker": settings.threads_per_worker,
            "memory_limit": settings.memory_limit,  # host memory; past it workers spill to disk
            "local_directory": settings.spill_directory or tempfile.gettempdir(),
            "dashboard_address": "127.0.0.1:0",  # loopback, any free port: several clusters may run side by side
        }
        options = {name: value for name, value in options.items() if value is not None}
        if settings.gpu:
            from dask_cuda import LocalCUDACluster

            cluster = LocalCUDACluster(**options)
        else:
            from distributed import LocalCluster

            cluster = LocalCluster(processes=True, **options)
        return cluster, Client(cluster)

    def _check_gpus(self) -> None:
        """An EngineUnavailableError when a worker of the cluster has no GPU (Dask GPU needs one on each)."""
        without = [address for address, gpus in self.client.run(_worker_gpus).items() if not gpus]
        if without:
            raise EngineUnavailableError(
                f"Dask GPU needs a GPU on every worker, but {len(without)} of the cluster's workers have none "
                f"({', '.join(without[:3])}{', …' if len(without) > 3 else ''}). Choose Dask CPU, or start the "
                "workers with `dask cuda worker` on GPU machines."
            )

    def close(self) -> None:
        """Disconnect; a local cluster is shut down with its workers. Where the cluster went away already, what its
        client says about that is logged, not raised."""
        lost, self._closed = self.lost, True
        try:
            self.client.close()
            if self._cluster is not None:
                self._cluster.close()
        except Exception:  # a client or cluster already half gone fails in many ways
            if not lost:
                raise
            logging.getLogger(__name__).warning("closing a lost %s engine failed", self.label, exc_info=True)

    @property
    def lost(self) -> bool:
        """True when the cluster went away under this engine (its scheduler stopped or restarted, the network broke):
        its client is closed or connecting, or it connected again since, to a scheduler that holds none of this
        engine's data. False once closed here."""
        return not self._closed and (self.client.status != "running" or self.client.scheduler_comm is not self._comm)

    @property
    def closed(self) -> bool:
        """True once shut down or disconnected, here or by the cluster going away: its data is gone."""
        return self._closed or self.lost

    def _check_reachable(self) -> None:
        """An EngineUnavailableError saying so when the cluster went away under this engine."""
        if self.lost:
            raise EngineUnavailableError(CLUSTER_LOST)

    def explain_failure(self, error: BaseException) -> str | None:
        return cluster_lost_message(error, [self])

    def touch(self) -> None:
        """Note that the cluster is in use now (it is not idle)."""
        self._last_used = time.monotonic()

    def idle_for(self) -> float:
        """Seconds since the cluster last computed anything; 0 while it computes."""
        return 0.0 if self._busy else time.monotonic() - self._last_used

    @contextmanager
    def _working(self) -> Iterator[None]:
        with self._busy_lock:
            self._busy += 1
        try:
            yield
        finally:
            with self._busy_lock:
                self._busy -= 1
            self.touch()

    def room_for_data(self) -> tuple[int, str]:
        """Bytes the workers can still take, their free memory plus a share (SPILL_SHARE) of the free disk they
        spill to (each disk counted once, however many workers share it), and the words for it."""
        memory = self.memory_info()
        if not memory.total:
            return 2**63, "the workers' memory (no limit set)"
        disks = spill_disks(self.client)
        spill = sum(disks)
        where = f"{memory.free / 2**30:,.1f} GiB of free memory on the Dask workers"
        if not disks:
            return memory.free, where + "; they do not spill to disk"
        count = f"{len(disks)} disks" if len(disks) > 1 else "the disk"
        return memory.free + int(spill * SPILL_SHARE), (
            f"{where} and {SPILL_SHARE:.0%} of the {spill / 2**30:,.1f} GiB free on {count} they spill to"
        )

    def generation_need(self, spec: SyntheticSpec) -> tuple[int, str]:
        """The workers' bytes generating the spec's tables takes (made in partitions, as many at once as the
        cluster has threads), and the words for what that counts."""
        rows = self._partition_rows(spec)
        at_once = min(max(self._threads(), 1), -(-spec.rows // rows))
        return partitioned_bytes(spec, rows, at_once)

    def _threads(self) -> int:
        """The threads of all the cluster's workers now: how many tasks run at once."""
        self._check_reachable()
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {}).values()
        return sum(int(w.get("nthreads", 0)) for w in workers)

    def facts(self) -> ClusterFacts:
        """The cluster as it is now: scheduler, dashboard link, and each worker's threads, memory and GPUs."""
        self._check_reachable()
        info = self.client.scheduler_info(n_workers=-1)
        gpus = self.client.run(_worker_gpus)
        workers = tuple(
            WorkerFacts(
                address, int(w.get("nthreads", 0)), int(w.get("memory_limit") or 0), tuple(gpus.get(address, ()))
            )
            for address, w in sorted(info.get("workers", {}).items())
        )
        return ClusterFacts(info.get("address", ""), self.client.dashboard_link, self._cluster is not None, workers)

    @property
    def frames(self) -> ModuleType:
        return self._dd

    @property
    def xp(self) -> ModuleType:
        return importlib.import_module("cupy") if self.settings.gpu else np

    def from_arrow(self, table: pa.Table) -> Any:
        partitions = max(1, -(-table.nbytes // PARTITION_BYTES))
        return self._dd.from_pandas(self.local.from_arrow(table), npartitions=partitions)

    def to_pandas(self, frame: Any) -> pd.DataFrame:
        return self.local.to_pandas(self.compute(frame))

    def compute(self, result: Any, timeout_s: float | None = None) -> Any:
        """The result computed on the cluster (Dask recomputes the tasks of workers lost meanwhile; notes()
        tells). A dict of results is computed as one graph, so the inputs they share are read once. Work not done
        within `timeout_s` (at most $GPL_DASK_SECONDS), work during which workers were restarted $GPL_DASK_RESTARTS
        times, and a task that keeps killing workers are cancelled: a PipelineError says what to change."""
        if isinstance(result, dict):
            return dict(zip(result, self._computed(list(result.values()), timeout_s), strict=True))
        return self._computed([result], timeout_s)[0]

    def _computed(self, results: list[Any], timeout_s: float | None) -> list[Any]:
        from dask import is_dask_collection

        lazy = [i for i, result in enumerate(results) if is_dask_collection(result)]
        if not lazy:
            return results
        futures = self.client.compute([results[i] for i in lazy])
        with self._working(), _killed_worker_explained():
            self._wait(futures, timeout_s)
            computed = self.client.gather(futures)
        done = list(results)
        for i, value in zip(lazy, computed, strict=True):
            done[i] = value
        return done

    def _wait(self, futures: list[Any], timeout_s: float | None) -> None:
        """Wait until `futures` are done (finished or failed). Past the time limit (`timeout_s`, at most
        $GPL_DASK_SECONDS) or once the workers were restarted $GPL_DASK_RESTARTS times meanwhile, or when the wait
        is interrupted, the futures are cancelled; the first two raise a PipelineError that names the cause.

        Work done within WATCH_EVERY_S asks the scheduler nothing; longer work asks for its worker list once per
        WATCH_EVERY_S. A worker restarted by its nanny leaves that list and comes back at another address."""
        from distributed import wait

        operator_s = positive_int_setting(SECONDS_ENV, DEFAULT_SECONDS)
        limit_s = operator_s if timeout_s is None else min(timeout_s, operator_s)
        most_restarts = positive_int_setting(RESTARTS_ENV, DEFAULT_RESTARTS)
        deadline = time.monotonic() + limit_s
        known: set[str] | None = None  # the workers at the last look
        limits: set[int] = set()  # the memory limits of the workers seen meanwhile
        restarts = 0
        try:
            while (left := deadline - time.monotonic()) > 0:
                try:
                    wait(futures, timeout=min(WATCH_EVERY_S, left))
                    return
                except TimeoutError:
                    pass
                workers = self._worker_memory_limits()
                restarts += len(known - workers.keys()) if known is not None else 0
                known, limits = set(workers), limits | set(workers.values())
                if restarts >= most_restarts:
                    raise PipelineError(_restarts_message(restarts, limits, most_restarts))
            raise PipelineError(_time_limit_message(limit_s, limit_s == operator_s))
        except BaseException:
            self.client.cancel(futures)
            raise

    def _worker_memory_limits(self) -> dict[str, int]:
        """Each worker's memory limit in bytes (0: none), by its address."""
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        return {address: int(worker.get("memory_limit") or 0) for address, worker in workers.items()}

    def _worker_addresses(self) -> set[str]:
        return set(self._worker_memory_limits())

    def notes(self) -> list[str]:
        """What happened on the cluster since the last call (or the start): workers lost. Asked of the scheduler
        here, not in `compute()`, so timed computations carry no extra round trip."""
        now = self._worker_addresses()
        lost, self._workers = self._workers - now, now
        if not lost:
            return []
        return [
            f"{len(lost)} Dask worker{'s were' if len(lost) > 1 else ' was'} lost during the computation; "
            "Dask recomputed their tasks on the others, so the result is complete but took longer."
        ]

    def memory_info(self) -> DeviceMemory:
        """The workers' memory: the sum of their limits and of what their processes hold now."""
        self._check_reachable()
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {}).values()
        total = sum(int(w.get("memory_limit") or 0) for w in workers)
        used = sum(int(w.get("metrics", {}).get("memory", 0)) for w in workers)
        return DeviceMemory(total=total, used=used)

    def frame_nbytes(self, frame: Any) -> int:
        return int(self.compute(frame.memory_usage(deep=True, index=True).sum()))

    def read_files(self, pattern: str | Path) -> Any:
        """Parquet or CSV files (a file, a folder of them, or a glob) as lazy partitions; see `read_paths`."""
        text = str(pattern)
        paths = sorted(glob.glob(str(Path(text) / "*"))) if Path(text).is_dir() else sorted(glob.glob(text))
        return self.read_paths([Path(path) for path in paths], text)

    def read_paths(self, paths: list[Path], what: str) -> Any:
        """The Parquet or CSV files among `paths` (which `what` named) as lazy partitions; a DataError when there
        are none, the formats are mixed, or the files disagree on their columns."""
        paths = [path for path in paths if path.suffix.lower() in (".parquet", ".csv")]
        if not paths:
            raise DataError(
                f"No Parquet or CSV file matches {what}. Give a file, a folder or a glob like data/*.parquet."
            )
        suffixes = {path.suffix.lower() for path in paths}
        if len(suffixes) > 1:
            raise DataError(f"{what} matches both Parquet and CSV files. Choose one format (e.g. {what}/*.parquet).")
        reference = _file_columns(paths[0])
        for path in paths[1:]:
            columns = _file_columns(path)
            if columns != reference:
                raise DataError(
                    f"The files of {what} do not share one schema: {paths[0].name} and {path.name} differ "
                    f"({_difference(reference, columns)}). Read files of one schema at a time, or make them agree."
                )
        reader = self._dd.read_parquet if ".parquet" in suffixes else self._dd.read_csv
        frame = reader([str(path) for path in paths])
        return frame.to_backend("cudf") if self.settings.gpu else frame  # dask-cudf's documented route

    def per_partition(self, frame: Any, fn: Callable[[Engine, Any, int], Any]) -> Any:
        """`fn(engine, part, first_row)` on every partition, lazily; the partitions' lengths are counted first so
        each call knows which row of the whole frame its partition starts at."""
        lengths = self.compute(frame.map_partitions(len)).tolist()
        starts = np.cumsum([0, *lengths[:-1]]).tolist()
        engine = self.local

        def on_part(part: Any, partition_info: dict[str, Any] | None = None) -> Any:
            return fn(engine, part, int(starts[partition_info["number"]]) if partition_info else 0)

        return frame.map_partitions(on_part, meta=fn(engine, frame._meta, 0))

    def sample(self, frame: Any, rows: int, max_rows: int, seed: int = 0) -> Any:
        """A random sample of about `max_rows` of the frame's `rows` rows (all of them when fewer), brought to this
        process as one pandas (or cuDF) frame."""
        share = min(1.0, max_rows / rows) if rows else 1.0
        return self.compute(frame if share >= 1.0 else frame.sample(frac=share, random_state=seed))

    def persist_all(self, frames: dict[str, Any]) -> dict[str, Any]:
        """The frames computed into the workers' memory (spilled to disk past their limit), waited for within the
        limits `compute()` keeps; a task that failed raises its error here."""
        from distributed import futures_of

        # Optimized first: Dask's optimizer may change a frame's partition count (a groupby by many keys is split into
        # several partitions), and a frame persisted unoptimized keeps the old count, so later counts miss partitions
        # (measured: q2 at 1e7 rows held 10,000 groups in 2 partitions and counted 5,000).
        held = {name: self.client.persist(_optimized(frame)) for name, frame in frames.items()}
        futures = [future for frame in held.values() for future in futures_of(frame)]
        with self._working(), _killed_worker_explained():
            self._wait(futures, None)
            for future in futures:
                if future.status == "error":
                    future.result()  # raises the task's own error
        return held

    def persist(self, frame: Any) -> Any:
        return self.persist_all({"": frame})[""]

    def aggregate(self, grouped: Any, how: Any, many_groups: bool = False) -> Any:
        """Dask's groupby aggregation; with `many_groups` its result keeps one partition per input partition
        (split_out=True), so a result about as long as its input never lands in one partition on one worker."""
        return grouped.agg(how, split_out=True) if many_groups else grouped.agg(how)

    def active(self) -> AbstractContextManager[Any]:
        return self.client.as_current()

    def parse_datetimes(self, text: Any, fmt: str) -> Any:
        parse = self.local.parse_datetimes
        return text.map_partitions(parse, fmt, meta=parse(text._meta, fmt))

    def float_values(self, values: Any, dtype: str = "float64") -> Any:
        """A Dask array (numpy or CuPy blocks) of a series or frame, with its partitions' lengths known."""
        return values.astype(dtype).to_dask_array(lengths=True)

    def int_values(self, series: Any) -> Any:
        return series.astype("int64").to_dask_array(lengths=True)

    def to_numpy(self, array: Any) -> np.ndarray:
        return self.local.to_numpy(self.compute(array))

    def head(self, frame: Any, rows: int) -> Any:
        """The first rows, from the first partitions only (never the whole frame), computed on this cluster; a
        frame already here (another dataset's pandas copy) as it is."""
        if not is_dask_frame(frame):
            return frame.head(rows)
        import warnings

        with warnings.catch_warnings():  # Dask warns when the first partition holds fewer rows: fine for a head
            warnings.simplefilter("ignore", UserWarning)
            return self.compute(frame.head(rows, compute=False))

    @property
    def local(self) -> Engine:
        return partition_engine(self.settings.gpu)

    def row_count(self, frame: Any) -> int:
        return int(self.compute(frame.shape[0]))

    def duplicated(self, frame: Any, subset: list[str] | None = None, keep: str = "first") -> Any:
        raise NotImplementedError("Dask has no `duplicated`: use drop_duplicates")

    def drop_duplicates(self, frame: Any, subset: list[str], keep: str) -> Any:
        """Dask's drop_duplicates, which finds the repeats across partitions.

        It sends rows to partitions by a hash of their values, and -0.0 hashes apart from 0.0, which pandas
        calls equal: float keys are compared as x + 0.0 (which turns -0.0 into 0.0) in columns of their own.
        """
        floats = {f"__key {c}": frame[c] + 0.0 for c in subset if pd.api.types.is_float_dtype(frame[c].dtype)}
        keys = [f"__key {c}" if f"__key {c}" in floats else c for c in subset]
        return frame.assign(**floats).drop_duplicates(subset=keys, keep=keep).drop(columns=list(floats))

    def category_levels(self, series: Any) -> list[Any] | None:
        """The whole column's levels, sorted: each partition must code with all of them."""
        return sorted(self.to_pandas(series.dropna().drop_duplicates()).tolist())

    def null_and_distinct_counts(self, frame: Any) -> tuple[pd.Series, pd.Series]:
        """One pass over the partitions; distinct counts estimated (HyperLogLog)."""
        lazy = {"nulls": frame.isna().sum(), **{name: approximate_distinct(frame[name]) for name in frame.columns}}
        counts = self.compute(lazy)
        nulls = self.to_pandas(counts.pop("nulls").to_frame("nulls"))["nulls"]
        return nulls, pd.Series([round(float(value)) for value in counts.values()])

    @staticmethod
    def _partition_rows(spec: SyntheticSpec) -> int:
        """Rows of a generated partition: about PARTITION_BYTES of the spec's main table, at least 10,000."""
        return max(10_000, PARTITION_BYTES // row_bytes(spec))

    def generate(self, spec: SyntheticSpec, partition_rows: int | None = None) -> dict[str, Any]:
        """The spec's tables made partition by partition on the workers (no whole table on the client)."""
        spec = validate(spec)
        check_fits(spec, self)
        rows_each = partition_rows or self._partition_rows(spec)
        windows = [(first, min(rows_each, spec.rows - first)) for first in range(0, spec.rows, rows_each)]
        make = _make_partition(spec, self.settings.gpu)
        if spec.kind != "join_j1":
            frame = self._dd.from_map(make, windows, meta=make((0, 1)).iloc[:0], enforce_metadata=False)
            if spec.kind == "groupby_g1" and spec.sort:
                frame = frame.sort_values([f"id{i}" for i in range(1, 7)])
            return {"": frame}
        tables = {}
        for table in JOIN_TABLES:
            whole = [(0, spec.rows)] if table in WHOLE_JOIN_TABLES else windows
            part = _make_partition(spec, self.settings.gpu, table)
            tables[table] = self._dd.from_map(part, whole, meta=part((0, 1)).iloc[:0], enforce_metadata=False)
        return tables


@contextmanager
def _killed_worker_explained() -> Iterator[None]:
    """Dask's KilledWorker (a task's workers died `allowed-failures` + 1 times) as a PipelineError saying what to do."""
    from distributed import KilledWorker

    try:
        yield
    except KilledWorker as error:
        import dask

        tries = int(dask.config.get("distributed.scheduler.allowed-failures")) + 1
        raise PipelineError(
            f"Dask gave up after workers died {tries} times while running the same task ({error}). That is "
            "usually memory: give the workers more memory, use more (smaller) partitions, or more workers."
        ) from None


def _restarts_message(restarts: int, memory_limits: set[int], most: int) -> str:
    """Why an action stopped after `restarts` worker restarts, with the workers' memory and what to change."""
    limits = sorted(limit for limit in memory_limits if limit)
    if not limits:
        memory = "no worker limit was seen, so the machine's memory"
    elif len(limits) == 1:
        memory = f"{gib(limits[0])} each"
    else:
        memory = f"{gib(limits[0])} to {gib(limits[-1])}"
    return (
        f"Dask workers were restarted (or lost) {restarts} time{'s' if restarts != 1 else ''} while this ran, so it "
        f"was cancelled: the result or a partition does not fit a worker's memory ({memory}). Give the workers more "
        "memory (dask worker --memory-limit), use more partitions or more workers, or choose a smaller size. "
        f"{RESTARTS_ENV} sets how many restarts one action may see (now {most})."
    )


def _time_limit_message(limit_s: float, operators: bool) -> str:
    """Why an action stopped at its time limit (the caller's, or the operator's $GPL_DASK_SECONDS)."""
    whose = f" (the limit {SECONDS_ENV} sets; the operator may raise it)" if operators else ""
    return (
        f"The computation did not finish within {limit_s:g} s{whose} and was cancelled. If the workers are paused "
        "for memory (the Dask dashboard shows it), give them more memory or use more partitions or workers; "
        "otherwise choose a smaller size."
    )


def _optimized(collection: Any) -> Any:
    """A Dask DataFrame as its optimizer plans it (partition count included); other collections as they are."""
    optimize = getattr(collection, "optimize", None)
    return optimize() if callable(optimize) else collection


def partition_engine(gpu: bool) -> Engine:
    """The engine a partition is made with: pandas, or cuDF on a GPU worker."""
    return GpuEngine() if gpu else CpuEngine()


def _make_partition(spec: SyntheticSpec, gpu: bool, table: str = "") -> Any:
    """A function of (first row, row count) that makes that partition (runs on a worker)."""

    def make(window: tuple[int, int]) -> Any:
        engine = partition_engine(gpu)
        part = replace(spec, first_row=window[0], window_rows=window[1])
        if table:
            return join_table(engine, part, table)
        return GENERATORS[spec.kind].build(engine, part)[""]

    return make


def _file_columns(path: Path) -> tuple[tuple[str, str], ...]:
    """(name, type) of a Parquet file's columns from its footer, or of a CSV's from its first rows."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        return tuple((field.name, str(field.type)) for field in schema)
    sample = pd.read_csv(path, nrows=100)
    return tuple((name, str(dtype)) for name, dtype in sample.dtypes.items())


def _difference(first: tuple[tuple[str, str], ...], other: tuple[tuple[str, str], ...]) -> str:
    """How two files' columns differ, for a message: names only one has, and types that disagree."""
    left, right = dict(first), dict(other)
    parts = []
    for label, names in (
        ("only the first has", [n for n in left if n not in right]),
        ("only the second has", [n for n in right if n not in left]),
    ):
        if names:
            parts.append(f"{label} {', '.join(names[:5])}{', …' if len(names) > 5 else ''}")
    retyped = [
        f"{name} is {left[name]} in one, {right[name]} in the other"
        for name in left
        if right.get(name, left[name]) != left[name]
    ]
    parts += retyped[:3]
    return "; ".join(parts) or "the same columns in another order"


_ENGINES: dict[ClusterSettings, DaskEngine] = {}
_USERS: dict[ClusterSettings, set[str]] = {}  # the sessions that joined each cluster
_WORK: dict[ClusterSettings, Counter[str]] = {}  # the users whose work runs on each cluster now, and how many pieces
_LOCK = threading.RLock()  # sessions run in threads of one server process


def dask_engine(settings: ClusterSettings, user: str | None = None) -> DaskEngine:
    """The Dask engine for these settings, started (or connected) once per process and then shared; `user` (a
    session) is counted among its users until it leaves.

    One whose cluster went away (see `DaskEngine.lost`) is replaced by a new one, connected again (a local cluster
    started again) with the same users and work counted; while that fails, the lost one stays listed, so the next
    use tries again."""
    settings = settings.checked()
    with _LOCK:
        listed = _ENGINES.get(settings)
        if listed is None or listed.lost:
            _ENGINES[settings] = DaskEngine(settings)
            if listed is not None:
                listed.close()
        if user is not None:
            _USERS.setdefault(settings, set()).add(user)
        engine = _ENGINES[settings]
        engine.touch()
        return engine


@contextmanager
def engine_work(engines: Iterable[Engine], user: str) -> Iterator[None]:
    """`user`'s work counted on each running Dask cluster among `engines` until the block ends, also by an error or
    a stop: meanwhile no other user leaving the cluster shuts it down, nor does the idle reaper. This machine's
    engines, and clusters shut down already, count nothing."""
    with _LOCK:
        held = [
            (engine, _WORK.setdefault(engine.settings, Counter()))
            for engine in engines
            if isinstance(engine, DaskEngine) and _ENGINES.get(engine.settings) is engine
        ]
        for _engine, work in held:
            work[user] += 1
    try:
        yield
    finally:
        with _LOCK:
            for engine, work in held:
                work[user] -= 1
                if work[user] <= 0:
                    del work[user]
                if not work and _WORK.get(engine.settings) is work:
                    del _WORK[engine.settings]
                engine.touch()  # idle from the end of the work on


@contextmanager
def cluster_work(settings: ClusterSettings, user: str) -> Iterator[DaskEngine]:
    """The Dask engine for these settings, started or reached as `dask_engine` does, with `user`'s work counted on
    it (see `engine_work`) until the block ends."""
    with ExitStack() as stack:
        with _LOCK:  # started and counted at once: no one shuts it down in between
            engine = dask_engine(settings)
            stack.enter_context(engine_work([engine], user))
        yield engine


def running_dask_engine(settings: ClusterSettings) -> DaskEngine | None:
    """The Dask engine started for these settings, or None when there is none now."""
    return _ENGINES.get(settings.checked())


def cluster_users(settings: ClusterSettings) -> set[str]:
    """The users counted on the cluster of these settings: the sessions that joined it and those whose work runs on
    it now (a benchmark run, a model being trained)."""
    settings = settings.checked()
    with _LOCK:
        return set(_USERS.get(settings, ())) | set(_WORK.get(settings, ()))


def leave_cluster(settings: ClusterSettings, user: str) -> bool:
    """`user` stops using the cluster; it is shut down (True) only when no session is left on it and no work runs
    on it (its own included)."""
    settings = settings.checked()
    with _LOCK:  # the users counted and the cluster dropped at once: no work can start on it in between
        _USERS.get(settings, set()).discard(user)
        if cluster_users(settings):
            return False
        engine = _forget(settings)
    if engine is not None:
        engine.close()
    return True


def _forget(settings: ClusterSettings) -> DaskEngine | None:
    """Drop the cluster of these settings and its users from this process's table (under _LOCK); its engine."""
    _USERS.pop(settings, None)
    _WORK.pop(settings, None)
    return _ENGINES.pop(settings, None)


def close_dask_engine(settings: ClusterSettings) -> None:
    """Shut down the local cluster started for these settings (or disconnect from its scheduler), whoever uses it:
    for the operator's tools and the end of the process."""
    with _LOCK:
        engine = _forget(settings.checked())
    if engine is not None:
        engine.close()


def close_idle_clusters(idle_s: float) -> list[str]:
    """Shut down every cluster that has computed nothing for `idle_s` seconds and has no work running on it; the
    labels of those closed."""
    with _LOCK:  # found idle and dropped at once: no work can start on one in between
        idle = {
            settings: engine
            for settings, engine in _ENGINES.items()
            if engine.idle_for() > idle_s and not _WORK.get(settings)
        }
        for settings in idle:
            _forget(settings)
    for engine in idle.values():
        engine.close()
    return [DASK_LABELS[DASK_GPU if settings.gpu else DASK_CPU] for settings in idle]


def close_dask_engines() -> None:
    """Shut down every local cluster this process started and disconnect from the others."""
    for settings in list(_ENGINES):
        close_dask_engine(settings)
