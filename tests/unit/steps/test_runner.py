"""The runner: a recipe checked on a sample, then run step by step on every engine side by side, each step timed and
its output compared with the reference engine's, in process (engines with a GPU's or Dask's traits, pandas
underneath)."""

from __future__ import annotations

import pandas as pd
import psutil
import pytest

from pipeline.budget import MemoryBudget
from pipeline.steps.runner import (
    SAMPLE_ROWS,
    PipelineRun,
    StepError,
    StepRun,
    check_recipe,
    check_steps,
    memory_in_use,
    run_recipe,
    run_side_by_side,
)
from pipeline.steps.spec import STEP_KINDS, Recipe, Step, StepKind, register
from tests.support.engines import GIB, HostBackedGpu


class LazyCluster(HostBackedGpu):
    """pandas underneath, a Dask cluster's traits on top: lazy, estimated quantiles, spills to disk."""

    name = "dask"
    label = "Dask (cluster)"
    lazy = spills_to_disk = estimates_quantiles = True
    sized = 0  # how often a frame's bytes were asked for: on a real cluster, a pass over the data each time

    def frame_nbytes(self, frame) -> int:
        self.sized += 1
        return super().frame_nbytes(frame)


FRAME = pd.DataFrame({"id": [3, 1, 2, 1], "x": [0.5, 2.0, -1.0, 2.0], "t": pd.Series(list("cabb"), dtype="str")})
SORT = Step("sort", {"columns": ["id"], "ascending": True})
DROP_T = Step("drop", {"columns": ["t"]})
DEDUPE = Step("drop_duplicates", {"columns": ["id", "x"], "keep": "first"})


def side_by_side(steps, frames, engines, **options):
    return run_side_by_side(steps, frames, engines, **options)


def test_check_steps_keeps_the_steps_that_apply_and_names_the_first_that_does_not(cpu):
    recipe = Recipe((DROP_T, Step("string", {"column": "t", "op": "upper"}), SORT))
    result = check_steps(recipe, FRAME, cpu)
    assert result.usable == 1 and result.steps == [Step("drop", {"columns": ["t"]})]
    assert [list(sample.columns) for sample in result.samples] == [["id", "x", "t"], ["id", "x"]]
    assert isinstance(result.problem, StepError) and result.problem.number == 2
    assert str(result.problem) == (
        "Step 2 (upper of t): No column 't' at this step (an earlier step may have removed it); columns: id, x."
    )
    with pytest.raises(StepError) as raised:
        check_recipe(recipe, FRAME, cpu)
    assert raised.value.number == 2 and str(raised.value) == str(result.problem)
    assert str(raised.value.__cause__).startswith("No column 't'"), "the step's own error kept for the log"


def test_check_steps_fills_in_the_defaults_and_reports_no_problem_when_every_step_applies(cpu):
    result = check_steps(Recipe((Step("drop_duplicates", {"columns": ["id", "x"]}), SORT)), FRAME, cpu)
    assert result.problem is None and result.usable == 2
    assert result.steps[0] == DEDUPE
    assert [s["id"].tolist() for s in result.samples] == [[3, 1, 2, 1], [3, 1, 2], [1, 2, 3]]


def test_check_steps_works_on_a_sample_of_at_most_sample_rows_whatever_a_step_makes(cpu):
    many = pd.DataFrame({"k": [1] * (SAMPLE_ROWS + 20), "v": range(SAMPLE_ROWS + 20)})
    other = pd.DataFrame({"k": [1, 1, 1], "w": [1, 2, 3]})  # every row joins three times
    join = Step("join", {"dataset": "other", "on": ["k"], "how": "inner"})
    result = check_steps(Recipe((join,)), many, cpu, {"other": other})
    assert result.problem is None
    assert [len(sample) for sample in result.samples] == [SAMPLE_ROWS, SAMPLE_ROWS]
    assert list(result.samples[1].columns) == ["k", "v", "w"]


def test_check_steps_checks_a_join_against_the_other_datasets_columns(cpu):
    other = pd.DataFrame({"key": [1]})
    result = check_steps(Recipe((Step("join", {"dataset": "other", "on": ["id"]}),)), FRAME, cpu, {"other": other})
    assert result.usable == 0 and result.problem.number == 1
    assert "No column 'id' at this step" in str(result.problem)


def test_check_steps_samples_the_other_dataset_of_a_join_too(cpu):
    other = pd.DataFrame({"id": [0] * SAMPLE_ROWS + [1] * 100, "w": range(SAMPLE_ROWS + 100)})
    join = Step("join", {"dataset": "other", "on": ["id"], "how": "inner"})
    result = check_steps(Recipe((join,)), FRAME, cpu, {"other": other})
    assert result.problem is None and len(result.samples[1]) == 0, "id 1 is past the other's first rows"


