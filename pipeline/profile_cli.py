"""`python -m pipeline.profile PATH`: profile a table file headless, as JSON and optionally standalone HTML.

Bad input exits with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from pipeline.engines import CPU, GPU, detect, get_engine
from pipeline.errors import PipelineError
from pipeline.io import ReadOptions, Source, prepare, read_on_engine
from pipeline.profile import PRESETS, ProfileProgress, profile_frame
from pipeline.report import profile_html

BAD_INPUT = 2


class UsageError(Exception):
    """Something wrong with the command line or its files, said in one line."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line on stderr and status 2, like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(BAD_INPUT, f"error: {message} (see --help)\n")


def parser() -> argparse.ArgumentParser:
    gpu_ready = next(status.available for status in detect() if status.name == GPU)
    command = OneLineParser(
        prog="python -m pipeline.profile",
        description="Profile a table (CSV/TSV, compressed CSV, Parquet, Arrow/Feather, JSON lines, Excel).",
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


def terminal_progress() -> ProfileProgress | None:
    """A one-line progress display on a terminal's stderr; nothing when stderr is a file or pipe."""
    if not sys.stderr.isatty():
        return None

    def show(fraction: float, message: str) -> None:
        end = "\n" if fraction >= 1 else ""
        print(f"\r\033[K[{fraction:4.0%}] {message}", end=end, file=sys.stderr, flush=True)

    return show


def _writable(path: Path | None) -> None:
    if path is not None and not path.parent.resolve().is_dir():
        raise UsageError(f"cannot write {path}: folder {path.parent} does not exist")


def run(arguments: argparse.Namespace) -> dict:
    path: Path = arguments.path
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    _writable(arguments.out)
    _writable(arguments.html)
    engine = get_engine(arguments.engine)
    options = ReadOptions(delimiter=arguments.delimiter, encoding=arguments.encoding)
    read = read_on_engine(prepare(Source.from_path(path), options), engine)
    profile = profile_frame(engine, read.frame, PRESETS[arguments.preset], terminal_progress())
    result = {"file": str(path), "read_seconds": read.seconds, **profile.to_dict()}
    text = json.dumps(result, indent=2, allow_nan=False)
    if arguments.out:
        arguments.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    if arguments.html:
        arguments.html.write_text(profile_html(profile, f"Profile of {path.name}"), encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        result = run(arguments)
    except (UsageError, PipelineError) as error:
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
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
