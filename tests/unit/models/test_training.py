"""Models: the registry, feature preparation, training on the CPU, metrics against hand-computed cases, bad input."""

from __future__ import annotations

import inspect
import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn import metrics as skm

from pipeline.data.bundled import bundled_frame
from pipeline.engines import CPU, GPU, get_engine
from pipeline.errors import DataError
from pipeline.models import metrics
from pipeline.models.algorithms import (
    ALGORITHMS,
    CLASSIFICATION,
    CLUSTERING,
    EMBEDDING,
    REGRESSION,
    TASKS,
    algorithms_for,
)
from pipeline.models.card import card_json, model_card, predictions_frame
from pipeline.models.features import FeatureSpec, prepare
from pipeline.models.training import compare_all, scaling_curve, train

REQUIRED = {
    CLASSIFICATION: {"logistic_regression", "random_forest_classifier", "knn_classifier", "svc", "multinomial_nb"},
    REGRESSION: {"linear_regression", "ridge", "lasso", "elastic_net", "random_forest_regressor", "knn_regressor"},
    CLUSTERING: {"kmeans", "dbscan", "hdbscan"},
    EMBEDDING: {"pca", "truncated_svd", "tsne", "umap"},
}


def features_of(frame: pd.DataFrame, target: str = "target") -> tuple[str, ...]:
    return tuple(c for c in frame.columns if c != target)


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    return bundled_frame("iris")


@pytest.fixture(scope="module")
def diabetes() -> pd.DataFrame:
    return bundled_frame("diabetes")


def test_every_task_has_its_algorithms_with_both_libraries_and_a_mapping():
    for task, keys in REQUIRED.items():
        assert {a.key for a in algorithms_for(task)} == keys
    for algorithm in ALGORITHMS.values():
        assert algorithm.task in TASKS
        assert algorithm.sklearn.split(".")[0] in ("sklearn", "umap") and algorithm.cuml.startswith("cuml.")
        for param in algorithm.params:
            assert param.check(param.default) == param.default, f"{algorithm.key}.{param.name} default in range"
            assert param.keyword(CPU) and param.keyword(GPU)
        if algorithm.cpu_package:
            continue
        keywords = set(inspect.signature(algorithm.estimator_class(CPU)).parameters)
        mapped = {p.keyword(CPU) for p in algorithm.params} | set(algorithm.fixed.get(CPU, {}))
        assert mapped <= keywords, f"{algorithm.key}: scikit-learn has no {mapped - keywords}"


def test_settings_are_checked_by_name_and_range():
    forest = ALGORITHMS["random_forest_classifier"]
    assert forest.settings({"n_estimators": 10})["n_estimators"] == 10
    for given, says in (
        ({"n_estimators": 0}, "between 1 and 5000"),
        ({"n_estimators": 2.5}, "whole number"),
        ({"n_estimators": "many"}, "must be a number"),
        ({"depth": 3}, "no setting depth"),
    ):
        with pytest.raises(DataError, match=says):
            forest.settings(given)
    with pytest.raises(DataError, match="one of rbf, linear"):
        ALGORITHMS["svc"].settings({"kernel": "poly"})


@pytest.mark.parametrize("key", sorted(k for k in ALGORITHMS if ALGORITHMS[k].task == CLASSIFICATION))
def test_classifiers_learn_iris(key, iris):
    algorithm = ALGORITHMS[key]
    spec = FeatureSpec(
        CLASSIFICATION, features_of(iris), "target", test_fraction=0.3, non_negative=algorithm.non_negative
    )
    run = train(get_engine(CPU), iris, spec, algorithm)
    assert run.ok, run.error
    # naive Bayes treats measurements as counts: it finds setosa but mixes up the other two species on
    # this split (0.59; 0.95 in scikit-learn's stratified 5-fold cross-validation of the same model)
    floor = 0.5 if key == "multinomial_nb" else 0.85
    assert run.metrics["accuracy"] > floor and run.metrics["F1 (macro)"] > floor - 0.1
    assert run.classes == ["setosa", "versicolor", "virginica"]
    assert {"fit", "predict", "prepare", "to host"} <= set(run.seconds)
    if key in ("logistic_regression", "random_forest_classifier"):
        assert run.metrics["ROC AUC"] > 0.95 and 0 < run.metrics["log loss"] < 1
        assert run.importances.shape[-1] == 4


