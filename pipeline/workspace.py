"""A session's work as one file, never pickle: its datasets (Parquet); each dataset's recipe and the pages' last
results on it (`pipeline.workspace_results`: the last pipeline run, training and leaderboard, as JSON, with a
training's outputs as Parquet arrays); the benchmark runs and the pages' main choices (JSON); all in a zip.

`capture` takes what a session holds, `to_zip` writes it, `from_zip` reads one back (from anyone: every member is
checked, sizes are bounded before anything is decompressed, and datasets and arrays are later read through the same
sandboxed reader as an uploaded Parquet file), and `restore` puts it into a catalog.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import pipeline.steps.library  # noqa: F401  (registers every step kind a saved recipe may name)
from pipeline.bench.results import BenchResults, load_results
from pipeline.budget import MemoryBudget
from pipeline.data.catalog import Catalog
from pipeline.data.io import Source, prepare
from pipeline.data.loading import load_file
from pipeline.engines import Engine
from pipeline.errors import DataError
from pipeline.settings import positive_int_setting
from pipeline.steps.spec import Recipe
from pipeline.tables.formats import COMPRESSION_BY_EXTENSION, ENCODINGS, FileFormat, FileRead
from pipeline.tables.visitor_json import max_json_bytes, parse_json
from pipeline.workspace_results import DatasetResults, from_plain, to_plain

VERSION = 3  # 2 adds the pages' results and choices, 3 the datasets' notes and numbers read from text; older read
READS = (1, 2, 3)
MANIFEST = "workspace.json"
DATASET_MEMBER = re.compile(r"^datasets/(\d{1,4})\.parquet$")
ARRAY_MEMBER = re.compile(r"^arrays/(\d{1,6})\.parquet$")
MAX_CHOICES = 500
MAX_NOTES = 200  # a dataset's load notes kept, each of at most MAX_NOTE_CHARS characters
MAX_NOTE_CHARS = 2_000
READ_KEYS = {"format", "compression", "delimiter", "encoding", "dates"}
NUMBER_MARKS = {".", ",", " ", "'"}  # the marks a column of numbers read from text may use; thousands may be none
Choices = dict[str, Any]  # the pages' main choices by widget key: texts, numbers, true/false, lists of texts
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
    results: dict[str, Any] = field(default_factory=dict)  # plain data (`workspace_results.to_plain`)
    read_from: FileRead | None = None  # how its file was read, for the exported script; None: not from a file
    notes: list[str] | None = None  # what loading it noticed; None: a workspace saved before notes were kept


@dataclass
class Workspace:
    """What a session keeps: datasets (each with its recipe and results), the active one, benchmark runs, the pages'
    choices, the arrays the results name (Parquet, by number), and what was left out."""

    datasets: list[SavedDataset] = field(default_factory=list)
    active: str | None = None
    bench_runs: dict[str, BenchResults] = field(default_factory=dict)
    choices: Choices = field(default_factory=dict)
    arrays: list[bytes] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return sum(len(d.parquet) for d in self.datasets) + sum(len(a) for a in self.arrays)


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


def array_parquet(array: np.ndarray) -> bytes:
    """A numeric array of one or two dimensions as Parquet: one column `value`, or a column per array column."""
    if array.ndim == 1:
        return _parquet(pa.table({"value": array}))
    if array.ndim == 2 and array.shape[1] > 0:
        return _parquet(pa.table({str(i): array[:, i] for i in range(array.shape[1])}))
    raise ValueError(f"an array of shape {array.shape} is not kept")


def parquet_array(data: bytes, name: str, budget: MemoryBudget | None = None) -> np.ndarray:
    """An array kept by `array_parquet`, read through the sandboxed reader within `budget`; a DataError unless it is
    numeric."""
    table = prepare(Source.from_bytes(name, data), budget=budget).table
    one = table.column_names == ["value"]
    columns = [table.column("value")] if one else [table.column(str(i)) for i in range(table.num_columns)]
    values = [column.to_numpy() for column in columns]
    if not values or any(v.dtype.kind not in "biuf" for v in values):
        raise DataError(f"{name} should hold numbers only.")
    return values[0] if one else np.column_stack(values)


def array_reader(workspace: Workspace, budget: Callable[[], MemoryBudget]) -> Callable[[int], np.ndarray]:
    """The workspace's arrays read on demand, each at most once (one small member read many times over would
    multiply its memory), all of them together within what one piece of work may take as each is read (`budget`)."""
    read: set[int] = set()
    taken = [0]

    def array(number: int) -> np.ndarray:
        name = f"arrays/{number}.parquet"
        if number >= len(workspace.arrays):
            raise DataError(f"workspace.json names {name}, which the file does not hold.")
        if number in read:
            raise DataError(f"workspace.json names {name} more than once; a workspace saves each array once.")
        read.add(number)
        now = budget()
        found = parquet_array(workspace.arrays[number], name, MemoryBudget(max(now.nbytes - taken[0], 0), now.why))
        taken[0] += found.nbytes
        return found

    return array


def capture(
    catalog: Catalog,
    recipes: dict[int, Recipe],
    bench_runs: dict[str, BenchResults],
    max_bytes: int,
    to_host: Callable[[Engine, Any], Any],
    results: dict[int, DatasetResults] | None = None,
    choices: Choices | None = None,
) -> Workspace:
    """The catalog's datasets (their reference copy as Parquet), each with its recipe and the pages' results on it,
    the benchmark runs and the pages' choices; a dataset that cannot be kept (on a Dask cluster only, holding Python
    objects, or past `max_bytes`) is named in `left_out` with the reason, and so are results past `max_bytes`."""
    workspace = Workspace(bench_runs=dict(bench_runs), choices=dict(choices or {}))
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
        notes = [note[:MAX_NOTE_CHARS] for note in dataset.notes[:MAX_NOTES]]
        saved = SavedDataset(
            dataset.name,
            dataset.source,
            data,
            recipes.get(dataset.id, Recipe()),
            read_from=dataset.read_from,
            notes=notes,
        )
        workspace.datasets.append(saved)
        if catalog.active is not None and dataset.id == catalog.active.id:
            workspace.active = dataset.name
        if (results or {}).get(dataset.id):
            _keep_results(workspace, saved, results[dataset.id], max_bytes)
    return workspace


def _keep_results(workspace: Workspace, saved: SavedDataset, results: DatasetResults, max_bytes: int) -> None:
    """The dataset's results as plain data and Parquet arrays, or a note in `left_out` where they do not fit."""
    arrays: list[bytes] = []

    def keep(array: np.ndarray) -> int:
        arrays.append(array_parquet(array))
        return len(workspace.arrays) + len(arrays) - 1

    try:
        plain = to_plain(results, keep)
    except (pa.ArrowException, TypeError, ValueError) as error:
        workspace.left_out.append(f"{saved.name}: its last results cannot be written ({error}).")
        return
    if workspace.nbytes + sum(len(a) for a in arrays) + len(json.dumps(plain)) > max_bytes:
        workspace.left_out.append(
            f"{saved.name}: its last results would pass the workspace's limit of {max_bytes / 2**20:,.0f} MB."
        )
        return
    saved.results = plain
    workspace.arrays.extend(arrays)


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
                "results": d.results,
                "read_from": _plain_read(d.read_from),
                "notes": d.notes,
            }
            for i, d in enumerate(workspace.datasets)
        ],
        "bench_runs": {name: json.loads(runs.to_json()) for name, runs in workspace.bench_runs.items()},
        "choices": workspace.choices,
        "left_out": workspace.left_out,
    }
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
        for i, dataset in enumerate(workspace.datasets):
            archive.writestr(f"datasets/{i}.parquet", dataset.parquet, compress_type=zipfile.ZIP_STORED)
        for i, array in enumerate(workspace.arrays):
            archive.writestr(f"arrays/{i}.parquet", array, compress_type=zipfile.ZIP_STORED)
    return sink.getvalue()


