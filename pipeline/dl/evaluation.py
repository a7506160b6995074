"""A trained network judged on its test set, and training histories as tidy tables and JSON (no torch needed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.dl.training import DlData, TrainRun
from pipeline.errors import DataError
from pipeline.models import metrics
from pipeline.tables.visitor_json import parse_json
from pipeline.timing import speedups

HISTORY_SCHEMA = "gpu-pipeline-lab/dl-history"
CURVE_METRICS = {"train_loss": "loss", "test_loss": "loss", "train_accuracy": "accuracy", "test_accuracy": "accuracy"}
CURVES = {  # measure in an epoch's record: (set, kind) on the chart
    **{measure: (measure.split("_")[0], kind) for measure, kind in CURVE_METRICS.items()},
    "samples_per_s": ("device", "samples/s"),
    "busy_percent": ("device", "device busy %"),
}


@dataclass
class Evaluation:
    summary: dict[str, float | None]  # accuracy, balanced accuracy, macro F1, ROC AUC, log loss
    per_class: pd.DataFrame  # class, precision, recall, F1, support
    confusion: pd.DataFrame  # rows: true class, columns: predicted class
    pr_curves: pd.DataFrame  # series, x (recall), y (precision)
    worst: pd.DataFrame  # test rows by residual 1 - p(true class), largest first: position, true, predicted, …


def evaluate(data: DlData, run: TrainRun, most_worst: int = 24) -> Evaluation:
    """The last epoch's test-set predictions scored with scikit-learn's metrics."""
    from sklearn import metrics as sk

    if run.probabilities is None:
        raise DataError("This run has no finished epoch to evaluate (it was stopped or failed). Train it again.")
    truth, probabilities = data.y_test, run.probabilities
    predicted = probabilities.argmax(axis=1)
    labels = np.arange(len(data.classes))
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    per_class = pd.DataFrame(
        {"class": data.classes, "precision": precision, "recall": recall, "F1": f1, "support": support}
    )
    confusion = pd.DataFrame(
        sk.confusion_matrix(truth, predicted, labels=labels), index=data.classes, columns=data.classes
    )
    pr = metrics.curves(truth, probabilities, data.classes)["pr"].rename(columns={"class": "series"})
    summary = metrics.classification(truth, predicted, probabilities, len(data.classes))
    return Evaluation(summary, per_class, confusion, pr, worst_residuals(data, probabilities, most_worst))


def worst_residuals(data: DlData, probabilities: np.ndarray, count: int) -> pd.DataFrame:
    """The `count` test rows the model got most wrong: residual 1 - p(true class), largest first; a table's rows
    come with their feature values as loaded."""
    truth, predicted = data.y_test, probabilities.argmax(axis=1)
    p_true = probabilities[np.arange(len(truth)), truth]
    order = np.argsort(p_true, kind="stable")[:count]
    worst = pd.DataFrame(
        {
            "position": order,
            "true": [data.classes[k] for k in truth[order]],
            "predicted": [data.classes[k] for k in predicted[order]],
            "p(true)": p_true[order],
            "residual": 1 - p_true[order],
            "correct": predicted[order] == truth[order],
        }
    )
    if data.test_rows is None:
        return worst
    features = data.test_rows[data.feature_names].iloc[order].reset_index(drop=True)
    features.columns = [f"{name} (feature)" if name in worst.columns else name for name in features.columns]
    return pd.concat([worst, features], axis=1)


def history_frame(histories: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """Tidy curves for charts: one row per run, epoch, set and measure (columns: run, epoch, set, kind, value);
    training throughput and the device's busy share are measures of set "device", where they were measured."""
    rows = [
        {"run": name, "epoch": record["epoch"], "set": set_name, "kind": kind, "value": record.get(measure)}
        for name, history in histories.items()
        for record in history
        for measure, (set_name, kind) in CURVES.items()
        if isinstance(record.get(measure), (int, float))
    ]
    return pd.DataFrame(rows, columns=["run", "epoch", "set", "kind", "value"])


def batches_frame(runs: dict[str, TrainRun], most_per_run: int = 600) -> pd.DataFrame:
    """Tidy training loss and accuracy every few batches, as `history_frame` has them per epoch (columns: run,
    step, set, kind, value); a run with more reports keeps `most_per_run` of them, evenly spread."""
    rows = []
    for name, run in runs.items():
        kept = np.unique(np.linspace(0, len(run.batches) - 1, min(len(run.batches), most_per_run)).round().astype(int))
        for record in (run.batches[k] for k in kept):
            for kind in ("loss", "accuracy"):
                rows.append(
                    {"run": name, "step": record.step, "set": "train", "kind": kind, "value": getattr(record, kind)}
                )
    return pd.DataFrame(rows, columns=["run", "step", "set", "kind", "value"])


def comparison(runs: dict[str, TrainRun]) -> pd.DataFrame:
    """Per run: epochs, median seconds per epoch, total seconds, samples/s, final test accuracy, median busy share
    and peak memory of the device (where measured), and with more than one run, each one's speed-up over the
    first."""
    rows = []
    for name, run in runs.items():
        if not run.history:
            continue
        rows.append(
            {
                "run": name,
                "epochs": len(run.history),
                "s per epoch": float(np.median([r.seconds for r in run.history])),
                "total s": run.seconds,
                "samples/s": float(np.median([r.samples_per_s for r in run.history])),
                "test accuracy": run.history[-1].test_accuracy,
                "busy %": _median([r.busy_percent for r in run.history]),
                "peak memory MiB": max((r.memory_mib for r in run.history if r.memory_mib is not None), default=None),
            }
        )
    table = pd.DataFrame(rows)
    if len(table) > 1:
        epoch = dict(zip(table["run"], table["s per epoch"], strict=True))
        first = table["run"].iloc[0]
        table["speed-up"] = [1.0, *speedups(epoch, first).values()]
    return table


def _median(values: list[float | None]) -> float | None:
    measured = [value for value in values if value is not None]
    return float(np.median(measured)) if measured else None


def histories_json(runs: dict[str, TrainRun], dataset: str) -> str:
    """Runs saved for later overlays (settings and per-epoch history; never the model)."""
    return json.dumps(
        {"schema": HISTORY_SCHEMA, "dataset": dataset, "runs": {n: r.history_dict() for n, r in runs.items()}},
        indent=2,
    )


def load_histories(text: str, source: str) -> dict[str, list[dict[str, Any]]]:
    """Histories saved by `histories_json`, by run name; anything else is a DataError naming `source`."""
    document = parse_json(text, source, "a file saved from this page")
    if not isinstance(document, dict) or document.get("schema") != HISTORY_SCHEMA:
        raise DataError(f"{source} is not a training history saved from this page (no schema {HISTORY_SCHEMA!r}).")
    loaded = {}
    for name, run in (document.get("runs") or {}).items():
        history = run.get("history") if isinstance(run, dict) else None
        if not isinstance(history, list) or not all(
            isinstance(r, dict) and all(isinstance(r.get(m), (int, float)) for m in ("epoch", *CURVE_METRICS))
            for r in history
        ):
            raise DataError(f"Run {name!r} in {source} has a damaged history. Save it again from this page.")
        loaded[f"{name} ({source})"] = history
    if not loaded:
        raise DataError(f"{source} holds no runs.")
    return loaded
