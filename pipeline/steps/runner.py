"""Check a recipe against a table and run it on an engine, timing every step with the device synchronised."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import psutil

import pipeline.steps.library  # noqa: F401  (registers every step kind)
from pipeline.budget import MemoryBudget
from pipeline.engines import Engine, failure_message, split_reference
from pipeline.errors import DataError
from pipeline.parity import Parity, compare_results
from pipeline.steps.memory import check_fits, step_need
from pipeline.steps.spec import STEP_KINDS, Context, Recipe, Schema, Step, apply_step, check_step_size, checked
from pipeline.timing import clock

SAMPLE_ROWS = 500


def check_recipe(recipe: Recipe, frame: Any, engine: Engine, datasets: dict[str, Any] | None = None) -> list[Step]:
    """Every step validated against the columns it will see; StepError names the first bad step."""
    result = check_steps(recipe, frame, engine, datasets)
    if result.problem is not None:
        raise result.problem
    return result.steps


@dataclass(frozen=True)
class CheckedRecipe:
    """A recipe checked on a sample: the steps that apply (checked, defaults filled in), the sample before any
    step and after each of them, and the first step that does not apply (None when all do)."""

    steps: list[Step]
    samples: list[Any]
    problem: StepError | None

    @property
    def usable(self) -> int:
        """How many leading steps apply."""
        return len(self.steps)


def check_steps(recipe: Recipe, frame: Any, engine: Engine, datasets: dict[str, Any] | None = None) -> CheckedRecipe:
    """Each step of `recipe` checked in turn against the columns it will see, until one does not apply.

    Each step's output columns are found by running it on the first SAMPLE_ROWS rows, with the same code that
    runs on the whole table, so later steps are checked against them; the sample is cut back to SAMPLE_ROWS
    after every step, so steps that multiply rows (joins) cannot grow it. Whatever a step raises on the sample
    becomes a StepError naming that step.
    """
    datasets = datasets or {}
    schemas = {name: Schema.of(other) for name, other in datasets.items()}
    heads = {name: engine.head(other, SAMPLE_ROWS) for name, other in datasets.items()}
    sample_context = Context(engine.local, heads)
    samples = [engine.head(frame, SAMPLE_ROWS)]
    budget = MemoryBudget.for_session()
    steps: list[Step] = []
    for number, step in enumerate(recipe.steps, start=1):
        try:
            step = checked(step, Schema.of(samples[-1]), schemas)
            check_step_size(step, samples[-1], sample_context, budget, number)
            samples.append(apply_step(step, samples[-1], sample_context).head(SAMPLE_ROWS))
        except Exception as error:  # a recipe from a file may hold anything: name the step, never crash
            reason = failure_message(engine, f"running '{step.describe()}'", error)
            problem = StepError(number, f"Step {number} ({step.describe()}): {reason}")
            problem.__cause__ = error
            return CheckedRecipe(steps, samples, problem)
        steps.append(step)
    return CheckedRecipe(steps, samples, None)


class StepError(DataError):
    """A step of a recipe cannot apply to the columns it will see; `number` counts from 1."""

    def __init__(self, number: int, message: str) -> None:
        super().__init__(message)
        self.number = number


@dataclass
class StepRun:
    """One step on one engine: seconds (device synchronised), shape after it, or the error it raised."""

    number: int
    step: Step
    seconds: float | None
    rows: int | None
    columns: int | None
    error: str | None = None
    memory_bytes: int | None = None


def memory_in_use(engine: Engine) -> int:
    """Bytes in use where the engine keeps its data: device memory on a GPU, this process's RSS on the CPU."""
    device = engine.memory_info()
    return device.used if device is not None else psutil.Process().memory_info().rss


@dataclass
class PipelineRun:
    """A recipe's run on one engine; `frame` is the result when every step succeeded (and the run was not read back
    from a workspace)."""

    engine: Engine
    steps: list[StepRun] = field(default_factory=list)
    frame: Any | None = None

    @property
    def ok(self) -> bool:
        """Every step ran (a run kept in a workspace has its times and checks, not its frame)."""
        return self.error is None

    @property
    def seconds(self) -> float:
        return sum(run.seconds or 0.0 for run in self.steps)

    @property
    def error(self) -> str | None:
        return next((run.error for run in self.steps if run.error), None)


def run_recipe(
    steps: list[Step],
    frame: Any,
    engine: Engine,
    datasets: dict[str, Any] | None = None,
    budget: MemoryBudget | None = None,
) -> PipelineRun:
    """Run checked steps on one engine; a failing step is recorded with its message and the run stops there."""
    frames, engines = {engine.name: frame}, {engine.name: engine}
    return run_side_by_side(steps, frames, engines, {engine.name: datasets or {}}, budget=budget).runs[engine.name]


