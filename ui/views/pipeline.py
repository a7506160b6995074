"""Tables for the Pipeline page: the step table (times, memory, rows, speed-ups, agreement) and step speed-ups."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.budget import MemoryBudget
from pipeline.data.catalog import Dataset
from pipeline.engines import REFERENCE, split_reference
from pipeline.errors import DataError
from pipeline.steps.presets import FittedPreset, fit_preset
from pipeline.steps.runner import CheckedRecipe, SideBySide, check_steps, run_recipe
from pipeline.steps.spec import Recipe, Step
from pipeline.timing import speedups
from ui import format as fmt
from ui.views import engine_speedups


def step_table(result: SideBySide) -> pd.DataFrame:
    """One row per step: each engine's time, memory and error (an engine's error column only where it has one), the
    rows × columns after it, each other engine's speed-up over the reference, and whether the engines agree."""
    rows = []
    reference, _others = split_reference(result.runs)
    first = reference or next(iter(result.runs.values()))
    for i, step_run in enumerate(first.steps):
        row: dict[str, Any] = {"step": f"{step_run.number}. {step_run.step.describe()}"}
        seconds = {}
        for name, run in result.runs.items():
            other = run.steps[i] if i < len(run.steps) else None
            seconds[name] = other.seconds if other else None
            row[f"{name.upper()} time"] = fmt.seconds(other.seconds) if other and other.seconds is not None else "—"
            row[f"{name.upper()} memory in use"] = fmt.size(other.memory_bytes) if other and other.memory_bytes else "—"
            row[f"{name.upper()} error"] = other.error if other and other.error else ""
        row["rows × columns"] = f"{step_run.rows:,} × {step_run.columns:,}" if step_run.rows is not None else "—"
        for name, ratio in speedups(seconds, REFERENCE).items():
            if ratio:
                row[f"{name.upper()} speed-up"] = f"{ratio:,.2f}×"
        parity = result.parity[i] if i < len(result.parity) else None
        verdict = "—" if parity is None else ("yes" if parity.ok else "NO: " + "; ".join(parity.mismatches[:3]))
        row["engines agree"] = "; ".join([verdict, *parity.notes]) if parity and parity.notes else verdict
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.drop(columns=[c for c in table.columns if c.endswith(" error") and not table[c].any()])


def run_speedups(result: SideBySide) -> dict[str, float]:
    """Each other engine's speed-up over the reference for the whole recipe, by label."""
    done = {name: run for name, run in result.runs.items() if run.ok}
    return engine_speedups(done, lambda run: run.seconds, lambda run: run.engine.label)


def step_speedups(result: SideBySide) -> pd.DataFrame:
    """Per step and other engine, the speed-up over the reference (columns: step, number, engine, speedup)."""
    timings = result.timings()
    reference, _others = split_reference(result.runs)
    if timings.empty or reference is None:
        return pd.DataFrame(columns=["step", "number", "engine", "speedup"])
    wide = timings.pivot_table(index=["step", "number"], columns="engine", values="seconds")
    if reference.engine.label not in wide:
        return pd.DataFrame(columns=["step", "number", "engine", "speedup"])
    ratios = pd.DataFrame(speedups(wide, reference.engine.label), index=wide.index)
    tidy = ratios.reset_index().melt(id_vars=["step", "number"], var_name="engine", value_name="speedup")
    return tidy.dropna()


def recipe_check(dataset: Dataset, steps: list[Step], others: dict[str, Dataset]) -> CheckedRecipe:
    """The steps checked on a sample of the dataset, once per change: kept with the dataset under the recipe and
    the other datasets a join may name (a dataset's data never changes, so the check stays true)."""
    recipe = Recipe(tuple(steps))
    key = ("recipe check", recipe.to_json(), tuple(sorted((name, other.id) for name, other in others.items())))
    frames = {name: other.primary.frame for name, other in others.items()}
    return dataset.remember(key, lambda: check_steps(recipe, dataset.primary.frame, dataset.primary.engine, frames))


def valid_steps(dataset: Dataset, steps: list[Step], others: dict[str, Dataset]) -> list[Step]:
    """The steps checked (defaults filled in), through `recipe_check`; its StepError when one does not apply."""
    check = recipe_check(dataset, steps, others)
    if check.problem is not None:
        raise check.problem
    return check.steps


def preset_after(
    dataset: Dataset, name: str, steps: list[Step], others: dict[str, Dataset], budget: MemoryBudget
) -> FittedPreset:
    """The preset `name` fitted to the table the dataset's `steps` make (the dataset's own table when there are none),
    those steps run on its primary engine within `budget`."""
    table = dataset.primary.frame
    if steps:
        frames = {other_name: other.primary.frame for other_name, other in others.items()}
        run = run_recipe(valid_steps(dataset, steps, others), table, dataset.primary.engine, frames, budget)
        if not run.ok:
            raise DataError(f"The preset fits the table the steps here make, but they do not run: {run.error}")
        table = run.frame
    return fit_preset(name, table)
