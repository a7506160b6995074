"""`python -m pipeline.profile PATH`: profile a table headless, as JSON and optionally standalone HTML: a file on
this machine's engines, or on a Dask engine also a folder or glob of Parquet or CSV files, read lazily as partitions.

Bad input exits with status 2 and one line on stderr, never a traceback; Ctrl-C or SIGTERM ends it with one line and
status 130.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path
from typing import Any

from pipeline.cli_support import (
    BAD_INPUT,
    INTERRUPTED,
    OneLineParser,
    UsageError,
    add_dask_options,
    cluster_settings,
    dask_options_given,
    stoppable,
    terminal_progress,
    writable,
    write_whole,
)
from pipeline.data.io import ReadOptions, Source, prepare, read_on_engine
from pipeline.engines import CPU, GPU, Engine, device_status, get_engine
from pipeline.engines.choices import ENGINE_CHOICES
from pipeline.engines.dask import close_dask_engines, dask_engine
from pipeline.errors import PipelineError
from pipeline.profile import PRESETS, profile_frame
from pipeline.timing import clock

EPILOG = """examples:
  python -m pipeline.profile data/table.parquet --engine cpu --out profile.json --html profile.html
  python -m pipeline.profile data/sales/ --engine dask-cpu --scheduler tcp://10.0.0.5:8786 --preset minimal
  python -m pipeline.profile 'data/sales/*.parquet' --engine dask-cpu --dask-workers 2 --dask-memory 2GiB
"""


def one_character(text: str) -> str:
    """A CSV delimiter: one character (a tab typed as \\t counts as one)."""
    text = "\t" if text == "\\t" else text
    if len(text) != 1:
        raise argparse.ArgumentTypeError(f"a delimiter is one character, e.g. ';' or '\\t'; got {text!r}")
    return text


def parser() -> argparse.ArgumentParser:
    gpu_ready = device_status().available
    command = OneLineParser(
        prog="python -m pipeline.profile",
        description="Profile a table (CSV/TSV, compressed CSV, Parquet, Arrow/Feather, JSON array or lines, Excel).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument(
        "path",
        type=Path,
        help="the table file; on a Dask engine also a folder of Parquet or CSV files, or a glob like 'sales/*.parquet'",
    )
    command.add_argument(
        "--engine",
        choices=list(ENGINE_CHOICES),
        default=GPU if gpu_ready else CPU,
        help="where to compute (default: gpu when available, else cpu); dask-cpu and dask-gpu read lazily",
    )
    command.add_argument("--preset", choices=list(PRESETS), default="full", help="how much to compute (default: full)")
    command.add_argument("--out", type=Path, help="write the profile as JSON here (default: standard output)")
    command.add_argument("--html", type=Path, help="also write a standalone HTML report with the charts here")
    command.add_argument("--delimiter", type=one_character, help="CSV delimiter, one character (default: detected)")
    command.add_argument("--encoding", default="utf-8", help="text encoding of CSV files (default: utf-8)")
    add_dask_options(command)
    return command


def read_here(arguments: argparse.Namespace) -> tuple[Engine, Any, float, list[str]]:
    """The file read whole on this machine's engine: the engine, its frame, the seconds and the reader's notes."""
    path: Path = arguments.path
    if dask_options_given(arguments):
        raise UsageError("--scheduler, --dask-workers and --dask-memory are for --engine dask-cpu or dask-gpu")
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    if not path.is_file():
        raise UsageError(f"{path} is not a file (a folder or a glob of Parquet files is read with --engine dask-cpu)")
    engine = get_engine(arguments.engine)
    options = ReadOptions(delimiter=arguments.delimiter, encoding=arguments.encoding)
    read = read_on_engine(prepare(Source.from_path(path), options), engine)
    return engine, read.frame, read.seconds, read.notes


def read_on_dask(arguments: argparse.Namespace) -> tuple[Engine, Any, float, list[str]]:
    """The files read lazily as partitions on a Dask engine: the engine, its frame, the seconds to plan the read (the
    workers read the files as the profile needs them) and a note saying so."""
    path: Path = arguments.path
    if not path.exists() and not glob.has_magic(str(path)):
        raise UsageError(f"{path} does not exist")
    if arguments.delimiter or arguments.encoding != "utf-8":
        raise UsageError("--delimiter and --encoding are for one file on --engine cpu or gpu (Dask reads CSV as is)")
    engine = dask_engine(cluster_settings(arguments, gpu=ENGINE_CHOICES[arguments.engine].gpu))
    frame, seconds = clock(lambda: engine.read_files(path), engine.synchronize)
    return engine, frame, seconds, [f"read lazily by the Dask workers as {frame.npartitions:,} partitions"]


def run(arguments: argparse.Namespace) -> dict:
    path: Path = arguments.path
    writable(arguments.out)
    writable(arguments.html)
    read = read_on_dask if ENGINE_CHOICES[arguments.engine].cluster else read_here
    engine, frame, seconds, notes = read(arguments)
    profile = profile_frame(engine, frame, PRESETS[arguments.preset], terminal_progress())
    happened = engine.notes()  # what the engine met meanwhile (Dask: workers lost and their work redone)
    for note in [*notes, *happened]:
        print(f"note: {note}", file=sys.stderr)
    result = {"file": str(path), "read_seconds": seconds, "read_notes": notes, "notes": happened, **profile.to_dict()}
    text = json.dumps(result, indent=2, allow_nan=False)
    if arguments.out:
        write_whole(arguments.out, text + "\n")
    else:
        print(text)
    if arguments.html:
        from pipeline.profile.report import profile_html  # Altair: half the import time, so only for --html

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
            text = " ".join(f"{type(error).__name__}: {error}".split())
            print(f"error: could not profile {arguments.path}: {text}", file=sys.stderr)
            return BAD_INPUT
        finally:
            close_dask_engines()  # disconnect, or shut down the local cluster started here
    if arguments.out or arguments.html:
        written = ", ".join(str(p) for p in (arguments.out, arguments.html) if p)
        print(
            f"profiled {result['table']['rows']:,} rows on {result['engine']['label']} "
            f"in {result['seconds']['total']:.3f} s; wrote {written}",
            file=sys.stderr,
        )
    return 0
