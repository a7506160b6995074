"""Train one algorithm on one engine with the shared timer: preparation, fit, predict and the copy back apart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from pipeline.engines import REFERENCE, Engine, failure_message
from pipeline.errors import DataError
from pipeline.models import metrics
from pipeline.models.algorithms import CLASSIFICATION, CLUSTERING, EMBEDDING, REGRESSION, Algorithm, algorithms_for
from pipeline.models.features import FeatureSpec, Prepared, prepare
from pipeline.steps.memory import check_fits, model_need
from pipeline.timing import clock, speedups


@dataclass
class ModelRun:
    """One algorithm on one engine: seconds per phase, host copies of its outputs, metrics, or the error."""

    engine: Engine
    algorithm: Algorithm
    settings: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    predictions: np.ndarray | None = None
    scores: np.ndarray | None = None
    y_test: np.ndarray | None = None  # targets of the test rows; for clustering, the reference labels
    importances: np.ndarray | None = None
    feature_names: list[str] = field(default_factory=list)
    classes: list[Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    x_view: np.ndarray | None = None  # clustering: the rows on the first two principal components, for a scatter
    dropped_rows: int = 0  # rows left out because their target was missing
    baseline: dict[str, Any] = field(default_factory=dict)  # supervised: the metrics of a constant guess
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def fit_seconds(self) -> float | None:
        return self.seconds.get("fit")


def _scores(estimator: Any, x: Any) -> Any | None:
    """Class probabilities where the estimator gives them, else its decision function, else None."""
    for method in ("predict_proba", "decision_function"):
        if hasattr(estimator, method):
            try:
                return getattr(estimator, method)(x)
            except (AttributeError, NotImplementedError, ValueError):
                continue
    return None


def _importances(estimator: Any) -> Any | None:
    """Feature importances (forests) or coefficients (linear models), one value per feature."""
    for attribute in ("feature_importances_", "coef_"):
        value = getattr(estimator, attribute, None)
        if value is not None:
            return value
    return None


def train(
    engine: Engine, frame: Any, spec: FeatureSpec, algorithm: Algorithm, settings: dict[str, Any] | None = None
) -> ModelRun:
    """Prepare features on the engine, fit, predict (or cluster / embed) and score; errors are recorded."""
    checked = algorithm.settings(settings)
    run = ModelRun(engine, algorithm, checked)
    sync = engine.synchronize
    try:
        rows = engine.row_count(frame)
        need = model_need(algorithm.key, rows, len(spec.features))
        check_fits(engine, need, f"Training {algorithm.label} on {rows:,} rows", "model")
        estimator = algorithm.build(engine.name, checked)  # before preparing: an algorithm Dask lacks says so at once
        with engine.active():
            prepared, run.seconds["prepare"] = clock(lambda: prepare(engine, frame, spec), sync)
            limit, classes = algorithm.max_classes.get(engine.name), len(prepared.classes or [])
            if limit and classes > limit:
                raise DataError(
                    f"{algorithm.label} on {engine.label} learns at most {limit} classes; {spec.target!r} has "
                    f"{classes}. Choose a target with {limit} classes, or train it on the CPU or GPU engine."
                )
            _fit_and_score(run, estimator, prepared)
    except Exception as error:  # shown with the run; other engines go on
        run.error = failure_message(engine, f"training {algorithm.label}", error)
    finally:
        engine.release_memory()
    return run


def _fit_and_score(run: ModelRun, estimator: Any, prepared: Prepared) -> None:
    engine, task, sync = prepared.engine, run.algorithm.task, prepared.engine.synchronize
    run.feature_names, run.classes, run.dropped_rows = prepared.feature_names, prepared.classes, prepared.dropped_rows
    if task in (CLASSIFICATION, REGRESSION):
        _, run.seconds["fit"] = clock(lambda: estimator.fit(prepared.x_train, prepared.y_train), sync)
        output, run.seconds["predict"] = clock(lambda: engine.persist(estimator.predict(prepared.x_test)), sync)
        scores = _scores(estimator, prepared.x_test) if task == CLASSIFICATION else None
    else:
        method = _fit_predict if task == CLUSTERING else type(estimator).fit_transform
        output, run.seconds["fit"] = clock(lambda: engine.persist(method(estimator, prepared.x_train)), sync)
        scores = None

    def to_host() -> None:
        run.predictions = engine.to_numpy(output)
        run.scores = None if scores is None else engine.to_numpy(scores)
        truth = prepared.y_test if task in (CLASSIFICATION, REGRESSION) else prepared.y_train
        run.y_test = None if truth is None else engine.to_numpy(truth)

    _, run.seconds["to host"] = clock(to_host, sync)
    importances = _importances(estimator)
    if importances is not None:
        run.importances = np.atleast_2d(engine.to_numpy(importances)).astype("float64")
    x_host = None
    if task in (CLUSTERING, EMBEDDING):  # a Dask engine brings only the first rows here, for the metrics
        x_rows = prepared.x_train[:HOST_METRIC_ROWS] if engine.lazy else prepared.x_train
        x_host = engine.to_numpy(x_rows)
        run.predictions, run.y_test = (None if a is None else a[: len(x_host)] for a in (run.predictions, run.y_test))
    run.metrics = score(task, run, x_host)
    if task in (CLASSIFICATION, REGRESSION):
        run.baseline = baseline_metrics(task, engine.to_numpy(prepared.y_train), run)
    if task == CLUSTERING:
        run.x_view = principal_plane(x_host)


def baseline_metrics(task: str, y_train: np.ndarray, run: ModelRun) -> dict[str, Any]:
    """The metrics of the constant guess a model must beat: the training rows' most frequent class, or their mean."""
    if task == CLASSIFICATION:
        codes = y_train.astype("int64")
        guess = np.full(len(run.y_test), np.bincount(codes).argmax(), dtype="int64")
        return metrics.classification(run.y_test, guess, None, len(run.classes or []))
    return metrics.regression(run.y_test, np.full(len(run.y_test), float(np.mean(y_train))))


