"""What the app's command lines share: bad input as one line on stderr with status 2, progress on a terminal."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

BAD_INPUT = 2


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
    if path is not None and not path.parent.resolve().is_dir():
        raise UsageError(f"cannot write {path}: folder {path.parent} does not exist")
