"""A session's work as one file: its datasets (Parquet), recipes and benchmark runs (JSON) in a zip, never pickle.

`capture` takes what a session holds, `to_zip` writes it, `from_zip` reads one back (from anyone: every member is
checked, sizes are bounded before anything is decompressed, and datasets are later loaded through the same
sandboxed reader as an uploaded Parquet file), and `restore` puts it into a catalog.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import pipeline.steps.library  # noqa: F401  (registers every step kind a saved recipe may name)
from pipeline.bench.results import BenchResults, load_results
from pipeline.data.catalog import Catalog
from pipeline.data.io import Source
from pipeline.data.loading import load_file
from pipeline.engines import Engine
from pipeline.errors import DataError
from pipeline.settings import positive_int_setting
from pipeline.steps.spec import Recipe
from pipeline.tables.visitor_json import max_json_bytes, parse_json

VERSION = 1
MANIFEST = "workspace.json"
DATASET_MEMBER = re.compile(r"^datasets/(\d{1,4})\.parquet$")
MAX_MB_ENV = "GPL_WORKSPACE_MAX_MB"
DEFAULT_MAX_MB = 512


def max_workspace_bytes() -> int:
    """The largest workspace (decompressed) a session may save or open: $GPL_WORKSPACE_MAX_MB, 512 MB by default."""
    return positive_int_setting(MAX_MB_ENV, DEFAULT_MAX_MB) * 2**20


@dataclass
class SavedDataset:
    name: str
    source: str
    parquet: bytes
    recipe: Recipe = field(default_factory=Recipe)


@dataclass
class Workspace:
    """What a session keeps: datasets (each with its recipe), the active one, benchmark runs, and what was left out."""

    datasets: list[SavedDataset] = field(default_factory=list)
    active: str | None = None
    bench_runs: dict[str, BenchResults] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return sum(len(d.parquet) for d in self.datasets)


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def dataset_parquet(dataset: Any, to_host: Callable[[Engine, Any], Any]) -> bytes:
    """A dataset's reference copy as Parquet bytes, written once and kept with the dataset (its data never
    changes), so that saving the workspace again after a recipe changes does not encode every table again."""

    def encode() -> bytes:
        frame = to_host(dataset.primary.engine, dataset.primary.frame)
        return _parquet(pa.Table.from_pandas(frame, preserve_index=False))

    return dataset.remember("workspace parquet", encode)


def capture(
    catalog: Catalog,
    recipes: dict[int, Recipe],
    bench_runs: dict[str, BenchResults],
    max_bytes: int,
    to_host: Callable[[Engine, Any], Any],
) -> Workspace:
    """The catalog's datasets (their reference copy as Parquet), each with its recipe, and the benchmark runs; a
    dataset that cannot be kept (on a Dask cluster only, holding Python objects, or past `max_bytes`) is named in
    `left_out` with the reason."""
    workspace = Workspace(bench_runs=dict(bench_runs))
    for dataset in catalog:
        if dataset.primary.engine.lazy:
            workspace.left_out.append(f"{dataset.name}: it lives on the Dask cluster; its files stay where they are.")
            continue
        try:
            data = dataset_parquet(dataset, to_host)
        except (pa.ArrowException, TypeError, ValueError) as error:
            workspace.left_out.append(f"{dataset.name}: its columns cannot be written as Parquet ({error}).")
            continue
        if workspace.nbytes + len(data) > max_bytes:
            workspace.left_out.append(
                f"{dataset.name}: the workspace would pass its limit of {max_bytes / 2**20:,.0f} MB."
            )
            continue
        workspace.datasets.append(SavedDataset(dataset.name, dataset.source, data, recipes.get(dataset.id, Recipe())))
        if catalog.active is not None and dataset.id == catalog.active.id:
            workspace.active = dataset.name
    return workspace


def to_zip(workspace: Workspace) -> bytes:
    manifest = {
        "version": VERSION,
        "active": workspace.active,
        "datasets": [
            {
                "name": d.name,
                "source": d.source,
                "member": f"datasets/{i}.parquet",
                "recipe": json.loads(d.recipe.to_json()),
            }
            for i, d in enumerate(workspace.datasets)
        ],
        "bench_runs": {name: json.loads(runs.to_json()) for name, runs in workspace.bench_runs.items()},
        "left_out": workspace.left_out,
    }
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
        for i, dataset in enumerate(workspace.datasets):
            archive.writestr(f"datasets/{i}.parquet", dataset.parquet, compress_type=zipfile.ZIP_STORED)
    return sink.getvalue()


def _members(data: bytes, max_bytes: int) -> dict[str, bytes]:
    """The zip's members, refused before decompressing when any is unexpected or the whole is over `max_bytes`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise DataError(f"This is not a workspace file (a zip saved by this app): {error}.") from error
    names = [info.filename for info in infos]
    unexpected = [n for n in names if n != MANIFEST and not DATASET_MEMBER.match(n)]
    if unexpected or MANIFEST not in names or len(set(names)) != len(names):
        raise DataError(
            "This zip is not a workspace saved by this app: it should hold workspace.json and datasets/N.parquet only."
        )
    declared = sum(info.file_size for info in infos)  # zipfile never reads past a member's declared size
    manifest = next(info for info in infos if info.filename == MANIFEST)
    if manifest.file_size > max_json_bytes():
        raise DataError(
            f"This workspace's workspace.json unpacks to {manifest.file_size / 2**20:,.0f} MB, over the "
            f"{max_json_bytes() / 2**20:,.0f} MB a JSON file may take here. Save the workspace again from this app."
        )
    if declared > max_bytes:
        raise DataError(
            f"This workspace unpacks to {declared / 2**20:,.0f} MB, over the limit of {max_bytes / 2**20:,.0f} MB. "
            "Save a smaller workspace (remove large datasets first)."
        )
    try:
        return {info.filename: archive.read(info) for info in infos}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as error:
        raise DataError(f"This workspace file is damaged: {error}.") from error


