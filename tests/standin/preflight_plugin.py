"""pytest plugin of `make preflight`: the `gpu` tier on the stand-ins for cuDF, CuPy and cuML (this folder on
PYTHONPATH), with the GPU engine switched on without a driver; tests marked `device` skip and are listed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from standin_activate import activate
from standin_support import CALLS, CALLS_ENV, REFUSED, write_calls


def pytest_configure(config: pytest.Config) -> None:
    activate()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        mark = item.get_closest_marker("device")
        if mark is not None:
            item.add_marker(pytest.mark.skip(reason=f"needs a real GPU device: {mark.args[0]}"))


def cuml_estimators() -> list[dict[str, object]]:
    """Every algorithm's cuML estimator (single-GPU and Dask) with the keywords the app builds it with."""
    from pipeline.engines import GPU
    from pipeline.engines.dask import DASK_GPU
    from pipeline.models.algorithms import ALGORITHMS

    return [
        {"algorithm": key, "path": algorithm.estimator_path(engine), "keywords": sorted(algorithm.keywords(engine))}
        for key, algorithm in ALGORITHMS.items()
        for engine in (GPU, DASK_GPU)
        if algorithm.estimator_path(engine)
    ]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    stats = terminalreporter.stats
    passed, failed = len(stats.get("passed", [])), len(stats.get("failed", [])) + len(stats.get("error", []))
    skipped = stats.get("skipped", [])
    write = terminalreporter.write_line
    write("")
    write(
        f"pre-flight stand-in tier: {passed + failed} gpu tests run ({passed} passed, {failed} failed), "
        f"{len(skipped)} skipped"
    )
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        write(f"  skipped {report.nodeid}: {reason.removeprefix('Skipped: ')}")
    libraries = sorted({library for library, _, _ in CALLS})
    counts = ", ".join(f"{lib} {sum(1 for key in CALLS if key[0] == lib)}" for lib in libraries)
    write(f"distinct calls recorded (name + keywords): {len(CALLS)} ({counts})")
    write(f"implicit host conversions refused: {sum(REFUSED.values())} {dict(REFUSED) or ''}".rstrip())
    target = os.environ.get(CALLS_ENV)
    if target:
        write_calls(Path(target), cuml_estimators())
        write(f"calls written to {target}")
