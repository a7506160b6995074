"""Models on the Dask CPU engine (dask-ml on a real LocalCluster) against scikit-learn on the same rows, the
algorithms Dask cannot train named with what it can, and the Models page with a Dask copy."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.data.bundled import bundled_frame
from pipeline.data.catalog import Catalog
from pipeline.data.loading import add_copy_on, load_bundled
from pipeline.engines import available_engines, get_engine
from pipeline.models.algorithms import CLASSIFICATION, CLUSTERING, EMBEDDING, REGRESSION, algorithm
from pipeline.models.features import FeatureSpec
from pipeline.models.training import train_everywhere
from tests.support.apptest import open_page, problems

dask_engine = pytest.importorskip("pipeline.engines.dask")
pytest.importorskip("dask_ml")


def both(dask_cpu, name: str, spec: FeatureSpec, key: str, settings=None):
    table = bundled_frame(name)
    copies = {
        "cpu": (get_engine("cpu"), table),
        dask_cpu.name: (dask_cpu, dask_cpu.frames.from_pandas(table, npartitions=3)),
    }
    runs = train_everywhere(copies, spec, algorithm(key), settings)
    assert runs["cpu"].ok, runs["cpu"].error
    return runs["cpu"], runs[dask_cpu.name]


def features(name: str, *leave_out: str) -> tuple[str, ...]:
    return tuple(c for c in bundled_frame(name).columns if c not in leave_out)


def test_linear_regression_on_dask_equals_scikit_learn_on_the_same_split(dask_cpu):
    spec = FeatureSpec(REGRESSION, features("diabetes", "target"), "target")
    cpu, dask = both(dask_cpu, "diabetes", spec, "linear_regression")
    assert dask.ok, dask.error
    assert np.allclose(dask.y_test, cpu.y_test), "the seeded split marks the same test rows on every partition"
    assert np.allclose(dask.predictions, cpu.predictions, rtol=1e-4, atol=1e-3)
    assert dask.metrics["R²"] == pytest.approx(cpu.metrics["R²"], abs=1e-5)


def test_binary_logistic_regression_on_dask_comes_close_and_more_classes_are_refused(dask_cpu):
    spec = FeatureSpec(CLASSIFICATION, features("breast_cancer", "target"), "target")
    cpu, dask = both(dask_cpu, "breast_cancer", spec, "logistic_regression")
    assert dask.ok, dask.error
    assert dask.classes == cpu.classes == ["benign", "malignant"] and dask.scores.shape == cpu.scores.shape
    assert abs(dask.metrics["accuracy"] - cpu.metrics["accuracy"]) <= 0.03 and dask.metrics["accuracy"] > 0.9
    _, refused = both(
        dask_cpu, "iris", FeatureSpec(CLASSIFICATION, features("iris", "target"), "target"), "logistic_regression"
    )
    assert "learns at most 2 classes; 'target' has 3" in refused.error


def test_kmeans_and_pca_run_on_dask(dask_cpu):
    cpu, dask = both(
        dask_cpu, "iris", FeatureSpec(CLUSTERING, features("iris", "target"), "target"), "kmeans", {"n_clusters": 3}
    )
    assert dask.ok, dask.error
    assert dask.metrics["clusters"] == 3 and dask.metrics["adjusted Rand"] > 0.5
    cpu, dask = both(dask_cpu, "iris", FeatureSpec(EMBEDDING, features("iris", "target")), "pca")
    assert dask.ok, dask.error
    assert dask.metrics["trustworthiness"] == pytest.approx(cpu.metrics["trustworthiness"], abs=1e-6)
    assert np.allclose(np.abs(dask.predictions), np.abs(cpu.predictions), atol=1e-4), "equal up to the signs"


def test_an_algorithm_dask_lacks_says_which_ones_it_trains(dask_cpu):
    spec = FeatureSpec(CLASSIFICATION, features("iris", "target"), "target")
    _, dask = both(dask_cpu, "iris", spec, "random_forest_classifier", {"n_estimators": 5})
    assert dask.error.startswith("Random forest classifier needs a single machine (dask-ml has no distributed")
    assert "on Dask it trains Logistic regression" in dask.error


def test_the_models_page_trains_on_pandas_and_dask_side_by_side(dask_cpu):
    catalog = Catalog()
    load_bundled(catalog, "diabetes", available_engines(), frames=bundled_frame)
    add_copy_on(catalog.active, dask_cpu)
    at = open_page("pages/models.py", catalog)
    at.radio(key="model_task").set_value("regression").run()
    at.button(key="model_go").click().run()
    assert not problems(at)
    table = next(d.value for d in at.dataframe if "metric" in d.value.columns)
    r2 = table.loc[table["metric"] == "R²"]
    assert float(r2["CPU (pandas)"].item()) == pytest.approx(float(r2["Dask CPU (dask.dataframe)"].item()), abs=1e-4)