@pytest.mark.parametrize("key", sorted(k for k in ALGORITHMS if ALGORITHMS[k].task == REGRESSION))
def test_regressors_explain_diabetes(key, diabetes):
    spec = FeatureSpec(REGRESSION, features_of(diabetes), "target")
    run = train(get_engine(CPU), diabetes, spec, ALGORITHMS[key])
    assert run.ok, run.error
    assert 0.2 < run.metrics["R²"] < 0.7, "the diabetes data explains about a third to a half of the variance"
    assert run.metrics["RMSE"] >= run.metrics["MAE"] > 0


def test_kmeans_finds_the_iris_species_and_embeddings_keep_neighbours(iris):
    spec = FeatureSpec(CLUSTERING, features_of(iris), "target")
    run = train(get_engine(CPU), iris, spec, ALGORITHMS["kmeans"], {"n_clusters": 3})
    assert run.ok and run.metrics["clusters"] == 3
    assert run.metrics["adjusted Rand"] > 0.5 and run.metrics["silhouette"] > 0.3
    for key in ("pca", "truncated_svd", "tsne"):
        embedded = train(get_engine(CPU), iris, FeatureSpec(EMBEDDING, features_of(iris)), ALGORITHMS[key])
        assert embedded.ok and embedded.predictions.shape == (150, 2)
        assert embedded.metrics["trustworthiness"] > 0.9


def test_dbscan_noise_is_not_counted_as_a_cluster():
    """Two tight groups and two far-off points: DBSCAN finds 2 clusters and leaves the 2 outliers as noise (-1)."""
    rng = np.random.default_rng(0)
    points = np.vstack([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2)), [[20.0, -20.0], [-20.0, 20.0]]])
    frame = pd.DataFrame(points, columns=["u", "v"])
    spec = FeatureSpec(CLUSTERING, ("u", "v"))
    run = train(get_engine(CPU), frame, spec, ALGORITHMS["dbscan"], {"eps": 0.5, "min_samples": 3})
    assert run.ok, run.error
    assert sorted(set(run.predictions.tolist())) == [-1, 0, 1]
    assert (run.metrics["clusters"], run.metrics["noise share"]) == (2, 2 / 42)


def silhouette_by_hand(x: list[float], labels: list[int]) -> float:
    """Mean over points of (b - a) / max(a, b): a the mean distance to the rest of its group, b to the nearest other
    group; 0 for a point alone in its group (Rousseeuw 1987)."""
    scores = []
    for point, label in zip(x, labels, strict=True):
        groups: dict[int, list[float]] = {}
        for other, other_label in zip(x, labels, strict=True):
            groups.setdefault(other_label, []).append(abs(point - other))
        own = groups.pop(label)
        if len(own) == 1:
            scores.append(0.0)
            continue
        a, b = sum(own) / (len(own) - 1), min(sum(d) / len(d) for d in groups.values())
        scores.append((b - a) / max(a, b))
    return sum(scores) / len(scores)


def test_clustering_metrics_with_noise_labels():
    """Noise (-1) is not a cluster: it has its own share; the silhouette scores it as one more group, as scikit-learn's
    DBSCAN example does, and is undefined when every point is noise."""
    x, labels = [0.0, 1.0, 10.0, 11.0, 30.0, 40.0], [0, 0, 1, 1, -1, -1]
    found = metrics.clustering(np.array(x)[:, None], np.array(labels))
    assert (found["clusters"], found["noise share"]) == (2, 2 / 6)
    assert found["silhouette"] == pytest.approx(silhouette_by_hand(x, labels), rel=1e-12)
    only_noise = metrics.clustering(np.array(x)[:, None], np.full(6, -1))
    assert (only_noise["clusters"], only_noise["noise share"], only_noise["silhouette"]) == (0, 1.0, None)


def test_umap_without_umap_learn_says_how_to_add_it(iris):
    pytest.importorskip("sklearn")
    try:
        import umap  # noqa: F401
    except ImportError:
        run = train(get_engine(CPU), iris, FeatureSpec(EMBEDDING, features_of(iris)), ALGORITHMS["umap"])
        assert run.error == "UMAP on the CPU needs umap-learn: `pip install umap-learn`."
    else:
        pytest.skip("umap-learn is installed here")


