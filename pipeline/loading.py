"""Bring a table onto every engine asked for, timing each, into the session's catalog."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline.catalog import Catalog, Dataset, EngineCopy
from pipeline.datasets import (
    BUNDLED,
    SyntheticSpec,
    bundled_frame,
    dataset_name,
    generate,
    table_count,
    validate,
)
from pipeline.engines import CPU, Engine, is_out_of_memory, out_of_memory_error
from pipeline.errors import PipelineError
from pipeline.formats import FileFormat
from pipeline.io import ReadOptions, Source, prepare, read_on_engine
from pipeline.timing import clock

Progress = Callable[[str], None]
log = logging.getLogger(__name__)


def _quiet(_message: str) -> None:
    """The progress callback used when nobody is listening."""


def _failure_message(engine: Engine, error: Exception) -> str:
    """What to tell the user when an engine other than the CPU could not take the dataset."""
    if isinstance(error, PipelineError):
        return str(error)
    if is_out_of_memory(error):
        return str(out_of_memory_error(engine, "loading this dataset"))
    log.warning("%s could not load a dataset", engine.label, exc_info=error)
    return f"{type(error).__name__}: {error}. The CPU copy is loaded; the server log has the details."


def _on_each_engine(
    engines: list[Engine], build: Callable[[Engine], EngineCopy], progress: Progress
) -> tuple[dict[str, EngineCopy], dict[str, str]]:
    """Build a copy on every engine; the CPU's failure stops everything, another engine's is kept as a note."""
    copies: dict[str, EngineCopy] = {}
    failures: dict[str, str] = {}
    for engine in engines:
        progress(f"Loading on {engine.label}…")
        try:
            copies[engine.name] = build(engine)
        except Exception as error:
            if engine.name == CPU or len(engines) == 1:
                raise
            failures[engine.name] = _failure_message(engine, error)
            progress(f"{engine.label}: not loaded ({failures[engine.name]})")
        else:
            progress(f"{engine.label}: {copies[engine.name].seconds:.3f} s")
    return copies, failures


def load_file(
    catalog: Catalog,
    source: Source,
    engines: list[Engine],
    options: ReadOptions = ReadOptions(),
    *,
    max_bytes: int | None = None,
    progress: Progress = _quiet,
) -> Dataset:
    """Read a file on every engine and add it to the catalog as the active dataset."""
    catalog.check_room()
    progress(f"Checking {source.name} ({source.size / 1e6:,.1f} MB)…")
    prepared = prepare(source, options, max_bytes=max_bytes)
    reads: dict[str, Any] = {}

    def build(engine: Engine) -> EngineCopy:
        read = read_on_engine(prepared, engine)
        reads[engine.name] = read
        return EngineCopy(engine, read.frame, read.phases, read.route, read.transfer_s)

    copies, failures = _on_each_engine(engines, build, progress)
    notes = list(prepared.notes)
    if prepared.compression:
        notes.append(f"Decompressed ({prepared.compression}) on the host before parsing.")
    if prepared.format is FileFormat.CSV:
        notes.append(f"CSV delimiter {prepared.dialect.delimiter!r}, encoding {prepared.dialect.encoding}.")
    notes.extend(next(iter(reads.values())).notes)
    notes.extend(f"{copy.engine.label}: {copy.route}." for copy in copies.values() if copy.engine.name != CPU)
    stem = source.name.split(".")[0] or source.name
    return catalog.add(stem, f"{prepared.format} file {source.name}", copies, notes, failures)


def load_bundled(
    catalog: Catalog,
    name: str,
    engines: list[Engine],
    *,
    frames: Callable[[str], pd.DataFrame] = bundled_frame,
    progress: Progress = _quiet,
) -> Dataset:
    """Add a bundled dataset on every engine; `frames` gives its pandas frame (the UI passes a cached one)."""
    catalog.check_room()
    table = pa.Table.from_pandas(frames(name), preserve_index=False)

    def build(engine: Engine) -> EngineCopy:
        frame, seconds = clock(lambda: engine.from_arrow(table), engine.synchronize)
        return EngineCopy(engine, frame, {"to engine (from Arrow)": seconds}, "bundled with scikit-learn")

    copies, failures = _on_each_engine(engines, build, progress)
    return catalog.add(name, f"bundled: {BUNDLED[name][0]}", copies, failures=failures)


def load_synthetic(
    catalog: Catalog, spec: SyntheticSpec, engines: list[Engine], *, progress: Progress = _quiet
) -> list[Dataset]:
    """Generate the tables of `spec` on every engine (each on its own device) and add them."""
    spec = validate(spec)
    catalog.check_room(table_count(spec))
    per_engine: dict[str, tuple[dict[str, Any], float]] = {}

    def build(engine: Engine) -> EngineCopy:
        tables, seconds = clock(lambda: generate(spec, engine), engine.synchronize)
        per_engine[engine.name] = (tables, seconds)
        first = next(iter(tables.values()))
        return EngineCopy(engine, first, {"generate": seconds}, "generated on the engine")

    copies, failures = _on_each_engine(engines, build, progress)
    base = dataset_name(spec)
    added = []
    for suffix in next(iter(per_engine.values()))[0]:
        table_copies = {
            name: EngineCopy(copies[name].engine, tables[suffix], dict(copies[name].phases), copies[name].route)
            for name, (tables, _seconds) in per_engine.items()
        }
        name = f"{base}_{suffix}" if suffix else base
        notes = ["Generation time covers all tables of this set."] if suffix else []
        added.append(catalog.add(name, f"synthetic {spec.describe()}", table_copies, notes, failures))
    return added
