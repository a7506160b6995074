"""Benchmark results: one record per (suite, question, engine, rows), the environment they ran in, JSON and CSV."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import DataError
from pipeline.render.csv_export import safe_csv
from pipeline.tables.visitor_json import parse_json

SCHEMA = "gpu-pipeline-lab/bench"
VERSION = 1
OK, FAILED, ERROR, SKIPPED = "ok", "failed", "error", "skipped"
REPO = Path(__file__).resolve().parents[2]  # the checkout: docs/results lives here


@dataclass
class Record:
    """One question on one engine at one size.

    status: ok (timed, answer agrees with the reference), failed (answer disagrees: not timed),
    error (the engine raised; `message` says what), skipped (does not apply to this engine).
    """

    suite: str
    question: str
    label: str
    engine: str
    engine_label: str
    rows: int
    status: str
    message: str = ""
    median_s: float | None = None
    min_s: float | None = None
    max_s: float | None = None
    first_s: float | None = None
    repeats: int = 0
    warmup: int = 0
    answer: dict[str, Any] | None = None
    peak_memory_bytes: int | None = None
    memory_of: str | None = None


@dataclass
class BenchResults:
    environment: dict[str, Any]
    settings: dict[str, Any]
    records: list[Record] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "version": VERSION,
            "environment": self.environment,
            "settings": self.settings,
            "records": [asdict(record) for record in self.records],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def frame(self) -> pd.DataFrame:
        """The records as a table, one row each."""
        columns = list(Record.__dataclass_fields__)
        rows = [{**asdict(r), "answer": json.dumps(r.answer) if r.answer else ""} for r in self.records]
        return pd.DataFrame(rows, columns=columns)

    def to_csv(self) -> str:
        """The records as CSV that spreadsheets open as data."""
        return safe_csv(self.frame())

    @property
    def name(self) -> str:
        """A short name for charts: the machine's GPU (or CPU) and when it ran."""
        machine = self.environment.get("machine", {})
        gpus = machine.get("gpus") or []
        where = gpus[0]["name"] if gpus else f"CPU ×{machine.get('logical_cores', '?')}"
        return f"{where} · {self.environment.get('when', '?')}"


def from_dict(data: Any, source: str) -> BenchResults:
    """Results read back from their JSON form; a DataError names what makes `source` unusable."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise DataError(f"{source} is not a benchmark results file of this app (no '{SCHEMA}' schema field).")
    version = data.get("version")
    if version != VERSION:
        raise DataError(
            f"{source} uses results schema version {version!r}; this app reads version {VERSION}. "
            "Run the benchmark again with this version to compare."
        )
    if not isinstance(data.get("environment"), dict) or not isinstance(data.get("records"), list):
        raise DataError(f"{source} lacks its environment or records; it may be truncated.")
    names = set(Record.__dataclass_fields__)
    records = []
    for number, item in enumerate(data["records"], start=1):
        if not isinstance(item, dict) or not {"suite", "question", "engine", "rows", "status"} <= set(item):
            raise DataError(f"{source}: record {number} lacks suite, question, engine, rows or status.")
        unknown = set(item) - names
        if unknown:
            fields = ", ".join(sorted(unknown))
            raise DataError(f"{source}: record {number} has fields this app does not know: {fields}.")
        try:
            records.append(Record(**item))
        except TypeError as error:
            raise DataError(f"{source}: record {number} is incomplete ({error}).") from error
    return BenchResults(data["environment"], data.get("settings", {}), records)


def load_results(payload: bytes | str, source: str) -> BenchResults:
    """Results from the bytes of a JSON file the benchmark wrote."""
    return from_dict(parse_json(payload, source, "a file `python -m pipeline.bench --out` wrote"), source)


SHIPPED = REPO / "docs" / "results"


def shipped_results() -> dict[str, BenchResults]:
    """The benchmark runs published with the app (docs/results/*.json written by pipeline.bench), by file name."""
    found = {}
    for path in sorted(SHIPPED.glob("*.json")):
        try:
            found[path.name] = load_results(path.read_bytes(), path.name)
        except DataError:
            continue  # the folder also holds other benchmarks' reports
    return found
