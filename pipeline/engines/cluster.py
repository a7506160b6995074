"""The Dask clusters a visitor may use: the server's one shared local cluster and the schedulers the operator lists.

Dask's protocol unpickles what a scheduler and its workers send, so whoever runs a scheduler can run
code in this server: addresses come from the operator's environment, never from a page. The local
cluster's size is the operator's too (workers no more than cores, memory a share of RAM), so sessions
cannot pile clusters up; it is shared, counts the sessions on it and the work running there (see
`pipeline.engines.dask.cluster_users`), and is shut down when the last session leaves with no work running there,
or when it idles with none.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

from pipeline.engines.dask import MIN_WORKER_MEMORY, SCHEDULER_ADDRESS, ClusterSettings, close_idle_clusters
from pipeline.errors import DataError
from pipeline.settings import positive_int_setting

SCHEDULERS_ENV = "GPL_DASK_SCHEDULERS"  # name=tcp://host:port, comma-separated
WORKERS_ENV = "GPL_DASK_WORKERS"  # local cluster: workers (at most the cores)
MEMORY_ENV = "GPL_DASK_MEMORY_MB"  # local cluster: memory limit of all its workers together
IDLE_ENV = "GPL_DASK_IDLE_MINUTES"  # a cluster that computed nothing this long is shut down
DEFAULT_MEMORY_SHARE = 0.25  # of the machine's RAM, for the local cluster's workers together
DEFAULT_IDLE_MINUTES = 30
LOCAL = "local"


@dataclass(frozen=True)
class ClusterChoice:
    """A cluster a page offers: a name to show and the settings it stands for."""

    name: str
    label: str
    settings: ClusterSettings

    @property
    def local(self) -> bool:
        return self.settings.address is None


def operator_schedulers() -> dict[str, str]:
    """The schedulers the operator allows, by name, from $GPL_DASK_SCHEDULERS ("lab=tcp://10.0.0.5:8786,...")."""
    schedulers: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in os.environ.get(SCHEDULERS_ENV, "").split(","))):
        name, _, address = (text.strip() for text in entry.partition("="))
        if not name or not SCHEDULER_ADDRESS.match(address):
            raise DataError(
                f"{SCHEDULERS_ENV} has an entry {entry!r} that is not name=tcp://host:port (or tls://host:port). "
                "The operator sets it, e.g. lab=tcp://10.0.0.5:8786,gpu=tls://10.0.0.6:8786."
            )
        schedulers[name] = address
    return schedulers


def local_settings(gpu: bool = False) -> ClusterSettings:
    """The server's shared local cluster: $GPL_DASK_WORKERS workers (default and most: one per core; GPU: one per
    GPU) sharing $GPL_DASK_MEMORY_MB (default a quarter of the RAM), each with at least 1 GiB."""
    cores = psutil.cpu_count() or 1
    total = positive_int_setting(MEMORY_ENV, int(psutil.virtual_memory().total * DEFAULT_MEMORY_SHARE) >> 20) << 20
    workers = max(1, min(positive_int_setting(WORKERS_ENV, cores), cores, total // MIN_WORKER_MEMORY))
    per_worker = max(total // workers, MIN_WORKER_MEMORY)
    return ClusterSettings(gpu=gpu, workers=None if gpu else workers, memory_limit=f"{per_worker >> 20}MiB")


def local_choice(gpu: bool = False) -> ClusterChoice:
    """The server's shared local cluster, as a page offers it."""
    local = local_settings(gpu)
    size = "a worker per GPU" if gpu else f"{local.workers} worker{'s' if local.workers != 1 else ''}"
    memory = int(local.memory_limit.removesuffix("MiB")) / 1024
    label = f"This server's local cluster ({size}, {memory:,.1f} GiB each, shared by every session)"
    return ClusterChoice(LOCAL, label, local)


def offered_clusters(gpu: bool = False) -> list[ClusterChoice]:
    """The local cluster, then the operator's schedulers, for the CPU or the GPU Dask engine; a DataError when
    the operator's list cannot be read."""
    schedulers = [
        ClusterChoice(name, f"{name} ({address})", ClusterSettings(gpu=gpu, address=address))
        for name, address in operator_schedulers().items()
    ]
    return [local_choice(gpu), *schedulers]


def choice_named(name: str, gpu: bool = False) -> ClusterChoice:
    """The offered cluster called `name`; a DataError for any other name."""
    if name == LOCAL:
        return local_choice(gpu)
    for choice in offered_clusters(gpu):
        if choice.name == name:
            return choice
    raise DataError(f"No cluster called {name!r} is offered here; choose one from the list.")


def idle_limit_s() -> float:
    return positive_int_setting(IDLE_ENV, DEFAULT_IDLE_MINUTES) * 60.0


def close_idle() -> list[str]:
    """Shut down the clusters idle past the operator's limit; the labels of those closed."""
    return close_idle_clusters(idle_limit_s())
