"""Read tables onto an engine: a visitor's file decoded in the sandboxed reader, then onto every engine.

The server checks only what needs no decoding (the upload's size, that it is not empty); everything else, from
detecting the format to the plain Arrow table, happens in the reader process's child within the load's memory
budget and time limit (`pipeline.tables.sandbox`, `pipeline.tables.decode`). Engines then take that table, or,
where an engine has its own reader for the format, read the file themselves (it has been read once in the
sandbox, so its shape and types are known to be sound).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.budget import MemoryBudget
from pipeline.data.text_values import convert_dates, convert_numbers
from pipeline.engines import Engine, is_out_of_memory, out_of_memory_error
from pipeline.errors import DataError
from pipeline.settings import positive_int_setting
from pipeline.steps.memory import check_fits, load_need
from pipeline.tables.decode import MAX_COLUMNS, Decoded, ReadLimits, ReadOptions, too_wide
from pipeline.tables.formats import FileFormat, split_extensions
from pipeline.tables.host_readers import CsvDialect
from pipeline.tables.sandbox import Limits, run_job
from pipeline.timing import clock

DATA_DIR_ENV = "GPL_DATA_DIR"
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_UPLOAD_LIMIT_MB = 200
DECOMPRESSED_LIMIT_ENV = "GPL_MAX_DECOMPRESSED_MB"
DEFAULT_DECOMPRESSED_LIMIT_MB = 4096
READER_SLACK = 512 * 2**20  # the reader's own working memory (parser blocks, a row group) beside the table

__all__ = ["MAX_COLUMNS", "ReadOptions", "Source"]


@dataclass(frozen=True)
class Source:
    """A file to read: uploaded bytes or a path in the data folder."""

    name: str
    data: bytes | None = None
    path: Path | None = None

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Source:
        return cls(name=name, data=bytes(data))

    @classmethod
    def from_path(cls, path: Path) -> Source:
        return cls(name=path.name, path=path)

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.path.stat().st_size

    @property
    def payload(self) -> bytes | Path:
        return self.data if self.data is not None else self.path


@dataclass
class Prepared:
    """A file decoded in the sandbox: what it is, its plain Arrow table, and the file itself for an engine's own
    reader."""

    name: str
    format: FileFormat
    compression: str | None
    payload: bytes | Path
    dialect: CsvDialect
    table: pa.Table
    parse_s: float  # the reader's own parse time
    handover_s: float  # starting the reader's child and handing the table over
    header: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    conversions: list[str] = field(default_factory=list)
    plain: bool = True  # every column has a plain type, so an engine's own reader may read it
    peak_bytes: int = 0  # the reader child's peak resident memory

    @property
    def readable_natively(self) -> bool:
        """Whether an engine's own reader may take the file as it is: plain columns, not compressed."""
        return self.plain and self.compression is None


@dataclass
class EngineRead:
    """A frame on an engine, with how it got there and how long each phase took."""

    frame: Any
    phases: dict[str, float]
    route: str
    transfer_s: float | None = None
    notes: list[str] = field(default_factory=list)
    numbers: tuple[tuple[str, str, str], ...] = ()  # text columns read as numbers: (column, decimal, thousands)

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())


def default_decompressed_limit() -> int:
    """How far a compressed file may expand as it is read: $GPL_MAX_DECOMPRESSED_MB (4 GiB). It is decompressed as
    it is parsed, never held whole, so this bounds the time spent, not the memory (the table's budget does)."""
    return positive_int_setting(DECOMPRESSED_LIMIT_ENV, DEFAULT_DECOMPRESSED_LIMIT_MB) * 2**20


def read_limits(budget: MemoryBudget, max_decompressed: int | None = None) -> ReadLimits:
    return ReadLimits(budget.nbytes, budget.why, max_decompressed or default_decompressed_limit())