@pytest.fixture
def greedy_kind():
    """A step kind that runs out of memory whatever it is given."""

    def apply(_frame, _params, _context):
        raise MemoryError("out of memory")

    kind = register(StepKind("greedy", "Greedy (toy)", "values", lambda p, _s, _o: p, apply, lambda _p: "take it all"))
    yield kind
    STEP_KINDS.pop(kind.name)


def test_a_step_that_runs_out_of_memory_is_named_in_the_check_and_in_the_run(cpu, greedy_kind):
    said = "CPU (pandas) ran out of memory running 'take it all'. Remove datasets you no longer need"
    problem = check_steps(Recipe((Step("greedy"),)), FRAME, cpu).problem
    assert str(problem).startswith(f"Step 1 (take it all): {said}")
    assert run_recipe([Step("greedy")], FRAME, cpu).error.startswith(said)


def test_check_steps_refuses_a_step_past_the_memory_budget_on_the_sample(cpu, monkeypatch):
    monkeypatch.setenv("GPL_MAX_LOAD_MB", "1")  # less than any step's fixed overhead
    result = check_steps(Recipe((SORT,)), FRAME, cpu)
    assert result.usable == 0 and result.problem.number == 1
    assert str(result.problem).startswith(
        "Step 1 (sort by id ascending): Step 1 (sort by id ascending) needs about 0.01 GiB"
    )


def test_a_run_records_each_steps_time_shape_and_memory_and_its_result(cpu):
    run = run_recipe(check_recipe(Recipe((DROP_T, SORT)), FRAME, cpu), FRAME, cpu)
    assert run.ok and run.error is None and run.engine is cpu
    assert [(s.number, s.rows, s.columns, s.error) for s in run.steps] == [(1, 4, 2, None), (2, 4, 2, None)]
    assert all(s.seconds is not None and s.seconds >= 0 for s in run.steps)
    assert run.seconds == sum(s.seconds for s in run.steps)
    assert all(0 < s.memory_bytes <= psutil.Process().memory_info().rss * 2 for s in run.steps)
    assert run.frame["id"].tolist() == [1, 1, 2, 3]


def test_a_runs_time_and_error_count_the_steps_that_ran(cpu):
    failed = StepRun(3, SORT, None, None, None, "Step 3 failed")
    run = PipelineRun(cpu, [StepRun(1, SORT, 0.25, 4, 3), StepRun(2, SORT, 0.5, 4, 3), failed])
    assert run.seconds == 0.75 and run.error == "Step 3 failed" and not run.ok
    assert PipelineRun(cpu).seconds == 0.0 and PipelineRun(cpu).ok


def test_memory_in_use_is_the_devices_on_a_gpu_and_this_processs_on_the_cpu(cpu):
    assert memory_in_use(HostBackedGpu(free=GIB, total=4 * GIB)) == 3 * GIB
    rss = psutil.Process().memory_info().rss
    assert 0.5 * rss < memory_in_use(cpu) < 2 * rss


def test_a_failing_step_stops_its_engine_and_the_other_goes_on(cpu):
    frames = {"cpu": FRAME, "gpu": FRAME.drop(columns="t")}  # the GPU's copy lacks the column the step uses
    upper = Step("string", {"column": "t", "op": "upper", "output": "t"})
    result = side_by_side([upper, SORT], frames, {"cpu": cpu, "gpu": HostBackedGpu()})
    cpu_run, gpu_run = result.runs["cpu"], result.runs["gpu"]
    assert cpu_run.ok and cpu_run.frame["t"].tolist() == ["A", "B", "B", "C"]
    assert gpu_run.frame is None and len(gpu_run.steps) == 1
    failed = gpu_run.steps[0]
    assert (failed.number, failed.step, failed.seconds, failed.rows, failed.columns) == (1, upper, None, None, None)
    assert failed.error == gpu_run.error and failed.error.startswith("KeyError: ") and "'t'" in failed.error
    assert result.parity == [None, None], "nothing to compare once the GPU has stopped"


def test_an_engine_that_fails_first_leaves_the_next_engine_to_run_every_step(cpu):
    frames = {"cpu": FRAME.drop(columns="t"), "gpu": FRAME}  # the CPU's copy lacks the column the step drops
    result = side_by_side([DROP_T, SORT], frames, {"cpu": cpu, "gpu": HostBackedGpu()})
    assert [s.error is None for s in result.runs["cpu"].steps] == [False]
    assert [s.number for s in result.runs["gpu"].steps] == [1, 2] and result.runs["gpu"].ok
    assert result.runs["gpu"].frame["id"].tolist() == [1, 1, 2, 3]


