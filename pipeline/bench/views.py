"""Tidy tables from one or more benchmark runs, for the Benchmark page's charts and tables."""

from __future__ import annotations

import pandas as pd

from pipeline.bench.results import OK, BenchResults
from pipeline.engines.choices import ENGINE_CHOICES
from pipeline.engines.registry import REFERENCE
from pipeline.published.size_model import Measurement, estimated_curve
from pipeline.timing import speedups as speedups_of

TOTAL = "(all questions)"


def records_table(runs: dict[str, BenchResults]) -> pd.DataFrame:
    """Every record of every run, with the run's name and a series name (the engine, prefixed by the run
    when there are several runs)."""
    frames = []
    for name, results in runs.items():
        frame = results.frame()
        frame.insert(0, "run", name)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["run", "series"])
    table = pd.concat(frames, ignore_index=True)
    table["series"] = table["engine_label"] if len(runs) == 1 else table["run"] + " · " + table["engine_label"]
    return table


def scaling(table: pd.DataFrame, suite: str, question: str) -> pd.DataFrame:
    """Median seconds against rows per series for one question, or, for TOTAL, the sum over the suite's
    questions where a series answered all of them at that size (columns: series, rows, seconds, questions): a size
    a stopped run did not reach every question of (the series asked more questions at another size) has no total."""
    chosen = table[(table["suite"] == suite) & (table["status"] == OK)]
    if question != TOTAL:
        chosen = chosen[chosen["question"] == question]
        return chosen.assign(questions=1)[["series", "rows", "median_s", "questions"]].rename(
            columns={"median_s": "seconds"}
        )
    suite_records = table[table["suite"] == suite]
    asked = suite_records[suite_records["status"] != "skipped"]
    needed = asked.groupby(["series", "rows"])["question"].nunique().rename("asked")
    reached = suite_records.groupby(["series", "rows"])["question"].nunique().rename("reached")
    every = suite_records.groupby("series")["question"].nunique().rename("every")
    totals = chosen.groupby(["series", "rows"]).agg(seconds=("median_s", "sum"), questions=("question", "nunique"))
    totals = totals.join(needed).join(reached).join(every, on="series")
    complete = totals[(totals["questions"] == totals["asked"]) & (totals["reached"] == totals["every"])]
    return complete.drop(columns=["asked", "reached", "every"]).reset_index()


def speedups(table: pd.DataFrame, suite: str, baseline: str, other: str) -> pd.DataFrame:
    """Baseline seconds over the other series' seconds per question and size (columns: question, rows, speedup)."""
    chosen = table[(table["suite"] == suite) & (table["status"] == OK)]
    wide = chosen.pivot_table(index=["question", "rows"], columns="series", values="median_s", aggfunc="first")
    if baseline not in wide or other not in wide:
        return pd.DataFrame(columns=["question", "rows", "speedup"])
    ratio = speedups_of(wide[[baseline, other]], baseline)[other]
    return ratio.rename("speedup").dropna().reset_index()


def gpu_text(gpu: dict) -> str:
    return f"{gpu['name']} ({gpu['memory_gib']} GiB, driver {gpu['driver']}, CUDA {gpu['cuda']})"


def environment_table(runs: dict[str, BenchResults]) -> pd.DataFrame:
    """One row per run: when, where (GPU, CPU, cores, RAM), library versions that matter, git commit."""
    rows = []
    for name, results in runs.items():
        env = results.environment
        machine = env.get("machine", {})
        versions = env.get("versions", {})
        gpus = machine.get("gpus") or []
        rows.append(
            {
                "run": name,
                "when": env.get("when", "?"),
                "GPU": ", ".join(
                    f"{g['name']} ({g['memory_gib']} GiB, driver {g['driver']}, CUDA {g['cuda']})" for g in gpus
                )
                or "none",
                "CPU": machine.get("cpu", "?"),
                "cores": machine.get("logical_cores"),
                "RAM GiB": machine.get("ram_gib"),
                "pandas": versions.get("pandas", "?"),
                "cuDF": versions.get("cuDF", "?"),
                "polars": versions.get("polars", "?"),
                "DuckDB": versions.get("DuckDB", "?"),
                "commit": env.get("git_commit", "?"),
            }
        )
    return pd.DataFrame(rows)


