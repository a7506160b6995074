"""Reports of `python -m benchmarks.dask_scaling` as tidy tables: time against workers and rows, out of core."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.bench.results import SHIPPED
from pipeline.errors import DataError
from pipeline.tables.visitor_json import parse_json

WHAT = "a Dask scaling report (written by `python -m benchmarks.dask_scaling --out`)"


def load_scaling_report(data: bytes, name: str) -> dict[str, Any]:
    """The report in `data`; a DataError naming the file when it is not one."""
    report = parse_json(data, name, WHAT)
    if not isinstance(report, dict) or not isinstance(report.get("runs"), list) or "out_of_core" not in report:
        raise DataError(f"{name} is not {WHAT}: it has no runs and out_of_core.")
    try:
        scaling_points(report)
        out_of_core_table(report)
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(f"{name} looks like {WHAT} but a run lacks {error}; write it again with the script.") from None
    return report


def shipped_scaling_reports() -> dict[str, dict[str, Any]]:
    """The scaling reports published with the app (docs/results), by file name."""
    found = {}
    for path in sorted(SHIPPED.glob("dask_*.json")):
        try:
            found[path.name] = load_scaling_report(path.read_bytes(), path.name)
        except DataError:
            continue
    return found


def _series(run: dict[str, Any]) -> str:
    if run["engine"] == "pandas":
        return "pandas"
    return f"Dask CPU, {run['workers']} worker{'s' if run['workers'] != 1 else ''}"


def scaling_points(report: dict[str, Any]) -> pd.DataFrame:
    """One row per run that answered all its questions: series, rows, workers, seconds (their total)."""
    rows = [
        {
            "series": _series(run),
            "engine": str(run["engine"]),
            "rows": int(run["rows"]),
            "workers": None if run["workers"] is None else int(run["workers"]),
            "seconds": float(run["total_s"]),
        }
        for run in report["runs"]
        if run.get("total_s") is not None
    ]
    return pd.DataFrame(rows, columns=["series", "engine", "rows", "workers", "seconds"])


def workers_points(points: pd.DataFrame) -> pd.DataFrame:
    """The Dask runs by worker count, each size with its pandas time alongside (columns: size, workers, seconds,
    pandas_seconds)."""
    dask = points[points["engine"] != "pandas"].copy()
    pandas = points[points["engine"] == "pandas"].set_index("rows")["seconds"]
    dask["pandas_seconds"] = dask["rows"].map(pandas)
    dask["size"] = dask["rows"].map(lambda rows: f"{rows:,} rows")
    return dask[["size", "rows", "workers", "seconds", "pandas_seconds"]].reset_index(drop=True)


def out_of_core_table(report: dict[str, Any]) -> pd.DataFrame:
    """Each out-of-core question (and the profile): seconds with the memory limit and without it, and whether the
    answer agreed; empty when the report has no out-of-core run."""
    run = report.get("out_of_core")
    if not run:
        return pd.DataFrame(columns=["work", "seconds (limited)", "seconds (unlimited)", "slower by", "answer"])
    unlimited = run.get("unlimited_seconds", {})
    rows = []
    for question, seconds in run["questions"].items():
        free = unlimited.get(question)
        wrong = run["wrong"].get(question)
        rows.append(
            {
                "work": f"groupby {question}",
                "seconds (limited)": seconds,
                "seconds (unlimited)": free,
                "slower by": f"{seconds / free:.1f}×" if seconds and free else "—",
                "answer": "agrees" if seconds is not None and not wrong else f"failed: {wrong}",
            }
        )
    profile = run.get("profile")
    if profile:
        seconds, free = profile["seconds"], profile["unlimited_seconds"]
        differences = profile["differences"]
        rows.append(
            {
                "work": f"{profile['preset']} profile",
                "seconds (limited)": seconds,
                "seconds (unlimited)": free,
                "slower by": f"{seconds / free:.1f}×" if free else "—",
                "answer": "agrees" if not differences else f"{len(differences)} statistics differ",
            }
        )
    return pd.DataFrame(rows)