def test_a_join_on_an_engine_without_the_other_dataset_says_to_load_it_there(cpu):
    scores = pd.DataFrame({"id": [1, 2, 3], "score": [10, 20, 30]})
    join = Step("join", {"dataset": "scores", "on": ["id"], "how": "left"})
    result = side_by_side(
        [join], {"cpu": FRAME, "gpu": FRAME}, {"cpu": cpu, "gpu": HostBackedGpu()}, datasets={"cpu": {"scores": scores}}
    )
    assert result.runs["cpu"].ok and result.runs["cpu"].frame["score"].tolist()[:2] == [30, 10]
    assert result.runs["gpu"].error == "The dataset 'scores' is not on GPU (cuDF); load it there first."


def test_a_run_on_one_engine_keeps_to_the_budget_it_is_given(cpu):
    run = run_recipe([SORT], FRAME, cpu, budget=MemoryBudget(1, "the test allows"))
    assert run.error.startswith("Step 1 (sort by id ascending) needs about 0.01 GiB of memory at its peak")
    assert run.frame is None


def test_progress_names_each_step_on_each_engine_and_ends_done(cpu):
    said = []
    side_by_side(
        [DROP_T, SORT],
        {"cpu": FRAME, "gpu": FRAME},
        {"cpu": cpu, "gpu": HostBackedGpu()},
        progress=lambda fraction, message: said.append((fraction, message)),
    )
    assert said == [
        (0.0, "Step 1 of 2 on CPU (pandas): drop t"),
        (0.25, "Step 1 of 2 on GPU (cuDF): drop t"),
        (0.5, "Step 2 of 2 on CPU (pandas): sort by id ascending"),
        (0.75, "Step 2 of 2 on GPU (cuDF): sort by id ascending"),
        (1.0, "Done"),
    ]


def test_progress_of_a_run_with_no_steps_is_done_at_once(cpu):
    said = []
    result = side_by_side([], {"cpu": FRAME}, {"cpu": cpu}, progress=lambda f, m: said.append((f, m)))
    assert said == [(1.0, "Done")] and result.runs["cpu"].frame is FRAME and result.parity == []


def test_timings_give_seconds_per_step_and_engine_leaving_failed_steps_out(cpu):
    frames = {"cpu": FRAME, "gpu": FRAME.drop(columns="id")}
    result = side_by_side([DROP_T, SORT], frames, {"cpu": cpu, "gpu": HostBackedGpu()})
    timings = result.timings()
    assert list(timings.columns) == ["step", "number", "engine", "seconds"]
    assert timings[["step", "number", "engine"]].values.tolist() == [
        ["1. Drop columns", 1, "CPU (pandas)"],
        ["2. Sort rows", 2, "CPU (pandas)"],
        ["1. Drop columns", 1, "GPU (cuDF)"],
    ]
    assert timings["seconds"].tolist() == [s.seconds for s in result.runs["cpu"].steps] + [
        result.runs["gpu"].steps[0].seconds
    ]
    empty = side_by_side([], {"cpu": FRAME}, {"cpu": cpu}).timings()
    assert empty.empty and list(empty.columns) == ["step", "number", "engine", "seconds"]


def test_without_frames_keeps_the_times_and_checks_and_drops_the_results(cpu):
    result = side_by_side([SORT], {"cpu": FRAME, "gpu": FRAME}, {"cpu": cpu, "gpu": HostBackedGpu()})
    kept = result.without_frames()
    assert all(run.frame is None for run in kept.runs.values())
    assert all(run.frame is not None for run in result.runs.values()), "the run itself keeps its frames"
    assert [run.steps for run in kept.runs.values()] == [run.steps for run in result.runs.values()]
    assert kept.parity == result.parity and kept.parity is not result.parity


def test_parity_after_each_step_names_the_engine_and_the_column_that_differ(cpu):
    other = FRAME.assign(x=[0.5, 2.0, -1.0, 3.0])  # the GPU's copy differs in one value of x
    result = side_by_side([DROP_T, SORT], {"cpu": FRAME, "gpu": other}, {"cpu": cpu, "gpu": HostBackedGpu()})
    assert [p.mismatches for p in result.parity] == [
        ["GPU (cuDF): 'x': 1 values differ beyond rtol=1e-09"],
        ["GPU (cuDF): 'x': 1 values differ beyond rtol=1e-09"],
    ]
    assert all(p.notes == [] for p in result.parity)
    same = side_by_side([DROP_T], {"cpu": FRAME, "gpu": FRAME}, {"cpu": cpu, "gpu": HostBackedGpu()})
    assert same.parity[0].ok and same.parity[0].notes == []


