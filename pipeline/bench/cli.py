"""`python -m pipeline.bench`: run benchmark suites on CPU and GPU engines (and CPU peers), write JSON/CSV.

Bad input exits with status 2 and one line on stderr, never a traceback. The records are saved as each one
finishes; a run stopped by Ctrl-C or SIGTERM writes what finished, prints its table and ends with one line and
status 130.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.bench.harness import (
    ENGINES,
    QUICK,
    BenchSettings,
    Progress,
    default_engines,
    new_results,
    parse_list,
    parse_sizes,
    run_bench,
)
from pipeline.bench.results import OK, SKIPPED, BenchResults
from pipeline.bench.suites import NOT_YET, SUITES
from pipeline.cli_support import (
    BAD_INPUT,
    INTERRUPTED,
    OneLineParser,
    UsageError,
    add_dask_options,
    stoppable,
    terminal_progress,
    writable,
    write_whole,
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
    with stoppable() as ignore_interrupts:
        arguments = parser().parse_args(argv)
        results, stopped = None, False
        try:
            writable(arguments.out)
            writable(arguments.csv)
            settings = settings_from(arguments)
            results = new_results(settings)
            run_bench(settings, _saving(results, arguments, terminal_progress()), results)
        except (UsageError, PipelineError) as error:
            print(f"error: {error}", file=sys.stderr)
            return BAD_INPUT
        except KeyboardInterrupt:
            stopped = True
        finally:
            ignore_interrupts()  # the work is over: no second Ctrl-C stops the writing of what finished
            close_dask_engines()
        return _finish(results, arguments, stopped)


def _save(results: BenchResults, arguments: argparse.Namespace) -> None:
    """The records so far into --out (JSON) and --csv, each file whole."""
    if arguments.out:
        write_whole(arguments.out, results.to_json())
    if arguments.csv:
        write_whole(arguments.csv, results.to_csv())


def _saving(results: BenchResults, arguments: argparse.Namespace, show: Progress | None) -> Progress:
    """A progress callback that first saves the records finished so far, so a run killed later keeps them."""

    def report(fraction: float, message: str) -> None:
        _save(results, arguments)
        if show is not None:
            show(fraction, message)

    return report


def _finish(results: BenchResults | None, arguments: argparse.Namespace, stopped: bool) -> int:
    """The records saved, the table on stdout and a warning line per record that failed or raised; a run stopped by
    Ctrl-C or SIGTERM ends with one line saying so and status 130."""
    if results is None:
        print("interrupted before any question ran; nothing written", file=sys.stderr)
        return INTERRUPTED
    _save(results, arguments)
    print(markdown(results))
    for line in problems(results):
        print(f"warning: {line}", file=sys.stderr)
    if not stopped:
        return 0
    written = " and ".join(str(path) for path in (arguments.out, arguments.csv) if path)
    count = len(results.records)
    print(
        f"interrupted: {count} record{'' if count == 1 else 's'} finished"
        + (f", written to {written}" if written else " (give --out or --csv to keep them)"),
        file=sys.stderr,
    )
    return INTERRUPTED
