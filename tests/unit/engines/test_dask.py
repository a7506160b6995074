"""The Dask CPU engine on a real LocalCluster: generated partitions, lazy files, the benchmark questions, the
cluster's facts and the errors a user can meet (bad settings, an unreachable scheduler, mixed files)."""

from __future__ import annotations

import time

import pandas as pd
import psutil
import pytest

from pipeline.bench.harness import BenchSettings, run_bench
from pipeline.bench.results import OK, SKIPPED
from pipeline.engines import get_engine
from pipeline.errors import DataError, EngineUnavailableError
from pipeline.tables.synthetic import GENERATORS, SyntheticSpec, generate

dask_engine = pytest.importorskip("pipeline.engines.dask")
dask_clusters = pytest.importorskip("pipeline.engines.cluster")
pytest.importorskip("distributed")
ClusterSettings = dask_engine.ClusterSettings
LOCAL = ClusterSettings(workers=2, memory_limit="1GiB")  # what the benchmark's settings below ask for too


@pytest.fixture(scope="module")
def clusters():
    """Every cluster the module's tests start is shut down after them."""
    yield
    dask_engine.close_dask_engines()


@pytest.fixture
def engine(clusters):
    """The module's local cluster, started again where a test before shut it down."""
    return dask_engine.dask_engine(LOCAL)


def same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True))


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_generated_partitions_hold_the_rows_the_whole_table_has(engine, kind):
    spec = SyntheticSpec(kind, 25_000, seed=3, na_percent=5 if kind == "groupby_g1" else 0)
    whole = generate(spec, get_engine("cpu"))
    lazy = engine.generate(spec, partition_rows=7_000)
    assert list(lazy) == list(whole)
    for name, frame in lazy.items():
        if name in ("", "x", "big"):
            assert frame.npartitions == 4, "25,000 rows in windows of 7,000"
        same(engine.to_pandas(frame), whole[name])


def test_a_sorted_g1_is_sorted_across_partitions(engine):
    spec = SyntheticSpec("groupby_g1", 20_000, groups=10, sort=True)
    same(engine.to_pandas(engine.generate(spec, partition_rows=6_000)[""]), generate(spec, get_engine("cpu"))[""])


def test_every_groupby_and_join_question_agrees_with_pandas_and_other_suites_say_why_they_skip(engine):
    settings = BenchSettings(
        suites=("groupby", "join", "steps", "io"),
        engines=("cpu", "dask-cpu"),
        sizes=(20_000,),
        repeats=1,
        groups=50,
        dask_workers=LOCAL.workers,
        dask_memory_limit=LOCAL.memory_limit,
    )
    records = [r for r in run_bench(settings).records if r.engine == "dask-cpu"]
    by_suite = {suite: [r for r in records if r.suite == suite] for suite in ("groupby", "join", "steps", "io")}
    assert len(by_suite["groupby"]) == 10 and len(by_suite["join"]) == 5 and len(by_suite["steps"]) == 2
    for record in by_suite["groupby"] + by_suite["join"] + by_suite["steps"]:
        assert record.status == OK, (record.question, record.status, record.message)
        assert record.memory_of == "Dask workers' memory" and record.peak_memory_bytes > 0
    assert by_suite["io"] and all(r.status == SKIPPED for r in by_suite["io"])
    assert "the io suite does not run on Dask yet (only groupby, join, steps)" in by_suite["io"][0].message


def test_a_table_larger_than_the_workers_memory_spills_and_aggregates_correctly():
    """1 GiB of G1 rows persisted on one worker limited to 1 GiB: Dask spills part of it to disk, and q1 (sum v1 by
    id1) equals the same sums made window by window with pandas."""
    from pipeline.bench.questions import GROUPBY_QUESTIONS, Workspace

    spec = SyntheticSpec("groupby_g1", 12_000_000, groups=100)
    engine = dask_engine.dask_engine(ClusterSettings(workers=1, threads_per_worker=2, memory_limit="1GiB"))
    held = engine.persist_all(engine.generate(spec, partition_rows=250_000))[""]
    assert engine.frame_nbytes(held) > 2**30, "more data than the worker may hold in memory"
    workers = engine.client.scheduler_info(n_workers=-1)["workers"].values()
    assert sum(w["metrics"]["spilled_bytes"]["disk"] for w in workers) > 100 * 2**20, "part of it went to disk"
    answer = engine.compute(GROUPBY_QUESTIONS[0].run(Workspace(engine, {"x": held})))
    cpu, parts = get_engine("cpu"), []
    for first in range(0, spec.rows, 2_000_000):
        window = generate(
            SyntheticSpec("groupby_g1", spec.rows, groups=100, first_row=first, window_rows=2_000_000), cpu
        )
        parts.append(window[""].groupby("id1")["v1"].sum())
    expected = pd.concat(parts).groupby(level=0).sum()
    assert len(answer) == 100 and answer.set_index("id1")["v1"].sort_index().equals(expected.sort_index())


