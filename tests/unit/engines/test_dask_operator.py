"""The Dask engine on an operator's cluster of real processes (`dask scheduler`, `dask worker`, started as
docs/deploy.md says; tests/support/dask_processes): the app's code checked on connecting, the room counted with the
disk the workers spill to, and a scheduler restarted under the app."""

from __future__ import annotations

import shutil
import time

import pandas as pd
import pytest

from pipeline.engines import failure_message, get_engine
from pipeline.errors import EngineUnavailableError
from pipeline.tables.synthetic import SyntheticSpec, check_fits, estimated_bytes, generate, made_bytes
from tests.support.dask_processes import dask_processes
from tests.support.paths import REPO_ROOT

dask_engine = pytest.importorskip("pipeline.engines.dask")
pytest.importorskip("distributed")
ClusterSettings = dask_engine.ClusterSettings


def wait_until_lost(engine, limit_s: float = 15.0) -> None:
    """Until the engine's client has noticed that its scheduler went away (it hears it from the closed comm)."""
    deadline = time.monotonic() + limit_s
    while not engine.lost and time.monotonic() < deadline:
        time.sleep(0.1)
    assert engine.lost


def test_a_cluster_that_cannot_import_the_apps_code_is_refused_with_what_the_operator_must_do(tmp_path):
    with dask_processes(tmp_path / "bare", workers=1, app_code=None) as bare:
        settings = ClusterSettings(address=bare.address)
        with pytest.raises(EngineUnavailableError) as refused:
            dask_engine.dask_engine(settings)
        message = str(refused.value)
        assert "its scheduler and 1 of its 1 worker cannot import the app's `pipeline` package" in message, message
        assert "PYTHONPATH=/path/to/gpu-pipeline-lab dask worker" in message and "docs/deploy.md" in message
        assert dask_engine.running_dask_engine(settings) is None, "nothing kept of a refused connection"


def test_a_cluster_running_another_version_of_the_apps_code_is_refused(tmp_path):
    other = tmp_path / "other-version"
    shutil.copytree(REPO_ROOT / "pipeline", other / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    with (other / "pipeline" / "__init__.py").open("a", encoding="utf-8") as init:
        init.write("# an older release\n")
    with (
        dask_processes(tmp_path / "cluster", workers=1, app_code=other) as cluster,
        pytest.raises(EngineUnavailableError, match="1 of its 1 worker import another version of it"),
    ):
        dask_engine.dask_engine(ClusterSettings(address=cluster.address))


def test_with_the_apps_code_on_their_path_a_generated_table_is_computed_on_the_workers(operator_cluster):
    engine = dask_engine.dask_engine(ClusterSettings(address=operator_cluster.address))
    spec = SyntheticSpec("groupby_g1", 60_000, groups=10, seed=4)
    frame = engine.generate(spec, partition_rows=15_000)[""]
    sums = engine.to_pandas(frame.groupby("id1")["v3"].sum().to_frame("v3")).sort_index()
    pandas = generate(spec, get_engine("cpu"))[""].groupby("id1")["v3"].sum().to_frame("v3").sort_index()
    pd.testing.assert_frame_equal(sums, pandas, check_exact=False, rtol=1e-9)


def test_generation_on_an_operators_cluster_counts_the_disk_its_workers_spill_to_once(operator_cluster):
    engine = dask_engine.dask_engine(ClusterSettings(address=operator_cluster.address))
    memory = engine.memory_info()
    disk = shutil.disk_usage(operator_cluster.spill_directory).free
    room, where = engine.room_for_data()
    assert room == pytest.approx(memory.free + disk // 2, rel=0.02), where
    assert where.endswith("free on the disk they spill to"), "two workers spilling to one disk: counted once"
    rows = 40_000_000  # a G1 table of about 3.6 GiB: more than the workers' 2 GiB of memory
    larger = SyntheticSpec("groupby_g1", rows)
    assert made_bytes(larger) > memory.total
    check_fits(larger, engine)  # allowed: the workers spill what their memory cannot hold
    need, counted = engine.generation_need(larger)
    assert made_bytes(larger) < need < estimated_bytes(larger), "the table once, and the partitions being made"
    assert "kept by the workers in memory or spilled to disk" in counted and "2 partitions are made at once" in counted


def test_a_restarted_scheduler_is_connected_again_on_next_use_and_what_was_lost_is_a_message(tmp_path):
    with dask_processes(tmp_path / "cluster", workers=1) as cluster:
        settings = ClusterSettings(address=cluster.address)
        engine = dask_engine.dask_engine(settings)
        held = engine.persist(engine.generate(SyntheticSpec("regression", 5_000))[""])
        cluster.restart_scheduler()  # quick: the client connects to the new scheduler by itself, without the data
        with pytest.raises(Exception) as raised:
            engine.row_count(held)
        assert failure_message(engine, "counting", raised.value).startswith("The Dask cluster was shut down or lost")
        assert engine.closed, "its data went with the scheduler"

        again = dask_engine.dask_engine(settings)
        assert again is not engine and not again.lost
        frame = again.generate(SyntheticSpec("regression", 5_000))[""]
        assert again.row_count(frame) == 5_000

        cluster.kill_scheduler()
        wait_until_lost(again)
        again.client.close()  # as distributed does after trying to connect again for its timeout (5 s)
        asked = (again.facts, again.room_for_data, lambda: again.persist(frame), lambda: again.client.run(len, []))
        for action in asked:
            with pytest.raises(Exception) as raised:  # each fails its own way (closed client, no comm, …)
                action()
            assert failure_message(again, "working", raised.value) == dask_engine.CLUSTER_LOST, raised.value
        with pytest.raises(EngineUnavailableError, match="the connection was refused"):
            dask_engine.dask_engine(settings)
        assert dask_engine.running_dask_engine(settings) is again, "listed, so the next use tries again"
        assert dask_engine.leave_cluster(settings, "someone") and dask_engine.running_dask_engine(settings) is None