BASELINE_LABEL = {CLASSIFICATION: "baseline: most frequent class", REGRESSION: "baseline: mean of the target"}


def _fit_predict(estimator: Any, x: Any) -> Any:
    """The cluster of every row; dask-ml's k-means has no fit_predict but keeps the labels it found."""
    if hasattr(estimator, "fit_predict"):
        return estimator.fit_predict(x)
    return estimator.fit(x).labels_


def principal_plane(x: np.ndarray) -> np.ndarray:
    """Rows projected on the two leading principal components (one column when there is one feature)."""
    centred = x.astype("float64") - x.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    return centred @ vectors[:, ::-1][:, : min(2, x.shape[1])]


def score(task: str, run: ModelRun, x: np.ndarray | None) -> dict[str, Any]:
    """The task's metrics from the run's host arrays."""
    if task == CLASSIFICATION:
        predictions = run.predictions.astype("int64")
        return metrics.classification(run.y_test, predictions, run.scores, len(run.classes or []))
    if task == REGRESSION:
        return metrics.regression(run.y_test, run.predictions)
    if task == CLUSTERING:
        return metrics.clustering(x, run.predictions.astype("int64"), run.y_test)
    return metrics.embedding(x, run.predictions)


HEADLINE = {
    CLASSIFICATION: "accuracy",
    REGRESSION: "R²",
    CLUSTERING: "silhouette",
    EMBEDDING: "trustworthiness",
}
SCALING_SHARES = (0.1, 0.25, 0.5, 1.0)
HOST_METRIC_ROWS = 100_000  # rows of a Dask engine's clustering or embedding brought here to be scored
Progress = Callable[[float, str], None]


def train_everywhere(
    copies: dict[str, tuple[Engine, Any]],
    spec: FeatureSpec,
    algorithm: Algorithm,
    settings: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, ModelRun]:
    """The same algorithm and settings on every engine's own copy of the table, by engine name."""
    report = progress or (lambda _fraction, _message: None)
    runs = {}
    for i, (name, (engine, frame)) in enumerate(copies.items()):
        report(i / len(copies), f"Training {algorithm.label} on {engine.label}…")
        runs[name] = train(engine, frame, replace(spec, non_negative=algorithm.non_negative), algorithm, settings)
    report(1.0, "Done")
    return runs