@dataclass
class SideBySide:
    """A recipe run step by step on every engine, with each step's outputs compared across engines."""

    runs: dict[str, PipelineRun]
    parity: list[Parity | None] = field(default_factory=list)

    def timings(self) -> pd.DataFrame:
        """Seconds per step and engine, tidy for charts (failed steps left out)."""
        rows = [
            {
                "step": f"{s.number}. {STEP_KINDS[s.step.kind].label}",
                "number": s.number,
                "engine": run.engine.label,
                "seconds": s.seconds,
            }
            for run in self.runs.values()
            for s in run.steps
            if s.seconds is not None
        ]
        return pd.DataFrame(rows, columns=["step", "number", "engine", "seconds"])

    def without_frames(self) -> SideBySide:
        """The same run with its times and checks but not its result frames (kept for a dataset not in view)."""
        return SideBySide({name: replace(run, frame=None) for name, run in self.runs.items()}, list(self.parity))


def run_side_by_side(
    steps: list[Step],
    frames: dict[str, Any],
    engines: dict[str, Engine],
    datasets: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[float, str], None] | None = None,
    budget: MemoryBudget | None = None,
) -> SideBySide:
    """Run each step on every engine in turn and compare the outputs to the reference engine's after every step.

    `frames` and `datasets` hold each engine's own copy, by engine name. An engine whose step
    fails stops there with the error recorded; the others go on. A step whose output would pass
    `budget` (estimated before it runs) fails so, except on engines that spill to disk.
    """
    budget = budget or MemoryBudget.for_session()
    report = progress or (lambda _fraction, _message: None)
    contexts = {name: Context(engines[name], (datasets or {}).get(name, {})) for name in frames}
    runs = {name: PipelineRun(engines[name]) for name in frames}
    current = dict(frames)
    result = SideBySide(runs)
    total = max(len(steps) * len(frames), 1)
    done = 0
    for number, step in enumerate(steps, start=1):
        for name in list(current):
            report(done / total, f"Step {number} of {len(steps)} on {engines[name].label}: {step.describe()}")
            done += 1
            if current[name] is None:
                continue
            engine = engines[name]
            try:
                if not engine.spills_to_disk:
                    check_step_size(step, current[name], contexts[name], budget, number)
                if engine.memory_of_its_own and not engine.spills_to_disk:
                    need = step_need(STEP_KINDS[step.kind].memory_factor, engine.frame_nbytes(current[name]))
                    check_fits(engine, need, f"Step {number} ({step.describe()})", "step")
                output, seconds = clock(  # a lazy engine computes the step's result inside the clock
                    lambda step=step, name=name, engine=engine: engine.persist(
                        apply_step(step, current[name], contexts[name])
                    ),
                    engine.synchronize,
                )
                rows = engine.row_count(output)
            except Exception as error:  # one engine's failure is shown, the others go on
                reason = failure_message(engine, f"running '{step.describe()}'", error)
                runs[name].steps.append(StepRun(number, step, None, None, None, reason))
                current[name] = None
                continue
            runs[name].steps.append(
                StepRun(number, step, seconds, rows, len(output.columns), memory_bytes=memory_in_use(engine))
            )
            current[name] = output
        result.parity.append(_step_parity(current, engines, steps[:number]))
    for name, frame in current.items():
        runs[name].frame = frame
    report(1.0, "Done")
    return result


def _step_parity(current: dict[str, Any], engines: dict[str, Engine], done: list[Step]) -> Parity | None:
    """Each other engine's output against the reference engine's after the steps `done`, or None where there is
    nothing to compare. A Dask result whose steps used Dask's estimated quantiles is not compared (a note says
    so), and one that Dask reordered is compared as a set of rows."""
    reference, rest = split_reference(current)
    others = [name for name, frame in rest.items() if frame is not None]
    if reference is None or not others:
        return None
    kinds = [STEP_KINDS[step.kind] for step in done]
    ordered = all(kind.keeps_row_order for kind in kinds)
    estimated = [n for n, step in enumerate(done, 1) if STEP_KINDS[step.kind].estimated_on_dask(step.params)]
    result = Parity()
    for name in others:
        engine = engines[name]
        if engine.estimates_quantiles and estimated:
            result.notes.append(
                f"{engine.label} not compared: step {estimated[0]} uses quantiles, which Dask estimates."
            )
            continue
        in_order = ordered and (not engine.lazy or all(kind.row_order_on_dask for kind in kinds))
        other = engine.to_pandas(current[name]).reset_index(drop=True)
        parity = compare_results(reference.reset_index(drop=True), other, ordered=in_order)
        result.mismatches.extend(f"{engine.label}: {m}" for m in parity.mismatches)
    return result
