"""The speed guard (`make speed-guard`, run by `.ci/run`): fixed workloads of the app, each timed as a ratio to plain
pandas/scikit-learn doing comparable work in the same process and run; it fails when a ratio is more than 1.5× the
one recorded in benchmarks/guard.json.

    python -m benchmarks.speed_guard                      # check: exit status 1 when a workload got slower
    python -m benchmarks.speed_guard --record "why"       # write this machine's ratios into benchmarks/guard.json

Seconds differ from machine to machine and from minute to minute on a shared one; the ratio of our time to a
baseline's, taken side by side, travels. Each workload runs once and its baseline once (warm-up), then they take
turns, each going first in every other pair, so that a change of load reaches both; the ratio is the CPU time of
our fastest run over the baseline's fastest. CPU time (this process's and its children's, the sandboxed reader that
decodes a load among them; every thread) is what other jobs on a shared machine barely move: the wall-clock time of
the same call varied twofold from run to run on the 2-core development machine while other jobs ran, its CPU time
by a few per cent. BLAS and OpenMP are held to one thread while the guard times: their idle threads spin, CPU time
that is not work. The JSON report has every run by both clocks. The peak memory of the profile is the one ratio
of bytes: measured in fresh processes (tests/support/peaks.py), above what each held before it started.

Workloads (tables generated once, off the clock):
- profile: the full profile of the `mixed` table (2e5 rows × 20 columns), against `describe(include="all")` and
  Spearman's matrix as pandas computes it from ranks (`rank().corr()`: `corr("spearman")` ranks every pair again
  when a column has gaps, ten times slower, itself the kind of work the profile must not do);
- profile correlations: the profile's Pearson and Spearman matrices of that table alone, against the same
  `rank().corr()` (the part of the profile whose algorithm matters most: a sort per pair of columns with gaps in
  different rows took as long as the rest of it, a quarter of the whole profile, where a slowdown of that size is
  lost in the noise);
- load Parquet, load CSV: that table uploaded the way the Data page loads a file (`load_file`, the sandboxed reader,
  the CPU engine), against `pd.read_parquet` and `pd.read_csv` of the same bytes;
- pipeline preset: "clean and encode" on that table through the app's runner, against the same recipe exported as a
  pandas script (`pipeline.steps.export`: plain pandas, the same results);
- model fit: logistic regression trained the way the Models page trains it (`train`: features prepared, fitted,
  predicted, scored) on a generated classification table of 2e5 rows, against the same scikit-learn estimator fitted
  and predicting on the prepared arrays;
- profile peak memory: the profile's peak above what the process held, against the baseline of `profile`.

A ratio goes up when the app's code gets slower and stays put when the machine does. When a change makes a workload
slower on purpose, record the new ratios (`--record "why"`, which measures three times and keeps each median) and
commit benchmarks/guard.json with a message that says why; never to make a failing guard pass.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
from threadpoolctl import threadpool_limits

from benchmarks.common import run_facts
from pipeline.data.catalog import Catalog
from pipeline.data.io import Source
from pipeline.data.loading import load_file
from pipeline.engines import CPU, get_engine
from pipeline.models.algorithms import ALGORITHMS
from pipeline.models.features import FeatureSpec, prepare
from pipeline.models.training import train
from pipeline.profile import PRESETS, profile_frame
from pipeline.profile.correlations import correlations
from pipeline.steps.export import to_script
from pipeline.steps.presets import preset_recipe
from pipeline.steps.runner import check_recipe, run_recipe
from pipeline.steps.spec import Recipe
from pipeline.tables.synthetic import SyntheticSpec, generate
from pipeline.timing import clock
from tests.support.peaks import measure_peaks

HERE = Path(__file__).resolve().parent
GUARD_FILE = HERE / "guard.json"
REPORT_FILE = HERE.parent / "test-artifacts" / "speed-guard.json"
TOLERANCE = 1.5  # a ratio may grow to this many times the recorded one before the guard fails
ROWS = 200_000
RECORD_ROUNDS = 3
MIB = 2**20
MEMORY = "profile peak memory"


@dataclass(frozen=True)
class Workload:
    """A piece of the app's work and plain pandas/scikit-learn doing comparable work, each a call to time."""

    name: str
    ours: Callable[[], Any]
    baseline: Callable[[], Any]
    repeats: int


