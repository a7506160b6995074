"""The Deep learning page through AppTest: train, curves, comparison, evaluation, overlays, bad settings, no torch."""

from __future__ import annotations

import json

import pytest

from tests.support.apptest import open_page, problems

PAGE = "pages/deep_learning.py"
torch = pytest.importorskip("torch")


def train_digits(at, epochs: int = 2, batch: int = 64):
    at.number_input(key="dl_epochs").set_value(epochs)
    at.number_input(key="dl_batch").set_value(batch)
    return at.button(key="dl_go").click().run()


def test_digits_train_and_are_evaluated():
    at = train_digits(open_page(PAGE))
    assert not problems(at)
    runs = at.session_state["dl_runs"]
    assert list(runs) == ["CPU (PyTorch)"] or len(runs) == 2
    run = runs["CPU (PyTorch)"]
    assert [record.epoch for record in run.history] == [1, 2] and run.stopped is None
    assert [s.value for s in at.subheader] == ["Curves", "Comparison", "Evaluation on the test set"]
    assert len(at.get("vega_lite_chart")) >= 3, "curves, confusion matrix and precision-recall"
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["Accuracy", "Balanced accuracy", "F1 (macro)"]
    assert float(at.metric[0].value) == pytest.approx(run.history[-1].test_accuracy, abs=1e-3)
    assert len(at.get("image")) >= 1, "misclassified digits are shown as images"
    assert [r.batch for r in run.batches if r.epoch == 1] == [*range(2, 23, 2), 23], "23 batches, reported every 2"
    assert len(run.batches) == 24 and run.history[-1].busy_percent is not None, "batches and device use kept"
    assert "Training loss and accuracy every few batches" in [e.label for e in at.expander]
    columns = list(at.dataframe[0].value.columns)
    assert "busy %" in columns and "peak memory MiB" in columns, columns
    assert ("speed-up" in columns) == (len(runs) == 2), "no speed-up of 1.00× where one device trained"
    per_class = next(d.value for d in at.dataframe if "precision" in d.value.columns)
    assert all(v == float(f"{v:.4g}") for v in per_class["precision"]), per_class["precision"].tolist()
    assert "dl_stop" not in [button.key for button in at.button], "no Stop button once training has ended"


def test_a_table_trains_an_mlp_from_the_active_dataset():
    at = open_page(PAGE)
    at.radio(key="dl_source").set_value("The active dataset (table, MLP)").run()
    assert at.selectbox(key="dl_target").value == "target"
    at.number_input(key="dl_lr").set_value(0.01)
    at = train_digits(at, epochs=20, batch=16)
    assert not problems(at)
    run = at.session_state["dl_runs"]["CPU (PyTorch)"]
    assert run.history[-1].test_accuracy >= 0.8
    assert any("Worst residuals" in m.value for m in at.markdown)
    worst = at.dataframe[-1].value
    assert {"residual", "p(true)", "sepal length (cm)", "petal width (cm)"} <= set(worst.columns)
    assert list(worst["residual"]) == sorted(worst["residual"], reverse=True)


def test_a_batch_larger_than_the_data_is_explained():
    at = train_digits(open_page(PAGE), batch=5000)
    assert not at.exception
    assert any("larger than the 1,437 training rows" in e.value for e in at.error), [e.value for e in at.error]
    assert "dl_runs" not in at.session_state


def test_saved_histories_overlay_and_bad_files_are_refused():
    at = train_digits(open_page(PAGE))
    assert "Save the run history (JSON)" in [button.proto.label for button in at.get("download_button")]
    from pipeline.dl.evaluation import histories_json

    text = histories_json(at.session_state["dl_runs"], "digits")
    at.file_uploader(key="dl_history").set_value(("old.json", text.encode(), "application/json")).run()
    at.button(key="dl_overlay_go").click().run()
    assert list(at.session_state["dl_overlays"]) == ["CPU (PyTorch) (old.json)"]
    at.file_uploader(key="dl_history").set_value(("bad.json", json.dumps({"a": 1}).encode(), "application/json"))
    at.run()
    at.button(key="dl_overlay_go").click().run()
    assert any("not a training history saved from this page" in e.value for e in at.error)
    assert list(at.session_state["dl_overlays"]) == ["CPU (PyTorch) (old.json)"], "the earlier overlay is kept"


def test_without_torch_the_page_says_how_to_add_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    at = open_page(PAGE)
    assert not at.exception
    assert any("pip install -r requirements-dl.txt" in i.value for i in at.info)
    assert not at.button


def test_the_batch_size_sweep_draws_throughput():
    at = open_page(PAGE)
    at.multiselect(key="dl_sweep_sizes").set_value([32, 128]).run()
    at.button(key="dl_sweep_go").click().run()
    assert not problems(at)
    sweep = at.session_state["dl_sweep"]
    assert list(sweep["batch_size"]) == [32, 128] * len(sweep["device"].unique())
    assert (sweep["samples_per_s"] > 0).all() and set(sweep["device"]) <= {"CPU (PyTorch)", "GPU (PyTorch CUDA)"}