def _members(data: bytes, max_bytes: int) -> dict[str, bytes]:
    """The zip's members, refused before decompressing when any is unexpected or the whole is over `max_bytes`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise DataError(f"This is not a workspace file (a zip saved by this app): {error}.") from error
    names = [info.filename for info in infos]
    unexpected = [n for n in names if n != MANIFEST and not DATASET_MEMBER.match(n) and not ARRAY_MEMBER.match(n)]
    if unexpected or MANIFEST not in names or len(set(names)) != len(names):
        raise DataError(
            "This zip is not a workspace saved by this app: it should hold workspace.json, datasets/N.parquet and "
            "arrays/N.parquet only."
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
    if not isinstance(manifest, dict) or manifest.get("version") not in READS:
        version = manifest.get("version") if isinstance(manifest, dict) else None
        raise DataError(f"This workspace has version {version!r}; this app reads versions 1 to {VERSION}.")
    workspace = Workspace(left_out=[str(note) for note in manifest.get("left_out") or []][:100])
    workspace.choices = _choices(manifest.get("choices") or {})
    arrays = sorted((int(ARRAY_MEMBER.match(n).group(1)), n) for n in members if ARRAY_MEMBER.match(n))
    if [number for number, _ in arrays] != list(range(len(arrays))):
        raise DataError("This workspace's arrays should be numbered arrays/0.parquet, arrays/1.parquet, … in turn.")
    workspace.arrays = [members[name] for _, name in arrays]
    listed: set[str] = set()
    for entry in manifest.get("datasets") or []:
        if not isinstance(entry, dict) or entry.get("member") not in members or not isinstance(entry.get("name"), str):
            raise DataError("workspace.json lists a dataset the file does not hold.")
        if entry["member"] in listed:  # one small member loaded many times over would multiply its memory
            raise DataError(f"workspace.json lists {entry['member']} more than once; a workspace saves each once.")
        listed.add(entry["member"])
        recipe = Recipe.from_json(json.dumps(entry.get("recipe") or {"version": 1, "steps": []}))
        source = str(entry.get("source") or "a workspace file")[:300]
        results = entry.get("results") or {}
        if not isinstance(results, dict):
            raise DataError(f"workspace.json: the results of {entry['name']} should be an object.")
        read_from = _file_read(entry.get("read_from"), entry["name"])
        notes = _notes(entry.get("notes"), entry["name"])
        workspace.datasets.append(
            SavedDataset(entry["name"], source, members[entry["member"]], recipe, results, read_from, notes)
        )
    runs = manifest.get("bench_runs") or {}
    if not isinstance(runs, dict):
        raise DataError("workspace.json: the benchmark runs should be an object of runs by name.")
    workspace.bench_runs = {str(name): load_results(json.dumps(run), str(name)) for name, run in runs.items()}
    active = manifest.get("active")
    workspace.active = active if any(d.name == active for d in workspace.datasets) else None
    return workspace


def _plain_read(read: FileRead | None) -> dict[str, Any] | None:
    if read is None:
        return None
    return {
        "format": read.format.value,
        "compression": read.compression,
        "delimiter": read.delimiter,
        "encoding": read.encoding,
        "dates": list(read.dates),
        "numbers": [list(number) for number in read.numbers],
    }


def _file_read(value: Any, name: str) -> FileRead | None:
    """How a saved dataset's file was read, checked field by field (it is written into an exported script)."""
    if value is None:
        return None
    wrong = DataError(f"workspace.json: how {name[:80]!r} was read is not one this app writes.")
    if not isinstance(value, dict) or set(value) not in (READ_KEYS, READ_KEYS | {"numbers"}):
        raise wrong
    dates = value["dates"]
    numbers = value.get("numbers", [])
    fine = (
        value["format"] in {f.value for f in FileFormat}
        and value["compression"] in {None, *COMPRESSION_BY_EXTENSION.values()}
        and isinstance(value["delimiter"], str)
        and len(value["delimiter"]) == 1
        and (value["delimiter"].isprintable() or value["delimiter"] == "\t")
        and value["encoding"] in ENCODINGS
        and isinstance(dates, list)
        and len(dates) <= 10_000
        and all(isinstance(d, str) and len(d) <= 1_000 for d in dates)
        and isinstance(numbers, list)
        and len(numbers) <= 10_000
        and all(_number_columns(number) for number in numbers)
    )
    if not fine:
        raise wrong
    return FileRead(
        FileFormat(value["format"]),
        value["compression"],
        value["delimiter"],
        value["encoding"],
        tuple(dates),
        tuple((column, decimal, thousands) for column, decimal, thousands in numbers),
    )


