"""The pages on a Dask cluster (AppTest, a real LocalCluster): data read lazily from the data folder or copied to the
cluster, profiled there and compared with pandas; a cluster shut down takes its datasets with it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.data.bundled import bundled_frame
from pipeline.data.catalog import Catalog
from pipeline.data.loading import load_bundled, load_synthetic
from pipeline.engines import available_engines
from pipeline.tables.synthetic import SyntheticSpec
from tests.support.apptest import open_page, problems

dask_engine = pytest.importorskip("pipeline.engines.dask")
pytest.importorskip("distributed")


def on_cluster(at, dask_cpu):
    at.session_state["dask_cluster"] = dask_cpu.settings
    return at


def test_files_in_the_data_folder_are_read_lazily_on_dask_profiled_there_and_outside_paths_refused(
    dask_cpu, tmp_path, monkeypatch
):
    rng = np.random.default_rng(1)
    (tmp_path / "sales").mkdir()
    for part in range(2):
        pd.DataFrame({"amount": rng.exponential(size=5_000), "shop": rng.choice(["a", "b", "c"], 5_000)}).to_parquet(
            tmp_path / "sales" / f"part{part}.parquet"
        )
    monkeypatch.setenv("GPL_DATA_DIR", str(tmp_path))
    at = on_cluster(open_page("pages/data.py", Catalog()), dask_cpu).run()
    at.text_input(key="dask_pattern").set_value("../*.parquet").run()
    assert any("is not inside the data folder" in message for message in problems(at))
    at.text_input(key="dask_pattern").set_value("sales/*.parquet").run()
    assert any("2 file(s) match" in caption.value for caption in at.caption)
    at.button(key="dask_read").click().run()
    assert not problems(at)
    datasets = at.session_state["catalog"]
    dataset = datasets.active
    assert dataset.name == "sales" and list(dataset.copies) == ["dask-cpu"] and dataset.copies["dask-cpu"].lazy
    assert dataset.shape == (10_000, 2) and datasets.nbytes == 0, "the rows stay on the workers"
    assert any("unique (≈)" in table.value.columns for table in at.dataframe)

    at.switch_page("pages/explore.py").run()
    assert not problems(at)
    assert any(caption.value.startswith("≈ Estimated: Quantiles") for caption in at.caption)
    assert {m.label: m.value for m in at.metric}["Rows"] == "10,000"
    profile = dataset.recall(("profile", "dask-cpu", "full"))
    assert profile.column("shop").distinct == 3 and profile.column("amount").count == 10_000


def test_a_loaded_table_copied_to_dask_is_profiled_on_both_and_the_exact_statistics_agree(dask_cpu):
    catalog = Catalog()
    load_bundled(catalog, "iris", available_engines(), frames=bundled_frame)
    at = on_cluster(open_page("pages/data.py", catalog), dask_cpu).run()
    at.button(key="dask_copy").click().run()
    assert not problems(at)
    assert list(catalog.active.copies)[-1] == "dask-cpu" and catalog.active.copies["dask-cpu"].frame.npartitions >= 1
    at.switch_page("pages/explore.py").run()
    at.toggle(key="explore_compare").set_value(True).run()
    assert not problems(at)
    assert any("the statistics agree (the estimates of a Dask profile left out)" in s.value for s in at.success)
    assert at.selectbox(key="explore_engine").value == "dask-cpu", "the newest copy is the default"
    for label in ("Correlations", "Interactions", "Filter"):
        at.session_state["explore_tab"] = label
        at.run()
        assert not problems(at), label
        if label == "Correlations":
            assert at.radio(key="explore_corr_method").options == ["Pearson"], "Dask has no Spearman"
    view = catalog.active.recall(("view sample", "dask-cpu"))
    assert len(view.frame) == 150 and view.engine.name == "cpu", "the views read the Dask rows on this server"


def test_shutting_the_cluster_down_removes_the_datasets_that_only_it_held(dask_cpu):
    catalog = Catalog()
    load_bundled(catalog, "iris", available_engines(), frames=bundled_frame)
    engine = dask_engine.dask_engine(dask_engine.ClusterSettings(workers=1, threads_per_worker=1, memory_limit="1GiB"))
    load_synthetic(catalog, SyntheticSpec("regression", 5_000), [engine])
    assert len(catalog) == 2 and catalog.active.name.startswith("regression")
    at = open_page("pages/system.py", catalog)
    at.session_state["dask_cluster"] = engine.settings
    at.run()
    at.button(key="dask_close").click().run()
    assert not problems(at)
    assert [d.name for d in catalog] == ["iris"]
    assert any("Shut the cluster down. Removed with it: regression" in caption.value for caption in at.caption)


def test_a_preset_pipeline_runs_on_pandas_and_dask_side_by_side_and_saves(dask_cpu):
    catalog = Catalog()
    load_bundled(catalog, "iris", available_engines(), frames=bundled_frame)
    at = on_cluster(open_page("pages/data.py", catalog), dask_cpu).run()
    at.button(key="dask_copy").click().run()
    at.switch_page("pages/pipeline.py").run()
    at.selectbox(key="preset_name").set_value("clean_and_encode").run()
    at.button(key="preset_go").click().run()
    at.button(key="run_go").click().run()
    assert not problems(at)
    assert [m.label for m in at.metric][:2] == ["CPU (pandas)", "Dask CPU (dask.dataframe)"]
    table = next(d.value for d in at.dataframe if "engines agree" in d.value.columns)
    assert table["DASK-CPU time"].ne("—").all() and "DASK-CPU error" not in table.columns, "no step failed"
    assert not table["engines agree"].str.startswith("NO").any(), table["engines agree"].tolist()
    at.button(key="save_go").click().run()
    saved = catalog.active
    assert saved.name == "iris (pipeline)" and list(saved.copies) == ["cpu", "dask-cpu"]
    assert saved.copies["dask-cpu"].lazy and saved.shape[0] == saved.copies["cpu"].frame.shape[0]


def test_the_pipeline_page_checks_a_dask_dataset_next_to_pandas_ones(dask_cpu):
    catalog = Catalog()
    load_bundled(catalog, "iris", available_engines(), frames=bundled_frame)
    load_synthetic(catalog, SyntheticSpec("classification", 5_000), [dask_cpu])
    at = open_page("pages/pipeline.py", catalog)
    assert not problems(at) and next(s.value for s in at.subheader) == "Steps"
    at.button(key="preset_run").click().run()
    assert not problems(at)
    table = next(d.value for d in at.dataframe if "engines agree" in d.value.columns)
    assert "DASK-CPU error" not in table.columns and len(table) >= 3, "no step failed"


def test_a_session_loading_onto_its_cluster_is_counted_among_its_users(dask_cpu):
    """The session's cluster (here set without joining it, as after an idle shut-down and a restart by another
    session) counts the session once it puts data there, so no other session can shut it down under that data."""
    catalog = Catalog()
    load_bundled(catalog, "iris", available_engines(), frames=bundled_frame)
    at = on_cluster(open_page("pages/data.py", catalog), dask_cpu).run()
    at.button(key="dask_copy").click().run()
    assert not problems(at) and "dask-cpu" in catalog.active.copies
    me = at.session_state.get("session_id")  # None: never counted
    assert me in dask_engine.cluster_users(dask_cpu.settings)


def test_a_model_training_on_the_cluster_is_counted_and_never_reaped_as_idle(dask_cpu, monkeypatch):
    """While the Models page trains on a Dask copy, the session's work is counted on the cluster and the idle reaper
    leaves it, however long ago the cluster last computed (dask-ml computes through the client directly)."""
    pytest.importorskip("dask_ml")
    from pipeline.data.loading import add_copy_on
    from pipeline.models import training

    catalog = Catalog()
    load_bundled(catalog, "diabetes", available_engines(), frames=bundled_frame)
    add_copy_on(catalog.active, dask_cpu)
    seen = {}
    train = training.train_everywhere

    def looked_at(*args, **kwargs):  # what the cluster's users and the reaper are while the training runs
        seen["users"] = dask_engine.cluster_users(dask_cpu.settings)
        dask_cpu._last_used -= 7200
        seen["reaped"] = dask_engine.close_idle_clusters(3600)
        return train(*args, **kwargs)

    monkeypatch.setattr(training, "train_everywhere", looked_at)
    at = open_page("pages/models.py", catalog)
    at.radio(key="model_task").set_value("regression").run()
    at.button(key="model_go").click().run()
    assert not problems(at)
    me = at.session_state["session_id"]
    assert me in seen["users"] and seen["reaped"] == [] and not dask_cpu.closed
    assert me not in dask_engine.cluster_users(dask_cpu.settings), "counted only while it trained"
