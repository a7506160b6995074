"""The pages on an operator's Dask cluster of real processes (tests/support/dask_processes) whose scheduler is
restarted under the app: the pages say what was lost, the System page connects again, and it can always disconnect."""

from __future__ import annotations

import time

import pytest

from pipeline.data.bundled import bundled_frame
from pipeline.data.catalog import Catalog
from pipeline.data.loading import load_bundled, load_synthetic
from pipeline.engines import available_engines
from pipeline.tables.synthetic import SyntheticSpec
from tests.support.apptest import open_page, problems
from tests.support.dask_processes import dask_processes

dask_engine = pytest.importorskip("pipeline.engines.dask")
pytest.importorskip("distributed")


def wait_for(condition, limit_s: float = 20.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert condition()


def test_a_restarted_scheduler_is_a_message_the_system_page_connects_again_and_can_always_disconnect(
    tmp_path, monkeypatch
):
    with dask_processes(tmp_path / "cluster", workers=1) as cluster:
        monkeypatch.setenv("GPL_DASK_SCHEDULERS", f"lab={cluster.address}")
        settings = dask_engine.ClusterSettings(address=cluster.address)
        catalog = Catalog()
        load_bundled(catalog, "iris", available_engines(), frames=bundled_frame)
        at = open_page("pages/system.py", catalog)
        at.selectbox(key="dask_choice").set_value("lab")  # in a form: sent with its submit button
        at.button(key="dask_go").click().run()
        assert not problems(at) and at.button(key="dask_close").label == "Disconnect"
        first = dask_engine.running_dask_engine(settings)
        load_synthetic(catalog, SyntheticSpec("regression", 5_000), [first])  # held by the workers only

        cluster.kill_scheduler()  # down long enough for the client to give up and close
        wait_for(lambda: first.client.status == "closed")
        cluster.restart_scheduler()
        at.switch_page("pages/data.py").run()
        assert not problems(at)
        assert any("shut down or lost" in w.value and "Removed with it: regression" in w.value for w in at.warning)
        assert [dataset.name for dataset in catalog] == ["iris"]

        at.switch_page("pages/system.py").run()
        assert not problems(at), "connected again"
        assert {m.label: m.value for m in at.metric}["Workers"] == "1"
        again = dask_engine.running_dask_engine(settings)
        assert again is not first and not again.closed

        cluster.kill_scheduler()  # and not started again
        wait_for(lambda: again.lost)
        at.run()
        assert len(problems(at)) == 1 and "the connection was refused" in problems(at)[0], problems(at)
        at.button(key="dask_close").click().run()
        assert not problems(at)
        assert any(caption.value == "Disconnected from the cluster." for caption in at.caption)
        assert dask_engine.running_dask_engine(settings) is None