def question_order(table: pd.DataFrame, suite: str) -> list[str]:
    """The suite's questions in the order they were asked (q2 before q10)."""
    return list(dict.fromkeys(table.loc[table["suite"] == suite, "question"]))


def series_sources(table: pd.DataFrame) -> pd.DataFrame:
    """The run and the engine of each series of the records table, indexed by series."""
    return table.drop_duplicates("series").set_index("series")[["run", "engine"]]


def cpu_gpu_times(curve: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """From a scaling curve (series, rows, seconds), the rows where one run measured both the reference CPU engine
    and the single-GPU engine (columns: run, rows, cpu_s, gpu_s); empty where no run holds both."""
    points = curve.join(series_sources(table), on="series")
    gpu_names = [name for name, choice in ENGINE_CHOICES.items() if choice.gpu and not choice.cluster]
    cpu = points[points["engine"] == REFERENCE].set_index(["run", "rows"])["seconds"].rename("cpu_s")
    gpu = points[points["engine"].isin(gpu_names)].set_index(["run", "rows"])["seconds"].rename("gpu_s")
    both = pd.concat([cpu, gpu], axis=1, join="inner").reset_index()
    return both[(both["cpu_s"] > 0) & (both["gpu_s"] > 0)]


def cpu_only_times(curve: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """From a scaling curve (series, rows, seconds, questions), the reference CPU engine's times of the runs that
    timed no single-GPU engine (columns: run, rows, cpu_s, calls: the questions, one GPU call each)."""
    points = curve.join(series_sources(table), on="series")
    gpu_names = [name for name, choice in ENGINE_CHOICES.items() if choice.gpu and not choice.cluster]
    with_gpu = set(points.loc[points["engine"].isin(gpu_names), "run"])
    cpu = points[(points["engine"] == REFERENCE) & ~points["run"].isin(with_gpu) & (points["seconds"] > 0)]
    return cpu.rename(columns={"seconds": "cpu_s", "questions": "calls"})[["run", "rows", "cpu_s", "calls"]]


def estimated_gpu_curves(
    curve: pd.DataFrame, table: pd.DataFrame, work: str, figures: pd.DataFrame, measurements: list[Measurement]
) -> pd.DataFrame:
    """For each run that timed no GPU, the GPU times the size-aware model gives at its CPU sizes, as a series of the
    scaling chart (columns: series, run, rows, cpu_s, calls, fastest, slowest, middle)."""
    cpu = cpu_only_times(curve, table)
    several = table["run"].nunique() > 1
    frames = [
        estimated_curve(times, work, figures, measurements).assign(
            series=f"{run} · GPU (estimate)" if several else "GPU (estimate)"
        )
        for run, times in cpu.groupby("run", sort=False)
    ]
    columns = ["series", "run", "rows", "cpu_s", "calls", "fastest", "slowest", "middle"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def default_comparison(table: pd.DataFrame, series: list[str]) -> tuple[str, str]:
    """The speed-up to show first (of, over): the GPU over the CPU of the same run where a run has both, else
    another engine or peer over the CPU of the same run, never the same engine of two runs."""
    engines = series_sources(table)
    references = [s for s in series if engines.loc[s, "engine"] == REFERENCE] or series[:1]
    reference = references[0]
    run = engines.loc[reference, "run"]
    same_run = [s for s in series if s != reference and engines.loc[s, "run"] == run]
    gpu_names = {name for name, choice in ENGINE_CHOICES.items() if choice.gpu}
    on_gpu = [s for s in same_run if engines.loc[s, "engine"] in gpu_names]
    others = on_gpu or same_run or [s for s in series if s != reference]
    return others[0], reference
