"""pipeline.dl with the real PyTorch (CPU build here; `gpu` tests on CUDA): data checks, training, histories."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import load_iris

from pipeline import dl
from pipeline.errors import DataError

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def digits():
    return dl.digits_data(seed=0)


@pytest.fixture(scope="module")
def iris():
    frame = load_iris(as_frame=True).frame
    return frame


def test_digits_are_images_split_with_every_class_on_both_sides(digits):
    assert digits.image_shape == (8, 8) and digits.x_train.shape[1:] == (8, 8)
    assert len(digits.y_train) + len(digits.y_test) == 1797 and len(digits.y_test) == 360
    assert set(digits.y_test) == set(range(10)) and digits.x_train.dtype == np.float32
    assert digits.x_train.min() >= 0.0 and digits.x_train.max() <= 1.0


def test_the_cnn_learns_digits_on_the_cpu(digits):
    run = dl.train(digits, dl.TrainSettings(epochs=5, batch_size=32), "cpu")
    assert run.error is None and run.stopped is None
    assert run.history[-1].test_accuracy >= 0.90, [r.test_accuracy for r in run.history]
    assert run.history[-1].train_loss < run.history[0].train_loss
    assert run.probabilities.shape == (360, 10) and np.allclose(run.probabilities.sum(axis=1), 1, atol=1e-5)


def test_the_history_is_consistent_and_saves_as_json(digits):
    seen = []
    run = dl.train(digits, dl.TrainSettings(epochs=3, batch_size=64), "cpu", on_epoch=seen.append)
    assert [record.epoch for record in run.history] == [1, 2, 3] and seen == run.history
    for record in run.history:
        assert record.seconds > 0 and record.samples_per_s == pytest.approx(len(digits.y_train) / record.seconds)
        assert 0 <= record.test_accuracy <= 1 and record.test_loss > 0
    assert run.seconds == pytest.approx(sum(record.seconds for record in run.history))
    saved = json.loads(json.dumps(run.history_dict()))
    assert saved["device"] == "cpu" and saved["settings"]["batch_size"] == 64 and len(saved["history"]) == 3


def test_the_same_seed_gives_the_same_training(digits):
    settings = dl.TrainSettings(epochs=2, batch_size=64, seed=7)
    first, second = dl.train(digits, settings, "cpu"), dl.train(digits, settings, "cpu")
    assert [r.train_loss for r in first.history] == [r.train_loss for r in second.history]
    other = dl.train(digits, dl.TrainSettings(epochs=2, batch_size=64, seed=8), "cpu")
    assert [r.train_loss for r in other.history] != [r.train_loss for r in first.history]


def test_a_table_trains_an_mlp(iris):
    data = dl.table_data(iris, "target", list(iris.columns[:4]), "iris")
    assert data.image_shape is None and data.classes == ["0", "1", "2"]
    assert np.allclose(data.x_train.mean(axis=0), 0, atol=1e-5), "standardised on the training rows"
    run = dl.train(data, dl.TrainSettings(epochs=30, batch_size=16, learning_rate=1e-2), "cpu")
    assert run.history[-1].test_accuracy >= 0.9


def test_a_diverging_loss_stops_training_and_says_so(digits):
    wild = dl.DlData(
        "wild", digits.x_train * 1e30, digits.y_train, digits.x_test, digits.y_test, digits.classes, (8, 8)
    )
    run = dl.train(wild, dl.TrainSettings(epochs=3, batch_size=64, learning_rate=1.0, optimizer="sgd"), "cpu")
    assert run.stopped and "training diverged. Lower the learning rate (now 1; try 0.1)" in run.stopped
    assert run.error is None


def test_the_stop_button_ends_training_after_the_current_batch(digits):
    calls = []
    run = dl.train(digits, dl.TrainSettings(epochs=5), "cpu", should_stop=lambda: calls.append(1) or True)
    assert run.stopped == "Stopped by you in epoch 1." and run.history == [] and len(calls) == 1


def test_no_cuda_device_is_reported_not_raised(digits):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    run = dl.train(digits, dl.TrainSettings(epochs=1), "cuda")
    assert run.error == "There is no 'cuda' device here: torch sees cpu." and not run.history


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dl.TrainSettings(batch_size=5000), "batch size 5,000 is larger than the 1,437 training rows"),
        (dl.TrainSettings(batch_size=0), "Choose a batch size between 1 and 1,437"),
        (dl.TrainSettings(epochs=0), "Epochs must be between 1 and 1,000"),
        (dl.TrainSettings(learning_rate=float("nan")), "learning rate must be above 0"),
        (dl.TrainSettings(learning_rate=0), "learning rate must be above 0"),
        (dl.TrainSettings(optimizer="rmsprop"), "Unknown optimizer 'rmsprop': choose one of adam, sgd"),
    ],
)
def test_settings_out_of_range_are_named(digits, settings, message):
    with pytest.raises(DataError, match=message):
        dl.train(digits, settings, "cpu")


def test_unusable_tables_are_refused_with_what_to_do(iris):
    features = list(iris.columns[:4])
    cases = [
        (iris, "nope", features, "no column 'nope' to predict"),
        (iris, "target", ["target"], "at least one feature column"),
        (iris.assign(name="x"), "target", [*features, "name"], "'name' is not numeric.*one-hot"),
        (iris.assign(**{features[0]: np.nan}), "target", features, "hold missing or infinite values.*Fill or drop"),
        (iris.assign(target=0), "target", features, "has 1 distinct values; classification needs 2 to 100"),
        (iris.assign(target=np.arange(150)), "target", features, "has 150 distinct values"),
        (iris.iloc[[0, 60, 120]], "target", features, "3 rows are too few to split"),
    ]
    for frame, target, columns, message in cases:
        with pytest.raises(DataError, match=message):
            dl.table_data(frame, target, columns, "t")


def test_without_torch_the_reason_says_how_to_add_it(monkeypatch):
    real = dl.importlib.util.find_spec
    monkeypatch.setattr(dl.importlib.util, "find_spec", lambda name: None if name == "torch" else real(name))
    assert "pip install -r requirements-dl.txt" in dl.torch_missing_reason()
    with pytest.raises(DataError, match="PyTorch is not installed"):
        dl.devices()


@pytest.mark.gpu
def test_the_cnn_trains_on_cuda_with_and_without_amp(digits):
    if not torch.cuda.is_available():
        pytest.skip("torch sees no CUDA device")
    for amp in (False, True):
        run = dl.train(digits, dl.TrainSettings(epochs=5, batch_size=32, amp=amp), "cuda")
        assert run.error is None and run.history[-1].test_accuracy >= 0.9, (amp, run.history[-1])


def test_evaluation_agrees_with_scikit_learn(digits):
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

    from pipeline.dl_eval import evaluate

    run = dl.train(digits, dl.TrainSettings(epochs=2, batch_size=64), "cpu")
    result = evaluate(digits, run, most_mistakes=5)
    predicted = run.probabilities.argmax(axis=1)
    assert result.summary["accuracy"] == pytest.approx(accuracy_score(digits.y_test, predicted))
    assert result.summary["accuracy"] == pytest.approx(run.history[-1].test_accuracy)
    assert (result.confusion.to_numpy() == confusion_matrix(digits.y_test, predicted)).all()
    report = classification_report(digits.y_test, predicted, output_dict=True, zero_division=0)
    for row in result.per_class.itertuples():
        assert row.precision == pytest.approx(report[row._1]["precision"])
        assert row.recall == pytest.approx(report[row._1]["recall"])
        assert row.support == report[row._1]["support"]
    assert set(result.pr_curves["series"]) == set(digits.classes)
    mistakes = result.mistakes
    assert len(mistakes) == min(5, int((predicted != digits.y_test).sum()))
    assert list(mistakes["confidence"]) == sorted(mistakes["confidence"], reverse=True)
    for row in mistakes.itertuples():
        assert row.true != row.predicted and row.true == digits.classes[digits.y_test[row.position]]


def test_histories_compare_save_and_load(digits):
    from pipeline.dl_eval import comparison, histories_json, history_frame, load_histories

    runs = {
        "first": dl.train(digits, dl.TrainSettings(epochs=2, batch_size=64), "cpu"),
        "second": dl.train(digits, dl.TrainSettings(epochs=2, batch_size=256), "cpu"),
    }
    table = comparison(runs)
    assert list(table["run"]) == ["first", "second"] and table["speed-up"].iloc[0] == 1.0
    assert table["speed-up"].iloc[1] == pytest.approx(table["s per epoch"].iloc[0] / table["s per epoch"].iloc[1])
    loaded = load_histories(histories_json(runs, "digits"), "saved.json")
    assert list(loaded) == ["first (saved.json)", "second (saved.json)"]
    curves = history_frame(loaded)
    assert len(curves) == 2 * 2 * 4 and set(curves["kind"]) == {"loss", "accuracy"}
    for text, message in (
        ("not json", "saved.json is not JSON"),
        ('{"schema": "other"}', "not a training history saved from this page"),
        ('{"schema": "gpu-pipeline-lab/dl-history", "runs": {"x": {"history": [{"epoch": "one"}]}}}', "damaged"),
        ('{"schema": "gpu-pipeline-lab/dl-history", "runs": {}}', "holds no runs"),
    ):
        with pytest.raises(DataError, match=message):
            load_histories(text, "saved.json")


def test_a_run_without_a_finished_epoch_cannot_be_evaluated(digits):
    from pipeline.dl_eval import evaluate

    with pytest.raises(DataError, match="no finished epoch to evaluate"):
        evaluate(digits, dl.TrainRun("cpu", dl.TrainSettings()))


def test_throughput_is_measured_per_batch_size(digits):
    rows = dl.throughput(digits, dl.TrainSettings(), "cpu", [32, 256, 5000])
    assert [row["batch_size"] for row in rows] == [32, 256, 5000]
    assert all(row["samples_per_s"] > 0 and row["error"] is None for row in rows[:2])
    assert rows[2]["samples_per_s"] is None and "larger than the 1,437 training rows" in rows[2]["error"]