@dataclass(frozen=True)
class Measured:
    """A workload's figures in one run: ours and the baseline's (fastest seconds, or peak MiB) and their ratio."""

    name: str
    unit: str
    ours: float
    baseline: float
    ratio: float
    samples: dict[str, list[float]] = field(default_factory=dict)


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds of every thread of process `pid`, to the nanosecond: Linux's CPU-time clock of a process (clock id
    `~pid << 3 | 2`, as clock_getcpuclockid(3) gives it; /proc's figures count in hundredths of a second, too coarse
    for a call of 50 ms)."""
    return time.clock_gettime((~pid << 3) | 2)


def cpu_seconds() -> float:
    """CPU seconds spent so far by this process and every process under it (the sandboxed reader and its workers),
    every thread, those that ended and were waited for included."""
    me = psutil.Process()
    total = 0.0
    for process in (me, *me.children(recursive=True)):
        with contextlib.suppress(psutil.Error, OSError):  # it ended between the listing and the reading
            ended = process.cpu_times()
            total += process_cpu_seconds(process.pid) + ended.children_user + ended.children_system
    return total


def seconds_of(call: Callable[[], Any]) -> tuple[float, float]:
    """Wall-clock seconds of one call, and the CPU seconds it took (`cpu_seconds`)."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    call()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def paired(workload: Workload) -> Measured:
    """Ours and the baseline timed in turns after one warm-up each, each going first in every other pair; the
    ratio is the CPU time of our fastest run over the baseline's fastest (other jobs on the machine only ever add
    time, so the fastest run is the one they disturbed least)."""
    calls = (workload.ours, workload.baseline)
    for call in calls:
        call()
    runs: tuple[list[tuple[float, float]], list[tuple[float, float]]] = ([], [])
    for repeat in range(workload.repeats):
        for who in (0, 1) if repeat % 2 == 0 else (1, 0):
            gc.collect()
            runs[who].append(seconds_of(calls[who]))
    ours, baseline = (min(run[1] for run in runs[who]) for who in (0, 1))
    samples = {
        f"{who}_{kind}_s": [round(run[index], 4) for run in runs[number]]
        for number, who in enumerate(("ours", "baseline"))
        for index, kind in enumerate(("wall", "cpu"))
    }
    return Measured(workload.name, "CPU s", ours, baseline, ours / baseline, samples)


def mixed_table(rows: int) -> pd.DataFrame:
    return generate(SyntheticSpec("mixed", rows=rows), get_engine(CPU))[""]


def spearman_baseline(frame: pd.DataFrame) -> Callable[[], Any]:
    """Spearman's matrix of the numeric columns as pandas computes it from ranks."""
    numeric = frame.select_dtypes("number")
    return lambda: numeric.rank().corr()


def profile_baseline(frame: pd.DataFrame) -> Callable[[], Any]:
    """What plain pandas does for a table's statistics: `describe` of every column and Spearman's matrix."""
    spearman = spearman_baseline(frame)
    return lambda: (frame.describe(include="all"), spearman())


def profile_workloads(frame: pd.DataFrame) -> list[Workload]:
    cpu, settings = get_engine(CPU), PRESETS["full"]
    columns = profile_frame(cpu, frame, settings).columns
    return [
        Workload("profile", lambda: profile_frame(cpu, frame, settings), profile_baseline(frame), 5),
        Workload(
            "profile correlations", lambda: correlations(cpu, frame, columns, settings), spearman_baseline(frame), 11
        ),
    ]


def load_workloads(frame: pd.DataFrame) -> list[Workload]:
    cpu = get_engine(CPU)
    parquet = io.BytesIO()
    frame.to_parquet(parquet, index=False)
    files = {"Parquet": ("mixed.parquet", parquet.getvalue()), "CSV": ("mixed.csv", frame.to_csv(index=False).encode())}
    readers = {"Parquet": pd.read_parquet, "CSV": pd.read_csv}
    return [
        Workload(
            f"load {kind}",
            lambda name=name, data=data: load_file(Catalog(), Source.from_bytes(name, data), [cpu]),
            lambda kind=kind, data=data: readers[kind](io.BytesIO(data)),
            11,
        )
        for kind, (name, data) in files.items()
    ]