def test_preparation_encodes_text_fills_gaps_and_splits_the_same_rows():
    frame = pd.DataFrame(
        {
            "size": [1.0, None, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0] * 5,
            "colour": ["red", "blue", None, "red", "green"] * 10,
            "flag": [True, False] * 25,
            "label": ["yes", "no"] * 25,
        }
    )
    spec = FeatureSpec(CLASSIFICATION, ("size", "colour", "flag"), "label", test_fraction=0.3)
    prepared = prepare(get_engine(CPU), frame, spec)
    assert prepared.feature_names == ["size", "colour=blue", "colour=green", "colour=red", "flag=False", "flag=True"]
    assert prepared.x_train.dtype == np.float32 and not np.isnan(prepared.x_train).any()
    assert len(prepared.x_train) + len(prepared.x_test) == 50 and len(prepared.x_test) > 5
    assert abs(float(np.concatenate([prepared.x_train, prepared.x_test])[:, 0].mean())) < 1e-6, "standardised"
    again = prepare(get_engine(CPU), frame, spec)
    assert np.array_equal(prepared.y_test, again.y_test), "the seeded split picks the same rows"
    assert prepared.classes == ["no", "yes"]


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (FeatureSpec(CLASSIFICATION, ()), "at least one feature"),
        (FeatureSpec(CLASSIFICATION, ("a",)), "needs a target"),
        (FeatureSpec(CLASSIFICATION, ("a", "y"), "y"), "cannot also be a feature"),
        (FeatureSpec(CLASSIFICATION, ("nope",), "y"), "'nope' is not in this dataset"),
        (FeatureSpec(REGRESSION, ("a",), "text"), "numeric target"),
        (FeatureSpec(CLASSIFICATION, ("when",), "y"), "date"),
        (FeatureSpec(CLASSIFICATION, ("a",), "one"), "one class"),
        (FeatureSpec(CLASSIFICATION, ("a",), "y", test_fraction=0.9), "between 5% and 50%"),
        (FeatureSpec(CLASSIFICATION, ("a",), "gaps"), "too few to split"),
    ],
)
def test_bad_choices_are_refused_with_the_reason(spec, says):
    frame = pd.DataFrame(
        {
            "a": np.arange(20.0),
            "y": [0, 1] * 10,
            "text": ["x"] * 20,
            "one": ["same"] * 20,
            "when": pd.date_range("2024-01-01", periods=20),
            "gaps": [1.0] + [None] * 19,
        }
    )
    with pytest.raises(DataError, match=says):
        prepare(get_engine(CPU), frame, spec)


def test_rows_without_a_target_are_left_out_and_counted(iris):
    gappy = iris.assign(target=iris["target"].where(iris.index % 10 != 0))
    run = train(get_engine(CPU), gappy, FeatureSpec(CLASSIFICATION, features_of(iris), "target"), ALGORITHMS["svc"])
    assert run.ok and run.dropped_rows == 15


def test_an_algorithm_that_fails_is_recorded_not_raised(iris):
    spec = FeatureSpec(CLUSTERING, features_of(iris))
    run = train(get_engine(CPU), iris, spec, ALGORITHMS["kmeans"], {"n_clusters": 1000})
    assert not run.ok and "n_samples=150 should be >= n_clusters=1000" in run.error


