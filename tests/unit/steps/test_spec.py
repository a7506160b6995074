"""A step kind is one object: registering a toy kind in one place makes it appear in the runner, the exported
script, the page's form and the memory estimate."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from pipeline.engines import CpuEngine
from pipeline.steps.export import to_script
from pipeline.steps.memory import step_need
from pipeline.steps.runner import run_side_by_side
from pipeline.steps.spec import STEP_KINDS, FormField, Recipe, Schema, Step, StepKind, checked, register
from pipeline.tables.column_kinds import NUMERIC
from tests.support.apptest import open_page, problems
from tests.support.engines import HostBackedGpu

TOY = "toy_times"


def check_toy(params: dict, schema: Schema, _others: dict) -> dict:
    return {"columns": schema.need_all(params.get("columns"), NUMERIC), "factor": int(params.get("factor", 3))}


def apply_toy(frame, p, _context):
    return frame.assign(**{c: frame[c] * p["factor"] for c in p["columns"]})


@pytest.fixture
def toy_kind():
    kind = register(
        StepKind(
            TOY,
            "Multiply (toy)",
            "values",
            check_toy,
            apply_toy,
            lambda p: f"times {p.get('factor')} for {', '.join(p.get('columns', []))}",
            code=lambda p: [f"df[{c!r}] = df[{c!r}] * {int(p['factor'])}" for c in p["columns"]],
            memory_factor=7.0,
            form=(
                FormField("columns", "columns", "Columns to multiply", kinds=(NUMERIC,)),
                FormField("factor", "whole", "Factor", default=3, low=1, high=10),
            ),
        )
    )
    yield kind
    STEP_KINDS.pop(TOY)


def test_the_runner_applies_a_registered_kind(toy_kind):
    frame = pd.DataFrame({"x": [1, 2, 3], "t": ["a", "b", "c"]})
    step = checked(Step(TOY, {"columns": ["x"], "factor": 4}), Schema.of(frame))
    cpu = CpuEngine()
    run = run_side_by_side([step], {"cpu": frame}, {"cpu": cpu}).runs["cpu"]
    assert run.ok and run.frame["x"].tolist() == [4, 8, 12]


def test_the_exported_script_runs_the_kinds_code(toy_kind, tmp_path):
    frame = pd.DataFrame({"x": [1.5, 2.0], "y": [1, 2]})
    frame.to_parquet(tmp_path / "in.parquet")
    script = tmp_path / "recipe.py"
    script.write_text(to_script(Recipe((Step(TOY, {"columns": ["x", "y"], "factor": 2}),))))
    assert "Multiply (toy)" in script.read_text()
    subprocess.run(
        [sys.executable, str(script), str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet")], check=True
    )
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out["x"].tolist() == [3.0, 4.0] and out["y"].tolist() == [2, 4]


def test_the_memory_estimate_uses_the_kinds_factor(toy_kind):
    assert step_need(toy_kind.memory_factor, 100) == 700
    frame = pd.DataFrame({"x": pd.Series(range(20), dtype="int8")})  # 152 bytes with its index: 2.5× (the
    # default factor) fits in the 900 bytes usable, 7× (the toy's) does not
    step = checked(Step(TOY, {"columns": ["x"]}), Schema.of(frame))
    run = run_side_by_side([step], {"gpu": frame}, {"gpu": HostBackedGpu(free=1_000, total=2_000)}).runs["gpu"]
    assert not run.ok and "needs about" in run.steps[0].error


def test_the_pipeline_page_offers_the_kind_with_its_form(toy_kind):
    at = open_page("pages/pipeline.py")
    at.selectbox(key="new_kind").set_value(TOY).run()
    assert at.multiselect(key=f"form_{TOY}_columns").options == [
        "sepal length (cm)",
        "sepal width (cm)",
        "petal length (cm)",
        "petal width (cm)",
    ], "numeric columns only: the species column is text"
    at.multiselect(key=f"form_{TOY}_columns").set_value(["sepal width (cm)"]).run()
    at.number_input(key=f"form_{TOY}_factor").set_value(5).run()
    at.button(key="add_step").click().run()
    assert not problems(at)
    assert at.session_state["pipeline_steps"][-1] == Step(TOY, {"columns": ["sepal width (cm)"], "factor": 5})