def preset_workload(frame: pd.DataFrame) -> Workload:
    cpu = get_engine(CPU)
    steps = check_recipe(preset_recipe("clean_and_encode", frame), frame, cpu)
    script: dict[str, Any] = {"__name__": "exported_preset"}
    exec(compile(to_script(Recipe(tuple(steps))), "exported preset", "exec"), script)  # our own recipe, not input

    def ours() -> Any:
        result = run_recipe(steps, frame, cpu)
        if not result.ok:
            raise RuntimeError(result.error)
        return result

    return Workload("pipeline preset", ours, lambda: script["run"](frame), 7)


def model_workload(rows: int) -> Workload:
    cpu, algorithm = get_engine(CPU), ALGORITHMS["logistic_regression"]
    table = generate(SyntheticSpec("classification", rows=rows), cpu)[""]
    spec = FeatureSpec(algorithm.task, tuple(c for c in table.columns if c != "target"), "target")
    arrays = prepare(cpu, table, spec)

    def ours() -> Any:
        run = train(cpu, table, spec, algorithm)
        if not run.ok:
            raise RuntimeError(run.error)
        return run

    def baseline() -> Any:
        return algorithm.build(CPU).fit(arrays.x_train, arrays.y_train).predict(arrays.x_test)

    return Workload("model fit", ours, baseline, 7)


def workloads(rows: int = ROWS) -> list[Workload]:
    """The guard's fixed workloads, their tables generated here (off the clock)."""
    frame = mixed_table(rows)
    return [*profile_workloads(frame), *load_workloads(frame), preset_workload(frame), model_workload(rows)]


def _profile_peak(rows: int) -> tuple[Callable[[], Any], int]:
    frame = mixed_table(rows)
    return lambda: profile_frame(get_engine(CPU), frame, PRESETS["full"]), 0


def _baseline_peak(rows: int) -> tuple[Callable[[], Any], int]:
    return profile_baseline(mixed_table(rows)), 0


PEAK_CASES = {"profile": _profile_peak, "profile baseline": _baseline_peak}  # for tests.support.peaks (no model: 0)


def profile_memory(rows: int = ROWS) -> Measured:
    """The profile's peak memory over the baseline's, each measured in a fresh process."""
    peaks = {peak.case: peak.peak / MIB for peak in measure_peaks("benchmarks.speed_guard", list(PEAK_CASES), (rows,))}
    ours, baseline = peaks["profile"], peaks["profile baseline"]
    return Measured(MEMORY, "MiB", ours, baseline, ours / baseline)


@dataclass(frozen=True)
class Verdict:
    """A measured ratio against the recorded one: the limit is TOLERANCE times the recorded ratio."""

    measured: Measured
    recorded: float | None
    limit: float | None

    @property
    def passed(self) -> bool:
        return self.limit is not None and self.measured.ratio <= self.limit

    def problem(self) -> str | None:
        """What went wrong and what to do, or None."""
        name, ratio = self.measured.name, self.measured.ratio
        if self.recorded is None:
            return (
                f"{name}: no ratio is recorded for it in {GUARD_FILE.name}. Record one with "
                '`python -m benchmarks.speed_guard --record "why"` and commit the file with a message that says why.'
            )
        if self.passed:
            return None
        return (
            f"{name} is slower than recorded: {ratio:.3f}× its baseline, {ratio / self.recorded:.2f} times the "
            f"{self.recorded:.3f}× recorded in benchmarks/{GUARD_FILE.name} (the limit is {TOLERANCE}×: "
            f"{self.limit:.3f}). Find the change that made it slower (run `make speed-guard` on the commit before "
            f'yours); if the cost is deliberate, run `python -m benchmarks.speed_guard --record "why"` on a quiet '
            f"machine and commit benchmarks/{GUARD_FILE.name} with a message that says why."
        )


