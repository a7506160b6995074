"""docs/deploy.md's process commands for an operator's Dask cluster, run as written (its paths, the scheduler's address,
free ports and the workers' size filled in; loopback added): one `dask scheduler` and one `dask worker --nworkers 2`
of 2 GiB each. On it: the db-benchmark's groupby and join questions at 1e7 rows, answers checked against pandas; a
profile of a Parquet folder larger than a worker's memory, checked against statistics pyarrow computes file by file,
with one worker killed mid-run; and a scheduler restart with the System page, in a real browser on a server pointed at
the cluster by GPL_DASK_SCHEDULERS, recovering without a restart of the app."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from pipeline.engines.dask import ClusterSettings, DaskEngine
from pipeline.tables.synthetic import SyntheticSpec
from tests.deploy.docs_commands import documented, for_processes
from tests.deploy.podman import say, step
from tests.support.chrome import choose, click_button, go_to, new_driver, new_session, screenshot, wait_text
from tests.support.dask_processes import DaskProcesses, cluster_environment
from tests.support.paths import REPO_ROOT
from tests.support.server import free_port, running_server

pytestmark = pytest.mark.deploy

WORKERS = 2
WORKER_MEMORY = "2GiB"
BENCH_ROWS = "1e7"
PROFILED_ROWS = 25_000_000  # G1: about 2.2 GiB in memory, more than one 2 GiB worker holds
PROFILED_COLUMNS = ("id4", "v1", "v3")
COMMAND_S = 1800  # the most one command line may take here (2 shared cores)


@dataclass
class DocumentedProcesses(DaskProcesses):
    """The cluster started with the docs' own scheduler and worker lines (one worker line starts every worker)."""

    scheduler_line: list[str] = field(default_factory=list)
    worker_line: list[str] = field(default_factory=list)

    def start_scheduler(self) -> None:
        self.scheduler = self._spawn("scheduler", self.scheduler_line[1:], program=self.scheduler_line[:1])
        self._wait(self._scheduler_listens, "the scheduler to listen")

    def start_workers(self) -> None:
        self.workers.append(self._spawn("worker", self.worker_line[1:], program=self.worker_line[:1]))
        self.wait_for_workers()

    def worker_processes(self) -> list[psutil.Process]:
        """The worker processes the nannies of the worker line started (spawned by multiprocessing: a nanny starts a
        new one where one dies), not the line's other children (multiprocessing's resource tracker)."""
        children = [child for process in self.workers for child in psutil.Process(process.pid).children(recursive=True)]
        return [child for child in children if "spawn_main" in " ".join(child.cmdline())]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[DocumentedProcesses]:
    folder = tmp_path_factory.mktemp("operator-cluster")
    spill = folder / "spill"
    spill.mkdir()
    port, dashboard = free_port(), free_port()
    replacements = {"/path/to/gpu-pipeline-lab": str(REPO_ROOT), "SCHEDULER:8786": f"127.0.0.1:{port}"}
    replacements["/var/tmp/dask"] = str(spill)
    docs = documented()
    scheduler_env, scheduler = for_processes(
        docs["process-scheduler"],
        replacements,
        {"--port": str(port), "--dashboard-address": f"127.0.0.1:{dashboard}"},
        ("--host", "127.0.0.1"),
    )
    worker_env, worker = for_processes(
        docs["process-worker"],
        replacements,
        {"--nworkers": str(WORKERS), "--memory-limit": WORKER_MEMORY},
        ("--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"),
    )
    assert scheduler_env == worker_env == {"PYTHONPATH": str(REPO_ROOT)}, "the docs set the app's folder as the path"
    processes = DocumentedProcesses(
        folder=folder,
        port=port,
        environment={**cluster_environment(None), **scheduler_env},
        spill_directory=spill,
        worker_count=WORKERS,
        worker_options=[],
        scheduler_line=scheduler,
        worker_line=worker,
    )
    try:
        with step(f"the docs' scheduler line: {' '.join(scheduler)}"):
            processes.start_scheduler()
        with step(f"the docs' worker line: {' '.join(worker)}"):
            processes.start_workers()
        yield processes
    finally:
        processes.close()
        say(f"the cluster's logs: {folder}")


def run_command(arguments: list[str], what: str) -> subprocess.CompletedProcess:
    """`python -m …` from the repository, bounded in time; its output shown when it fails."""
    with step(what):
        done = subprocess.run(
            [sys.executable, *arguments], cwd=REPO_ROOT, capture_output=True, text=True, timeout=COMMAND_S
        )
    assert done.returncode == 0, f"{what} ended with {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_app_accepts_the_cluster_the_docs_start(cluster: DocumentedProcesses):
    engine = DaskEngine(ClusterSettings(address=cluster.address))  # refused unless every process imports `pipeline`
    try:
        facts = engine.facts()
    finally:
        engine.close()
    assert len(facts.workers) == WORKERS
    assert all(worker.memory_limit == 2 * 2**30 for worker in facts.workers)