def test_metrics_match_hand_computed_cases():
    truth = np.array([0, 0, 1, 1])
    found = metrics.classification(
        truth, np.array([0, 1, 1, 1]), np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]]), 2
    )
    assert found["accuracy"] == 0.75
    assert found["balanced accuracy"] == 0.75  # recall 1/2 for class 0, 2/2 for class 1
    assert found["ROC AUC"] == 1.0  # every positive scores above every negative
    assert math.isclose(found["log loss"], -np.mean(np.log([0.9, 0.4, 0.8, 0.7])))
    regression = metrics.regression(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert math.isclose(regression["RMSE"], math.sqrt(4 / 3)) and math.isclose(regression["MAE"], 2 / 3)
    assert math.isclose(regression["R²"], 1 - 4 / 2)
    same = metrics.agreement(CLUSTERING, np.array([0, 0, 1, 1]), np.array([5, 5, 7, 7]))
    assert same["same partition (adjusted Rand)"] == 1.0, "cluster ids may differ between engines"
    assert metrics.agreement(CLASSIFICATION, truth, np.array([0, 1, 1, 1]))["equal predictions"] == 0.75


def test_model_card_and_predictions_hold_what_a_reader_needs(iris):
    spec = FeatureSpec(CLASSIFICATION, features_of(iris), "target")
    runs = {CPU: train(get_engine(CPU), iris, spec, ALGORITHMS["logistic_regression"], {"C": 2.0})}
    card = json.loads(card_json(model_card("iris", 150, spec, runs)))
    assert card["schema"] == "gpu-pipeline-lab/model-card" and card["version"] == 1
    assert card["data"]["target"] == "target" and card["data"]["rows"] == 150
    assert card["algorithm"]["settings"]["C"] == 2.0 and card["algorithm"]["cuML"].startswith("cuml.")
    assert set(card["engines"][CPU]["seconds"]) >= {"fit", "predict"}
    assert card["engines"][CPU]["metrics"]["accuracy"] == runs[CPU].metrics["accuracy"]
    assert card["environment"]["machine"]["logical_cores"] >= 1 and card["agreement"] == {}
    predictions = predictions_frame(runs)
    assert list(predictions.columns) == ["actual", "cpu prediction"]
    assert set(predictions["actual"]) <= {"setosa", "versicolor", "virginica"}
    assert len(predictions) == len(runs[CPU].y_test)


def test_roc_and_precision_recall_points_per_class(iris):
    spec = FeatureSpec(CLASSIFICATION, features_of(iris), "target")
    run = train(get_engine(CPU), iris, spec, ALGORITHMS["logistic_regression"])
    found = metrics.curves(run.y_test, run.scores, run.classes)
    assert set(found["roc"]["class"]) == {"setosa", "versicolor", "virginica"}
    for points in found.values():
        assert points["x"].between(0, 1).all() and points["y"].between(0, 1).all()
    binary = metrics.curves(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]), ["no", "yes"])
    assert set(binary["roc"]["class"]) == {"yes"}
    assert binary["roc"][["x", "y"]].iloc[-1].tolist() == [1.0, 1.0]
    assert metrics.curves(run.y_test, None, run.classes)["roc"].empty


def test_scaling_curve_and_compare_all_on_the_cpu(iris):
    copies = {CPU: (get_engine(CPU), iris)}
    spec = FeatureSpec(REGRESSION, ("sepal width (cm)", "petal length (cm)"), "sepal length (cm)")
    curve = scaling_curve(copies, spec, ALGORITHMS["ridge"])
    assert curve["rows"].tolist() == [20, 37, 75, 150] and (curve["seconds"] > 0).all()
    table = compare_all(copies, spec)
    assert set(table["algorithm"]) == {a.label for a in algorithms_for(REGRESSION)} | {"baseline: mean of the target"}
    assert table["CPU (pandas) R²"].is_monotonic_decreasing, "best first"
    assert table.iloc[-1]["algorithm"] == "baseline: mean of the target"
    assert table.iloc[-1]["CPU (pandas) R²"] == pytest.approx(0.0, abs=0.1), "the mean guess scores about 0"
    assert (table["CPU (pandas) R²"].iloc[:-1] > 0.3).all()


TOLERANCE = {CLASSIFICATION: ("accuracy", 0.1), REGRESSION: ("R²", 0.05), EMBEDDING: ("trustworthiness", 0.05)}


@pytest.mark.gpu
@pytest.mark.parametrize("key", sorted(ALGORITHMS))
def test_every_algorithm_on_cuml_scores_like_scikit_learn(key, iris, diabetes):
    algorithm = ALGORITHMS[key]
    frame = diabetes if algorithm.task == REGRESSION else iris
    target = "target" if algorithm.task in (CLASSIFICATION, REGRESSION, CLUSTERING) else None
    spec = FeatureSpec(algorithm.task, features_of(frame), target, non_negative=algorithm.non_negative)
    settings = {"n_clusters": 3} if key == "kmeans" else {}
    gpu = get_engine(GPU)
    gpu_run = train(gpu, gpu.from_arrow(pa.Table.from_pandas(frame, preserve_index=False)), spec, algorithm, settings)
    assert gpu_run.ok, gpu_run.error
    cpu_run = train(get_engine(CPU), frame, spec, algorithm, settings)
    if algorithm.cpu_package and not cpu_run.ok:
        assert gpu_run.metrics["trustworthiness"] > 0.9
        return
    assert cpu_run.ok, cpu_run.error
    if algorithm.task == CLUSTERING:
        same = metrics.agreement(CLUSTERING, cpu_run.predictions, gpu_run.predictions)
        assert same["same partition (adjusted Rand)"] > 0.8
        return
    name, tolerance = TOLERANCE[algorithm.task]
    assert abs(gpu_run.metrics[name] - cpu_run.metrics[name]) <= tolerance, (cpu_run.metrics, gpu_run.metrics)
    if algorithm.task == CLASSIFICATION:
        assert metrics.agreement(CLASSIFICATION, cpu_run.predictions, gpu_run.predictions)["equal predictions"] > 0.8
    if algorithm.task == REGRESSION:
        assert (
            metrics.agreement(REGRESSION, cpu_run.predictions, gpu_run.predictions)["correlation of predictions"] > 0.9
        )


