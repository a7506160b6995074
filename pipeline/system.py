"""What this machine is: CPU, memory, GPUs (through NVML), library versions and engines."""

from __future__ import annotations

import platform
import subprocess
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

from pipeline.engines import EngineStatus, detect
from pipeline.gpus import GpuInfo, gpu_devices

# Distribution names to try for each library, first match wins.
LIBRARIES: dict[str, tuple[str, ...]] = {
    "pandas": ("pandas",),
    "numpy": ("numpy",),
    "pyarrow": ("pyarrow",),
    "scikit-learn": ("scikit-learn",),
    "cuDF": ("cudf-cu13", "cudf-cu12", "cudf"),
    "cuML": ("cuml-cu13", "cuml-cu12", "cuml"),
    "CuPy": ("cupy-cuda13x", "cupy-cuda12x", "cupy"),
    "Streamlit": ("streamlit",),
    "Altair": ("altair",),
    "polars": ("polars",),
    "DuckDB": ("duckdb",),
    "umap-learn": ("umap-learn",),
    "PyTorch": ("torch",),  # the version says the build: +cpu, +cu130, …
}
NOT_INSTALLED = "not installed"


@dataclass(frozen=True)
class SystemReport:
    cpu_model: str
    physical_cores: int | None
    logical_cores: int | None
    ram_total: int
    ram_available: int
    gpus: tuple[GpuInfo, ...]
    gpu_query_error: str | None
    versions: dict[str, str]
    engines: tuple[EngineStatus, ...]

    def versions_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"library": list(self.versions), "version": list(self.versions.values())})


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def library_versions() -> dict[str, str]:
    found = {"Python": platform.python_version()}
    for label, distributions in LIBRARIES.items():
        found[label] = NOT_INSTALLED
        for distribution in distributions:
            try:
                found[label] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    return found


def system_report() -> SystemReport:
    memory = psutil.virtual_memory()
    gpus, error = gpu_devices()
    return SystemReport(
        cpu_model=cpu_model(),
        physical_cores=psutil.cpu_count(logical=False),
        logical_cores=psutil.cpu_count(logical=True),
        ram_total=int(memory.total),
        ram_available=int(memory.available),
        gpus=gpus,
        gpu_query_error=error,
        versions=library_versions(),
        engines=detect(),
    )


def git_commit(checkout: Path | None = None) -> str:
    """The commit the checkout at `checkout` is at (by default the one this code runs from), or 'unknown' outside a
    git checkout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=checkout or Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"


def environment() -> dict[str, Any]:
    """Where a benchmark or model ran: GPUs (model, memory, driver, CUDA), CPU, cores, RAM, versions, git commit."""
    report = system_report()
    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "git_commit": git_commit(),
        "machine": {
            "cpu": report.cpu_model,
            "physical_cores": report.physical_cores,
            "logical_cores": report.logical_cores,
            "ram_gib": round(report.ram_total / 2**30, 1),
            "gpus": [
                {"name": g.name, "memory_gib": round(g.memory_total / 2**30, 1), "driver": g.driver, "cuda": g.cuda}
                for g in report.gpus
            ],
            "gpu_query_error": report.gpu_query_error,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "engines": [{"name": s.name, "available": s.available, "reason": s.reason} for s in detect()],
        "versions": report.versions,
    }
