"""`python -m pipeline.profile PATH`: profile a table file headless, as JSON and optionally standalone HTML.

Bad input exits with status 2 and one line on stderr, never a traceback; Ctrl-C or SIGTERM ends it with one line and
status 130.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.cli_support import (
    BAD_INPUT,
    INTERRUPTED,
    OneLineParser,
    UsageError,
    stoppable,
    terminal_progress,
    writable,
    write_whole,
)
from pipeline.data.io import ReadOptions, Source, prepare, read_on_engine
from pipeline.engines import CPU, GPU, device_status, get_engine
from pipeline.errors import PipelineError
from pipeline.profile import PRESETS, profile_frame
from pipeline.profile.report import profile_html


def parser() -> argparse.ArgumentParser:
    gpu_ready = device_status().available
    command = OneLineParser(
        prog="python -m pipeline.profile",
        description="Profile a table (CSV/TSV, compressed CSV, Parquet, Arrow/Feather, JSON array or lines, Excel).",
    )
    command.add_argument("path", type=Path, help="the table file")
    command.add_argument(
        "--engine",
        choices=[CPU, GPU],
        default=GPU if gpu_ready else CPU,
        help="where to compute (default: gpu when available, else cpu)",
    )
    command.add_argument("--preset", choices=list(PRESETS), default="full", help="how much to compute (default: full)")
    command.add_argument("--out", type=Path, help="write the profile as JSON here (default: standard output)")
    command.add_argument("--html", type=Path, help="also write a standalone HTML report with the charts here")
    command.add_argument("--delimiter", help="CSV delimiter (default: detected)")
    command.add_argument("--encoding", default="utf-8", help="text encoding of CSV files (default: utf-8)")
    return command


def run(arguments: argparse.Namespace) -> dict:
    path: Path = arguments.path
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    writable(arguments.out)
    writable(arguments.html)
    engine = get_engine(arguments.engine)
    options = ReadOptions(delimiter=arguments.delimiter, encoding=arguments.encoding)
    read = read_on_engine(prepare(Source.from_path(path), options), engine)
    profile = profile_frame(engine, read.frame, PRESETS[arguments.preset], terminal_progress())
    for note in read.notes:
        print(f"note: {note}", file=sys.stderr)
    result = {"file": str(path), "read_seconds": read.seconds, "read_notes": read.notes, **profile.to_dict()}
    text = json.dumps(result, indent=2, allow_nan=False)
    if arguments.out:
        write_whole(arguments.out, text + "\n")
    else:
        print(text)
    if arguments.html:
        write_whole(arguments.html, profile_html(profile, f"Profile of {path.name}"))
    return result


def main(argv: list[str] | None = None) -> int:
    with stoppable() as ignore_interrupts:
        arguments = parser().parse_args(argv)
        try:
            result = run(arguments)
        except (UsageError, PipelineError) as error:
            print(f"error: {error}", file=sys.stderr)
            return BAD_INPUT
        except KeyboardInterrupt:
            ignore_interrupts()
            print(
                "interrupted: the profile was stopped; --out and --html are each written whole or not at all",
                file=sys.stderr,
            )
            return INTERRUPTED
        except Exception as error:  # a file no reader understood, or a failure we did not foresee: still one line
            print(f"error: could not profile {arguments.path}: {type(error).__name__}: {error}", file=sys.stderr)
            return BAD_INPUT
    if arguments.out or arguments.html:
        written = ", ".join(str(p) for p in (arguments.out, arguments.html) if p)
        print(
            f"profiled {result['table']['rows']:,} rows on {result['engine']['label']} "
            f"in {result['seconds']['total']:.3f} s; wrote {written}",
            file=sys.stderr,
        )
    return 0