def from_zip(data: bytes, max_bytes: int) -> Workspace:
    """A workspace file read back and checked: its manifest, recipes and benchmark runs through their own parsers;
    the Parquet of each dataset is kept as bytes, to be read by the sandboxed reader when restored."""
    members = _members(data, max_bytes)
    manifest = parse_json(members[MANIFEST], "workspace.json", "a workspace saved by this app")
    if not isinstance(manifest, dict) or manifest.get("version") != VERSION:
        raise DataError(f"This workspace has version {manifest.get('version')!r}; this app reads version {VERSION}.")
    workspace = Workspace(left_out=[str(note) for note in manifest.get("left_out") or []][:100])
    listed: set[str] = set()
    for entry in manifest.get("datasets") or []:
        if not isinstance(entry, dict) or entry.get("member") not in members or not isinstance(entry.get("name"), str):
            raise DataError("workspace.json lists a dataset the file does not hold.")
        if entry["member"] in listed:  # one small member loaded many times over would multiply its memory
            raise DataError(f"workspace.json lists {entry['member']} more than once; a workspace saves each once.")
        listed.add(entry["member"])
        recipe = Recipe.from_json(json.dumps(entry.get("recipe") or {"version": 1, "steps": []}))
        source = str(entry.get("source") or "a workspace file")[:300]
        workspace.datasets.append(SavedDataset(entry["name"], source, members[entry["member"]], recipe))
    runs = manifest.get("bench_runs") or {}
    if not isinstance(runs, dict):
        raise DataError("workspace.json: the benchmark runs should be an object of runs by name.")
    workspace.bench_runs = {str(name): load_results(json.dumps(run), str(name)) for name, run in runs.items()}
    active = manifest.get("active")
    workspace.active = active if any(d.name == active for d in workspace.datasets) else None
    return workspace


@dataclass
class Restored:
    """What `restore` put in the catalog: each dataset's new id with its recipe, and what could not be restored."""

    recipes: dict[int, Recipe] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def restore(workspace: Workspace, catalog: Catalog, engines: list[Engine]) -> Restored:
    """Load every dataset of the workspace on every engine (through the sandboxed Parquet reader, as an upload), with
    its saved name and recipe; the saved active dataset becomes active. A dataset that fails is named, not fatal."""
    restored = Restored()
    active_id = None
    for saved in workspace.datasets:
        try:
            dataset = load_file(catalog, Source.from_bytes("workspace.parquet", saved.parquet), engines)
            dataset = catalog.rename(dataset.id, catalog.unique_name(Catalog.check_name(saved.name)))
        except DataError as error:
            restored.problems.append(f"{saved.name}: {error}")
            continue
        dataset.source = saved.source
        restored.recipes[dataset.id] = saved.recipe
        if saved.name == workspace.active:
            active_id = dataset.id
    if active_id is not None:
        catalog.set_active(active_id)
    return restored
