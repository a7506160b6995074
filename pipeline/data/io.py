"""Read tables onto an engine: validation, detection, size limits and clear DataError messages."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.json as pajson

from pipeline.budget import MemoryBudget
from pipeline.data.text_values import convert_dates, convert_numbers
from pipeline.engines import Engine, is_out_of_memory, out_of_memory_error
from pipeline.errors import DataError
from pipeline.settings import positive_int_setting
from pipeline.steps.memory import check_fits, gib, load_need
from pipeline.tables.column_types import is_plain, plain_columns
from pipeline.tables.decoded_size import PEAK_FACTOR, DecodedSize, decoded_size
from pipeline.tables.formats import (
    SNIFF_BYTES,
    FileFormat,
    compression_of,
    decode_sample,
    decompress,
    detect,
    guess_encoding,
    sniff_delimiter,
    split_extensions,
)
from pipeline.tables.host_readers import (
    BLOCK_BYTES,
    HOST_READERS,
    CsvDialect,
    excel_facts,
    has_line_break_within,
    text_schema,
    unclosed_quote_line,
)
from pipeline.tables.json_input import check_nesting
from pipeline.tables.sandbox import inspect_binary, read_binary
from pipeline.timing import clock

DATA_DIR_ENV = "GPL_DATA_DIR"
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_UPLOAD_LIMIT_MB = 200
DECOMPRESSED_LIMIT_ENV = "GPL_MAX_DECOMPRESSED_MB"
DEFAULT_DECOMPRESSED_LIMIT_MB = 4096
MAX_COLUMNS = 10_000
SANDBOXED = (FileFormat.PARQUET, FileFormat.ARROW)  # binary formats whose native readers a damaged file can crash


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

    def head(self, n: int) -> bytes:
        if self.data is not None:
            return self.data[:n]
        with self.path.open("rb") as handle:
            return handle.read(n)

    @property
    def payload(self) -> bytes | Path:
        return self.data if self.data is not None else self.path


@dataclass(frozen=True)
class ReadOptions:
    """What the user may set: the CSV delimiter (None: detect it) and the text encoding."""

    delimiter: str | None = None
    encoding: str = "utf-8"


@dataclass
class Prepared:
    """A validated file, decompressed where needed, ready for any engine's reader."""

    name: str
    format: FileFormat
    compression: str | None
    payload: bytes | Path
    dialect: CsvDialect
    header: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    plain: bool = True  # every column has a plain type, so an engine's own reader may read it
    budget: MemoryBudget | None = None  # readers stop past half of it (Parquet by row groups, Arrow by batches)


@dataclass
class EngineRead:
    """A frame on an engine, with how it got there and how long each phase took."""

    frame: Any
    phases: dict[str, float]
    route: str
    transfer_s: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())


