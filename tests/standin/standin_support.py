"""What the stand-ins for cuDF, CuPy and cuML share: who is calling, refusing as they refuse, recording calls.

A call or conversion counts as the code under test's own when the frame that made it is outside pandas, numpy,
pyarrow and the stand-ins (pandas converting its own data internally is not a host copy the real libraries see).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

CALLS_ENV = "GPL_PREFLIGHT_CALLS"  # where a run on the stand-ins writes the calls it recorded (JSON)
INSIDE = ("pandas", "numpy", "pyarrow", "cudf", "cupy", "cuml", "standin_support", "sklearn", "scipy")
CALLS: Counter[tuple[str, str, tuple[str, ...]]] = Counter()  # (library, qualified name, keywords) → times
REFUSED: Counter[str] = Counter()  # what the code under test did that the real library refuses


def from_outside(depth: int = 2) -> bool:
    """True when the frame `depth` levels up (1: the caller of the function that asks) is the code under test."""
    frame = sys._getframe(depth)
    return frame.f_globals.get("__name__", "").split(".")[0] not in INSIDE


def record(library: str, name: str, keywords: dict[str, Any] | tuple[str, ...] = ()) -> None:
    CALLS[(library, name, tuple(sorted(keywords)))] += 1


def refuse(what: str, message: str) -> None:
    """Raise TypeError as the real library does, counting the refusal."""
    REFUSED[what] += 1
    raise TypeError(message)


def write_calls(path: Path, estimators: list[dict[str, Any]]) -> None:
    """Every distinct call recorded, every refusal and the cuML estimators with their keywords, as JSON for
    the check against the real packages."""
    rows = [{"library": lib, "name": name, "keywords": list(kw), "times": n} for (lib, name, kw), n in CALLS.items()]
    rows.sort(key=lambda r: (r["library"], r["name"]))
    report = {"calls": rows, "refused": dict(REFUSED), "estimators": estimators}
    path.write_text(json.dumps(report, indent=1), encoding="utf-8")