def test_classification_metrics_name_the_ones_the_scores_cannot_give():
    """Without scores, or with decision scores that are not probabilities, ROC AUC (multiclass) and log loss are
    None under their names; binary decision scores still rank the positives."""
    truth, guess = np.array([0, 1, 1, 2, 2, 0]), np.array([0, 1, 2, 2, 2, 1])
    expected = {
        "accuracy": skm.accuracy_score(truth, guess),
        "balanced accuracy": skm.balanced_accuracy_score(truth, guess),
        "F1 (macro)": skm.f1_score(truth, guess, average="macro"),
        "ROC AUC": None,
        "log loss": None,
    }
    assert metrics.classification(truth, guess, None, 3) == expected
    # rows summing to 1.3-1.5: SVC-like decision scores, not probabilities
    decision = np.array(
        [[0.9, 0.3, 0.3], [0.2, 1.1, 0.4], [0.1, 0.7, 0.6], [0.0, 0.2, 1.3], [0.3, 0.2, 1.0], [1.2, 0.2, 0.1]]
    )
    assert metrics.classification(truth, guess, decision, 3) == expected
    binary, scores = np.array([0, 0, 1, 1, 0]), np.array([0.1, 0.4, 0.35, 0.8, 0.2])  # one score per row
    found = metrics.classification(binary, np.array([0, 1, 0, 1, 0]), scores, 2)
    assert found["ROC AUC"] == skm.roc_auc_score(binary, scores) and found["log loss"] is None


def test_log_loss_of_float32_probabilities_counts_every_class_the_model_knows():
    """cuML's float32 probabilities sum to one only within float32 rounding; a class missing from the test rows still
    has its column, so log loss is scikit-learn's with every label (ROC AUC needs every class present)."""
    truth = np.array([0, 1, 1, 0])
    probabilities = np.array([[0.7, 0.2, 0.1002], [0.1, 0.8, 0.1002], [0.2, 0.3, 0.5002], [0.6, 0.3, 0.1002]])
    probabilities = probabilities.astype(np.float32)  # rows sum to 1.0002
    found = metrics.classification(truth, np.array([0, 1, 1, 0]), probabilities, 3)
    assert found["log loss"] == pytest.approx(skm.log_loss(truth, probabilities, labels=[0, 1, 2]), rel=1e-6)
    assert found["ROC AUC"] is None


def test_log_loss_of_a_certain_model_rounded_past_one_is_zero():
    """float32 rounding may leave a certain prediction a hair above 1, which scikit-learn refuses as no probability:
    clipped to 1, a model certain and right has no loss beyond float32 rounding."""
    truth = np.array([0, 1, 1])
    probabilities = np.array([[1.0002, 0.0], [0.0, 1.0002], [0.0, 1.0002]], dtype=np.float32)
    found = metrics.classification(truth, truth, probabilities, 2)
    assert found["log loss"] == pytest.approx(0.0, abs=1e-6) and found["ROC AUC"] == 1.0


def test_clustering_metrics_of_two_clusters_and_of_one_point_per_cluster():
    """Two clusters without noise have a silhouette (scikit-learn's); one point per cluster has none; the adjusted
    Rand needs the true groups."""
    x, labels = np.array([[0.0], [1.0], [3.0], [10.0], [11.0], [15.0]]), np.array([0, 0, 0, 1, 1, 1])
    assert metrics.clustering(x, labels) == {
        "clusters": 2,
        "noise share": 0.0,
        "silhouette": pytest.approx(skm.silhouette_score(x, labels), rel=1e-12),
        "adjusted Rand": None,
    }
    truth = np.array([0, 0, 1, 1, 2, 2])
    alone = metrics.clustering(x, np.arange(6), truth)
    assert alone["clusters"] == 6 and alone["silhouette"] is None
    assert alone["adjusted Rand"] == skm.adjusted_rand_score(truth, np.arange(6))


