"""The public tables of tests/data/public, loaded as the Data page loads an upload of them."""

from __future__ import annotations

from pipeline.data.catalog import Catalog, Dataset
from pipeline.data.io import Source
from pipeline.data.loading import load_file
from pipeline.engines import available_engines
from tests.support.paths import TEST_DATA

PUBLIC = TEST_DATA / "public"
FILES = {"cars": "cars.json", "seattle-weather": "seattle-weather.csv"}  # a JSON array of records, and a CSV


def load_public(catalog: Catalog, name: str) -> Dataset:
    """`cars` or `seattle-weather` loaded into `catalog` on every engine, as the active dataset."""
    return load_file(catalog, Source.from_path(PUBLIC / FILES[name]), available_engines())
