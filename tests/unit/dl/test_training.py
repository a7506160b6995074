"""pipeline.dl.training with the real PyTorch (CPU build here; `gpu` tests on CUDA): checks, training, histories."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.datasets import load_iris

from pipeline.dl import training as dl
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


def test_a_tables_worst_residuals_come_with_the_rows_as_loaded(iris):
    from pipeline.dl.evaluation import evaluate

    frame = iris.rename(columns={"sepal length (cm)": "residual"})
    data = dl.table_data(frame, "target", list(frame.columns[:4]), "iris")
    run = dl.train(data, dl.TrainSettings(epochs=3, batch_size=16), "cpu")
    worst = evaluate(data, run, most_worst=10).worst
    assert "residual (feature)" in worst.columns, "a feature named like a result column is told apart"
    assert list(worst["residual"]) == sorted(worst["residual"], reverse=True)
    for row in worst.to_dict("records"):
        loaded = data.test_rows.iloc[row["position"]]
        assert row["residual (feature)"] == loaded["residual"] and row["petal width (cm)"] == loaded["petal width (cm)"]
        assert str(data.test_rows["target"].iloc[row["position"]]) == row["true"]


def test_batches_are_reported_every_n_and_their_time_is_not_counted(digits):
    import time

    seen, spent = [], []

    def slow(record):
        seen.append(record)
        start = time.perf_counter()
        time.sleep(0.2)  # an epoch's own work takes about 0.1 s here: 1 s of callbacks would dwarf it
        spent.append(time.perf_counter() - start)

    started = time.perf_counter()
    run = dl.train(digits, dl.TrainSettings(epochs=2, batch_size=64), "cpu", on_batches=slow, report_every=5)
    wall = time.perf_counter() - started
    batches = math.ceil(1437 / 64)
    assert seen == run.batches and [r.batch for r in run.batches[:5]] == [5, 10, 15, 20, batches]
    assert [r.step for r in run.batches] == [e * batches + b for e in (0, 1) for b in (5, 10, 15, 20, batches)]
    assert all(0 <= r.accuracy <= 1 and r.loss > 0 and r.samples_per_s > 0 for r in run.batches)
    assert run.batches[-1].loss < run.batches[0].loss
    # the epochs' times leave the callbacks' out, however slow the machine: they fit in what the callbacks left
    epochs = sum(record.seconds for record in run.history)
    assert epochs <= wall - sum(spent) + 0.05, "the 2 s spent in callbacks are left out of the epochs' times"
    default = dl.train(digits, dl.TrainSettings(epochs=1, batch_size=16), "cpu")
    assert [r.batch for r in default.batches][:2] == [9, 18] and default.batches[-1].batch == 90, "ten an epoch"


def test_a_run_held_by_the_caller_is_filled_in_as_it_trains(digits):
    held = dl.TrainRun("cpu", dl.TrainSettings(epochs=3, batch_size=64))
    lengths = []
    returned = dl.train(digits, held.settings, "cpu", on_epoch=lambda _: lengths.append(len(held.history)), into=held)
    assert returned is held and held.finished and lengths == [1, 2, 3]
    assert held.probabilities is not None and len(held.batches) == 3 * 12, "23 batches: every 2nd and the last"


def test_device_use_is_sampled_while_training_on_the_cpu(digits):
    run = dl.train(digits, dl.TrainSettings(epochs=2, batch_size=16), "cpu")
    assert run.usage_note is None
    for record in run.history:
        assert 0 < record.busy_percent <= 100 and 50 < record.memory_mib < 64 * 1024


def test_the_sampler_weights_readings_by_time_and_survives_a_failing_reader():
    import time

    from pipeline.engines.usage import UsageSampler

    readings = iter([(100.0, 2**20), (0.0, 3 * 2**20)])
    with UsageSampler(lambda: next(readings), interval_s=60) as sampler:
        sampler.take()  # 100 % over a moment
        time.sleep(0.2)
        usage = sampler.take()  # 0 % over 0.2 s
    assert usage.busy_percent == 0.0 and usage.memory_mib == 3.0
    with UsageSampler(lambda: 1 / 0, interval_s=0.01) as failing:
        time.sleep(0.05)
        assert failing.take().busy_percent is None
    assert "ZeroDivisionError" in failing.failure
    assert UsageSampler(None).take().busy_percent is None


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
    reason = dl.torch_missing_reason()
    assert f"`{dl.this_python()} -m pip install -r requirements-dl.txt`" in reason, "this server's own pip"
    assert "`pip install" not in reason
    with pytest.raises(DataError, match="PyTorch is not installed"):
        dl.devices()


def _cuda() -> None:
    if not torch.cuda.is_available():
        pytest.skip("torch sees no CUDA device")


@pytest.mark.gpu
@pytest.mark.device("CUDA torch")
def test_the_cnn_trains_on_cuda_with_and_without_amp(digits):
    _cuda()
    for amp in (False, True):
        run = dl.train(digits, dl.TrainSettings(epochs=5, batch_size=32, amp=amp), "cuda")
        assert run.error is None and run.history[-1].test_accuracy >= 0.9, (amp, run.history[-1])
        assert run.usage_note is None, run.usage_note
        for record in run.history:
            assert 0 <= record.busy_percent <= 100 and record.memory_mib > 0, record


@pytest.mark.gpu
@pytest.mark.device("CUDA torch")
def test_evaluation_agrees_between_cuda_and_cpu_runs(digits):
    from sklearn.metrics import accuracy_score, confusion_matrix

    from pipeline.dl.evaluation import evaluate

    _cuda()
    settings = dl.TrainSettings(epochs=5, batch_size=32, seed=3)
    results = {device: (run := dl.train(digits, settings, device), evaluate(digits, run)) for device in ("cpu", "cuda")}
    for run, result in results.values():
        predicted = run.probabilities.argmax(axis=1)
        assert result.summary["accuracy"] == pytest.approx(accuracy_score(digits.y_test, predicted))
        assert (result.confusion.to_numpy() == confusion_matrix(digits.y_test, predicted)).all()
    (cpu, cpu_result), (cuda, cuda_result) = results["cpu"], results["cuda"]
    assert abs(cpu_result.summary["accuracy"] - cuda_result.summary["accuracy"]) <= 0.03
    assert np.abs(cpu.probabilities - cuda.probabilities).max() < 0.1, "same seed, same start: close outputs"


def test_evaluation_agrees_with_scikit_learn(digits):
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

    from pipeline.dl.evaluation import evaluate

    run = dl.train(digits, dl.TrainSettings(epochs=2, batch_size=64), "cpu")
    result = evaluate(digits, run, most_worst=5)
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
    worst = result.worst
    p_true = run.probabilities[np.arange(len(digits.y_test)), digits.y_test]
    assert len(worst) == 5 and list(worst["p(true)"]) == sorted(p_true)[:5]
    assert np.allclose(worst["residual"], 1 - worst["p(true)"])
    for row in worst.to_dict("records"):
        assert row["true"] == digits.classes[digits.y_test[row["position"]]]
        assert row["predicted"] == digits.classes[predicted[row["position"]]]
        assert row["correct"] == (row["true"] == row["predicted"])


def test_histories_compare_save_and_load(digits):
    from pipeline.dl.evaluation import comparison, histories_json, history_frame, load_histories

    runs = {
        "first": dl.train(digits, dl.TrainSettings(epochs=2, batch_size=64), "cpu"),
        "second": dl.train(digits, dl.TrainSettings(epochs=2, batch_size=256), "cpu"),
    }
    table = comparison(runs)
    assert list(table["run"]) == ["first", "second"] and table["speed-up"].iloc[0] == 1.0
    assert table["speed-up"].iloc[1] == pytest.approx(table["s per epoch"].iloc[0] / table["s per epoch"].iloc[1])
    assert "speed-up" not in comparison({"first": runs["first"]}).columns, "one run: no speed-up of 1.00×"
    loaded = load_histories(histories_json(runs, "digits"), "saved.json")
    assert list(loaded) == ["first (saved.json)", "second (saved.json)"]
    curves = history_frame(loaded)
    assert len(curves) == 2 * 2 * 6 and set(curves["kind"]) == {"loss", "accuracy", "samples/s", "device busy %"}
    first = curves[(curves["run"] == "first (saved.json)") & (curves["epoch"] == 2)].set_index("kind")
    record = runs["first"].history[1]
    assert first.loc["samples/s", "value"] == record.samples_per_s and first.loc["samples/s", "set"] == "device"
    assert first.loc["device busy %", "value"] == record.busy_percent
    older = [{k: v for k, v in r.items() if k != "busy_percent"} for r in runs["first"].records()]
    assert "device busy %" not in set(history_frame({"older": older})["kind"]), "files saved before it was measured"
    for text, message in (
        ("not json", "saved.json is not valid JSON"),
        ('{"schema": "other"}', "not a training history saved from this page"),
        ('{"schema": "gpu-pipeline-lab/dl-history", "runs": {"x": {"history": [{"epoch": "one"}]}}}', "damaged"),
        ('{"schema": "gpu-pipeline-lab/dl-history", "runs": {}}', "holds no runs"),
    ):
        with pytest.raises(DataError, match=message):
            load_histories(text, "saved.json")


def test_a_run_without_a_finished_epoch_cannot_be_evaluated(digits):
    from pipeline.dl.evaluation import evaluate

    with pytest.raises(DataError, match="no finished epoch to evaluate"):
        evaluate(digits, dl.TrainRun("cpu", dl.TrainSettings()))


def test_throughput_is_measured_per_batch_size(digits):
    rows = dl.throughput(digits, dl.TrainSettings(), "cpu", [32, 256, 5000])
    assert [row["batch_size"] for row in rows] == [32, 256, 5000]
    assert all(row["samples_per_s"] > 0 and 0 < row["busy_percent"] <= 100 and row["error"] is None for row in rows[:2])
    assert rows[2]["samples_per_s"] is None and "larger than the 1,437 training rows" in rows[2]["error"]


def _table(rows: int, features: int) -> dl.DlData:
    x = np.random.default_rng(0).random((rows + 8, features), dtype="float32")
    y = (x[:, 0] > 0.5).astype("int64")
    return dl.DlData("wide", x[:rows], y[:rows], x[rows:], y[rows:], ["0", "1"])


@pytest.mark.gpu
@pytest.mark.device("CUDA torch filling the device memory")
def test_gpu_out_of_memory_is_a_message_with_a_way_forward():
    _cuda()
    data = _table(4096, 4096)  # 64 MiB of training features; a batch of all rows copies them once more
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info()
    hog = torch.empty(free - 96 * 2**20, dtype=torch.uint8, device="cuda")  # leave about 96 MiB free
    try:
        whole = dl.train(data, dl.TrainSettings(epochs=1, batch_size=4096), "cuda")
        small = dl.train(data, dl.TrainSettings(epochs=1, batch_size=64), "cuda")
        more = torch.empty(80 * 2**20, dtype=torch.uint8, device="cuda")  # now even the data does not fit
        none = dl.train(data, dl.TrainSettings(epochs=1, batch_size=64), "cuda")
        del more
    finally:
        del hog
        torch.cuda.empty_cache()
    assert (
        whole.error and "out of memory with batches of 4,096. Choose a smaller batch size (e.g. 1,024)" in whole.error
    )
    assert small.error is None and len(small.history) == 1, "the smaller batch size it suggests trains"
    assert none.error and "do not fit in the GPU's free memory. Train on the CPU" in none.error


def test_the_throughput_benchmark_writes_figures_for_both_networks(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "dl.json"
    command = [sys.executable, "-m", "benchmarks.dl_throughput", "--batch-sizes", "64,5000", "--repeats", "1"]
    finished = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    report = json.loads(out.read_text())
    cpu = [row for row in report["results"] if row["device"] == "cpu"]
    assert [(row["model"], row["batch_size"]) for row in cpu] == [
        ("CNN (digits 8x8)", 64),
        ("CNN (digits 8x8)", 5000),
        ("MLP (20,000 x 32 table)", 64),
        ("MLP (20,000 x 32 table)", 5000),
    ]
    for row in (cpu[0], cpu[2], cpu[3]):
        assert row["samples_per_s"] > 0 and 0 < row["busy_percent"] <= 100 and row["error"] is None
    assert cpu[1]["samples_per_s"] is None and "larger than the 1,437 training rows" in cpu[1]["error"]
    assert "| CNN (digits 8x8) | cpu | off | 64 |" in finished.stdout
