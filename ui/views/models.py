"""Tables for the Models page: metrics side by side, phase times, confusion counts, speed-ups of fits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.engines import split_reference
from pipeline.models.training import ModelRun
from ui import format as fmt
from ui.views import engine_speedups

SECONDS = " (s)"


def metrics_table(runs: dict[str, ModelRun]) -> pd.DataFrame:
    """One row per metric, a column per engine, and each other engine's difference from the reference."""
    names = list(dict.fromkeys(m for run in runs.values() for m in run.metrics))
    table = pd.DataFrame({"metric": names})
    for run in runs.values():
        table[run.engine.label] = [run.metrics.get(m) for m in names]
    reference, others = split_reference(runs)
    if reference is None or not reference.ok:
        return table
    for other in (run for run in others.values() if run.ok):
        table[f"{other.engine.label} − {reference.engine.label}"] = [
            None
            if reference.metrics.get(m) is None or other.metrics.get(m) is None
            else other.metrics[m] - reference.metrics[m]
            for m in names
        ]
    return table


def leaderboard_shown(table: pd.DataFrame) -> pd.DataFrame:
    """A leaderboard as the page shows it: fit and predict times in milliseconds to 4 significant digits, kept
    numbers (a time an algorithm has not stays empty) so they sort and sit right-aligned; the rest as
    `people_table` shows it."""
    times = [name for name in table.columns if name.endswith(SECONDS)]
    shown = fmt.people_table(table.drop(columns=times))
    for name in times:
        shown[name] = (table[name].astype("float64") * 1e3).map(fmt.significant)
    shown = shown[list(table.columns)]
    return shown.rename(columns={name: name.removesuffix(SECONDS) + " (ms)" for name in times})


def phase_times(runs: dict[str, ModelRun]) -> pd.DataFrame:
    rows = [
        {"engine": run.engine.label, "phase": phase, "seconds": seconds}
        for run in runs.values()
        for phase, seconds in run.seconds.items()
    ]
    return pd.DataFrame(rows, columns=["engine", "phase", "seconds"])


def fit_speedups(runs: dict[str, ModelRun]) -> dict[str, float]:
    """Each other engine's fit speed-up over the reference engine's, by label."""
    done = {name: run for name, run in runs.items() if run.ok}
    return engine_speedups(done, lambda run: run.fit_seconds, lambda run: run.engine.label)


def compared_speedups(table: pd.DataFrame) -> pd.DataFrame:
    """The speed-up columns of `compare_all`'s table, tidy: algorithm (as label), engine, speedup."""
    columns = [c for c in table.columns if c.endswith(" speed-up (fit)")]
    tidy = table.melt(id_vars="algorithm", value_vars=columns, var_name="engine", value_name="speedup").dropna()
    tidy["engine"] = tidy["engine"].str.removesuffix(" speed-up (fit)")
    return tidy.rename(columns={"algorithm": "label"})


def confusion(run: ModelRun, normalise: bool = False) -> pd.DataFrame:
    """Counts of true (rows) against predicted (columns) classes, every class on both axes; normalised, each row's
    share of its actual class (a class absent from the test rows keeps zeros)."""
    labels = [str(c) for c in run.classes]
    counts = pd.crosstab(
        pd.Categorical(np.asarray(labels, dtype=object)[run.y_test.astype(int)], categories=labels),
        pd.Categorical(np.asarray(labels, dtype=object)[run.predictions.astype(int)], categories=labels),
        dropna=False,
    )
    counts.index, counts.columns = labels, labels
    if normalise:
        return counts.div(counts.sum(axis=1).replace(0, 1), axis=0)
    return counts