def prepare(
    source: Source,
    options: ReadOptions = ReadOptions(),
    *,
    max_bytes: int | None = None,
    max_decompressed: int | None = None,
    budget: MemoryBudget | None = None,
) -> Prepared:
    """Check a file and decode it in the sandboxed reader within `budget` (estimated from its own metadata first,
    then counted as it is read, and held by the operating system's limit on the reader's memory); everything
    wrong is a DataError."""
    name = source.name
    size = source.size
    if max_bytes is not None and size > max_bytes:
        raise DataError(
            f"{name} is {size / 2**20:,.1f} MB, over the upload limit of {max_bytes / 2**20:,.0f} MB. "
            "Copy it into the data folder and open it from there."
        )
    if size == 0:
        raise DataError(f"{name} is empty (0 bytes). Choose a file with a header and rows.")
    budget = budget or MemoryBudget.for_session()
    limits = read_limits(budget, max_decompressed)
    arguments = {"name": name, "options": vars(options), "limits": vars(limits)}
    memory = Limits.for_memory(limits.table_bytes + READER_SLACK)
    reply, seconds = clock(lambda: run_job("table", arguments, source.payload, memory, name), lambda: None)
    decoded = Decoded.from_header(reply.header, reply.table)
    return Prepared(
        name,
        decoded.format,
        decoded.compression,
        source.payload,
        decoded.dialect,
        reply.table,
        decoded.parse_s,
        max(seconds - decoded.parse_s, 0.0),
        decoded.header,
        decoded.notes,
        decoded.conversions,
        decoded.plain,
        reply.peak_bytes,
    )


def fix_column_names(names: list[Any]) -> tuple[list[str], list[str]]:
    """Names made unique and non-blank, with a note for each one changed."""
    fixed: list[str] = []
    notes: list[str] = []
    seen: set[str] = set()
    for position, raw in enumerate(names, start=1):
        name = "" if raw is None else str(raw).strip()
        base = name or f"column_{position}"
        candidate, counter = base, 2
        while candidate in seen:
            candidate, counter = f"{base}_{counter}", counter + 1
        if not name:
            notes.append(f"Column {position} has no name: called it {candidate!r}.")
        elif candidate != name:
            notes.append(f"Column name {name!r} appears more than once: column {position} renamed {candidate!r}.")
        seen.add(candidate)
        fixed.append(candidate)
    return fixed, notes


def _utf8_payload(prepared: Prepared) -> bytes | Path:
    """The CSV payload as UTF-8 for an engine's own reader, transcoded where the file uses another encoding (the
    sandbox read it with that encoding already, so it is known to decode)."""
    if prepared.dialect.encoding == "utf-8":
        return prepared.payload
    raw = prepared.payload if isinstance(prepared.payload, bytes) else prepared.payload.read_bytes()
    return raw.decode(prepared.dialect.encoding).encode("utf-8")


def _read_natively(prepared: Prepared, engine: Engine) -> EngineRead | None:
    """The file read by the engine's own reader, given the schema the sandbox's read found (pyarrow infers a text
    file's types from its first block, as the host read did); None where the engine's reader cannot be given one
    of its types."""
    payload = _utf8_payload(prepared) if prepared.format is FileFormat.CSV else prepared.payload
    schema = prepared.table.schema if prepared.format in (FileFormat.CSV, FileFormat.JSONL) else None
    frame, seconds = clock(
        lambda: engine.read_native(prepared.format, payload, prepared.dialect.delimiter, schema), engine.synchronize
    )
    if frame is None:
        return None
    return EngineRead(frame, {f"read ({engine.label})": seconds}, "read by the engine's own reader")


def _from_host(prepared: Prepared, engine: Engine) -> EngineRead:
    """The sandbox's table handed to the engine."""
    frame, convert_s = clock(lambda: engine.from_arrow(prepared.table), engine.synchronize)
    if not prepared.plain:
        why = "has columns that need converting"
    elif prepared.compression is not None:
        why = f"is {prepared.compression}-compressed (decompressed as it was parsed)"
    elif prepared.format in engine.native_formats:
        why = f"has a column type the {engine.label} reader cannot be given (a time zone)"
    else:
        why = f"{engine.label} has no device reader for {prepared.format}"
    copied = engine.memory_of_its_own  # to memory of its own: the copy is a transfer, timed apart
    return EngineRead(
        frame,
        {
            "parse on host (pyarrow, reader process)" if copied else "parse (pyarrow, reader process)": (
                prepared.parse_s
            ),
            "from the reader's process": prepared.handover_s,
            engine.arrow_phase: convert_s,
        },
        engine.host_route(why),
        transfer_s=convert_s if copied else None,
        notes=prepared.conversions,
    )


