"""What every benchmark report shares: the machine and versions it ran on, and timing fields."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.system import environment
from pipeline.timing import Timing, speedups


def run_facts() -> dict[str, Any]:
    """When and where a benchmark ran: the same environment block `python -m pipeline.bench` writes."""
    return environment()


def timing_fields(timing: Timing) -> dict[str, float]:
    return {
        "first_s": round(timing.first_s, 4),
        "median_s": round(timing.median_s, 4),
        "min_s": round(timing.min_s, 4),
        "max_s": round(timing.max_s, 4),
    }


def add_ratios(
    results: list[dict[str, Any]],
    field: str,
    case: Callable[[dict[str, Any]], Any],
    is_reference: Callable[[dict[str, Any]], bool],
) -> None:
    """Set `field` on each row: its case's reference median over its own median (None without a reference)."""
    for row in results:
        reference = next((r for r in results if case(r) == case(row) and is_reference(r)), None)
        seconds = {"reference": reference["median_s"] if reference else None, "row": row["median_s"]}
        ratio = speedups(seconds, "reference")["row"]
        row[field] = round(ratio, 2) if ratio else None


def times(ratio: float | None) -> str:
    """A ratio for a markdown table: `2.5×`, or `—` where there is none."""
    return "—" if ratio is None else f"{ratio}×"


def benchmark_parser(description: str | None) -> argparse.ArgumentParser:
    """A command line with the options every benchmark takes: --repeats and --out."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after one warm-up")
    parser.add_argument("--out", type=Path, help="write the JSON report here")
    return parser


def proportional_bytes(pid: int) -> int:
    """A process's proportional set size (PSS): its resident pages, each page it shares with n processes counted
    1/n, so that summing a tree counts every page once (the reader's workers share the reader process's pages)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def publish(report: dict[str, Any], out: Path | None, table: str) -> None:
    """Write the JSON report where asked and print its markdown table."""
    if out:
        out.write_text(json.dumps(report, indent=2) + "\n")
    print(table)