def default_decompressed_limit() -> int:
    """How far a compressed file may expand: $GPL_MAX_DECOMPRESSED_MB (4 GiB), at most half the free memory."""
    megabytes = positive_int_setting(DECOMPRESSED_LIMIT_ENV, DEFAULT_DECOMPRESSED_LIMIT_MB)
    return min(megabytes * 2**20, psutil.virtual_memory().available // 2)


def prepare(
    source: Source,
    options: ReadOptions = ReadOptions(),
    *,
    max_bytes: int | None = None,
    max_decompressed: int | None = None,
    budget: MemoryBudget | None = None,
) -> Prepared:
    """Check a file and find out how to read it, and that it fits `budget` once decoded (estimated from its own
    metadata before any of it is decoded); everything wrong is a DataError."""
    name = source.name
    size = source.size
    if max_bytes is not None and size > max_bytes:
        raise DataError(
            f"{name} is {size / 2**20:,.1f} MB, over the upload limit of {max_bytes / 2**20:,.0f} MB. "
            "Copy it into the data folder and open it from there."
        )
    if size == 0:
        raise DataError(f"{name} is empty (0 bytes). Choose a file with a header and rows.")
    head = source.head(SNIFF_BYTES)
    detected = detect(name, head, source.payload)
    payload = source.payload
    if detected.compression:
        raw = payload if isinstance(payload, bytes) else payload.read_bytes()
        payload = decompress(raw, detected.compression, name, max_decompressed or default_decompressed_limit())
        if not payload:
            raise DataError(f"{name} is empty once decompressed. Choose a file with a header and rows.")
        head = payload[:SNIFF_BYTES]
        inner = compression_of(head)
        if inner and not (inner == "zip" and detected.format is FileFormat.EXCEL):
            raise DataError(
                f"{name} holds another compressed file ({inner}) inside. Decompress it until a table is left, "
                "then load that."
            )
    prepared = Prepared(name, detected.format, detected.compression, payload, CsvDialect(), notes=detected.notes)
    if detected.format is FileFormat.CSV:
        _prepare_csv(prepared, head, options)
    if detected.format is FileFormat.JSONL:
        check_nesting(payload, name)
    prepared.budget = budget or MemoryBudget.for_session()
    if detected.format in SANDBOXED:
        size, prepared.plain = inspect_binary(detected.format, payload, name)
        _check_decoded_size(prepared, size)
    else:
        _check_decoded_size(prepared, _text_or_excel_size(prepared))
    if detected.format is FileFormat.EXCEL:
        _prepare_excel(prepared)
    if detected.format is FileFormat.JSONL:
        prepared.plain = _json_has_plain_schema(head)
    return prepared


def _text_or_excel_size(prepared: Prepared) -> DecodedSize | None:
    """The decoded size of a CSV, JSON lines or xlsx file (read in this process: plain Python and numpy), or None
    where the file is too damaged to tell (its reader then says so)."""
    try:
        return decoded_size(prepared.format, prepared.payload, len(prepared.header or ()))
    except Exception:  # a damaged zip raises zlib, zipfile and other errors; the reader reports it as damaged
        return None


def _check_decoded_size(prepared: Prepared, size: DecodedSize | None) -> None:
    """A DataError when the file would take more memory to load than its budget allows."""
    budget = prepared.budget
    if size is not None and size.load_peak > budget.nbytes:
        raise DataError(
            f"{prepared.name} would take about {gib(size.load_peak)} of memory to load ({size.how}: "
            f"{gib(size.nbytes)} decoded), more than the {gib(budget.nbytes)} {budget.why}. Load fewer rows or "
            "columns, or save it as Parquet or CSV in the data folder and read it on the Data page's Dask tab, "
            "in partitions."
        )


def _prepare_excel(prepared: Prepared) -> None:
    try:
        facts = excel_facts(prepared.payload)
    except DataError as error:
        raise DataError(f"Could not read {prepared.name}: {error}") from error
    if len(facts.sheets) > 1:
        prepared.notes.append(
            f"Read the first of {len(facts.sheets)} sheets, {facts.sheets[0]!r}; "
            "save another sheet as its own file to load it."
        )
    if facts.filled is not None:
        prepared.payload = facts.filled
        prepared.notes.append(
            f"Merged cells ({', '.join(facts.merged[:5])}{'…' if len(facts.merged) > 5 else ''}): "
            "each cell of a merged range gets the range's value."
        )


def _json_has_plain_schema(head: bytes) -> bool:
    """Whether the columns of JSON lines need no conversion, judged from the first lines (nesting checked before)."""
    complete = head[: head.rfind(b"\n") + 1] or head
    try:
        return is_plain(pajson.read_json(pa.BufferReader(complete)).schema)
    except (pa.ArrowException, OSError):
        return True  # the reader itself reports a damaged file


def _prepare_csv(prepared: Prepared, head: bytes, options: ReadOptions) -> None:
    name = prepared.name
    encoding, note = guess_encoding(head, options.encoding)
    if note:
        prepared.notes.append(note)
    if b"\x00" in head and not encoding.startswith("utf-16"):
        raise DataError(
            f"{name} is not a text table: it holds NUL bytes (binary data, or text in another encoding "
            "such as UTF-16). Choose the right file or encoding."
        )
    sample = decode_sample(head, encoding, name)
    if not sample.strip():
        raise DataError(f"{name} holds only blank space. Choose a file with a header and rows.")
    if not has_line_break_within(prepared.payload, BLOCK_BYTES):
        raise DataError(
            f"The first line of {name} is longer than {BLOCK_BYTES // 2**20} MB with no line break. A table has "
            "one row per line: check that this is a table and that its line breaks survived."
        )
    sniffed, sniffed_width = sniff_delimiter(sample)
    claimed_tab = split_extensions(name)[0] is FileFormat.CSV and Path(name).suffixes[:1] in ([".tsv"], [".tab"])
    delimiter = options.delimiter or ("\t" if claimed_tab and sniffed_width == 1 else sniffed)
    header = next(csv.reader(sample.splitlines()[:1], delimiter=delimiter), [])
    if options.delimiter and len(header) == 1 and sniffed_width > 1 and sniffed != options.delimiter:
        raise DataError(
            f"With the delimiter {options.delimiter!r}, {name} has a single column, but it looks "
            f"{sniffed!r}-separated ({sniffed_width} columns). Choose {sniffed!r} or automatic detection."
        )
    if len(header) > MAX_COLUMNS:
        raise too_wide(name, len(header), counted_all="\n" in sample)
    prepared.dialect = CsvDialect(delimiter=delimiter, encoding=encoding)
    prepared.header = header


def too_wide(name: str, columns: int, *, counted_all: bool = True) -> DataError:
    count = f"{columns:,}" if counted_all else f"more than {columns:,}"
    return DataError(
        f"{name} has {count} columns; this app takes at most {MAX_COLUMNS:,}. Keep the columns you need "
        "(e.g. pandas `usecols=` or pyarrow `columns=`), save them as their own file, and load that."
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
    """The CSV payload as UTF-8, transcoded on the host where the file uses another encoding."""
    if prepared.dialect.encoding == "utf-8":
        return prepared.payload
    raw = prepared.payload if isinstance(prepared.payload, bytes) else prepared.payload.read_bytes()
    try:
        return raw.decode(prepared.dialect.encoding).encode("utf-8")
    except UnicodeDecodeError as error:
        raise DataError(
            f"{prepared.name} is not valid {prepared.dialect.encoding} text (byte {error.start:,}). "
            "Choose another encoding."
        ) from error


def _read_natively(prepared: Prepared, engine: Engine) -> EngineRead | None:
    """The file read by the engine's own reader, given the schema pyarrow infers for text on the host first; None
    where the engine's reader cannot be given one of its types."""
    payload = _utf8_payload(prepared) if prepared.format is FileFormat.CSV else prepared.payload
    schema, schema_s = clock(lambda: text_schema(prepared.format, payload, prepared.dialect), lambda: None)
    frame, seconds = clock(
        lambda: engine.read_native(prepared.format, payload, prepared.dialect.delimiter, schema), engine.synchronize
    )
    if frame is None:
        return None
    phases = {"schema (pyarrow, first block)": schema_s} if schema is not None else {}
    return EngineRead(frame, {**phases, f"read ({engine.label})": seconds}, "read by the engine's own reader")


@dataclass
class HostTable:
    """A file parsed on the host and made plain: the Arrow table every engine's frame is made from."""

    table: pa.Table
    parse_s: float
    handover: dict[str, float]  # time to hand the table over from the sandboxed reader's process, if any
    conversions: list[str]


def host_table(prepared: Prepared) -> HostTable:
    """The prepared file parsed by pyarrow on the host (binary formats in the sandbox) with plain columns."""
    limit = prepared.budget.nbytes // PEAK_FACTOR if prepared.budget else None  # the engine's copy comes on top
    handover: dict[str, float] = {}
    if prepared.format in SANDBOXED:  # the child's own parse time, and the hand-over of its table apart
        (table, parse_s), whole_s = clock(lambda: read_binary(prepared.format, prepared.payload, limit), lambda: None)
        handover = {"from the reader's process": max(whole_s - parse_s, 0.0)}
    else:
        reader = HOST_READERS[prepared.format]
        table, parse_s = clock(lambda: reader(prepared.payload, prepared.dialect), lambda: None)
    if table.num_columns > MAX_COLUMNS:
        raise too_wide(prepared.name, table.num_columns)
    table, conversions = plain_columns(table)
    if table.num_columns == 0:
        raise DataError(f"{prepared.name} has no column that can be used: " + " ".join(conversions))
    if prepared.format is FileFormat.CSV:
        line = unclosed_quote_line(prepared.payload, table)
        if line is not None:
            raise DataError(
                f"A quote opened on line {line:,} is never closed, so the rest of the file would be read as "
                'one value. Fix the quoting in the file (a quote inside a value is written twice: "").'
            )
    return HostTable(table, parse_s, handover, conversions)


def _read(prepared: Prepared, engine: Engine) -> EngineRead:
    sync = engine.synchronize
    if prepared.plain and prepared.format in engine.native_formats:
        read = _read_natively(prepared, engine)
        if read is not None:
            return read
    host = host_table(prepared)
    table, parse_s, handover, conversions = host.table, host.parse_s, host.handover, host.conversions
    frame, convert_s = clock(lambda: engine.from_arrow(table), sync)
    if not prepared.plain:
        why = "has columns that need converting"
    elif prepared.format in engine.native_formats:
        why = f"has a column type the {engine.label} reader cannot be given (a time zone)"
    else:
        why = f"{engine.label} has no device reader for {prepared.format}"
    copied = engine.memory_of_its_own  # to memory of its own: the copy is a transfer, timed apart
    return EngineRead(
        frame,
        {
            "parse on host (pyarrow)" if copied else "parse (pyarrow)": parse_s,
            **handover,
            engine.arrow_phase: convert_s,
        },
        engine.host_route(why),
        transfer_s=convert_s if copied else None,
        notes=conversions,
    )


def read_on_engine(prepared: Prepared, engine: Engine) -> EngineRead:
    """The prepared file as a frame on `engine`, with unique column names and at least one row."""
    if engine.memory_of_its_own:  # the estimate reads a Parquet footer: only worth it where there is a device to fit
        check_fits(engine, load_need(prepared.format, prepared.payload), f"Loading {prepared.name}", "load")
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
        frame, numbers = convert_numbers(frame, prepared.dialect.delimiter)
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
