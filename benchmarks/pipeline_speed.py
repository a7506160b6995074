"""Pipeline presets on generated tables, per step, on every engine; and the runner's own overhead.

    python -m benchmarks.pipeline_speed --sizes 100000 1000000 10000000 --repeats 3 \\
        --out docs/results/pipeline_speed_cpu.json

Presets run on the tables they are meant for: "clean and encode" and "date and text features"
on the `mixed` generator, "db-benchmark style aggregation" on the G1 groupby table (K=100).
Each step's time is the median of --repeats runs after one warm-up, device synchronised
before each clock stops. Overhead: the runner's time for a step over the same step called
directly (`apply_step` under the same clock), medians from the same run, the two taking turns
(each first in every other repeat); 1.00 means none.
"""

from __future__ import annotations

import statistics
import sys
from typing import Any

from benchmarks.common import add_ratios, benchmark_parser, publish, run_facts, times
from pipeline.engines import CPU, GPU, CpuEngine, available_engines, get_engine
from pipeline.steps.presets import preset_recipe
from pipeline.steps.runner import check_recipe, run_recipe
from pipeline.steps.spec import Context, apply_step
from pipeline.tables.synthetic import SyntheticSpec, generate
from pipeline.timing import clock

CASES = {
    "clean_and_encode": "mixed",
    "time_and_text": "mixed",
    "group_aggregate": "groupby_g1",
}


def paired_times(steps: list, frame: Any, engine: Any, repeats: int) -> tuple[list[float], list[float]]:
    """Median seconds of each step as the app's runner reports them and called directly (chained as the runner
    chains them). The two take turns, each going first in every other repeat, so the machine's drift and the
    memory the first leaves behind reach both alike; one warm-up of each first."""
    context = Context(engine)
    reported: list[list[float]] = [[] for _ in steps]
    direct: list[list[float]] = [[] for _ in steps]

    def by_runner() -> list[float]:
        result = run_recipe(steps, frame, engine)
        if not result.ok:
            raise RuntimeError(result.error)
        return [step_run.seconds for step_run in result.steps]

    def by_hand() -> list[float]:
        current, seconds = frame, []
        for step in steps:
            current, alone = clock(
                lambda step=step, current=current: apply_step(step, current, context), engine.synchronize
            )
            seconds.append(alone)
        return seconds

    for repeat in range(repeats + 1):
        first, second = (by_runner, by_hand) if repeat % 2 == 0 else (by_hand, by_runner)
        times_first, times_second = first(), second()
        runner, hand = (times_first, times_second) if first is by_runner else (times_second, times_first)
        if repeat:
            for i in range(len(steps)):
                reported[i].append(runner[i])
                direct[i].append(hand[i])
    return [statistics.median(runs) for runs in reported], [statistics.median(runs) for runs in direct]


def run(sizes: list[int], repeats: int, engines: list[str]) -> dict[str, Any]:
    results = []
    for rows in sizes:
        for preset, kind in CASES.items():
            print(f"{preset} on {rows:,} rows…", file=sys.stderr)
            spec = SyntheticSpec(kind, rows=rows)
            cpu_frame = generate(spec, get_engine(CPU))[""]
            steps = check_recipe(preset_recipe(preset, cpu_frame), cpu_frame, get_engine(CPU))
            for engine in [e for e in available_engines() if e.name in engines]:
                frame = cpu_frame if engine.is_reference else engine.generate(spec)[""]
                reported, direct = paired_times(steps, frame, engine, repeats)
                for number, (step, seconds, alone) in enumerate(zip(steps, reported, direct, strict=True), start=1):
                    results.append(
                        {
                            "rows": rows,
                            "preset": preset,
                            "step": f"{number}. {step.describe()}"[:90],
                            "engine": engine.label,
                            "median_s": round(seconds, 5),
                            "direct_median_s": round(alone, 5),
                            "runner_over_direct": round(seconds / alone, 3) if alone else None,
                        }
                    )
                del frame
                engine.release_memory()
    add_ratios(
        results,
        "cpu_over_this",
        lambda r: (r["rows"], r["preset"], r["step"]),
        lambda r: r["engine"] == CpuEngine.label,
    )
    report = {**run_facts(), "repeats": repeats, "results": results}
    report["totals"] = totals(report)
    return report


def totals(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Whole-pipeline medians per size, preset and engine: the runner's sum over the direct sum."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in report["results"]:
        groups.setdefault((row["rows"], row["preset"], row["engine"]), []).append(row)
    return [
        {
            "rows": rows,
            "preset": preset,
            "engine": engine,
            "runner_s": round(sum(r["median_s"] for r in rows_), 4),
            "direct_s": round(sum(r["direct_median_s"] for r in rows_), 4),
            "runner_over_direct": round(
                sum(r["median_s"] for r in rows_) / sum(r["direct_median_s"] for r in rows_), 3
            ),
        }
        for (rows, preset, engine), rows_ in groups.items()
    ]


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| rows | preset | engine | runner total (s) | direct total (s) | runner ÷ direct |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {t['rows']:,} | {t['preset']} | {t['engine']} | {t['runner_s']} | {t['direct_s']} "
        f"| {t['runner_over_direct']} |"
        for t in report["totals"]
    ]
    lines += [
        "",
        "| rows | preset | step | engine | median (s) | direct (s) | runner ÷ direct | CPU ÷ this |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['rows']:,} | {r['preset']} | {r['step']} | {r['engine']} | {r['median_s']} | {r['direct_median_s']} "
            f"| {r['runner_over_direct']} | {times(r['cpu_over_this'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", choices=[CPU, GPU], default=[CPU, GPU])
    args = parser.parse_args()
    report = run(args.sizes, args.repeats, args.engines)
    publish(report, args.out, markdown(report))


if __name__ == "__main__":
    main()
