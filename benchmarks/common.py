"""What every benchmark report shares: the machine and versions it ran on, and timing fields."""

from __future__ import annotations

import platform
import time
from typing import Any

from pipeline.engines import detect
from pipeline.system import library_versions, system_report
from pipeline.timing import Timing


def run_facts() -> dict[str, Any]:
    """When and where a benchmark ran: machine, engines (with why one is missing) and library versions."""
    report = system_report()
    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {
            "cpu": report.cpu_model,
            "logical_cores": report.logical_cores,
            "ram_gib": round(report.ram_total / 2**30, 1),
            "gpus": [gpu.name for gpu in report.gpus],
            "python": platform.python_version(),
        },
        "engines": [{"name": s.name, "available": s.available, "reason": s.reason} for s in detect()],
        "versions": library_versions(),
    }


def timing_fields(timing: Timing) -> dict[str, float]:
    return {
        "first_s": round(timing.first_s, 4),
        "median_s": round(timing.median_s, 4),
        "min_s": round(timing.min_s, 4),
        "max_s": round(timing.max_s, 4),
    }