def judge(measured: list[Measured], recorded: dict[str, float]) -> list[Verdict]:
    """Each measurement against its recorded ratio; one with no recorded ratio fails."""
    verdicts = []
    for m in measured:
        before = recorded.get(m.name)
        verdicts.append(Verdict(m, before, None if before is None else before * TOLERANCE))
    return verdicts


def measure_all(chosen: list[Workload]) -> list[Measured]:
    """Every workload's ratio, the BLAS and OpenMP thread pools of this process held to one thread meanwhile: their
    idle threads spin, which counts as CPU time without being work (on 2 cores, two threads made the 0.04 s fit of
    the model workload's baseline take 0.2–0.3 CPU s, varying from run to run)."""
    results = []
    with threadpool_limits(limits=1):
        for workload in chosen:
            measured, seconds = clock(lambda workload=workload: paired(workload), lambda: None)
            print(f"{workload.name}: ratio {measured.ratio:.3f} ({seconds:.1f} s)", file=sys.stderr)
            results.append(measured)
    measured, seconds = clock(profile_memory, lambda: None)
    print(f"{measured.name}: ratio {measured.ratio:.3f} ({seconds:.1f} s)", file=sys.stderr)
    results.append(measured)
    return results


def _figure(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if unit == "MiB" else f"{value:.3f} {unit}"


def table(verdicts: list[Verdict]) -> str:
    lines = [
        "| workload | ours | baseline | ratio | recorded | limit | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        m = v.measured
        recorded = "—" if v.recorded is None else f"{v.recorded:.3f}"
        limit = "—" if v.limit is None else f"{v.limit:.3f}"
        lines.append(
            f"| {m.name} | {_figure(m.ours, m.unit)} | {_figure(m.baseline, m.unit)} | {m.ratio:.3f} | {recorded} "
            f"| {limit} | {'pass' if v.passed else 'FAIL'} |"
        )
    return "\n".join(lines)


def read_guard(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {"ratios": {}}


def record(rounds: list[list[Measured]], why: str, path: Path) -> dict[str, Any]:
    """Write each workload's median ratio over `rounds` into the guard file, with when, where and why."""
    by_name: dict[str, list[float]] = {}
    for measured in rounds:
        for m in measured:
            by_name.setdefault(m.name, []).append(m.ratio)
    facts = run_facts()
    guard = {
        "why": why,
        "recorded": {key: facts[key] for key in ("when", "git_commit", "machine", "versions")},
        "tolerance": TOLERANCE,
        "ratios": {name: round(statistics.median(ratios), 4) for name, ratios in by_name.items()},
        "rounds": {name: [round(r, 4) for r in ratios] for name, ratios in by_name.items()},
    }
    path.write_text(json.dumps(guard, indent=2, ensure_ascii=False) + "\n")
    return guard


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPORT_FILE, help="write the JSON report here")
    parser.add_argument("--guard", type=Path, default=GUARD_FILE, help="the recorded ratios")
    parser.add_argument("--record", metavar="WHY", help=f"measure {RECORD_ROUNDS} times and record the medians")
    args = parser.parse_args(argv)
    chosen = workloads()
    if args.record:
        rounds = [measure_all(chosen) for _ in range(RECORD_ROUNDS)]
        guard = record(rounds, args.record, args.guard)
        print(table(judge(rounds[-1], guard["ratios"])))
        print(f"\nRecorded in {args.guard}; commit it with a message that says why.")
        return 0
    verdicts = judge(measure_all(chosen), read_guard(args.guard)["ratios"])
    report = {**run_facts(), "tolerance": TOLERANCE, "results": [_row(v) for v in verdicts]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(table(verdicts))
    problems = [p for p in (v.problem() for v in verdicts) if p]
    for problem in problems:
        print(f"\n{problem}", file=sys.stderr)
    return 1 if problems else 0


def _row(verdict: Verdict) -> dict[str, Any]:
    return {**asdict(verdict.measured), "recorded": verdict.recorded, "limit": verdict.limit, "pass": verdict.passed}


if __name__ == "__main__":
    sys.exit(main())
