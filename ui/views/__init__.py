"""The tables and figures the pages show, built from results (no widgets here): one module per page."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from pipeline.engines import REFERENCE
from pipeline.timing import speedups

T = TypeVar("T")


def engine_speedups(
    by_engine: Mapping[str, T], seconds: Callable[[T], float | None], label: Callable[[T], str]
) -> dict[str, float]:
    """Each engine's speed-up over the reference engine, by label, where both times are known."""
    times = {name: seconds(item) for name, item in by_engine.items()}
    return {label(by_engine[name]): ratio for name, ratio in speedups(times, REFERENCE).items() if ratio}
