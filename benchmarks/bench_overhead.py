"""What `python -m pipeline.bench` adds over the library calls it times: its median over a bare loop's.

    python -m benchmarks.bench_overhead --rows 1000000 --repeats 5 --out docs/results/bench_overhead_cpu.json

For each groupby and join question on each available engine, the same call is timed in one
process by a bare loop (perf_counter around the pandas/cuDF call, the device synchronised
before the clock stops, one warm-up) and by the harness (`run_bench`, same warm-up and
repeats). The bare loop runs before and after the harness and its two medians are averaged,
so drift of the machine during the run hits both alike; how far the two bare medians lie
apart is reported too, as the noise floor of each ratio. 1.00 means no overhead.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from benchmarks.common import benchmark_parser, publish, run_facts
from pipeline.bench.harness import BenchSettings, run_bench
from pipeline.bench.questions import GROUPBY_QUESTIONS, JOIN_QUESTIONS, Question, Workspace
from pipeline.engines import GPU, available_engines
from pipeline.tables.synthetic import SyntheticSpec, generate

CASES = {"groupby": ("groupby_g1", GROUPBY_QUESTIONS), "join": ("join_j1", JOIN_QUESTIONS)}


def bare_median(call: Any, sync: Any, repeats: int) -> float:
    """Median seconds of `call` in a plain loop after one warm-up, synchronised before each clock stops.

    Each result is kept until the next call returns, as the harness keeps it: freeing it first
    lets the allocator hand memory back and the next call pay page faults again, which on the
    CPU made the bare loop up to 1.7× slower than the harness for some questions.
    """
    result = call()
    sync()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        sync()
        runs.append(time.perf_counter() - start)
    del result
    return statistics.median(runs)


def bare_pass(questions: list[Question], workspace: Workspace, repeats: int) -> list[float]:
    """Each question's bare-loop median, in order."""
    sync = workspace.engine.synchronize
    return [bare_median(lambda q=q: q.run(workspace), sync, repeats) for q in questions]


def run(rows: int, repeats: int) -> dict[str, Any]:
    results = []
    for suite, (kind, questions) in CASES.items():
        for engine in available_engines():
            print(f"{suite} on {engine.label}, {rows:,} rows…", file=sys.stderr)
            tables = {name or "x": frame for name, frame in generate(SyntheticSpec(kind, rows), engine).items()}
            workspace = Workspace(engine, tables)
            before = bare_pass(questions, workspace, repeats)
            settings = BenchSettings((suite,), (engine.name,), (rows,), repeats=repeats, warmup=1)
            records = {r.question: r for r in run_bench(settings).records}
            after = bare_pass(questions, workspace, repeats)
            for question, first, second in zip(questions, before, after, strict=True):
                bare = (first + second) / 2
                bench = records[question.name].median_s
                results.append(
                    {
                        "suite": suite,
                        "question": question.name,
                        "engine": engine.label,
                        "rows": rows,
                        "bare_median_s": round(bare, 6),
                        "bench_median_s": bench,
                        "overhead": round(bench / bare, 3),
                        "bare_drift": round(abs(first - second) / bare, 3),
                    }
                )
            del tables, workspace
            if engine.name == GPU:
                engine.release_memory()
    return {**run_facts(), "repeats": repeats, "results": results}


def table(report: dict[str, Any]) -> str:
    lines = [
        "| suite | question | engine | bare loop | pipeline.bench | bench ÷ bare | bare before vs after |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['suite']} | {r['question']} | {r['engine']} | {r['bare_median_s']:.4f} s | "
            f"{r['bench_median_s']:.4f} s | {r['overhead']:.3f} | {r['bare_drift']:.0%} |"
        )
    total_bare = sum(r["bare_median_s"] for r in report["results"])
    total_bench = sum(r["bench_median_s"] for r in report["results"])
    lines.append(f"| all | | | {total_bare:.3f} s | {total_bench:.3f} s | {total_bench / total_bare:.3f} | |")
    return "\n".join(lines)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    arguments = parser.parse_args()
    report = run(arguments.rows, arguments.repeats)
    publish(report, arguments.out, table(report))


if __name__ == "__main__":
    main()
