"""Check a recipe against a table and run it on an engine, timing every step with the device synchronised."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pipeline.step_library  # noqa: F401  (registers every step kind)
from pipeline.engines import Engine, is_out_of_memory, out_of_memory_error
from pipeline.errors import DataError, PipelineError
from pipeline.steps import Context, Recipe, Schema, Step, apply_step, checked
from pipeline.timing import clock

SAMPLE_ROWS = 500
log = logging.getLogger(__name__)


def check_recipe(recipe: Recipe, frame: Any, engine: Engine, datasets: dict[str, Any] | None = None) -> list[Step]:
    """Every step validated against the columns it will see; DataError names the first bad step.

    Each step's output columns are found by running it on the first SAMPLE_ROWS rows, with
    the same code that runs on the whole table, so later steps are checked against them.
    """
    datasets = datasets or {}
    schemas = {name: Schema.of(other) for name, other in datasets.items()}
    sample_context = Context(engine, {name: other.head(SAMPLE_ROWS) for name, other in datasets.items()})
    sample = frame.head(SAMPLE_ROWS)
    steps = []
    for number, step in enumerate(recipe.steps, start=1):
        try:
            step = checked(step, Schema.of(sample), schemas)
            sample = apply_step(step, sample, sample_context)
        except PipelineError as error:
            raise DataError(f"Step {number} ({step.describe()}): {error}") from error
        steps.append(step)
    return steps


@dataclass
class StepRun:
    """One step on one engine: seconds (device synchronised), shape after it, or the error it raised."""

    number: int
    step: Step
    seconds: float | None
    rows: int | None
    columns: int | None
    error: str | None = None


@dataclass
class PipelineRun:
    """A recipe's run on one engine; `frame` is the result when every step succeeded."""

    engine: Engine
    steps: list[StepRun] = field(default_factory=list)
    frame: Any | None = None

    @property
    def ok(self) -> bool:
        return self.frame is not None

    @property
    def seconds(self) -> float:
        return sum(run.seconds or 0.0 for run in self.steps)

    @property
    def error(self) -> str | None:
        return next((run.error for run in self.steps if run.error), None)


def _failure(engine: Engine, step: Step, error: Exception) -> str:
    if isinstance(error, PipelineError):
        return str(error)
    if is_out_of_memory(error):
        return str(out_of_memory_error(engine, f"running '{step.describe()}'"))
    log.warning("%s failed on %s", step.kind, engine.label, exc_info=error)
    return f"{type(error).__name__}: {error}"


def run_recipe(steps: list[Step], frame: Any, engine: Engine, datasets: dict[str, Any] | None = None) -> PipelineRun:
    """Run checked steps on `engine`; a failing step is recorded with its message and the run stops there."""
    context = Context(engine, datasets or {})
    run = PipelineRun(engine)
    current = frame
    for number, step in enumerate(steps, start=1):
        try:
            current, seconds = clock(
                lambda step=step, current=current: apply_step(step, current, context), engine.synchronize
            )
        except Exception as error:  # shown per step and per engine, never a crash
            run.steps.append(StepRun(number, step, None, None, None, _failure(engine, step, error)))
            return run
        run.steps.append(StepRun(number, step, seconds, len(current), len(current.columns)))
    run.frame = current
    return run
