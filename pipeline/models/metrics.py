"""Model metrics from one implementation for every engine: scikit-learn's metrics on host arrays.

scikit-learn is imported when a metric is computed, not with this module, which the Models and Benchmark pages and
`python -m pipeline.bench` import whatever they go on to run.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SILHOUETTE_ROWS = 10_000
TRUSTWORTHINESS_ROWS = 2_000


def _sample(rows: int, limit: int, seed: int = 0) -> np.ndarray:
    """Row positions: all of them, or `limit` drawn without replacement (seeded)."""
    if rows <= limit:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, limit, replace=False))


def classification(y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None, n_classes: int) -> dict:
    """Accuracy, balanced accuracy and macro F1 always; ROC AUC from scores; log loss from probabilities."""
    from sklearn import metrics

    found = {
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "balanced accuracy": metrics.balanced_accuracy_score(y_true, y_pred),
        "F1 (macro)": metrics.f1_score(y_true, y_pred, average="macro", zero_division=0),
        "ROC AUC": None,
        "log loss": None,
    }
    if scores is None or len(np.unique(y_true)) < 2:
        return found
    labels = np.arange(n_classes)
    probabilities = scores.ndim == 2 and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3) and scores.min() >= 0
    if n_classes == 2:
        positive = scores[:, 1] if scores.ndim == 2 else scores
        found["ROC AUC"] = metrics.roc_auc_score(y_true, positive)
    elif probabilities and len(np.unique(y_true)) == n_classes:
        found["ROC AUC"] = metrics.roc_auc_score(y_true, scores, multi_class="ovr", labels=labels)
    if probabilities:
        found["log loss"] = metrics.log_loss(y_true, np.clip(scores, 1e-15, 1.0), labels=labels)
    return found


def regression(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    from sklearn import metrics

    return {
        "R²": metrics.r2_score(y_true, y_pred),
        "RMSE": math.sqrt(metrics.mean_squared_error(y_true, y_pred)),
        "MAE": metrics.mean_absolute_error(y_true, y_pred),
    }


def clustering(x: np.ndarray, labels: np.ndarray, truth: np.ndarray | None = None) -> dict:
    """Clusters found, noise share (label -1), silhouette on up to 10,000 rows, adjusted Rand against `truth`."""
    from sklearn import metrics

    clusters = len(set(labels.tolist()) - {-1})
    rows = _sample(len(labels), SILHOUETTE_ROWS)
    found = {
        "clusters": clusters,
        "noise share": float(np.mean(labels == -1)),
        "silhouette": None,
        "adjusted Rand": None,
    }
    if 2 <= len(np.unique(labels[rows])) < len(rows):
        found["silhouette"] = metrics.silhouette_score(x[rows], labels[rows])
    if truth is not None:
        found["adjusted Rand"] = metrics.adjusted_rand_score(truth, labels)
    return found


def embedding(x: np.ndarray, embedded: np.ndarray, neighbours: int = 5) -> dict:
    """Trustworthiness (how well local neighbourhoods survive) on up to 2,000 rows."""
    from sklearn.manifold import trustworthiness

    rows = _sample(len(x), TRUSTWORTHINESS_ROWS)
    k = min(neighbours, max(len(rows) // 2 - 1, 1))
    return {"trustworthiness": trustworthiness(x[rows], embedded[rows], n_neighbors=k)}


def agreement(task: str, left: np.ndarray, right: np.ndarray) -> dict:
    """How alike two engines' outputs are: equal labels, the same partition, or correlated values."""
    if task == "classification":
        return {"equal predictions": float(np.mean(left == right))}
    if task == "clustering":
        from sklearn.metrics import adjusted_rand_score

        return {"same partition (adjusted Rand)": adjusted_rand_score(left, right)}
    if task == "regression":
        return {"correlation of predictions": float(np.corrcoef(left, right)[0, 1])}
    return {}


CURVE_POINTS = 200


def _thin(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    """At most `limit` evenly spaced points of a curve, first and last kept."""
    if len(frame) <= limit:
        return frame
    keep = np.unique(np.linspace(0, len(frame) - 1, limit).round().astype(int))
    return frame.iloc[keep]


def curves(y_true: np.ndarray, scores: np.ndarray | None, classes: list) -> dict[str, pd.DataFrame]:
    """ROC (fpr, tpr) and precision-recall (recall, precision) points per class, one-vs-rest, ≤ 200 points each.

    Binary tasks give one curve (the second class as positive); empty frames when there are no scores.
    """
    from sklearn import metrics

    empty = {"roc": pd.DataFrame(columns=["class", "x", "y"]), "pr": pd.DataFrame(columns=["class", "x", "y"])}
    if scores is None:
        return empty
    columns = scores[:, None] if scores.ndim == 1 else scores
    positives = [1] if len(classes) == 2 else range(len(classes))
    roc, pr = [], []
    for k in positives:
        truth = y_true == k
        if truth.all() or not truth.any():
            continue
        score = columns[:, -1] if columns.shape[1] == 1 else columns[:, k]
        fpr, tpr, _ = metrics.roc_curve(truth, score)
        precision, recall, _ = metrics.precision_recall_curve(truth, score)
        name = str(classes[k])
        roc.append(_thin(pd.DataFrame({"class": name, "x": fpr, "y": tpr}), CURVE_POINTS))
        pr.append(_thin(pd.DataFrame({"class": name, "x": recall, "y": precision}), CURVE_POINTS))
    if not roc:
        return empty
    return {"roc": pd.concat(roc, ignore_index=True), "pr": pd.concat(pr, ignore_index=True)}
