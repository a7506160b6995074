"""The Dask CPU engine against pandas: time against workers and rows, and a table larger than the cluster's memory.

    python -m benchmarks.dask_scaling --sizes 1e6,1e7 --workers 1,2 --out-of-core-rows 3e7 \\
        --out-of-core-memory 1GiB --repeats 3 --out docs/results/dask_scaling_cpu.json

Questions: db-benchmark groupby q1–q10 on G1 (K = 100 groups). Dask's tables are made partition by
partition on the workers and persisted there first (not timed); each answer is computed inside the
clock. Median of `--repeats` after one warm-up, which also checks the answer: against pandas at the
in-memory sizes, and for the out-of-core run (one worker limited to `--out-of-core-memory`, spilling
to disk past it) against the same questions on a cluster without that limit. Memory: the local
cluster's processes (workers and nannies) summed, sampled every 0.2 s, and what the workers spilled
to disk; pandas: this process's peak RSS growth.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import psutil

from benchmarks.common import benchmark_parser, publish, run_facts
from pipeline.bench.harness import parse_sizes
from pipeline.bench.questions import GROUPBY_QUESTIONS, Answer, Workspace
from pipeline.engines import Engine, get_engine
from pipeline.engines.dask import ClusterSettings, DaskEngine
from pipeline.engines.usage import UsageSampler
from pipeline.profile import PRESETS, compare_profiles, profile_frame
from pipeline.tables.synthetic import SyntheticSpec, generate
from pipeline.timing import clock, measure

GROUPS = 100


def summed_rss(processes: Callable[[], list[psutil.Process]]) -> Callable[[], tuple[float, float]]:
    """A device_usage reader: no busy share, and the summed RSS of `processes()` as the memory."""

    def read() -> tuple[float, float]:
        total = 0
        for process in processes():
            try:
                total += process.memory_info().rss
            except psutil.Error:  # a process that ended between listing and reading
                continue
        return 0.0, float(total)

    return read


def peak_bytes(sampler: UsageSampler) -> int:
    return int((sampler.take().memory_mib or 0) * 2**20)


def cluster_processes() -> list[psutil.Process]:
    return psutil.Process().children(recursive=True)


def ask_all(
    engine: Engine,
    tables: dict[str, Any],
    repeats: int,
    reference: dict[str, Answer] | None,
    questions: tuple[str, ...] | None = None,
    timeout_s: float | None = None,
) -> list[dict]:
    """The groupby questions (all, or those named): answer (checked against `reference`), then the timed repeats;
    on Dask each computation gives up after `timeout_s`."""
    rows = []
    workspace = Workspace(engine, tables)
    for question in GROUPBY_QUESTIONS:
        if questions and question.name not in questions:
            continue
        run = lambda question=question: engine.compute(question.run(workspace), timeout_s)  # noqa: E731
        print(f"  {question.name} on {engine.label}…", file=sys.stderr)
        try:
            answer = question.check(run(), engine)
            wrong = answer.disagreement(reference[question.name]) if reference else None
            timing = measure(run, sync=engine.synchronize, warmup=0, repeats=repeats).timing
            rows.append(
                {"question": question.name, "median_s": round(timing.median_s, 4), "answer": answer, "wrong": wrong}
            )
        except Exception as error:  # recorded, so one failing question does not lose the others
            rows.append(
                {
                    "question": question.name,
                    "median_s": None,
                    "answer": None,
                    "wrong": f"{type(error).__name__}: {error}",
                }
            )
    return rows


def on_pandas(rows: int, repeats: int) -> tuple[list[dict], dict[str, Answer], int]:
    cpu = get_engine("cpu")
    before = psutil.Process().memory_info().rss
    with UsageSampler(summed_rss(lambda: [psutil.Process()]), interval_s=0.2) as sampler:
        tables = {"x": generate(SyntheticSpec("groupby_g1", rows, groups=GROUPS), cpu)[""]}
        results = ask_all(cpu, tables, repeats, None)
        grown = peak_bytes(sampler) - before
    return results, {r["question"]: r["answer"] for r in results}, grown


def on_dask(
    rows: int,
    settings: ClusterSettings,
    repeats: int,
    reference: dict[str, Answer],
    questions: tuple[str, ...] | None = None,
    timeout_s: float | None = None,
    profile: bool = False,
) -> dict[str, Any]:
    """The questions on a fresh cluster of these settings and, with `profile`, the minimal profile of the table."""
    engine = DaskEngine(settings)
    try:
        with UsageSampler(summed_rss(cluster_processes), interval_s=0.2) as sampler:
            spec = SyntheticSpec("groupby_g1", rows, groups=GROUPS)
            tables = {"x": engine.persist_all(engine.generate(spec))[""]}
            data_bytes = engine.frame_nbytes(tables["x"])
            results = ask_all(engine, tables, repeats, reference, questions, timeout_s)
            profiled = None
            if profile:
                print(f"  minimal profile on {engine.label}…", file=sys.stderr)
                profiled = clock(lambda: profile_frame(engine, tables["x"], PRESETS["minimal"]), engine.synchronize)
            peak = peak_bytes(sampler)
        workers = engine.client.scheduler_info(n_workers=-1)["workers"].values()
        spilled = sum(int(w["metrics"].get("spilled_bytes", {}).get("disk", 0)) for w in workers)
        return {
            "results": results,
            "profile": profiled,
            "data_bytes": data_bytes,
            "peak_cluster_bytes": peak,
            "spilled_to_disk_bytes": spilled,
            "memory_limit_bytes": engine.facts().memory_limit,
        }
    finally:
        engine.close()


def summary(label: str, rows: int, workers: int | None, measured: list[dict], **extra: Any) -> dict[str, Any]:
    timed = [r["median_s"] for r in measured if r["median_s"] is not None]
    return {
        "engine": label,
        "rows": rows,
        "workers": workers,
        "questions": {r["question"]: r["median_s"] for r in measured},
        "total_s": round(sum(timed), 3) if len(timed) == len(measured) else None,
        "wrong": {r["question"]: r["wrong"] for r in measured if r["wrong"]},
        **extra,
    }


def run(
    sizes: tuple[int, ...],
    workers: list[int],
    ooc_rows: int | None,
    ooc_memory: str,
    ooc_questions: tuple[str, ...],
    ooc_profile: bool,
    timeout_s: float,
    repeats: int,
    save: Callable[[dict], None],
) -> dict:
    """Every stage's figures, saved (`save`) as each stage ends, so a later stage that hangs loses none."""
    report: dict[str, Any] = {**run_facts(), "repeats": repeats, "groups": GROUPS, "runs": [], "out_of_core": None}
    runs = report["runs"]
    for rows in sizes:
        print(f"{rows:,} rows on pandas…", file=sys.stderr)
        measured, reference, grown = on_pandas(rows, repeats)
        runs.append(summary("pandas", rows, None, measured, peak_memory_bytes=grown))
        for count in workers:
            print(f"{rows:,} rows on Dask CPU with {count} worker(s)…", file=sys.stderr)
            settings = ClusterSettings(workers=count, threads_per_worker=1)
            done = on_dask(rows, settings, repeats, reference, timeout_s=timeout_s)
            done.pop("profile")
            runs.append(summary("dask-cpu", rows, count, done.pop("results"), **done))
            save(report)
    if ooc_rows:
        print(f"out of core: {ooc_rows:,} rows, reference on a cluster without a memory limit…", file=sys.stderr)
        unlimited = ClusterSettings(workers=1, threads_per_worker=2)
        free = on_dask(ooc_rows, unlimited, 1, {}, ooc_questions, timeout_s, ooc_profile)
        reference = {r["question"]: r["answer"] for r in free["results"] if r["answer"]}
        print(f"out of core: {ooc_rows:,} rows on one worker limited to {ooc_memory}…", file=sys.stderr)
        limited_settings = ClusterSettings(workers=1, threads_per_worker=2, memory_limit=ooc_memory)
        limited = on_dask(ooc_rows, limited_settings, 1, reference, ooc_questions, timeout_s, ooc_profile)
        profiles = (limited.pop("profile"), free["profile"])
        report["out_of_core"] = summary("dask-cpu", ooc_rows, 1, limited.pop("results"), **limited)
        if ooc_profile:
            (profile, seconds), (free_profile, free_seconds) = profiles
            report["out_of_core"]["profile"] = {
                "preset": "minimal",
                "seconds": round(seconds, 3),
                "unlimited_seconds": round(free_seconds, 3),
                "differences": compare_profiles(free_profile, profile).mismatches,
            }
        report["out_of_core"]["unlimited_seconds"] = {r["question"]: r["median_s"] for r in free["results"]}
        report["out_of_core"]["unlimited_total_s"] = summary("dask-cpu", ooc_rows, 1, free["results"])["total_s"]
        save(report)
    return report