def test_parity_needs_the_reference_engine_and_another(cpu):
    gpu = HostBackedGpu()
    assert side_by_side([SORT], {"cpu": FRAME}, {"cpu": cpu}).parity == [None]
    assert side_by_side([SORT], {"gpu": FRAME}, {"gpu": gpu}).parity == [None]


def test_rows_in_another_order_differ_where_the_steps_keep_the_order(cpu):
    shuffled = FRAME.iloc[[1, 0, 3, 2]].reset_index(drop=True)
    ordered = side_by_side([DROP_T], {"cpu": FRAME, "gpu": shuffled}, {"cpu": cpu, "gpu": HostBackedGpu()})
    assert not ordered.parity[0].ok, "a step that keeps the row order is compared row by row"
    unordered = side_by_side([SORT, DROP_T], {"cpu": FRAME, "gpu": shuffled}, {"cpu": cpu, "gpu": HostBackedGpu()})
    assert unordered.parity[1].ok, "after a sort (ties in any order) the rows are compared as a set"


def test_a_lazy_engine_is_compared_as_a_set_of_rows_after_a_step_it_may_reorder(cpu):
    shuffled = FRAME.iloc[[1, 0, 3, 2]].reset_index(drop=True)
    # a de-duplication keeps the row order on pandas and cuDF; Dask's shuffle may not
    for engine, compared_as_set in ((LazyCluster(), True), (HostBackedGpu(), False)):
        name = engine.name
        result = side_by_side([DEDUPE], {"cpu": FRAME, name: shuffled}, {"cpu": cpu, name: engine})
        assert result.parity[0].ok == compared_as_set, engine.label
    kept = side_by_side([DROP_T], {"cpu": FRAME, "dask": shuffled}, {"cpu": cpu, "dask": LazyCluster()})
    assert not kept.parity[0].ok, "a step Dask keeps in order is compared row by row on Dask too"


def test_an_engine_that_estimates_quantiles_is_not_compared_after_a_step_that_uses_them(cpu):
    steps = [DROP_T, Step("fill_missing", {"columns": ["x"], "method": "median"}), SORT]
    other = FRAME.assign(x=[9.0, 9.0, 9.0, 9.0])
    engines = {"cpu": cpu, "dask": LazyCluster(), "gpu": HostBackedGpu()}
    result = side_by_side(steps, {"cpu": FRAME, "dask": other, "gpu": FRAME.assign(id=[3, 1, 2, 7])}, engines)
    assert result.parity[0].mismatches == [
        "Dask (cluster): 'x': 4 values differ beyond rtol=1e-09",
        "GPU (cuDF): 'id': 1 values differ beyond rtol=1e-09",
    ]
    assert result.parity[0].notes == []
    for parity in result.parity[1:]:
        assert parity.notes == ["Dask (cluster) not compared: step 2 uses quantiles, which Dask estimates."]
        assert parity.mismatches and all(m.startswith("GPU (cuDF): ") for m in parity.mismatches), "GPU compared"
    exact = side_by_side(steps, {"cpu": FRAME, "gpu": other}, {"cpu": cpu, "gpu": HostBackedGpu()})
    assert exact.parity[1].notes == [] and exact.parity[1].mismatches, "an exact engine is compared"


def test_a_step_past_the_budget_fails_except_on_an_engine_that_spills_to_disk(cpu):
    budget = MemoryBudget(1, "the test allows")
    engines = {"cpu": cpu, "dask": LazyCluster(free=1, total=2)}  # not even the device check stops it
    result = side_by_side([SORT], {"cpu": FRAME, "dask": FRAME}, engines, budget=budget)
    assert result.runs["cpu"].error.startswith(
        "Step 1 (sort by id ascending) needs about 0.01 GiB of memory at its peak"
    )
    assert result.runs["dask"].ok and result.runs["dask"].frame["id"].tolist() == [1, 1, 2, 3]
    assert engines["dask"].sized == 0, "nothing is estimated for an engine that spills: no extra pass over the data"


def test_a_step_is_checked_against_the_free_device_memory_before_it_runs(cpu):
    nbytes = int(FRAME.memory_usage(deep=True).sum())
    fits = HostBackedGpu(free=int(nbytes * 3.0 / 0.9) + 8, total=GIB)  # a sort needs 3 times its input
    tight = HostBackedGpu(free=int(nbytes * 3.0 / 0.9) - 8, total=GIB)
    assert run_recipe([SORT], FRAME, fits).ok
    failed = run_recipe([SORT], FRAME, tight)
    assert failed.error.startswith(
        "Step 1 (sort by id ascending) needs about 0.00 GiB of GPU memory, but only 0.00 GiB"
    )
    assert failed.error.endswith(
        "Add a “Sample rows” step first, drop columns you do not need, or run this pipeline on the CPU."
    )
    assert tight.released == 1
