"""The models suite: fit every algorithm of the Models page on generated tables, scikit-learn against cuML.

Each question times one fit (and k-NN one predict) on features prepared once per engine,
outside the clock (during the warm-up run). Its answer is the task's headline metric on the
test rows, and engines agree when their metrics lie within `METRIC_TOLERANCE` of each
other: the libraries compute the same model, not the same bits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.bench.questions import Answer, Question, Workspace
from pipeline.models import metrics
from pipeline.models.algorithms import ALGORITHMS, CLASSIFICATION, CLUSTERING, EMBEDDING, REGRESSION, Algorithm
from pipeline.models.features import FeatureSpec, Prepared, prepare

TABLES = {CLASSIFICATION: "classification", REGRESSION: "regression", CLUSTERING: "blobs", EMBEDDING: "blobs"}
TARGETS = {"classification": "target", "regression": "target", "blobs": "cluster"}
SLOW = {"svc", "hdbscan", "tsne", "umap"}
SLOW_ROWS = 50_000
METRIC_TOLERANCE = 0.05
SETTINGS = {"kmeans": {"n_clusters": 8}, "dbscan": {"eps": 6.0}}  # 8 blobs; eps 6 separates them once standardised


def rows_for(algorithm: Algorithm) -> int | None:
    """Algorithms whose cost grows faster than n log n run on the first 50,000 rows (None: every row)."""
    return SLOW_ROWS if algorithm.key in SLOW else None


def prepared(w: Workspace, algorithm: Algorithm) -> Prepared:
    """The algorithm's features on this engine, prepared once and kept with the workspace's tables."""
    cap = rows_for(algorithm)
    key = f"prepared:{algorithm.task}:{cap}:{algorithm.non_negative}"
    if key not in w.tables:
        table = TABLES[algorithm.task]
        frame = w[table] if cap is None else w[table].head(cap)
        target = TARGETS[table] if algorithm.task != EMBEDDING else None
        features = tuple(c for c in frame.columns if c != TARGETS[table])
        spec = FeatureSpec(algorithm.task, features, target, non_negative=algorithm.non_negative)
        w.tables[key] = prepare(w.engine, frame, spec)
    return w.tables[key]


def _fit(algorithm: Algorithm) -> Callable[[Workspace], Any]:
    def run(w: Workspace) -> tuple[Any, Prepared]:
        data = prepared(w, algorithm)
        estimator = algorithm.build(w.engine.name, SETTINGS.get(algorithm.key))
        if algorithm.task in (CLASSIFICATION, REGRESSION):
            return estimator.fit(data.x_train, data.y_train), data
        method = estimator.fit_predict if algorithm.task == CLUSTERING else estimator.fit_transform
        return method(data.x_train), data

    return run


def headline(algorithm: Algorithm, output: Any, data: Prepared, predicted: bool = False) -> Answer:
    """Rows scored and the task's headline metric (accuracy, R², silhouette or trustworthiness)."""
    host = data.engine.to_numpy
    if algorithm.task in (CLASSIFICATION, REGRESSION):
        predictions = host(output if predicted else output.predict(data.x_test))
        truth = host(data.y_test)
        if algorithm.task == CLASSIFICATION:
            value = metrics.classification(truth, predictions.astype("int64"), None, len(data.classes))["accuracy"]
        else:
            value = metrics.regression(truth, predictions)["R²"]
        return Answer(len(truth), (float(value),))
    x = host(data.x_train)
    if algorithm.task == CLUSTERING:
        value = metrics.clustering(x, host(output).astype("int64"))["silhouette"]
    else:
        value = metrics.embedding(x, host(output))["trustworthiness"]
    return Answer(len(x), (float("nan") if value is None else float(value),))


def _fit_question(algorithm: Algorithm) -> Question:
    cap = rows_for(algorithm)
    where = f" on the first {cap:,} rows" if cap else ""
    return Question(
        "models",
        f"{algorithm.key} fit",
        f"fit {algorithm.label}{where}",
        _fit(algorithm),
        lambda result, _engine, algorithm=algorithm: headline(algorithm, *result),
        tolerance=METRIC_TOLERANCE,
    )


def _knn_predict(w: Workspace) -> tuple[Any, Prepared]:
    algorithm = ALGORITHMS["knn_classifier"]
    data = prepared(w, algorithm)
    key = "fitted:knn_classifier"
    if key not in w.tables:
        w.tables[key] = algorithm.build(w.engine.name).fit(data.x_train, data.y_train)
    return w.tables[key].predict(data.x_test), data


MODEL_QUESTIONS = [
    *[_fit_question(algorithm) for algorithm in ALGORITHMS.values()],
    Question(
        "models",
        "knn_classifier predict",
        "predict the test rows with k-nearest neighbours",
        _knn_predict,
        lambda result, _engine: headline(ALGORITHMS["knn_classifier"], *result, predicted=True),
        tolerance=METRIC_TOLERANCE,
    ),
]
