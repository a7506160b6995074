"""Engines own their differences: outside pipeline/engines/ at most a handful of lines ask which engine is in hand,
each marked `# engine check:` with its reason."""

from __future__ import annotations

import re

from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT
MAX_CHECKS = 5
ASKS_WHICH_ENGINE = re.compile(
    r"(==|!=)\s*(CPU|GPU|DASK_CPU|DASK_GPU)\b"  # engine.name == CPU
    r"|\b(CPU|GPU|DASK_CPU|DASK_GPU)\s*(==|!=)"
    r"|\.get\((CPU|GPU|DASK_CPU|DASK_GPU)\)"  # runs.get(GPU)
    r"|\[(CPU|GPU|DASK_CPU|DASK_GPU)\]"  # copies[GPU]
    r"|isinstance\([^)]*(Cpu|Gpu|Dask)Engine\b"
    r"|is_dask_frame\("
    r"|\b(CPU|GPU)\s+(not\s+)?in\s"  # GPU in settings.engines
    r"|[\"'](cpu|gpu|dask-cpu|dask-gpu)[\"']\s*(==|!=|in\b)"
    r"|(==|!=)\s*[\"'](cpu|gpu|dask-cpu|dask-gpu)[\"']"
)


def engine_checks() -> list[str]:
    found = []
    for folder in ("pipeline", "ui", "pages"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.is_relative_to(ROOT / "pipeline" / "engines"):
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if ASKS_WHICH_ENGINE.search(line.split("#")[0] if "# engine check:" not in line else line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_at_most_a_handful_of_lines_outside_the_engines_ask_which_engine_they_hold():
    found = engine_checks()
    assert len(found) <= MAX_CHECKS, "\n".join(found)
    unexplained = [line for line in found if "# engine check:" not in line]
    assert not unexplained, "each engine check says why: " + "\n".join(unexplained)


def test_the_pattern_finds_the_ways_code_asks():
    asks = [
        "if engine.name == CPU:",
        "cpu, gpu = runs.get(CPU), runs.get(GPU)",
        "if isinstance(engine, DaskEngine):",
        "if is_dask_frame(frame):",
        "if GPU in settings.engines:",
        'if engine.name == "gpu":',
        "copy = dataset.copies[GPU]",
    ]
    assert all(ASKS_WHICH_ENGINE.search(line) for line in asks)
    assert not ASKS_WHICH_ENGINE.search("copies[engine.name] = build(engine)")
    assert not ASKS_WHICH_ENGINE.search("if engine.lazy and estimated:")
