"""The public tables of tests/data/public, loaded as the Data page loads an upload of them."""

from __future__ import annotations

import json

from pipeline.data.catalog import Catalog, Dataset
from pipeline.data.io import Source
from pipeline.data.loading import load_file
from pipeline.engines import available_engines
from tests.support.paths import TEST_DATA

PUBLIC = TEST_DATA / "public"


def cars_lines() -> bytes:
    """vega_datasets' cars as JSON lines (the file is one JSON array, which the reader takes one object a line)."""
    return "\n".join(json.dumps(row) for row in json.loads((PUBLIC / "cars.json").read_text())).encode()


def load_public(catalog: Catalog, name: str) -> Dataset:
    """`cars` or `seattle-weather` loaded into `catalog` on every engine, as the active dataset."""
    source = (
        Source.from_bytes("cars.jsonl", cars_lines()) if name == "cars" else Source.from_path(PUBLIC / f"{name}.csv")
    )
    return load_file(catalog, source, available_engines())