def _slow_partition(number: int) -> pd.DataFrame:
    time.sleep(0.3)
    return pd.DataFrame({"part": [number] * 100, "value": range(100)})


def test_a_worker_dying_mid_computation_is_recomputed_and_reported():
    import os
    import signal
    import threading

    settings = ClusterSettings(workers=2, threads_per_worker=1, memory_limit="1GiB")
    engine = dask_engine.dask_engine(settings)
    try:
        frame = engine.frames.from_map(_slow_partition, range(16))
        victim = sorted(engine.client.scheduler_info(n_workers=-1)["workers"])[0]
        pid = engine.client.run(os.getpid, workers=[victim])[victim]

        def kill_when_busy() -> None:  # the worker's process dies while it runs a task of the computation
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not engine.client.processing(workers=[victim]).get(victim):
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_when_busy)
        killer.start()
        result = engine.compute(frame.groupby("part")["value"].sum(), timeout_s=120)
        killer.join()
        assert len(result) == 16 and (result == sum(range(100))).all(), "every partition counted once"
        notes = engine.notes()
        assert notes and "1 Dask worker was lost during the computation; Dask recomputed their tasks" in notes[0]
        assert engine.notes() == [], "said once"
    finally:
        dask_engine.close_dask_engine(settings)


def test_work_that_takes_too_long_is_cancelled_with_a_message(engine):
    from pipeline.errors import PipelineError

    slow = engine.frames.from_map(_slow_partition, range(40))
    started = time.perf_counter()
    with pytest.raises(PipelineError, match=r"did not finish within 0\.5 s and was cancelled"):
        engine.compute(slow.groupby("part")["value"].sum(), timeout_s=0.5)
    assert time.perf_counter() - started < 5


def test_work_running_on_a_cluster_keeps_it_up_whoever_leaves_and_however_long_it_waits(engine):
    """A run's work counts as a user of the cluster until it ends: another session leaving it does not shut it down,
    nor does the idle reaper; once the work is over, the cluster counts as idle from then on."""
    with dask_engine.cluster_work(LOCAL, "session A's run") as held:
        assert held is engine, "the running cluster, shared"
        dask_engine.dask_engine(LOCAL, user="session B")
        assert dask_engine.cluster_users(LOCAL) == {"session A's run", "session B"}
        assert dask_engine.leave_cluster(LOCAL, "session B") is False, "A's work still runs there"
        engine._last_used -= 7200  # two hours since its last computation: the run does other work meanwhile
        assert dask_engine.close_idle_clusters(3600) == [], "never reaped under work"
        assert not engine.closed and engine.row_count(engine.frames.from_map(_slow_partition, range(2))) == 200
    assert dask_engine.cluster_users(LOCAL) == set()
    assert dask_engine.close_idle_clusters(3600) == [], "idle from the end of the work, not from its last computation"
    with dask_engine.engine_work([get_engine("cpu"), engine, engine], "session C"):
        assert dask_engine.cluster_users(LOCAL) == {"session C"}, "the machine's engines count nothing"
    assert dask_engine.cluster_users(LOCAL) == set() and dask_engine.running_dask_engine(LOCAL) is engine


