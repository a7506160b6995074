"""`python -m pipeline.bench`: run benchmark suites on CPU and GPU engines (and CPU peers), write JSON/CSV.

Bad input exits with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.bench.harness import ENGINES, QUICK, BenchSettings, default_engines, parse_list, parse_sizes, run_bench
from pipeline.bench.results import OK, SKIPPED, BenchResults
from pipeline.bench.suites import NOT_YET, SUITES
from pipeline.cli_support import (
    BAD_INPUT,
    OneLineParser,
    UsageError,
    add_dask_options,
    terminal_progress,
    writable,
)
from pipeline.engines.dask import close_dask_engines
from pipeline.errors import PipelineError
from pipeline.timing import speedups

EPILOG = """examples:
  python -m pipeline.bench --quick
  python -m pipeline.bench --suite groupby,join --sizes 1e6,1e7 --repeat 3 --out results.json --csv results.csv
  python -m pipeline.bench --suite io --engines cpu,gpu --sizes 1e7,1e8
  python -m pipeline.bench --suite groupby --engines cpu,dask-cpu --dask-workers 2 --dask-memory 2GiB
  python -m pipeline.bench --suite groupby --engines gpu,dask-gpu --scheduler tcp://10.0.0.5:8786
"""


def parser() -> argparse.ArgumentParser:
    command = OneLineParser(
        prog="python -m pipeline.bench",
        description="Time the same questions on pandas, cuDF and CPU peers (polars, DuckDB), answers checked.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    suites = ", ".join([*SUITES, *NOT_YET])
    command.add_argument("--suite", help=f"comma-separated suites from {suites} (default: io,groupby,join)")
    command.add_argument(
        "--engines", help=f"comma-separated, from {', '.join(ENGINES)} (default: every one available here)"
    )
    command.add_argument("--sizes", help="comma-separated row counts, e.g. 1e5,1e6,1e7 (default: 1e6)")
    command.add_argument("--repeat", type=int, default=3, help="timed runs after the warm-up (default: 3)")
    command.add_argument("--warmup", type=int, default=1, help="untimed runs first (default: 1)")
    command.add_argument("--out", type=Path, help="write the results as JSON here")
    command.add_argument("--csv", type=Path, help="write the records as CSV here")
    command.add_argument(
        "--quick", action="store_true", help="io, groupby and join at 1e5 rows, 1 repeat: under a minute on 2 cores"
    )
    add_dask_options(command)
    return command


def settings_from(arguments: argparse.Namespace) -> BenchSettings:
    quick = arguments.quick
    suites = arguments.suite or (",".join(QUICK["suites"]) if quick else "io,groupby,join")
    return BenchSettings(
        suites=parse_list(suites, [*SUITES, *NOT_YET], "suite"),
        engines=parse_list(arguments.engines, ENGINES, "engine") if arguments.engines else default_engines(),
        sizes=parse_sizes(arguments.sizes) if arguments.sizes else (QUICK["sizes"] if quick else (1_000_000,)),
        repeats=QUICK["repeats"] if quick and arguments.repeat == 3 else arguments.repeat,
        warmup=arguments.warmup,
        dask_address=arguments.scheduler,
        dask_workers=arguments.dask_workers,
        dask_memory_limit=arguments.dask_memory,
    )


def markdown(results: BenchResults) -> str:
    """Median seconds per question, size and engine, and each engine's speed-up over the first one."""
    table = results.frame()
    if table.empty:
        return "(no records)"
    engines = list(dict.fromkeys(table["engine_label"]))
    header = ["suite", "question", "rows", *engines, *[f"{e} ×" for e in engines[1:]]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (suite, question, rows), group in table.groupby(["suite", "question", "rows"], sort=False):
        by_engine = {row.engine_label: row for row in group.itertuples()}
        cells = [suite, question, f"{rows:,}"]
        for engine in engines:
            row = by_engine.get(engine)
            cells.append(
                "—"
                if row is None or row.status == SKIPPED
                else f"{row.median_s:.4f} s"
                if row.status == OK
                else row.status
            )
        medians = {engine: row.median_s if row.status == OK else None for engine, row in by_engine.items()}
        ratios = speedups(medians, engines[0])
        cells.extend(f"{ratios[engine]:.2f}×" if ratios.get(engine) else "—" for engine in engines[1:])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def problems(results: BenchResults) -> list[str]:
    """One line per record that failed its answer check or raised."""
    return [
        f"{r.suite} {r.question} at {r.rows:,} rows on {r.engine_label}: {r.status}: {r.message}"
        for r in results.records
        if r.status not in (OK, SKIPPED)
    ]


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        writable(arguments.out)
        writable(arguments.csv)
        results = run_bench(settings_from(arguments), terminal_progress())
    except (UsageError, PipelineError) as error:
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    finally:
        close_dask_engines()
    if arguments.out:
        arguments.out.write_text(results.to_json(), encoding="utf-8")
    if arguments.csv:
        arguments.csv.write_text(results.to_csv(), encoding="utf-8", newline="")
    print(markdown(results))
    for line in problems(results):
        print(f"warning: {line}", file=sys.stderr)
    return 0
