"""Bring a table onto every engine asked for, timing each, into the session's catalog."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline.data.bundled import BUNDLED, bundled_frame
from pipeline.data.catalog import Catalog, Dataset, EngineCopy
from pipeline.data.io import EngineRead, Prepared, ReadOptions, Source, prepare, read_on_engine
from pipeline.engines import Engine, is_out_of_memory, out_of_memory_error
from pipeline.engines.dask import DaskEngine
from pipeline.errors import DataError, PipelineError
from pipeline.tables.column_kinds import DATETIME, column_kind
from pipeline.tables.formats import BINARY_FORMATS, FileFormat, FileRead
from pipeline.tables.synthetic import SyntheticSpec, check_fits, dataset_name, table_count, validate
from pipeline.timing import clock

Progress = Callable[[str], None]
log = logging.getLogger(__name__)


def _quiet(_message: str) -> None:
    """The progress callback used when nobody is listening."""


def _failure_message(engine: Engine, error: Exception) -> str:
    """What to tell the user when an engine other than the reference could not take the dataset."""
    if isinstance(error, PipelineError):
        return str(error)
    if is_out_of_memory(error):
        return str(out_of_memory_error(engine, "loading this dataset"))
    explained = engine.explain_failure(error)  # a Dask cluster lost meanwhile
    if explained:
        return explained
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
            if engine.is_reference or len(engines) == 1:
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
    budget = catalog.budget()
    prepared = prepare(source, options, max_bytes=max_bytes, budget=budget)
    reads: dict[str, Any] = {}

    def build(engine: Engine) -> EngineCopy:
        read = read_on_engine(prepared, engine)
        reads[engine.name] = read
        return EngineCopy(engine, read.frame, read.phases, read.route, read.transfer_s)

    copies, failures = _on_each_engine(engines, build, progress)
    notes = list(prepared.notes)
    if prepared.format is FileFormat.CSV:
        notes.append(f"CSV delimiter {prepared.dialect.delimiter!r}, encoding {prepared.dialect.encoding}.")
    notes.extend(next(iter(reads.values())).notes)
    notes.extend(f"{copy.engine.label}: {copy.route}." for copy in copies.values() if not copy.engine.is_reference)
    read_from = file_read(prepared, next(iter(reads.values())))
    name = Catalog.name_for(source.name)
    return catalog.add(name, f"{prepared.format} file {source.name}", copies, notes, failures, read_from)


def file_read(prepared: Prepared, read: EngineRead) -> FileRead:
    """How the file was read: a text format's date-times were found by the readers, not written in the file, and so
    were a CSV's numbers written with separators."""
    text = prepared.format not in BINARY_FORMATS
    dates = tuple(str(name) for name, dtype in read.frame.dtypes.items() if text and column_kind(dtype) == DATETIME)
    dialect = prepared.dialect
    return FileRead(prepared.format, prepared.compression, dialect.delimiter, dialect.encoding, dates, read.numbers)


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
    """Generate the tables of `spec` on every engine (each on its own device) and add them.

    Before an engine makes a row, the estimate is checked: on the host against the session's MemoryBudget (the
    server's cap, half the available memory, the session's room); on a GPU or Dask workers against their room."""
    spec = validate(spec)
    catalog.check_room(table_count(spec))
    budget = catalog.budget()
    per_engine: dict[str, tuple[dict[str, Any], float]] = {}

    def build(engine: Engine) -> EngineCopy:
        check_fits(spec, engine, budget)
        tables, seconds = clock(lambda: engine.persist_all(engine.generate(spec)), engine.synchronize)
        per_engine[engine.name] = (tables, seconds)
        first = next(iter(tables.values()))
        where = "generated on the workers, held in their memory" if engine.lazy else "generated on the engine"
        return EngineCopy(engine, first, {"generate": seconds}, where)

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


def pattern_name(pattern: str) -> str:
    """A dataset name for files matched by a pattern: its last part without wildcards, e.g. `sales` for
    `sales/*.parquet` or `2024` for `sales/2024.csv`."""
    plain = [part for part in Path(pattern).parts if not any(mark in part for mark in "*?[")]
    return Path(plain[-1]).stem if plain else "files"


def load_files_on_dask(
    catalog: Catalog, engine: DaskEngine, paths: list[Path], pattern: str, *, progress: Progress = _quiet
) -> Dataset:
    """Files as a lazy Dask frame (read by the workers when a computation needs them) added as the active dataset."""
    catalog.check_room()
    progress(f"Checking the schemas of {len(paths)} file(s)…")
    frame, seconds = clock(lambda: engine.read_paths(paths, pattern), engine.synchronize)
    route = f"read lazily by the workers, {frame.npartitions:,} partitions"
    copy = EngineCopy(engine, frame, {"plan the read (lazy)": seconds}, route)
    notes = [
        f"{len(paths):,} file(s) matching {pattern}; the workers read them whenever a computation needs them, "
        "so nothing of them is held in this server's memory."
    ]
    return catalog.add(pattern_name(pattern), f"files {pattern} on {engine.label}", {engine.name: copy}, notes)


def add_copy_on(dataset: Dataset, engine: DaskEngine, *, progress: Progress = _quiet) -> EngineCopy:
    """A copy of a dataset on a Dask cluster, made from its host copy and kept in the workers' memory, so the
    pages can run it on Dask next to the other engines."""
    source = dataset.primary
    if source.lazy:
        raise DataError(f"{dataset.name} is already on a Dask cluster.")
    progress(f"Copying {dataset.name} to {engine.label}…")
    table = pa.Table.from_pandas(source.engine.to_pandas(source.frame), preserve_index=False)
    frame, seconds = clock(lambda: engine.persist_all({"": engine.from_arrow(table)})[""], engine.synchronize)
    route = f"copied from the {source.engine.label} copy, {frame.npartitions:,} partitions held by the workers"
    dataset.copies[engine.name] = EngineCopy(engine, frame, {"to engine (from Arrow)": seconds}, route)
    return dataset.copies[engine.name]