def test_the_scaling_benchmark_writes_its_figures(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "scaling.json"
    command = [sys.executable, "-m", "benchmarks.dask_scaling", "--sizes", "1e5", "--workers", "1"]
    command += ["--out-of-core-rows", "2e5", "--out-of-core-memory", "1GiB", "--repeats", "1", "--out", str(out)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    report = json.loads(out.read_text())
    pandas, dask = report["runs"]
    assert (pandas["engine"], dask["engine"], dask["workers"]) == ("pandas", "dask-cpu", 1)
    assert len(dask["questions"]) == 10 and dask["total_s"] > 0 and dask["wrong"] == {}
    assert dask["peak_cluster_bytes"] > 0 and dask["data_bytes"] > 0
    out_of_core = report["out_of_core"]
    assert list(out_of_core["questions"]) == ["q1", "q2", "q4", "q5", "q9"] and out_of_core["wrong"] == {}
    assert out_of_core["profile"]["differences"] == [] and out_of_core["profile"]["seconds"] > 0
    assert "| dask-cpu (q1–q10) | 1 | 100,000 |" in finished.stdout
    assert "| dask-cpu, out of core, minimal profile | 1 | 200,000 |" in finished.stdout


def test_the_cluster_says_what_it_is(engine):
    facts = engine.facts()
    assert facts.local and facts.scheduler.startswith("tcp://127.0.0.1:")
    assert facts.dashboard and facts.dashboard.startswith("http://") and facts.dashboard.endswith("/status")
    port = int(facts.dashboard.rsplit(":", 1)[1].split("/")[0])
    listening = {c.laddr.ip for c in psutil.net_connections("tcp") if c.status == "LISTEN" and c.laddr.port == port}
    assert listening == {"127.0.0.1"}, f"the local cluster's dashboard listens on {listening}: loopback only"
    assert len(facts.workers) == 2 and facts.threads == 2 and facts.gpus == 0
    assert facts.memory_limit == 2 * 2**30
    table = facts.frame()
    assert list(table.columns) == ["worker", "threads", "memory limit GiB", "GPUs"]
    assert list(table["memory limit GiB"]) == [1.0, 1.0] and list(table["GPUs"]) == ["—", "—"]
    memory = engine.memory_info()
    assert memory.total == 2 * 2**30 and 0 < memory.used < memory.total


def test_a_cluster_without_gpus_is_refused_for_dask_gpu(engine):
    with pytest.raises(EngineUnavailableError, match="Dask GPU needs a GPU on every worker, but 2 of the cluster"):
        engine._check_gpus()


def test_files_are_read_lazily_and_mixed_ones_are_refused(engine, tmp_path):
    frame = generate(SyntheticSpec("groupby_g1", 3_000, groups=10), get_engine("cpu"))[""]
    folder = tmp_path / "parts"
    folder.mkdir()
    for number, start in enumerate(range(0, 3_000, 1_000)):
        frame.iloc[start : start + 1_000].to_parquet(folder / f"part{number}.parquet", index=False)
    lazy = engine.read_files(folder)
    assert lazy.npartitions == 3
    same(engine.to_pandas(lazy), frame)
    frame.iloc[:500].to_csv(tmp_path / "a.csv", index=False)
    frame.iloc[500:900].to_csv(tmp_path / "b.csv", index=False)
    assert len(engine.to_pandas(engine.read_files(tmp_path / "*.csv"))) == 900
    frame.iloc[:10].rename(columns={"v3": "value"}).to_parquet(folder / "odd.parquet", index=False)
    with pytest.raises(
        DataError, match=r"odd.parquet and part0.parquet differ \(only the first has value; only the second has v3\)"
    ):
        engine.read_files(folder)
    frame.iloc[:10].astype({"v1": "float64"}).to_parquet(folder / "odd.parquet", index=False)
    with pytest.raises(DataError, match="v1 is double in one, int64 in the other"):
        engine.read_files(folder)
    (folder / "odd.parquet").unlink()
    frame.iloc[:10].to_csv(folder / "extra.csv", index=False)
    with pytest.raises(DataError, match=r"both Parquet and CSV files\. Choose one format"):
        engine.read_files(folder)
    with pytest.raises(DataError, match="No Parquet or CSV file matches"):
        engine.read_files(tmp_path / "nothing-*.parquet")


def test_an_unreachable_scheduler_is_a_message_not_a_hang():
    started = time.perf_counter()
    with pytest.raises(
        EngineUnavailableError, match=r"scheduler at tcp://127.0.0.1:9 cannot be used: the connection was"
    ):
        dask_engine.DaskEngine(ClusterSettings(address="tcp://127.0.0.1:9"))
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (ClusterSettings(address="127.0.0.1:8786"), "is not a scheduler address. Write it as tcp://host:8786 or tls"),
        (ClusterSettings(address="tcp://host"), "is not a scheduler address"),
        (ClusterSettings(workers=0), "number of workers must be between 1 and 256"),
        (ClusterSettings(threads_per_worker=1000), "threads per worker must be between 1 and 256"),
        (ClusterSettings(memory_limit="lots"), "'lots' is not a size: write it like 1GiB"),
        (ClusterSettings(memory_limit="512MiB"), "A worker needs at least 1 GiB; 512MiB is too little"),
    ],
)
def test_cluster_settings_out_of_range_are_named(settings, message):
    with pytest.raises(DataError, match=message):
        settings.checked()


