"""docs/deploy.md's `dask scheduler` and CPU `dask worker` lines, run as containers of the app's image (the scheduler
and two workers, on loopback): each is healthy by its own kind of check, the app's Dask engine computes on them what
pandas computes (the workers import the app's code: its tasks name it), and a worker that loses its scheduler turns
unhealthy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from pipeline.engines import CpuEngine
from pipeline.engines.dask import ClusterSettings, DaskEngine
from pipeline.tables.synthetic import SyntheticSpec
from tests.deploy.docs_commands import documented, for_podman
from tests.deploy.podman import LABEL, Podman, say, step
from tests.support.server import free_port

pytestmark = pytest.mark.deploy

SCHEDULER = "gpl-scheduler"
WORKERS = ("gpl-worker-1", "gpl-worker-2")
LOOPBACK = ("--host", "127.0.0.1")


@dataclass
class Cluster:
    address: str
    http: int


@pytest.fixture(scope="module")
def cluster(podman: Podman, image: str, run_folder: Path) -> Iterator[Cluster]:
    """The docs' scheduler and, twice, its CPU worker line, on free loopback ports; once all are healthy."""
    port, http = free_port(), free_port()
    replacements = {"8786": str(port), ":8787": f"127.0.0.1:{http}", "tcp://SCHEDULER:8786": f"tcp://127.0.0.1:{port}"}
    docs = documented()
    scheduler = for_podman(
        docs["scheduler"], SCHEDULER, LABEL, run_folder, replacements=replacements, arguments=LOOPBACK
    )
    with step(f"starting the docs' scheduler line: podman {' '.join(scheduler)}"):
        podman.run(*scheduler, cwd=run_folder)
        say(podman.wait_healthy(SCHEDULER))
    worker_loopback = (*LOOPBACK, "--dashboard-address", "127.0.0.1:0")
    with step(f"starting the docs' CPU worker line twice ({', '.join(WORKERS)})"):
        for name in WORKERS:
            podman.run(
                *for_podman(
                    docs["cpu-worker"], name, LABEL, run_folder, replacements=replacements, arguments=worker_loopback
                )
            )
        for name in WORKERS:
            say(f"{name}: {podman.wait_healthy(name)}")
    yield Cluster(f"tcp://127.0.0.1:{port}", http)
    podman("rm", "--force", "--time", "10", SCHEDULER, *WORKERS)


def test_the_scheduler_and_workers_are_healthy_by_their_own_checks(podman: Podman, cluster: Cluster):
    assert podman.health(SCHEDULER) == (
        "healthy",
        f"healthy: the Dask scheduler (http://127.0.0.1:{cluster.http}/health)",
    )
    for name in WORKERS:
        assert podman.health(name) == ("healthy", f"healthy: the Dask worker ({cluster.address})")


def test_the_apps_dask_engine_computes_on_them_what_pandas_computes(cluster: Cluster):
    """A db-benchmark G1 table generated on the workers (the task is the app's code) and aggregated there."""
    spec = SyntheticSpec("groupby_g1", rows=200_000, groups=50, seed=7)
    with step(f"the app's Dask engine on {cluster.address}: G1 200,000 rows made and aggregated on the workers"):
        engine = DaskEngine(ClusterSettings(address=cluster.address))
        try:
            workers = engine.client.scheduler_info()["workers"]
            frame = engine.generate(spec)[""]
            got = engine.compute({"total": frame["v1"].sum(), "by_id1": frame.groupby("id1")["v1"].sum()})
        finally:
            engine.close()
    expected = CpuEngine().generate(spec)[""]
    assert len(workers) >= len(WORKERS), f"the scheduler knows {len(workers)} workers"
    assert got["total"] == expected["v1"].sum()
    pd.testing.assert_series_equal(got["by_id1"].sort_index(), expected.groupby("id1")["v1"].sum().sort_index())


def test_a_worker_that_loses_its_scheduler_turns_unhealthy(podman: Podman, cluster: Cluster):
    podman("stop", "--time", "10", SCHEDULER)
    deadline, said = time.monotonic() + 60, ""
    while time.monotonic() < deadline:
        _, said = podman.health(WORKERS[0])
        if said.startswith("unhealthy"):
            break
        time.sleep(2)
    assert said == f"unhealthy: the Dask worker: no connection to the scheduler at {cluster.address}", said