@pytest.mark.parametrize(("rows", "neighbours"), [(4, 1), (10, 4), (14, 5), (40, 5)])
def test_trustworthiness_counts_five_neighbours_or_fewer_on_small_tables(rows, neighbours):
    """Five neighbours, fewer where the table is too small for them (under half the rows)."""
    from sklearn.manifold import trustworthiness

    rng = np.random.default_rng(rows)
    x = rng.normal(size=(rows, 3))
    embedded = x[:, :2] + rng.normal(scale=0.5, size=(rows, 2))
    expected = trustworthiness(x, embedded, n_neighbors=neighbours)
    assert metrics.embedding(x, embedded)["trustworthiness"] == pytest.approx(expected, rel=1e-12)


def test_trustworthiness_of_a_large_table_is_on_a_seeded_sample_of_distinct_rows():
    """Over 2,000 rows: the same 2,000 distinct rows every time (seed 0), so engines are scored on the same rows."""
    from sklearn.manifold import trustworthiness

    rng = np.random.default_rng(1)
    x = rng.normal(size=(2_001, 1))
    embedded = x + rng.normal(size=(2_001, 1))
    rows = np.sort(np.random.default_rng(0).choice(2_001, 2_000, replace=False))
    expected = trustworthiness(x[rows], embedded[rows], n_neighbors=5)
    assert metrics.embedding(x, embedded)["trustworthiness"] == pytest.approx(expected, rel=1e-12)


def test_regression_agreement_is_the_correlation_of_the_two_engines_predictions():
    left, right = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 1.8, 3.6, 3.9])
    found = metrics.agreement(REGRESSION, left, right)
    assert found == {"correlation of predictions": pytest.approx(float(np.corrcoef(left, right)[0, 1]), rel=1e-12)}
    assert found["correlation of predictions"] < 1
    assert metrics.agreement(EMBEDDING, left[:, None], right[:, None]) == {}, "no agreement measure for embeddings"


def test_curves_without_scores_are_empty_frames_with_their_columns():
    found = metrics.curves(np.array([0, 1, 1]), None, ["no", "yes"])
    assert list(found) == ["roc", "pr"]
    assert [list(points.columns) for points in found.values()] == [["class", "x", "y"]] * 2
    assert all(points.empty for points in found.values())


def test_a_long_curve_is_thinned_to_200_evenly_spaced_points_keeping_both_ends():
    """The second class is the positive one; its precision-recall curve (one point per distinct score) is thinned."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 600)
    scores = truth * 0.3 + rng.random(600)
    found = metrics.curves(truth, scores, ["no", "yes"])
    precision, recall, _ = skm.precision_recall_curve(truth == 1, scores)
    full = pd.DataFrame({"class": "yes", "x": recall, "y": precision})
    assert len(full) > 500 and len(found["pr"]) == 200
    assert found["pr"].iloc[[0, -1]].reset_index(drop=True).equals(full.iloc[[0, -1]].reset_index(drop=True))
    positions = np.linspace(0, len(full) - 1, 200).round().astype(int)
    pd.testing.assert_frame_equal(found["pr"], full.iloc[positions].reset_index(drop=True))


def test_curves_per_class_use_each_class_s_scores_and_skip_classes_absent_from_the_rows():
    """One-vs-rest per class present in the rows, each from its own score column, one frame with a fresh index."""
    truth = np.array([1, 2, 1, 2, 2, 1])  # class 0 ("a") absent
    scores = np.array(
        [[0.1, 0.6, 0.3], [0.2, 0.3, 0.5], [0.3, 0.4, 0.3], [0.1, 0.5, 0.4], [0.2, 0.1, 0.7], [0.5, 0.3, 0.2]]
    )
    found = metrics.curves(truth, scores, ["a", "b", "c"])
    roc, pr = [], []
    for k, name in ((1, "b"), (2, "c")):
        fpr, tpr, _ = skm.roc_curve(truth == k, scores[:, k])
        precision, recall, _ = skm.precision_recall_curve(truth == k, scores[:, k])
        roc.append(pd.DataFrame({"class": name, "x": fpr, "y": tpr}))
        pr.append(pd.DataFrame({"class": name, "x": recall, "y": precision}))
    pd.testing.assert_frame_equal(found["roc"], pd.concat(roc, ignore_index=True))
    pd.testing.assert_frame_equal(found["pr"], pd.concat(pr, ignore_index=True))
    binary = metrics.curves(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]), ["no", "yes"])
    fpr, tpr, _ = skm.roc_curve(np.array([0, 0, 1, 1]) == 1, np.array([0.1, 0.4, 0.35, 0.8]))
    pd.testing.assert_frame_equal(binary["roc"], pd.DataFrame({"class": "yes", "x": fpr, "y": tpr}))