def gib(value: int | None) -> str:
    return "—" if not value else f"{value / 2**30:.2f} GiB"


def label(row: dict[str, Any], report: dict[str, Any]) -> str:
    if row is report["out_of_core"]:
        return f"dask-cpu, out of core ({', '.join(row['questions'])})"
    return f"{row['engine']} (q1–q10)"


def table(report: dict[str, Any]) -> str:
    lines = [
        "| engine | workers | rows | total of its questions | ÷ pandas | peak memory | spilled to disk | failed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = list(report["runs"]) + ([report["out_of_core"]] if report["out_of_core"] else [])
    for r in rows:
        pandas = next((p for p in report["runs"] if p["engine"] == "pandas" and p["rows"] == r["rows"]), None)
        ratio = f"{pandas['total_s'] / r['total_s']:.2f}×" if pandas and pandas["total_s"] and r["total_s"] else "—"
        peak = r.get("peak_cluster_bytes") or r.get("peak_memory_bytes")
        lines.append(
            f"| {label(r, report)} | {r['workers'] or '—'} | {r['rows']:,} | {r['total_s'] or '—'} s | {ratio} "
            f"| {gib(peak)} | {gib(r.get('spilled_to_disk_bytes'))} | {len(r['wrong'])} |"
        )
    profile = (report["out_of_core"] or {}).get("profile")
    if profile:
        lines.append(
            f"| dask-cpu, out of core, {profile['preset']} profile | 1 | {report['out_of_core']['rows']:,} "
            f"| {profile['seconds']} s (unlimited worker: {profile['unlimited_seconds']} s) | — | — | — "
            f"| {len(profile['differences'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--sizes", default="1e6,1e7", help="rows of the in-memory runs (none: only out of core)")
    parser.add_argument("--workers", default="1,2", help="local cluster sizes to time")
    parser.add_argument("--out-of-core-rows", default="3e7", help="rows of the out-of-core run (0: none)")
    parser.add_argument("--out-of-core-memory", default="1GiB", help="the one worker's memory limit there")
    parser.add_argument(
        "--out-of-core-questions",
        default="q1,q2,q4,q5,q9",
        help="questions of the out-of-core run (default: the five in docs/benchmarks.md)",
    )
    parser.add_argument(
        "--out-of-core-profile",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also profile the out-of-core table (minimal preset) and compare it with the unlimited worker's",
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds a Dask computation may take")
    arguments = parser.parse_args()
    ooc = 0 if float(arguments.out_of_core_rows) == 0 else parse_sizes(arguments.out_of_core_rows)[0]
    run(
        () if arguments.sizes == "none" else parse_sizes(arguments.sizes),
        [int(value) for value in arguments.workers.split(",")],
        ooc,
        arguments.out_of_core_memory,
        tuple(arguments.out_of_core_questions.split(",")),
        arguments.out_of_core_profile,
        arguments.timeout,
        arguments.repeats,
        lambda report: publish(report, arguments.out, table(report)),
    )


if __name__ == "__main__":
    main()