def _number_columns(value: Any) -> bool:
    """Whether `value` is a column read as numbers as this app writes it: [column, decimal mark, thousands mark]."""
    if not isinstance(value, list) or len(value) != 3 or not all(isinstance(part, str) for part in value):
        return False
    column, decimal, thousands = value
    return (
        len(column) <= 1_000 and decimal in NUMBER_MARKS and thousands in NUMBER_MARKS | {""} and decimal != thousands
    )


def _notes(value: Any, name: str) -> list[str] | None:
    """A saved dataset's load notes: at most MAX_NOTES texts of at most MAX_NOTE_CHARS characters; None if not kept."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) > MAX_NOTES
        or not all(isinstance(note, str) and len(note) <= MAX_NOTE_CHARS for note in value)
    ):
        raise DataError(
            f"workspace.json: the notes of {name[:80]!r} should be at most {MAX_NOTES} texts of at most "
            f"{MAX_NOTE_CHARS:,} characters each."
        )
    return value


def _choices(value: Any) -> Choices:
    """The pages' choices read back: texts, numbers, true/false or lists of texts, by widget key."""
    plain = (str, int, float, bool, type(None))
    if not isinstance(value, dict) or len(value) > MAX_CHOICES:
        raise DataError(f"workspace.json: the pages' choices should be an object of at most {MAX_CHOICES} entries.")
    for key, chosen in value.items():
        listed = isinstance(chosen, list) and len(chosen) <= 10_000 and all(isinstance(c, str) for c in chosen)
        if len(key) > 200 or not (isinstance(chosen, plain) or listed):
            raise DataError(f"workspace.json: the choice {key[:200]!r} should be a text, a number or a list of texts.")
    return value


