"""A step kind is one object: registering a toy kind in one place makes it appear in the runner, the exported
script, the page's form and the memory estimate."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pandas as pd
import pytest

from pipeline.budget import MemoryBudget
from pipeline.engines import CpuEngine
from pipeline.errors import DataError
from pipeline.steps.export import to_script
from pipeline.steps.memory import step_need
from pipeline.steps.runner import run_side_by_side
from pipeline.steps.spec import (
    STEP_KINDS,
    Context,
    FormField,
    Recipe,
    Schema,
    Step,
    StepKind,
    check_step_size,
    checked,
    host_need,
    register,
)
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


def refusal(recipe_text: str) -> str:
    with pytest.raises(DataError) as raised:
        Recipe.from_json(recipe_text)
    return str(raised.value)


def test_a_recipe_is_saved_as_versioned_json_and_read_back():
    recipe = Recipe((Step("drop", {"columns": ["x"]}), Step("drop_duplicates")))
    assert json.loads(recipe.to_json()) == {
        "version": 1,
        "steps": [{"kind": "drop", "params": {"columns": ["x"]}}, {"kind": "drop_duplicates", "params": {}}],
    }
    assert recipe.to_json().startswith('{\n  "version": 1,\n  "steps": [\n    {\n      "kind": "drop"')
    assert Recipe.from_json(recipe.to_json()) == recipe
    no_params = json.dumps({"version": 1, "steps": [{"kind": "drop_duplicates"}]})
    assert Recipe.from_json(no_params.encode()) == Recipe((Step("drop_duplicates", {}),))


def test_a_file_that_is_not_a_recipe_is_refused_with_what_is_wrong():
    assert refusal("{not json").startswith("The recipe is not valid JSON (")
    assert refusal("{not json").endswith("). Choose a recipe file saved by this app.")
    assert refusal("[]") == 'A recipe is a JSON object with a "steps" list; this file has none.'
    assert (
        refusal('{"version": 1, "steps": {}}') == 'A recipe is a JSON object with a "steps" list; this file has none.'
    )
    assert refusal('{"steps": []}') == "This recipe has version None; this app reads version 1."
    assert refusal('{"version": "1", "steps": []}') == "This recipe has version '1'; this app reads version 1."


def test_each_bad_step_of_a_recipe_is_named_by_its_number():
    def step_refused(*steps) -> str:
        return refusal(json.dumps({"version": 1, "steps": [{"kind": "drop", "params": {}}, *steps]}))

    assert step_refused({"params": {}}) == 'Step 2 of the recipe has no "kind".'
    assert step_refused("drop") == 'Step 2 of the recipe has no "kind".'
    assert step_refused({"kind": 3}) == 'Step 2 of the recipe has no "kind".'
    assert step_refused({"kind": "eval"}) == "Step 2 of the recipe is an unknown kind, 'eval'."
    assert step_refused({"kind": "drop", "params": []}) == 'Step 2 of the recipe has "params" that are not an object.'


def test_a_recipe_holds_at_most_a_hundred_steps():
    def of(count: int) -> str:
        return json.dumps({"version": 1, "steps": [{"kind": "drop_duplicates"}] * count})

    assert len(Recipe.from_json(of(100)).steps) == 100
    assert refusal(of(101)) == "A recipe holds at most 100 steps; this one has 101."


def test_a_missing_or_wrong_column_is_refused_with_the_columns_there():
    schema = Schema.of(pd.DataFrame({f"c{i}": [1] for i in range(12)}).assign(t=["a"]))  # 13 columns: 12 shown
    with pytest.raises(DataError) as raised:
        schema.need("gone")
    shown = ", ".join(f"c{i}" for i in range(12))
    assert str(raised.value) == (
        f"No column 'gone' at this step (an earlier step may have removed it); columns: {shown} …."
    )
    few = Schema.of(pd.DataFrame({f"c{i}": [1] for i in range(12)}))
    with pytest.raises(DataError) as raised:
        few.need(3)
    assert str(raised.value).endswith(f"columns: {shown}.")
    with pytest.raises(DataError) as raised:
        schema.need("t", NUMERIC, "datetime")
    assert str(raised.value) == "'t' is text; this step needs a numeric or datetime column."
    assert schema.need("t") == "t" and schema.need("c0", NUMERIC) == "c0"
    assert schema.columns == [*(f"c{i}" for i in range(12)), "t"]


def test_a_list_of_columns_is_checked_for_its_length_repeats_and_each_column():
    schema = Schema.of(pd.DataFrame({"a": [1], "b": [2], "t": ["x"]}))
    assert schema.need_all(["b", "a"], NUMERIC) == ["b", "a"]
    for names, at_least, message in (
        ([], 1, "Choose at least 1 column(s) for this step."),
        (["a"], 2, "Choose at least 2 column(s) for this step."),
        ("a", 1, "Choose at least 1 column(s) for this step."),
        (["a", "a"], 1, "A column is chosen twice; choose each column once."),
        (["a", "t"], 1, "'t' is text; this step needs a numeric column."),
    ):
        with pytest.raises(DataError) as raised:
            schema.need_all(names, NUMERIC, at_least=at_least)
        assert str(raised.value) == message
    assert schema.need_all(["a", "b"], at_least=2) == ["a", "b"]


def test_a_step_is_described_by_its_kind_even_when_its_settings_are_not_valid():
    assert Step("drop", {"columns": ["x", "y"]}).describe() == "drop x, y"
    assert Step("teleport", {"to": "moon"}).describe() == "teleport"
    assert Step("drop", {"columns": 3}).describe() == "Drop columns (settings not valid)"
    assert Step("drop", {"columns": ["x"]}).to_dict() == {"kind": "drop", "params": {"columns": ["x"]}}


def test_a_step_of_an_unknown_kind_or_with_parameters_not_an_object_is_refused():
    schema = Schema.of(pd.DataFrame({"a": [1]}))
    with pytest.raises(DataError) as raised:
        checked(Step("teleport"), schema)
    assert str(raised.value).startswith("Unknown step 'teleport': choose one of cast, clip, datetime_parts, drop, ")
    with pytest.raises(DataError) as raised:
        checked(Step("drop", ["a"]), schema)
    assert str(raised.value) == "The parameters of a drop step must be an object of names and values."


def test_a_steps_host_need_adds_what_it_makes_beyond_its_input():
    frame = pd.DataFrame({"k": range(100), "v": 1.0})
    other = pd.DataFrame({"k": [i // 10 for i in range(1000)]})  # each key ten times: ten times the rows
    cpu = CpuEngine()
    context = Context(cpu, {"other": other})
    join = checked(Step("join", {"dataset": "other", "on": ["k"]}), Schema.of(frame), {"other": Schema.of(other)})
    need, what = host_need(join, frame, context)
    made, said = STEP_KINDS["join"].output_size(frame, dict(join.params), context)
    assert what == said and made > cpu.frame_nbytes(frame)
    cost = STEP_KINDS["join"].host_cost
    assert need == cost.need(frame, dict(join.params), cpu.frame_nbytes(frame)) + made - cpu.frame_nbytes(frame)
    sort = Step("sort", {"columns": ["k"], "ascending": True})
    assert host_need(sort, frame, context)[1] is None
    few = Context(cpu, {"other": pd.DataFrame({"k": [1, 2]})})  # an inner join to two rows makes less than its input
    inner = Step("join", {"dataset": "other", "on": ["k"], "how": "inner"})
    assert host_need(inner, frame, few) == (cost.need(frame, dict(inner.params), cpu.frame_nbytes(frame)), "2 rows")


def test_a_step_past_the_budget_is_refused_with_what_it_would_make(toy_kind):
    frame = pd.DataFrame({"k": range(100), "v": 1.0})
    other = pd.DataFrame({"k": [i // 10 for i in range(1000)]})
    join = Step("join", {"dataset": "other", "on": ["k"], "how": "inner"})
    budget = MemoryBudget(1000, "the test allows")
    for engine in (CpuEngine(), HostBackedGpu()):
        context = Context(engine, {"other": other})
        what = STEP_KINDS["join"].output_size(frame, dict(join.params), context)[1]
        with pytest.raises(DataError) as raised:
            check_step_size(join, frame, context, budget, 4)
        assert str(raised.value).startswith(f"Step 4 (inner join other on k) would make {what} and needs about ")
        assert str(raised.value).endswith(
            "more than the 0.00 GiB the test allows. Filter rows (a “Sample rows” step) or drop columns before it "
            "(for a join, make its keys unique in one table), or run it on a Dask cluster."
        )
    on_gpu = Context(HostBackedGpu())
    check_step_size(Step(TOY, {"columns": ["k"], "factor": 2}), frame, on_gpu, budget, 1)  # no output estimate
    with pytest.raises(DataError) as raised:
        check_step_size(Step(TOY, {"columns": ["k"], "factor": 2}), frame, Context(CpuEngine()), budget, 1)
    assert str(raised.value).startswith("Step 1 (times 2 for k) needs about 0.01 GiB of memory at its peak")


def test_a_kind_without_code_is_refused_by_the_export_with_its_name(toy_kind):
    register(replace(toy_kind, name="toy_no_code", code=None))
    try:
        with pytest.raises(DataError) as raised:
            to_script(Recipe((Step("toy_no_code", {"columns": ["x"], "factor": 2}),)))
    finally:
        STEP_KINDS.pop("toy_no_code")
    assert str(raised.value) == "Steps of kind 'toy_no_code' cannot be exported to a script yet."