def test_the_bench_command_line_refuses_bad_cluster_settings_in_one_line(capsys):
    from pipeline.bench.cli import main

    assert main(["--suite", "groupby", "--engines", "dask-cpu", "--dask-memory", "lots"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: Memory limit 'lots' is not a size") and "\n" not in error


def test_dask_is_never_a_default_engine():
    from pipeline.bench.harness import default_engines

    assert "dask-cpu" not in default_engines() and "dask-gpu" not in default_engines()


def test_the_system_page_offers_the_operators_clusters_only_and_starts_the_local_one(monkeypatch):
    from tests.support.apptest import open_page, problems

    monkeypatch.setenv("GPL_DASK_WORKERS", "1")
    monkeypatch.setenv("GPL_DASK_MEMORY_MB", "1024")
    monkeypatch.setenv("GPL_DASK_SCHEDULERS", "lab=tcp://127.0.0.1:1")
    at = open_page("pages/system.py")
    assert not [field.key for field in at.text_input], "no address can be typed"
    assert at.selectbox(key="dask_choice").options == [
        "This server's local cluster (1 worker, 1.0 GiB each, shared by every session)",
        "lab (tcp://127.0.0.1:1)",
    ]
    at.selectbox(key="dask_choice").set_value("lab")
    at.button(key="dask_go").click().run()
    assert any("at tcp://127.0.0.1:1 cannot be used: the connection was refused" in e.value for e in at.error)
    at.selectbox(key="dask_choice").set_value("local")
    at.button(key="dask_go").click().run()
    assert not problems(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Workers"] == "1" and metrics["GPUs"] == "0" and metrics["Memory limit"] == "1.0 GiB"
    assert metrics["Other sessions on it"] == "0"
    assert any("[Dask dashboard](http://" in m.value and "local cluster" in m.value for m in at.markdown)
    settings = at.session_state["dask_cluster"]
    assert settings == dask_clusters.local_settings()
    assert dask_engine.running_dask_engine(settings) is not None
    at.button(key="dask_close").click().run()
    assert dask_engine.running_dask_engine(settings) is None and "Workers" not in [m.label for m in at.metric]


def test_a_list_of_schedulers_the_operator_mistyped_is_named_and_the_local_cluster_still_offered(monkeypatch):
    from tests.support.apptest import open_page

    monkeypatch.setenv("GPL_DASK_SCHEDULERS", "lab=10.0.0.5:8786")
    at = open_page("pages/system.py")
    assert any("GPL_DASK_SCHEDULERS has an entry 'lab=10.0.0.5:8786'" in w.value for w in at.warning)
    assert [option.split(" (")[0] for option in at.selectbox(key="dask_choice").options] == [
        "This server's local cluster"
    ]


def test_two_sessions_share_the_local_cluster_and_one_leaving_does_not_break_the_other(monkeypatch):
    from pipeline.data.catalog import Catalog
    from tests.support.apptest import open_page, problems

    monkeypatch.setenv("GPL_DASK_WORKERS", "1")
    monkeypatch.setenv("GPL_DASK_MEMORY_MB", "1024")
    first, second = open_page("pages/system.py"), open_page("pages/system.py")
    for at in (first, second):
        at.button(key="dask_go").click().run()
        assert not problems(at)
    settings = dask_clusters.local_settings()
    assert len(dask_engine.cluster_users(settings)) == 2, "one cluster, two users"
    assert {m.label: m.value for m in second.metric}["Other sessions on it"] == "1"
    first.switch_page("pages/data.py").run()
    first.button(key="dask_copy").click().run()
    assert list(first.session_state["catalog"].active.copies) == ["cpu", "dask-cpu"]
    second.run()
    assert second.button(key="dask_close").label == "Leave the cluster"
    second.button(key="dask_close").click().run()
    assert not problems(second)
    assert any("Left the cluster; it keeps running for the other sessions" in c.value for c in second.caption)
    assert dask_engine.running_dask_engine(settings) is not None, "still there for the first session"
    first.switch_page("pages/explore.py").run()
    assert not problems(first), "the first session's Dask copy still works"
    catalog: Catalog = first.session_state["catalog"]
    assert "dask-cpu" in catalog.active.copies
    first.switch_page("pages/system.py").run()
    assert first.button(key="dask_close").label == "Shut down"
    first.button(key="dask_close").click().run()
    assert dask_engine.running_dask_engine(settings) is None
    assert "dask-cpu" not in catalog.active.copies


def test_a_session_whose_cluster_was_shut_down_idle_is_told_and_keeps_its_other_data(monkeypatch):
    from tests.support.apptest import open_page, problems

    monkeypatch.setenv("GPL_DASK_WORKERS", "1")
    monkeypatch.setenv("GPL_DASK_MEMORY_MB", "1024")
    at = open_page("pages/data.py")
    at.button(key="dask_copy").click().run()
    assert "dask-cpu" in at.session_state["catalog"].active.copies
    assert dask_engine.close_idle_clusters(3600) == [], "in use a moment ago"
    cluster = dask_engine.running_dask_engine(dask_clusters.local_settings())
    cluster._last_used -= 7200  # two hours without work
    assert dask_engine.close_idle_clusters(3600) == ["Dask CPU (dask.dataframe)"] and cluster.closed
    at.run()
    assert not problems(at)
    assert any("The Dask cluster was shut down or lost (idle, stopped" in w.value for w in at.warning)
    assert list(at.session_state["catalog"].active.copies) == ["cpu"], "the pandas copy is kept"


def test_local_clusters_stay_within_the_operators_budget(monkeypatch):
    import psutil

    cores = psutil.cpu_count()
    monkeypatch.setenv("GPL_DASK_WORKERS", "256")
    monkeypatch.setenv("GPL_DASK_MEMORY_MB", str(64 * 1024))
    assert dask_clusters.local_settings().workers == cores, "never more workers than cores"
    monkeypatch.setenv("GPL_DASK_MEMORY_MB", "1536")
    settings = dask_clusters.local_settings()
    assert settings.workers == 1 and settings.memory_limit == "1536MiB", "each worker keeps at least 1 GiB"
    monkeypatch.delenv("GPL_DASK_MEMORY_MB")
    monkeypatch.delenv("GPL_DASK_WORKERS")
    settings = dask_clusters.local_settings()
    total = settings.workers * int(settings.memory_limit.removesuffix("MiB")) * 2**20
    assert settings.workers <= cores and total <= psutil.virtual_memory().total * 0.25 + 2**30


def test_generating_on_the_workers_checks_the_size_against_their_memory_and_spill_room(engine):
    spec = SyntheticSpec("classification", 100_000_000, features=500)
    with pytest.raises(
        DataError,
        match=r"need about .* GiB \(the tables, .* kept by the workers .*\), but only .* GiB is left \(.* GiB of free "
        r"memory on the Dask workers and 50% of the .* GiB free on the disk they spill to\)",
    ):
        engine.generate(spec)
    assert engine.room_for_data()[0] > 0


class _Listener:
    """A loopback TCP server that is not a Dask scheduler: it says nothing, or sends `reply` to whoever connects."""

    def __init__(self, reply: bytes | None) -> None:
        import socket
        import threading

        self.socket = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self.socket.getsockname()[1]}"
        self.reply = reply
        self.open: list = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                peer, _ = self.socket.accept()
            except OSError:
                return
            self.open.append(peer)
            if self.reply is not None:
                peer.sendall(self.reply)

    def close(self) -> None:
        for peer in self.open:
            peer.close()
        self.socket.close()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (None, "nothing answered as a Dask scheduler within 1 s"),
        (b"\xff" * 64, "something answers there, but not as a Dask scheduler"),
        (b"HTTP/1.0 200 OK\r\n\r\n", "something answers there, but not as a Dask scheduler"),
    ],
    ids=["silent", "garbage", "http"],
)
def test_a_peer_that_is_no_scheduler_is_named_within_the_time_limit(reply, message):
    listener = _Listener(reply)
    try:
        started = time.monotonic()
        with pytest.raises(EngineUnavailableError, match=message):
            dask_engine.check_scheduler_answers(listener.address, timeout_s=1)
        assert time.monotonic() - started < 5
    finally:
        listener.close()


def test_a_real_scheduler_passes_the_check_and_tls_without_settings_is_named(engine):
    dask_engine.check_scheduler_answers(engine.client.scheduler.address, timeout_s=5)
    with pytest.raises(EngineUnavailableError, match="tls:// but Dask has no TLS settings"):
        dask_engine.check_scheduler_answers("tls://127.0.0.1:1", timeout_s=1)


def test_work_on_a_cluster_shut_down_meanwhile_is_a_message_not_a_traceback():
    from pipeline.engines import failure_message

    settings = ClusterSettings(workers=1, threads_per_worker=1, memory_limit="1GiB")
    engine = dask_engine.dask_engine(settings)
    frame = engine.generate(SyntheticSpec("regression", 2_000))[""]
    dask_engine.close_dask_engine(settings)
    with pytest.raises(Exception) as raised:
        engine.compute(frame.sum())
    message = failure_message(engine, "summing", raised.value)
    assert message.startswith("The Dask cluster was shut down or lost while this ran"), message
    assert dask_engine.cluster_lost_message(ValueError("other")) is None
