"""A stand-in for cuML: scikit-learn underneath, given cuML's keywords (recorded, then translated).

Each estimator takes device arrays or cuDF stand-in frames, as cuML does, and gives device arrays back; the
keywords it was built and called with are recorded for `make preflight` to bind on the real cuML classes.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

import cudf
import cupy
import numpy as np
import pandas as pd
from standin_support import record

__version__ = "stand-in"

# cuML class → (scikit-learn class, cuML keyword → scikit-learn keyword or None to drop, value translations)
DROP = None
ESTIMATORS: dict[str, tuple[str, dict[str, str | None], dict[tuple[str, Any], Any]]] = {
    "linear_model.LogisticRegression": ("sklearn.linear_model.LogisticRegression", {}, {("solver", "qn"): "lbfgs"}),
    "linear_model.LinearRegression": ("sklearn.linear_model.LinearRegression", {"algorithm": DROP}, {}),
    "linear_model.Ridge": ("sklearn.linear_model.Ridge", {}, {("solver", "eig"): "auto"}),
    "linear_model.Lasso": ("sklearn.linear_model.Lasso", {}, {}),
    "linear_model.ElasticNet": ("sklearn.linear_model.ElasticNet", {}, {}),
    "ensemble.RandomForestClassifier": (
        "sklearn.ensemble.RandomForestClassifier",
        {"split_criterion": "criterion", "n_bins": DROP, "n_streams": DROP},
        {},
    ),
    "ensemble.RandomForestRegressor": (
        "sklearn.ensemble.RandomForestRegressor",
        {"split_criterion": "criterion", "n_bins": DROP, "n_streams": DROP},
        {("criterion", "mse"): "squared_error"},
    ),
    "neighbors.KNeighborsClassifier": ("sklearn.neighbors.KNeighborsClassifier", {}, {}),
    "neighbors.KNeighborsRegressor": ("sklearn.neighbors.KNeighborsRegressor", {}, {}),
    "svm.SVC": ("sklearn.svm.SVC", {}, {}),
    "naive_bayes.MultinomialNB": ("sklearn.naive_bayes.MultinomialNB", {}, {}),
    "cluster.KMeans": ("sklearn.cluster.KMeans", {}, {}),
    "cluster.DBSCAN": ("sklearn.cluster.DBSCAN", {}, {}),
    "cluster.HDBSCAN": ("sklearn.cluster.HDBSCAN", {}, {}),
    "decomposition.PCA": ("sklearn.decomposition.PCA", {}, {}),
    "decomposition.TruncatedSVD": ("sklearn.decomposition.TruncatedSVD", {}, {("algorithm", "full"): "randomized"}),
    "manifold.TSNE": ("sklearn.manifold.TSNE", {}, {}),
    # umap-learn where installed; PCA keeps the test's trustworthiness bound meaningful without it
    "manifold.UMAP": ("umap.UMAP", {}, {}),
}
FALLBACK = {"umap.UMAP": ("sklearn.decomposition.PCA", ("n_components",))}


def _host(value: Any) -> Any:
    if isinstance(value, cupy.ndarray):
        return value.get()
    if isinstance(value, cudf.DataFrame | cudf.Series):
        return value.to_pandas().to_numpy()
    return value


def _device(value: Any, frames: bool) -> Any:
    """Results as cuML gives them: cuDF objects for cuDF input, device arrays otherwise."""
    if isinstance(value, np.ndarray):
        if frames:
            return cudf.Series(value) if value.ndim == 1 else cudf.DataFrame(pd.DataFrame(value))
        return cupy.ndarray(value)
    return value


def _sklearn_class(path: str) -> tuple[type, tuple[str, ...] | None]:
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name), None
    except ImportError:
        fallback, kept = FALLBACK[path]
        module, _, name = fallback.rpartition(".")
        return getattr(importlib.import_module(module), name), kept


METHODS = ("fit", "predict", "predict_proba", "decision_function", "transform", "fit_transform", "fit_predict", "score")


def _method(qualified: str, name: str) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        implementation = getattr(self._model, name)  # AttributeError where scikit-learn's has none (SVC's proba)
        record("cuml", f"cuml.{qualified}.{name}", kwargs)
        frames = any(isinstance(a, cudf.DataFrame | cudf.Series) for a in args)
        result = implementation(*[_host(a) for a in args], **{k: _host(v) for k, v in kwargs.items()})
        return self if result is self._model else _device(result, frames)

    method.__name__ = name
    return method


def _estimator(qualified: str, sklearn_path: str, renames: dict[str, str | None], values: dict) -> type:
    def __init__(self: Any, **kwargs: Any) -> None:
        record("cuml", f"cuml.{qualified}", kwargs)
        translated = {}
        for key, value in kwargs.items():
            key = renames.get(key, key)
            if key is not None:
                translated[key] = values.get((key, value), value)
        cls, kept = _sklearn_class(sklearn_path)
        if kept is not None:
            translated = {k: v for k, v in translated.items() if k in kept}
        self._model = cls(**translated)

    def __getattr__(self: Any, name: str) -> Any:
        if name.startswith("__") or name == "_model":
            raise AttributeError(name)
        return _device(getattr(self._model, name), frames=False)

    namespace = {"__init__": __init__, "__getattr__": __getattr__}
    namespace |= {name: _method(qualified, name) for name in METHODS}
    return type(qualified.rpartition(".")[2], (), namespace)


for _path, (_sklearn, _renames, _values) in ESTIMATORS.items():
    _module_name, _, _class_name = _path.rpartition(".")
    _module = sys.modules.setdefault(f"cuml.{_module_name}", types.ModuleType(f"cuml.{_module_name}"))
    setattr(_module, _class_name, _estimator(_path, _sklearn, _renames, _values))
    globals()[_module_name] = _module