def _read(prepared: Prepared, engine: Engine) -> EngineRead:
    if prepared.readable_natively and prepared.format in engine.native_formats:
        read = _read_natively(prepared, engine)
        if read is not None:
            return read
    return _from_host(prepared, engine)


def read_on_engine(prepared: Prepared, engine: Engine) -> EngineRead:
    """The prepared file as a frame on `engine`, with unique column names and at least one row."""
    if engine.memory_of_its_own:
        check_fits(engine, load_need(prepared.format, prepared.table.nbytes), f"Loading {prepared.name}", "load")
    try:
        result = _read(prepared, engine)
    except DataError as error:
        raise DataError(f"Could not read {prepared.name}: {error}") from error
    except Exception as error:
        if is_out_of_memory(error):
            raise out_of_memory_error(engine, f"reading {prepared.name}") from error
        if not engine.memory_of_its_own:
            raise
        raise DataError(f"{engine.label} could not read {prepared.name}: {type(error).__name__}: {error}") from error
    frame = result.frame
    if len(frame.columns) > MAX_COLUMNS:
        raise too_wide(prepared.name, len(frame.columns))
    names = prepared.header if prepared.header and len(prepared.header) == len(frame.columns) else list(frame.columns)
    fixed, renamed = fix_column_names(names)
    frame.columns = fixed
    if len(frame.columns) == 0 or len(frame) == 0:
        raise DataError(f"{prepared.name} has column names but no rows. Choose a file with data rows.")
    result.notes = [*renamed, *result.notes]
    if prepared.format is FileFormat.CSV:
        frame, numbers, result.numbers = convert_numbers(frame, prepared.dialect.delimiter)
        result.frame, dates = convert_dates(frame, engine)
        result.notes += numbers + dates
    return result


def data_dir() -> Path:
    """The server-side data folder: $GPL_DATA_DIR, or data/ beside the app."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).resolve()


def list_data_files(folder: Path) -> list[Path]:
    """Readable tables in the data folder and its subfolders, as paths relative to it."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if not path.resolve().is_relative_to(folder):
            continue
        claimed, compression = split_extensions(path.name)
        if claimed or compression:
            found.append(relative)
    return found


def resolve_in_folder(folder: Path, relative: str) -> Path:
    """The file `relative` inside `folder`; anything that leads outside it is refused."""
    if not relative.strip() or "\x00" in relative:
        raise DataError("Pick a file from the list: the file name is blank or holds a NUL character.")
    candidate = Path(relative)
    if candidate.is_absolute() or ".." in candidate.parts:
        raise DataError(f"{relative!r} is not a file name inside the data folder. Pick a file from the list.")
    path = (folder / candidate).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise DataError(f"{relative!r} leads outside the data folder. Pick a file from the list.")
    if not path.is_file():
        raise DataError(f"{relative!r} is not in the data folder {folder}. Refresh the list and pick again.")
    return path


def matches_in_folder(folder: Path, pattern: str) -> list[Path]:
    """The files that a file name, folder name or glob relative to `folder` names; paths outside it are refused."""
    text = pattern.strip()
    if not text or "\x00" in text:
        raise DataError("Give a file, a folder or a glob inside the data folder, e.g. sales/*.parquet.")
    candidate = Path(text)
    if candidate.is_absolute() or ".." in candidate.parts:
        raise DataError(f"{pattern!r} is not inside the data folder: write it relative to it, e.g. sales/*.parquet.")
    base = folder.resolve()
    target = base / candidate
    paths = sorted(target.iterdir()) if target.is_dir() else sorted(base.glob(text))
    return [path for path in paths if path.is_file() and path.resolve().is_relative_to(base)]
