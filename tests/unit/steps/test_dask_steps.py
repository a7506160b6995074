"""Every pipeline step on the Dask CPU engine (a real LocalCluster, several partitions) against pandas, side by side
as the Pipeline page runs them: the same results, or a note where a step uses Dask's estimated quantiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.engines import get_engine
from pipeline.parity import compare_results
from pipeline.steps.runner import check_recipe, run_side_by_side
from pipeline.steps.spec import STEP_KINDS, Recipe, Step
from tests.support.step_cases import PARITY_STEPS

dask_engine = pytest.importorskip("pipeline.engines.dask")
pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = 3_000
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "x": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(3, 4, rows).round(1)),
            "city": pd.Series(rng.choice(["Oslo", " Rome ", None, "oslo", "Rome"], rows), dtype="str"),
            "when": pd.Series(pd.date_range("2024-01-01", periods=rows, freq="37min")).where(rng.random(rows) > 0.05),
            "ok": rng.random(rows) < 0.6,
        }
    )


def side_by_side(dask_cpu, table, step: Step):
    cpu = get_engine("cpu")
    scores = pd.DataFrame({"id": np.arange(0, 3_000, 7), "score": np.arange(0, 3_000, 7) * 0.5})
    steps = check_recipe(Recipe((step,)), table, cpu, {"scores": scores})
    frames = {"cpu": table, dask_cpu.name: dask_cpu.frames.from_pandas(table, npartitions=4)}
    others = {"cpu": {"scores": scores}, dask_cpu.name: {"scores": dask_cpu.frames.from_pandas(scores, npartitions=2)}}
    return run_side_by_side(steps, frames, {"cpu": cpu, dask_cpu.name: dask_cpu}, others)


@pytest.mark.parametrize("step", PARITY_STEPS, ids=[s.kind for s in PARITY_STEPS])
def test_every_step_runs_on_dask_and_agrees_with_pandas(dask_cpu, table, step):
    result = side_by_side(dask_cpu, table, step)
    runs = result.runs
    assert runs["cpu"].ok and runs["dask-cpu"].ok, runs["dask-cpu"].error
    assert runs["dask-cpu"].steps[0].rows == runs["cpu"].steps[0].rows
    parity = result.parity[0]
    if STEP_KINDS[step.kind].estimated_on_dask(step.params):
        assert parity.notes == ["Dask CPU (dask.dataframe) not compared: step 1 uses quantiles, which Dask estimates."]
    else:
        assert parity.ok and not parity.notes, parity.mismatches


def test_steps_on_estimated_quantiles_come_close_to_pandas(dask_cpu, table):
    step = Step("quantile_bin", {"column": "x", "bins": 4, "output": "x_bin"})
    result = side_by_side(dask_cpu, table, step)
    exact = result.runs["cpu"].frame["x_bin"]
    estimated = dask_cpu.to_pandas(result.runs["dask-cpu"].frame)["x_bin"]
    assert (exact.isna() == estimated.isna()).all()
    assert (exact.dropna() == estimated.dropna()).mean() > 0.9, "most rows land in the same quartile"
    filled = side_by_side(dask_cpu, table, Step("fill_missing", {"columns": ["x"], "method": "median"}))
    gap = table["x"].isna()
    median = dask_cpu.to_pandas(filled.runs["dask-cpu"].frame)["x"][gap].iloc[0]
    assert abs(median - table["x"].median()) <= 0.5


def test_a_step_failing_on_dask_is_reported_and_the_run_stops(dask_cpu):
    table = pd.DataFrame({"x": [1.0, -3.0, 2.0, 5.0]})
    frames = {dask_cpu.name: dask_cpu.frames.from_pandas(table, npartitions=2)}
    steps = [Step("log1p", {"columns": ["x"]}), Step("drop", {"columns": ["x"]})]
    run = run_side_by_side(steps, frames, {dask_cpu.name: dask_cpu}).runs[dask_cpu.name]
    assert not run.ok and len(run.steps) == 1
    assert "log1p needs values above -1" in run.error


def test_a_missing_value_passes_no_filter_on_dask(dask_cpu, table):
    conditions = [
        {"column": "x", "op": "!=", "value": 4.0},
        {"column": "city", "op": "!=", "value": "Oslo"},
        {"column": "when", "op": "is not missing"},
    ]
    result = side_by_side(dask_cpu, table, Step("filter", {"conditions": conditions}))
    assert result.runs["dask-cpu"].ok, result.runs["dask-cpu"].error
    kept = dask_cpu.to_pandas(result.runs["dask-cpu"].frame)
    present = table[["x", "city", "when"]].notna().all(axis=1)
    assert kept["id"].tolist() == table["id"][present & (table["x"] != 4.0) & (table["city"] != "Oslo")].tolist()


@pytest.mark.parametrize(
    "first",
    [
        Step("join", {"dataset": "scores", "on": ["id"], "how": "left"}),  # no row order on any engine
        Step("drop_duplicates", {"columns": ["x"]}),  # in order on pandas; Dask's shuffle reorders the rows
    ],
    ids=["join", "drop_duplicates"],
)
def test_the_steps_after_one_that_reorders_rows_are_compared_as_sets_of_rows(dask_cpu, table, first):
    cpu = get_engine("cpu")
    scores = pd.DataFrame({"id": np.arange(0, 3_000, 7), "score": np.arange(0, 3_000, 7) * 0.5})
    steps = check_recipe(Recipe((first, Step("rename", {"mapping": {"ok": "flag"}}))), table, cpu, {"scores": scores})
    frames = {"cpu": table, dask_cpu.name: dask_cpu.frames.from_pandas(table, npartitions=4)}
    others = {"cpu": {"scores": scores}, dask_cpu.name: {"scores": dask_cpu.frames.from_pandas(scores, npartitions=2)}}
    result = run_side_by_side(steps, frames, {"cpu": cpu, dask_cpu.name: dask_cpu}, others)
    on_pandas = result.runs["cpu"].frame.reset_index(drop=True)
    on_dask = dask_cpu.to_pandas(result.runs[dask_cpu.name].frame).reset_index(drop=True)
    assert not compare_results(on_pandas, on_dask, ordered=True).ok, "the rows came in another order"
    assert [parity.mismatches for parity in result.parity] == [[], []]
