"""What the app's command lines share: bad input as one line on stderr with status 2, progress on a terminal, the
options that say where the Dask engines run, and a stop (Ctrl-C, SIGTERM) that ends with status 130 after writing what
finished."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from pipeline.engines.dask import ClusterSettings

BAD_INPUT = 2
INTERRUPTED = 130  # a command stopped by Ctrl-C (the shell's 128 + SIGINT) or SIGTERM


class UsageError(Exception):
    """Something wrong with the command line or its files, said in one line."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line on stderr and status 2, like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(BAD_INPUT, f"error: {message} (see --help)\n")


def terminal_progress() -> Callable[[float, str], None] | None:
    """A one-line progress display on a terminal's stderr; nothing when stderr is a file or pipe."""
    if not sys.stderr.isatty():
        return None

    def show(fraction: float, message: str) -> None:
        end = "\n" if fraction >= 1 else ""
        print(f"\r\033[K[{fraction:4.0%}] {message}", end=end, file=sys.stderr, flush=True)

    return show


def writable(path: Path | None) -> None:
    """Refuse, before any work, an output path that `write_whole` cannot or must not replace: a missing or read-only
    folder, or something there that is not a plain file (a folder, a link, a device, a pipe), which moving a file
    over it would destroy."""
    if path is None:
        return
    if not path.parent.resolve().is_dir():
        raise UsageError(f"cannot write {path}: folder {path.parent} does not exist")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise UsageError(f"cannot write {path}: it is not a plain file (a folder, link, device or pipe); name a file")
    if not os.access(path.parent, os.W_OK):
        raise UsageError(f"cannot write {path}: folder {path.parent} is not writable")


def add_dask_options(command: argparse.ArgumentParser) -> None:
    """--scheduler (an operator's Dask cluster), or --dask-workers and --dask-memory (the local cluster's size)."""
    dask = command.add_argument_group("Dask engines (dask-cpu, dask-gpu)")
    dask.add_argument("--scheduler", help="address of a running Dask scheduler, tcp://host:8786 (default: local)")
    dask.add_argument("--dask-workers", type=int, help="workers of the local cluster (default: one per core or GPU)")
    dask.add_argument(
        "--dask-memory", default="auto", help="memory per local worker, e.g. 2GiB; past it they spill (default: auto)"
    )


def dask_options_given(arguments: argparse.Namespace) -> bool:
    """True when any of the Dask options was given."""
    return bool(arguments.scheduler or arguments.dask_workers is not None or arguments.dask_memory != "auto")


def cluster_settings(arguments: argparse.Namespace, gpu: bool) -> ClusterSettings:
    """Where the Dask options say a Dask engine runs (checked: a DataError names a bad one)."""
    return ClusterSettings(
        gpu=gpu, address=arguments.scheduler, workers=arguments.dask_workers, memory_limit=arguments.dask_memory
    ).checked()


def write_whole(path: Path, text: str) -> None:
    """`text` into `path`, written beside it first and then moved over it: a run killed meanwhile leaves the last
    whole file, never half of one."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8", newline="")
    os.replace(partial, path)


@contextmanager
def stoppable() -> Iterator[Callable[[], None]]:
    """SIGTERM raises KeyboardInterrupt in the block, as Ctrl-C (SIGINT) does. The function it gives ignores both from
    then on, while a stopped command writes what it finished; the handlers before are put back after the block."""
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    def ignore() -> None:
        for signum in before:
            signal.signal(signum, signal.SIG_IGN)

    try:
        yield ignore
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