@pytest.mark.timeout(COMMAND_S + 60)
def test_the_db_benchmark_at_1e7_rows_agrees_with_pandas(cluster: DocumentedProcesses, tmp_path: Path):
    """Groupby q10 and join q1 once gathered ~1e7 rows into one worker, which was restarted every ~35 s for ever."""
    out = tmp_path / "bench.json"
    done = run_command(
        [
            "-m",
            "pipeline.bench",
            "--suite",
            "groupby,join",
            "--engines",
            "cpu,dask-cpu",
            "--sizes",
            BENCH_ROWS,
            "--repeat",
            "1",
            "--warmup",
            "0",
            "--scheduler",
            cluster.address,
            "--out",
            str(out),
        ],
        f"python -m pipeline.bench --suite groupby,join --engines cpu,dask-cpu --sizes {BENCH_ROWS} on the cluster",
    )
    say(done.stdout)
    records = [record for record in json.loads(out.read_text())["records"] if record["engine"] == "dask-cpu"]
    answered = {(record["suite"], record["question"]): record["status"] for record in records}
    assert len(answered) == 15, answered
    assert set(answered.values()) == {"ok"}, {case: status for case, status in answered.items() if status != "ok"}


@pytest.fixture(scope="module")
def parquet_folder(cluster: DocumentedProcesses, tmp_path_factory) -> Path:
    """A G1 table of PROFILED_ROWS rows written as Parquet files by the workers."""
    folder = tmp_path_factory.mktemp("g1-parquet")
    engine = DaskEngine(ClusterSettings(address=cluster.address))
    try:
        with step(f"G1 at {PROFILED_ROWS:,} rows generated and written as Parquet by the workers"):
            frame = engine.generate(SyntheticSpec("groupby_g1", rows=PROFILED_ROWS, groups=100, seed=3))[""]
            engine.compute(frame.to_parquet(str(folder), write_index=False, compute=False))
            in_memory = engine.frame_nbytes(frame)
    finally:
        engine.close()
    say(f"{len(list(folder.glob('*.parquet')))} files, {in_memory / 2**30:.2f} GiB in memory")
    assert in_memory > 2 * 2**30, f"the table ({in_memory / 2**30:.2f} GiB) must be larger than a worker's memory"
    return folder


def exact_statistics(folder: Path) -> dict[str, dict[str, float]]:
    """Rows, missing values, minimum, maximum and mean of each profiled column, from pyarrow, one column at a time."""
    dataset = ds.dataset(folder, format="parquet")
    statistics = {}
    for name in PROFILED_COLUMNS:
        column = dataset.to_table(columns=[name]).column(name)
        low, high = pc.min_max(column).values()
        statistics[name] = {
            "rows": len(column),
            "missing": column.null_count,
            "min": low.as_py(),
            "max": high.as_py(),
            "mean": pc.mean(column).as_py(),
        }
    return statistics


def kill_a_worker_after(cluster: DocumentedProcesses, seconds: float, killed: list[int]) -> threading.Thread:
    """A thread that kills one worker process (SIGKILL) once `seconds` have passed; its pid goes into `killed`."""

    def kill() -> None:
        time.sleep(seconds)
        workers = cluster.worker_processes()
        assert len(workers) == WORKERS, workers
        victim = workers[0]
        killed.append(victim.pid)
        victim.kill()

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


@pytest.mark.timeout(2 * COMMAND_S)
def test_a_parquet_folder_larger_than_a_worker_profiles_right_with_a_worker_killed(
    cluster: DocumentedProcesses, parquet_folder: Path, tmp_path: Path
):
    out = tmp_path / "profile.json"
    killed: list[int] = []
    killer = kill_a_worker_after(cluster, 20, killed)
    done = run_command(
        [
            "-m",
            "pipeline.profile",
            str(parquet_folder),
            "--engine",
            "dask-cpu",
            "--scheduler",
            cluster.address,
            "--preset",
            "minimal",
            "--out",
            str(out),
        ],
        f"python -m pipeline.profile {parquet_folder.name}/ --engine dask-cpu (a worker killed after 20 s)",
    )
    killer.join()
    assert killed, "no worker was killed"
    profile = json.loads(out.read_text())
    expected = exact_statistics(parquet_folder)
    assert profile["table"]["rows"] == PROFILED_ROWS
    columns = {column["name"]: column for column in profile["columns"]}
    for name, exact in expected.items():
        got = columns[name]
        assert got["missing"] == exact["missing"], name
        for statistic in ("min", "max", "mean"):
            assert got["stats"][statistic] == pytest.approx(exact[statistic], rel=1e-9), (name, statistic)
    notes = " ".join(profile.get("notes", [])) + done.stderr
    assert "lost" in notes, f"the profile does not say a worker was lost:\n{notes}"


def test_after_a_scheduler_restart_the_system_page_recovers(cluster: DocumentedProcesses, tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    with running_server(data, GPL_DASK_SCHEDULERS=f"lab={cluster.address}") as server:
        driver = new_driver(tmp_path / "profile")
        try:
            new_session(driver, server.url)
            go_to(driver, "System", "Dask cluster")
            choose(driver, "Cluster", f"lab ({cluster.address})")
            click_button(driver, "Start or connect")
            wait_text(driver, cluster.address.removeprefix("tcp://"), 60)
            wait_text(driver, "Disconnect", 60)
            screenshot(driver, "deploy/cluster-01-connected")
            with step("the scheduler and its workers killed and started again by the docs' lines"):
                cluster.restart_scheduler()
            click_button(driver, "Start or connect")
            wait_text(driver, "Workers", 90)
            screenshot(driver, "deploy/cluster-02-after-restart")
            text = driver.find_element("tag name", "body").text
            assert "Something went wrong" not in text, text
            click_button(driver, "Disconnect")
            wait_text(driver, "Disconnected", 30)
            screenshot(driver, "deploy/cluster-03-disconnected")
        finally:
            driver.quit()
    assert "Traceback" not in server.output(), server.output()[-3000:]