@dataclass
class Restored:
    """What `restore` put in the catalog: each dataset's new id with its recipe and results, and what could not be
    restored."""

    recipes: dict[int, Recipe] = field(default_factory=dict)
    results: dict[int, DatasetResults] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def restore(workspace: Workspace, catalog: Catalog, engines: list[Engine]) -> Restored:
    """Load every dataset of the workspace on every engine (through the sandboxed Parquet reader, as an upload), with
    its saved name, recipe and results; the saved active dataset becomes active. A dataset or results that fail are
    named, not fatal, and so is what the workspace could not keep (a dataset that lived on a Dask cluster)."""
    restored = Restored(problems=list(workspace.left_out))
    active_id = None
    arrays = array_reader(workspace, catalog.budget)
    for saved in workspace.datasets:
        try:
            dataset = load_file(catalog, Source.from_bytes("workspace.parquet", saved.parquet), engines)
            dataset = catalog.rename(dataset.id, catalog.unique_name(Catalog.check_name(saved.name)))
        except DataError as error:
            restored.problems.append(f"{saved.name}: {error}")
            continue
        dataset.source = saved.source
        if saved.notes is not None:  # what was noticed as its file was first read, not as its Parquet was read here
            dataset.notes = list(saved.notes)
        dataset.read_from = saved.read_from  # read here from the workspace's Parquet, but exported as first read
        if saved.read_from is not None:
            columns = {str(c) for c in dataset.primary.frame.columns}
            dataset.read_from = replace(
                saved.read_from,
                dates=tuple(d for d in saved.read_from.dates if d in columns),
                numbers=tuple(n for n in saved.read_from.numbers if n[0] in columns),
            )
        restored.recipes[dataset.id] = saved.recipe
        if saved.results:
            try:
                results, left_out = from_plain(saved.results, arrays, engines)
            except DataError as error:
                restored.problems.append(f"{saved.name}: its last results could not be restored ({error})")
            else:
                restored.results[dataset.id] = results
                restored.problems.extend(f"{saved.name}: {note}" for note in left_out)
        if saved.name == workspace.active:
            active_id = dataset.id
    if active_id is not None:
        catalog.set_active(active_id)
    return restored
