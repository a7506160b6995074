"""The algorithms the Models page trains: each with its scikit-learn and cuML estimator and one set of settings.

A setting (`Param`) is named once and mapped to each library's keyword, with its range
checked before anything is built. Where the two libraries differ (split finding, solvers,
defaults), the difference is fixed explicitly on both sides and written in `notes`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from pipeline.engines import CPU, GPU
from pipeline.engines.dask import DASK_CPU, DASK_GPU
from pipeline.errors import DataError

CLASSIFICATION, REGRESSION, CLUSTERING, EMBEDDING = "classification", "regression", "clustering", "embedding"
TASKS = {
    CLASSIFICATION: "Classification",
    REGRESSION: "Regression",
    CLUSTERING: "Clustering",
    EMBEDDING: "Dimensionality reduction",
}
SEED = 0


@dataclass(frozen=True)
class Param:
    """One setting shared by both libraries: its range and the keyword each library calls it by."""

    name: str
    label: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    sklearn: str | None = None
    cuml: str | None = None
    help: str = ""

    def keyword(self, engine: str) -> str:
        """The library's keyword; by default the same name on both sides (dask-ml names them as scikit-learn,
        cuML's Dask estimators as cuML)."""
        given = self.sklearn if engine in (CPU, DASK_CPU) else self.cuml
        return given or self.name

    def accepts(self, value: Any) -> bool:
        """Whether `value` is a valid setting as it stands: one of the choices, or of the default's type in range."""
        try:
            return self.check(value) == value and type(value) is type(self.default)
        except DataError:
            return False

    def check(self, value: Any) -> Any:
        """The value in the type of the default, or a DataError naming the setting and its range."""
        if self.choices is not None:
            if value not in self.choices:
                raise DataError(f"{self.label} must be one of {', '.join(map(str, self.choices))}; got {value!r}.")
            return value
        kind = type(self.default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DataError(f"{self.label} must be a number; got {value!r}.")
        if kind is int and float(value) != int(value):
            raise DataError(f"{self.label} must be a whole number; got {value!r}.")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise DataError(f"{self.label} must be between {self.low:g} and {self.high:g}; got {value:g}.")
        return kind(value)


ESTIMATOR_LIBRARY = {CPU: "scikit-learn", GPU: "cuML", DASK_CPU: "dask-ml", DASK_GPU: "cuML"}


@dataclass(frozen=True)
class Algorithm:
    """An algorithm on both engines: the estimator classes by import path, shared and fixed settings.

    `fixed` holds keywords set on one side only (by engine name) so that both sides do the
    same thing, e.g. a single CUDA stream for a reproducible forest.
    """

    key: str
    label: str
    task: str
    sklearn: str
    cuml: str
    params: tuple[Param, ...] = ()
    fixed: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: str = ""
    cpu_package: str | None = None
    non_negative: bool = False
    dask_cpu: str | None = None  # dask-ml's estimator, where it has one
    dask_gpu: str | None = None  # cuML's Dask (multi-GPU) estimator, where it has one
    max_classes: dict[str, int] = field(default_factory=dict)  # by engine, where its estimator learns fewer

    def settings(self, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every setting checked, defaults filled in; unknown names are refused."""
        given = dict(given or {})
        known = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise DataError(f"{self.label} has no setting {', '.join(unknown)}; it has {', '.join(known) or 'none'}.")
        return {name: param.check(given.get(name, param.default)) for name, param in known.items()}

    def estimator_path(self, engine: str) -> str | None:
        """Where the engine's estimator is imported from; None where a Dask engine has none."""
        return {CPU: self.sklearn, GPU: self.cuml, DASK_CPU: self.dask_cpu, DASK_GPU: self.dask_gpu}[engine]

    def estimator_class(self, engine: str) -> type:
        """The estimator class for an engine; a DataError says how to install a missing library, or which
        algorithms a Dask engine trains instead."""
        path = self.estimator_path(engine)
        if path is None:
            others = [a.label for a in algorithms_for(self.task) if a.estimator_path(engine)]
            instead = f"on Dask it trains {', '.join(others)}" if others else "no algorithm of this task runs on Dask"
            raise DataError(
                f"{self.label} needs a single machine ({ESTIMATOR_LIBRARY[engine]} has no "
                f"distributed version): {instead}. Train it on the CPU or GPU engine, or on a sample of the data."
            )
        module, _, name = path.rpartition(".")
        try:
            return getattr(importlib.import_module(module), name)
        except ImportError as error:
            package, where = {CPU: (self.cpu_package, "the CPU"), DASK_CPU: ("dask-ml", "Dask")}.get(engine, (None, ""))
            if package:
                raise DataError(f"{self.label} on {where} needs {package}: `pip install {package}`.") from error
            raise DataError(f"{self.label} is not available on {engine.upper()}: {error}.") from error

    def build(self, engine: str, given: dict[str, Any] | None = None) -> Any:
        """A fresh estimator for `engine` (scikit-learn, cuML, dask-ml or cuML's Dask one) with the checked
        settings."""
        if engine not in (CPU, GPU, DASK_CPU, DASK_GPU):
            raise DataError(f"Unknown engine {engine!r} for models: choose {CPU}, {GPU}, {DASK_CPU} or {DASK_GPU}.")
        return self.estimator_class(engine)(**self.keywords(engine, given))

    def keywords(self, engine: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """The estimator's keyword arguments on `engine`: the checked settings by the library's names, and the
        keywords fixed for that engine."""
        settings = {self.param(name).keyword(engine): value for name, value in self.settings(given).items()}
        return {**settings, **self.fixed.get(engine, {})}

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)


def _seeded(**extra: Any) -> dict[str, dict[str, Any]]:
    return {CPU: {"random_state": SEED, **extra.get(CPU, {})}, GPU: {"random_state": SEED, **extra.get(GPU, {})}}


C = Param("C", "Inverse regularisation C", 1.0, 1e-6, 1e6)
MAX_ITER = Param("max_iter", "Maximum iterations", 1000, 1, 100_000)
TOL = Param("tol", "Tolerance", 1e-4, 1e-12, 1.0)
NEIGHBOURS = Param("n_neighbors", "Neighbours", 5, 1, 1000)
TREES = Param("n_estimators", "Trees", 100, 1, 5000)
DEPTH = Param("max_depth", "Maximum depth", 16, 1, 64)
LEAF = Param("min_samples_leaf", "Minimum rows per leaf", 1, 1, 10_000)
ALPHA = Param("alpha", "Regularisation alpha", 1.0, 0.0, 1e6)
COMPONENTS = Param("n_components", "Components", 2, 1, 512)

FOREST_NOTES = (
    "scikit-learn finds exact splits; cuML bins each feature into 128 quantiles (`n_bins`) first, so trees "
    "differ slightly. Both bootstrap, use √features per split and depth 16; cuML runs one CUDA stream so the "
    "seed reproduces the forest; scikit-learn uses every core (n_jobs=-1)."
)

ALGORITHMS: dict[str, Algorithm] = {
    a.key: a
    for a in (
        Algorithm(
            "logistic_regression",
            "Logistic regression",
            CLASSIFICATION,
            "sklearn.linear_model.LogisticRegression",
            "cuml.linear_model.LogisticRegression",
            (C, MAX_ITER, TOL),
            notes="L2 penalty on both; scikit-learn solves with lbfgs, cuML with its quasi-Newton solver (qn, "
            "L-BFGS), so coefficients agree to the tolerance, not bit for bit.",
            fixed={CPU: {"solver": "lbfgs"}, GPU: {"solver": "qn"}, DASK_CPU: {"solver": "lbfgs"}},
            dask_cpu="dask_ml.linear_model.LogisticRegression",
            max_classes={DASK_CPU: 2},  # dask-ml's (dask-glm's) logistic regression is binary
        ),
        Algorithm(
            "random_forest_classifier",
            "Random forest classifier",
            CLASSIFICATION,
            "sklearn.ensemble.RandomForestClassifier",
            "cuml.ensemble.RandomForestClassifier",
            (TREES, DEPTH, LEAF),
            fixed=_seeded(
                **{
                    CPU: {"criterion": "gini", "max_features": "sqrt", "n_jobs": -1},
                    GPU: {"split_criterion": "gini", "max_features": "sqrt", "n_bins": 128, "n_streams": 1},
                }
            ),
            notes=FOREST_NOTES,
            dask_gpu="cuml.dask.ensemble.RandomForestClassifier",
        ),
        Algorithm(
            "knn_classifier",
            "k-nearest neighbours classifier",
            CLASSIFICATION,
            "sklearn.neighbors.KNeighborsClassifier",
            "cuml.neighbors.KNeighborsClassifier",
            (NEIGHBOURS,),
            fixed={CPU: {"algorithm": "brute", "n_jobs": -1}, GPU: {"algorithm": "brute"}},
            notes="Brute-force Euclidean search with uniform weights on both, so the neighbours are the same "
            "(ties in distance aside).",
            dask_gpu="cuml.dask.neighbors.KNeighborsClassifier",
        ),
        Algorithm(
            "svc",
            "Support vector classifier",
            CLASSIFICATION,
            "sklearn.svm.SVC",
            "cuml.svm.SVC",
            (C, Param("kernel", "Kernel", "rbf", choices=("rbf", "linear"))),
            fixed={CPU: {"gamma": "scale"}, GPU: {"gamma": "scale"}},
            notes="Same kernel, C and gamma ('scale'); no probability calibration on either (it would fit five "
            "more models), so log loss is not reported and ROC uses the decision function.",
        ),
        Algorithm(
            "multinomial_nb",
            "Multinomial naive Bayes",
            CLASSIFICATION,
            "sklearn.naive_bayes.MultinomialNB",
            "cuml.naive_bayes.MultinomialNB",
            (Param("alpha", "Smoothing alpha", 1.0, 0.0, 1e6),),
            non_negative=True,
            notes="Needs non-negative features: numeric features are min-max scaled to [0, 1] instead of standardised.",
            dask_gpu="cuml.dask.naive_bayes.MultinomialNB",
        ),
        Algorithm(
            "linear_regression",
            "Linear regression",
            REGRESSION,
            "sklearn.linear_model.LinearRegression",
            "cuml.linear_model.LinearRegression",
            fixed={GPU: {"algorithm": "eig"}, DASK_CPU: {"solver": "newton"}},
            notes="scikit-learn solves least squares by SVD (lstsq); cuML by eigendecomposition of XᵀX, which "
            "is faster and agrees unless features are nearly collinear. dask-ml by Newton's method without a "
            "penalty (its default adds an L2 one), which reaches the least-squares solution.",
            dask_cpu="dask_ml.linear_model.LinearRegression",
            dask_gpu="cuml.dask.linear_model.LinearRegression",
        ),
        Algorithm(
            "ridge",
            "Ridge",
            REGRESSION,
            "sklearn.linear_model.Ridge",
            "cuml.linear_model.Ridge",
            (ALPHA,),
            fixed={CPU: {"solver": "auto"}, GPU: {"solver": "eig"}},
            dask_gpu="cuml.dask.linear_model.Ridge",
        ),
        Algorithm(
            "lasso",
            "Lasso",
            REGRESSION,
            "sklearn.linear_model.Lasso",
            "cuml.linear_model.Lasso",
            (Param("alpha", "Regularisation alpha", 0.01, 0.0, 1e6), MAX_ITER, TOL),
            notes="Coordinate descent on both.",
            dask_gpu="cuml.dask.linear_model.Lasso",
        ),
        Algorithm(
            "elastic_net",
            "Elastic net",
            REGRESSION,
            "sklearn.linear_model.ElasticNet",
            "cuml.linear_model.ElasticNet",
            (
                Param("alpha", "Regularisation alpha", 0.01, 0.0, 1e6),
                Param("l1_ratio", "L1 share", 0.5, 0.0, 1.0),
                MAX_ITER,
                TOL,
            ),
            notes="Coordinate descent on both.",
            dask_gpu="cuml.dask.linear_model.ElasticNet",
        ),
        Algorithm(
            "random_forest_regressor",
            "Random forest regressor",
            REGRESSION,
            "sklearn.ensemble.RandomForestRegressor",
            "cuml.ensemble.RandomForestRegressor",
            (TREES, DEPTH, LEAF),
            fixed=_seeded(
                **{
                    CPU: {"criterion": "squared_error", "max_features": 1.0, "n_jobs": -1},
                    GPU: {"split_criterion": "mse", "max_features": 1.0, "n_bins": 128, "n_streams": 1},
                }
            ),
            notes=FOREST_NOTES.replace("√features", "every feature"),
            dask_gpu="cuml.dask.ensemble.RandomForestRegressor",
        ),
        Algorithm(
            "knn_regressor",
            "k-nearest neighbours regressor",
            REGRESSION,
            "sklearn.neighbors.KNeighborsRegressor",
            "cuml.neighbors.KNeighborsRegressor",
            (NEIGHBOURS,),
            fixed={CPU: {"algorithm": "brute", "n_jobs": -1}, GPU: {"algorithm": "brute"}},
            dask_gpu="cuml.dask.neighbors.KNeighborsRegressor",
        ),
        Algorithm(
            "kmeans",
            "k-means",
            CLUSTERING,
            "sklearn.cluster.KMeans",
            "cuml.cluster.KMeans",
            (Param("n_clusters", "Clusters", 8, 1, 10_000), Param("max_iter", "Maximum iterations", 300, 1, 10_000)),
            fixed={
                **_seeded(**{CPU: {"init": "k-means++", "n_init": 1}, GPU: {"init": "k-means++", "n_init": 1}}),
                DASK_CPU: {"init": "k-means||", "random_state": SEED},
                DASK_GPU: {"init": "scalable-k-means++", "random_state": SEED},
            },
            notes="One k-means++ initialisation on both (cuML's default is scalable k-means++ with several). On "
            "Dask, dask-ml and cuML's Dask k-means start from scalable k-means++ (k-means||), made for partitions.",
            dask_cpu="dask_ml.cluster.KMeans",
            dask_gpu="cuml.dask.cluster.KMeans",
        ),
        Algorithm(
            "dbscan",
            "DBSCAN",
            CLUSTERING,
            "sklearn.cluster.DBSCAN",
            "cuml.cluster.DBSCAN",
            (
                Param("eps", "Neighbourhood radius", 0.5, 1e-9, 1e9),
                Param("min_samples", "Core neighbours", 5, 1, 10_000),
            ),
            fixed={CPU: {"n_jobs": -1}},
            notes="Same definition on both; border points reachable from two clusters may be labelled differently.",
            dask_gpu="cuml.dask.cluster.DBSCAN",
        ),
        Algorithm(
            "hdbscan",
            "HDBSCAN",
            CLUSTERING,
            "sklearn.cluster.HDBSCAN",
            "cuml.cluster.HDBSCAN",
            (
                Param("min_cluster_size", "Smallest cluster", 5, 2, 100_000),
                Param("min_samples", "Core neighbours", 5, 1, 10_000),
            ),
            fixed={CPU: {"n_jobs": -1, "copy": True}},
        ),
        Algorithm(
            "pca",
            "PCA",
            EMBEDDING,
            "sklearn.decomposition.PCA",
            "cuml.decomposition.PCA",
            (COMPONENTS,),
            fixed={
                CPU: {"svd_solver": "full"},
                GPU: {"svd_solver": "full"},
                DASK_CPU: {"svd_solver": "full"},
                DASK_GPU: {"svd_solver": "full"},
            },
            notes="Full decomposition on every engine (on Dask CPU a tall-and-skinny QR of the partitions); "
            "component signs may flip between libraries.",
            dask_cpu="dask_ml.decomposition.PCA",
            dask_gpu="cuml.dask.decomposition.PCA",
        ),
        Algorithm(
            "truncated_svd",
            "Truncated SVD",
            EMBEDDING,
            "sklearn.decomposition.TruncatedSVD",
            "cuml.decomposition.TruncatedSVD",
            (COMPONENTS,),
            fixed={
                **_seeded(**{CPU: {"algorithm": "arpack"}, GPU: {"algorithm": "full"}}),
                DASK_CPU: {"algorithm": "tsqr"},
                DASK_GPU: {"algorithm": "full"},
            },
            notes="scikit-learn uses ARPACK (exact leading components), cuML a full eigendecomposition; signs "
            "may flip.",
            dask_cpu="dask_ml.decomposition.TruncatedSVD",
            dask_gpu="cuml.dask.decomposition.TruncatedSVD",
        ),
        Algorithm(
            "tsne",
            "t-SNE",
            EMBEDDING,
            "sklearn.manifold.TSNE",
            "cuml.manifold.TSNE",
            (
                Param("perplexity", "Perplexity", 30.0, 2.0, 100.0),
                Param("max_iter", "Iterations", 1000, 250, 10_000),
            ),
            fixed=_seeded(
                **{
                    CPU: {"n_components": 2, "learning_rate": 200.0, "init": "random", "method": "barnes_hut"},
                    GPU: {"n_components": 2, "learning_rate": 200.0, "init": "random", "method": "barnes_hut"},
                }
            ),
            notes="Two components, learning rate 200, random initialisation and Barnes-Hut on both (cuML's "
            "default is FFT; scikit-learn's is PCA initialisation with an automatic rate). Embeddings are "
            "compared by trustworthiness, not coordinates.",
        ),
        Algorithm(
            "umap",
            "UMAP",
            EMBEDDING,
            "umap.UMAP",
            "cuml.manifold.UMAP",
            (
                Param("n_neighbors", "Neighbours", 15, 2, 200),
                Param("min_dist", "Minimum distance", 0.1, 0.0, 1.0),
            ),
            fixed=_seeded(**{CPU: {"n_components": 2}, GPU: {"n_components": 2}}),
            cpu_package="umap-learn",
            notes="umap-learn on the CPU (an optional extra), cuML's UMAP on the GPU; both seeded.",
        ),
    )
}


def algorithms_for(task: str) -> list[Algorithm]:
    if task not in TASKS:
        raise DataError(f"Unknown task {task!r}: choose one of {', '.join(TASKS)}.")
    return [a for a in ALGORITHMS.values() if a.task == task]


def algorithm(key: str) -> Algorithm:
    if key not in ALGORITHMS:
        raise DataError(f"Unknown algorithm {key!r}: choose one of {', '.join(ALGORITHMS)}.")
    return ALGORITHMS[key]
