"""The tables the pages show, built in ui/views from real results: a second engine (pandas with a GPU's traits)
gets its speed-up against the reference in every view, and an engine alone gets none."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from sklearn.datasets import load_iris

from pipeline.data.catalog import Catalog
from pipeline.data.loading import load_bundled
from pipeline.engines import CpuEngine
from pipeline.models.algorithms import ALGORITHMS, CLASSIFICATION
from pipeline.models.features import FeatureSpec
from pipeline.models.training import train_everywhere
from pipeline.profile import profile_frame
from pipeline.steps.runner import check_recipe, run_side_by_side
from pipeline.steps.spec import Recipe, Step
from tests.support.engines import HostBackedGpu
from ui.views.data import held_memory, load_speedups, load_table
from ui.views.explore import profile_speedups, profile_times
from ui.views.models import compared_speedups, confusion, fit_speedups, metrics_table
from ui.views.pipeline import run_speedups, step_speedups, step_table


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    return load_iris(as_frame=True).frame


def test_step_table_and_speedups_name_every_other_engine(iris):
    steps = check_recipe(Recipe((Step("sort", {"columns": ["sepal length (cm)"]}),)), iris, CpuEngine())
    both = run_side_by_side(steps, {"cpu": iris, "gpu": iris}, {"cpu": CpuEngine(), "gpu": HostBackedGpu()})
    table = step_table(both)
    assert {"CPU time", "GPU time", "GPU speed-up", "engines agree"} <= set(table.columns)
    assert table["engines agree"].tolist() == ["yes"]
    assert list(run_speedups(both)) == ["GPU (cuDF)"]
    assert set(step_speedups(both).columns) == {"step", "number", "engine", "speedup"}
    alone = run_side_by_side(steps, {"cpu": iris}, {"cpu": CpuEngine()})
    assert "GPU speed-up" not in step_table(alone) and run_speedups(alone) == {} and step_speedups(alone).empty
    assert not [column for column in step_table(alone) if column.endswith("error")], "no column of empty errors"


def test_model_views_compare_with_the_reference(iris):
    spec = FeatureSpec(CLASSIFICATION, tuple(c for c in iris.columns if c != "target"), "target")
    cpu = train_everywhere({"cpu": (CpuEngine(), iris)}, spec, ALGORITHMS["logistic_regression"])["cpu"]
    runs = {"cpu": cpu, "gpu": replace(cpu, engine=HostBackedGpu())}  # a second engine's run, as the views see it
    table = metrics_table(runs)
    assert table["GPU (cuDF) − CPU (pandas)"].abs().max() == 0, "the same library on both sides"
    assert list(fit_speedups(runs)) == ["GPU (cuDF)"]
    compared = pd.DataFrame([{"algorithm": "a", "GPU (cuDF) speed-up (fit)": 2.0, "X speed-up (fit)": None}])
    assert compared_speedups(compared).to_dict("records") == [{"label": "a", "engine": "GPU (cuDF)", "speedup": 2.0}]


def test_the_confusion_matrix_counts_or_shares_each_actual_class(iris):
    spec = FeatureSpec(CLASSIFICATION, tuple(c for c in iris.columns if c != "target"), "target")
    run = train_everywhere({"cpu": (CpuEngine(), iris)}, spec, ALGORITHMS["logistic_regression"])["cpu"]
    counts, shares = confusion(run), confusion(run, normalise=True)
    assert counts.to_numpy().sum() == len(run.y_test)
    assert shares.sum(axis=1).tolist() == pytest.approx([1.0] * len(shares))
    assert shares.iloc[0, 0] == pytest.approx(counts.iloc[0, 0] / counts.iloc[0].sum())


def test_data_and_explore_views():
    catalog = Catalog()
    dataset = load_bundled(catalog, "iris", [CpuEngine(), HostBackedGpu()])
    assert load_table(dataset)["engine"].tolist() == ["CPU (pandas)", "GPU (cuDF)"]
    assert held_memory(dataset)["bytes"].gt(0).all()
    assert list(load_speedups(dataset)) == ["GPU (cuDF)"]
    profiles = {name: profile_frame(copy.engine, copy.frame) for name, copy in dataset.copies.items()}
    assert set(profile_times(profiles)["engine"]) == {"CPU (pandas)", "GPU (cuDF)"}
    assert list(profile_speedups(profiles)) == ["GPU (cuDF)"]
