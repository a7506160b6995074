"""A trained network judged on its test set, and training histories as tidy tables and JSON (no torch needed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as sk

from pipeline import metrics
from pipeline.dl import DlData, TrainRun
from pipeline.errors import DataError

HISTORY_SCHEMA = "gpu-pipeline-lab/dl-history"
CURVE_METRICS = {"train_loss": "loss", "test_loss": "loss", "train_accuracy": "accuracy", "test_accuracy": "accuracy"}


@dataclass
class Evaluation:
    summary: dict[str, float | None]  # accuracy, balanced accuracy, macro F1, ROC AUC, log loss
    per_class: pd.DataFrame  # class, precision, recall, F1, support
    confusion: pd.DataFrame  # rows: true class, columns: predicted class
    pr_curves: pd.DataFrame  # series, x (recall), y (precision)
    mistakes: pd.DataFrame  # position in the test set, true, predicted, confidence; most confident first


def evaluate(data: DlData, run: TrainRun, most_mistakes: int = 24) -> Evaluation:
    """The last epoch's test-set predictions scored with scikit-learn's metrics."""
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
    wrong = np.flatnonzero(predicted != truth)
    confidence = probabilities[wrong, predicted[wrong]]
    order = np.argsort(-confidence, kind="stable")[:most_mistakes]
    mistakes = pd.DataFrame(
        {
            "position": wrong[order],
            "true": [data.classes[k] for k in truth[wrong[order]]],
            "predicted": [data.classes[k] for k in predicted[wrong[order]]],
            "confidence": confidence[order],
        }
    )
    summary = metrics.classification(truth, predicted, probabilities, len(data.classes))
    return Evaluation(summary, per_class, confusion, pr, mistakes)


def history_frame(histories: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """Tidy curves for charts: one row per run, epoch, set and measure (columns: run, epoch, set, kind, value)."""
    rows = [
        {"run": name, "epoch": record["epoch"], "set": measure.split("_")[0], "kind": kind, "value": record[measure]}
        for name, history in histories.items()
        for record in history
        for measure, kind in CURVE_METRICS.items()
    ]
    return pd.DataFrame(rows, columns=["run", "epoch", "set", "kind", "value"])


def comparison(runs: dict[str, TrainRun]) -> pd.DataFrame:
    """Per run: epochs, median seconds per epoch, total seconds, samples/s, final test accuracy, speed-up."""
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
            }
        )
    table = pd.DataFrame(rows)
    if len(table):
        table["speed-up"] = table["s per epoch"].iloc[0] / table["s per epoch"]
    return table


def histories_json(runs: dict[str, TrainRun], dataset: str) -> str:
    """Runs saved for later overlays (settings and per-epoch history; never the model)."""
    return json.dumps(
        {"schema": HISTORY_SCHEMA, "dataset": dataset, "runs": {n: r.history_dict() for n, r in runs.items()}},
        indent=2,
    )


def load_histories(text: str, source: str) -> dict[str, list[dict[str, Any]]]:
    """Histories saved by `histories_json`, by run name; anything else is a DataError naming `source`."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{source} is not JSON ({error}). Load a file saved from this page.") from error
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