def compared_row(algorithm: Algorithm, runs: dict[str, ModelRun], headline: str) -> dict[str, Any]:
    """One algorithm's row of the leaderboard: per engine its headline metric, fit and predict seconds and error;
    the other engines' fit speed-ups over the reference engine where more than one engine ran."""
    row: dict[str, Any] = {"algorithm": algorithm.label}
    for run in runs.values():
        row[f"{run.engine.label} {headline}"] = run.metrics.get(headline)
        row[f"{run.engine.label} fit (s)"] = run.fit_seconds
        if "predict" in run.seconds:
            row[f"{run.engine.label} predict (s)"] = run.seconds["predict"]
        row[f"{run.engine.label} error"] = run.error or ""
    fits = {name: run.fit_seconds for name, run in runs.items()}
    for name, ratio in speedups(fits, REFERENCE).items():
        if ratio is not None:
            row[f"{runs[name].engine.label} speed-up (fit)"] = ratio
    return row


def compare_rows(
    copies: dict[str, tuple[Engine, Any]], spec: FeatureSpec, progress: Progress | None = None
) -> Iterator[dict[str, Any]]:
    """Every algorithm of the task with default settings on every engine, one leaderboard row at a time (so a page
    can keep what is done and stop between algorithms); a supervised task ends with the baseline's row."""
    report = progress or (lambda _fraction, _message: None)
    algorithms = algorithms_for(spec.task)
    headline = HEADLINE[spec.task]
    baseline: dict[str, Any] = {}
    for i, algorithm in enumerate(algorithms):
        report(i / len(algorithms), f"{algorithm.label} ({i + 1} of {len(algorithms)})")
        runs = train_everywhere(copies, spec, algorithm)
        for run in runs.values():
            if run.baseline and run.engine.label not in baseline:
                baseline[run.engine.label] = run.baseline.get(headline)
        yield compared_row(algorithm, runs, headline)
    report(1.0, "Done")
    if baseline:
        yield {"algorithm": BASELINE_LABEL[spec.task], **{f"{e} {headline}": v for e, v in baseline.items()}}


def leaderboard(rows: list[dict[str, Any]], task: str) -> pd.DataFrame:
    """The rows best first by the first engine's headline metric (higher is better for every task's headline)."""
    table = pd.DataFrame(rows)
    scored = [c for c in table.columns if c.endswith(f" {HEADLINE[task]}")]
    if scored:
        table = table.sort_values(scored[0], ascending=False, na_position="last", kind="stable")
    return table.reset_index(drop=True)


def compare_all(
    copies: dict[str, tuple[Engine, Any]], spec: FeatureSpec, progress: Progress | None = None
) -> pd.DataFrame:
    """The whole leaderboard: every algorithm of the task (and the baseline), best first."""
    return leaderboard(list(compare_rows(copies, spec, progress)), spec.task)


def scaling_curve(
    copies: dict[str, tuple[Engine, Any]],
    spec: FeatureSpec,
    algorithm: Algorithm,
    settings: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Fit seconds on the first 10%, 25%, 50% and all rows, per engine (columns: series, rows, seconds)."""
    report = progress or (lambda _fraction, _message: None)
    points = []
    copies = {name: copy for name, copy in copies.items() if not copy[0].lazy}  # head() reads one partition
    for i, share in enumerate(SCALING_SHARES):
        subset = {
            name: (engine, frame.head(max(int(len(frame) * share), 20))) for name, (engine, frame) in copies.items()
        }
        report(i / len(SCALING_SHARES), f"{share:.0%} of the rows")
        for run in train_everywhere(subset, spec, algorithm, settings).values():
            if run.ok:
                rows = len(subset[run.engine.name][1])
                points.append({"series": run.engine.label, "rows": rows, "seconds": run.fit_seconds})
    report(1.0, "Done")
    return pd.DataFrame(points, columns=["series", "rows", "seconds"])
