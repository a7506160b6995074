"""A visitor's file turned into a plain Arrow table: what the reader process does, within its limits.

Everything here reads bytes a visitor sent (detection, decompression, sniffing, size estimates, the parsers and
the column conversions), so it runs only in the reader process's child (`pipeline.tables.sandbox`), which the
operating system limits in memory and time. The estimates from each format's metadata come first and give a
precise message; the table is then counted as it is read (what an engine will hold, `held_bytes`), and the child's
own memory limit holds where both are wrong.
"""

from __future__ import annotations

import csv
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.errors import DataError
from pipeline.tables.binary_readers import READERS, inspect
from pipeline.tables.column_types import is_plain, plain_columns
from pipeline.tables.decoded_size import PEAK_FACTOR, DecodedSize, decoded_size, held_bytes, text_size_bound
from pipeline.tables.formats import (
    JSON_FORMATS,
    SNIFF_BYTES,
    Content,
    FileFormat,
    compression_of,
    decode_sample,
    detect,
    guess_encoding,
    json_format,
    sniff_delimiter,
    split_extensions,
)
from pipeline.tables.host_readers import (
    CsvDialect,
    block_bytes,
    excel_facts,
    field_names,
    has_line_break_within,
    read_csv,
    read_excel,
    read_json_array,
    read_json_lines,
    unclosed_quote_line,
)
from pipeline.tables.json_input import check_nesting

MAX_COLUMNS = 10_000


@dataclass(frozen=True)
class ReadOptions:
    """What the user may set: the CSV delimiter (None: detect it) and the text encoding."""

    delimiter: str | None = None
    encoding: str = "utf-8"


@dataclass(frozen=True)
class ReadLimits:
    """How much a load may take: `budget_bytes` in all (the table and the engine's copy of it, so the table itself
    half of it), for the reason `why` (for messages); a compressed file expands to `decompressed_bytes` at most."""

    budget_bytes: int
    why: str
    decompressed_bytes: int

    @property
    def table_bytes(self) -> int:
        return self.budget_bytes // PEAK_FACTOR


@dataclass
class Decoded:
    """A file read: what it is and how it was read (the header sent back to the server), and its table."""

    format: FileFormat
    compression: str | None
    dialect: CsvDialect = field(default_factory=CsvDialect)
    header: list[str] | None = None  # a CSV's column names as its first line writes them
    notes: list[str] = field(default_factory=list)
    plain: bool = True  # every column had a plain type, so an engine's own reader may read the file as it is
    conversions: list[str] = field(default_factory=list)
    parse_s: float = 0.0
    table: pa.Table | None = None

    def to_header(self) -> dict[str, Any]:
        """Everything but the table, as JSON-ready values (`asdict` would deep-copy the table too)."""
        described = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "table"}
        return {**described, "format": self.format.value, "dialect": asdict(self.dialect)}

    @classmethod
    def from_header(cls, header: dict[str, Any], table: pa.Table | None) -> Decoded:
        return cls(
            **{
                **header,
                "format": FileFormat(header["format"]),
                "dialect": CsvDialect(**header["dialect"]),
                "table": table,
            }
        )


def too_wide(name: str, columns: int, *, counted_all: bool = True) -> DataError:
    count = f"{columns:,}" if counted_all else f"more than {columns:,}"
    return DataError(
        f"{name} has {count} columns; this app takes at most {MAX_COLUMNS:,}. Keep the columns you need "
        "(e.g. pandas `usecols=` or pyarrow `columns=`), save them as their own file, and load that."
    )


def _too_large(name: str, size: DecodedSize, limits: ReadLimits) -> DataError:
    return DataError(
        f"{name} would take about {_gib(size.load_peak)} of memory to load ({size.how}: {_gib(size.nbytes)} "
        f"decoded), more than the {_gib(limits.budget_bytes)} {limits.why}. Load fewer rows or columns, or save it "
        "as Parquet or CSV in the data folder and read it on the Data page's Dask tab, in partitions."
    )


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:,.2f} GiB"


def decode(name: str, path: Path, options: ReadOptions, limits: ReadLimits) -> Decoded:
    """The file at `path` (named `name` by whoever sent it) detected, checked against `limits` from its own
    metadata, read and made plain; everything wrong is a DataError."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    detected = detect(name, head, path if compression_of(head) == "zip" else None)
    content = Content(path, name, detected.compression, limits.decompressed_bytes)
    decoded = Decoded(detected.format, detected.compression, notes=list(detected.notes))
    if detected.compression:
        head = content.head(SNIFF_BYTES)
        if not head:
            raise DataError(f"{name} is empty once decompressed. Choose a file with a header and rows.")
        inner = compression_of(head)
        if inner and not (inner == "zip" and detected.format is FileFormat.EXCEL):
            raise DataError(
                f"{name} holds another compressed file ({inner}) inside. Decompress it until a table is left, "
                "then load that."
            )
        decoded.notes.append(f"Decompressed ({detected.compression}) as it was read.")
        if detected.format in JSON_FORMATS:  # named JSON: which layout is told by the content
            decoded.format = json_format(name, head)
    if decoded.format is FileFormat.CSV:
        _sniff_csv(decoded, content, head, options)
    if decoded.format in JSON_FORMATS:
        with content.open() as stream:
            check_nesting(stream, name)
    if decoded.format is FileFormat.JSON:
        decoded.notes.append("A JSON array: each of its records read as a row.")
    started = time.perf_counter()
    table = _read(decoded, content, limits)
    decoded.parse_s = time.perf_counter() - started
    try:
        field_names(list(table.schema))  # pyarrow decodes a name as UTF-8 when it is read
    except UnicodeDecodeError as error:
        raise DataError(f"A column name in {name} is not UTF-8 text ({error}). Save it with UTF-8 names.") from error
    if decoded.format is not FileFormat.CSV:  # a CSV's types come from its text: an engine's reader given them
        decoded.plain = is_plain(table.schema)  # as explicit types reads it alike (`type_map.device_dtypes`)
    if table.num_columns > MAX_COLUMNS:
        raise too_wide(name, table.num_columns)
    held = held_bytes(table)
    if held > limits.table_bytes:
        raise _too_large(name, DecodedSize(held, f"{table.num_rows:,} rows × {table.num_columns:,} columns"), limits)
    table, decoded.conversions = plain_columns(table)
    if table.num_columns == 0:
        why = " ".join(decoded.conversions) or "it holds no values (e.g. only empty objects)."
        raise DataError(f"{name} has no column that can be used: {why} Choose a file with a header and rows.")
    if decoded.format is FileFormat.CSV:
        line = unclosed_quote_line(content, table)
        if line is not None:
            raise DataError(
                f"A quote opened on line {line:,} is never closed, so the rest of the file would be read as "
                'one value. Fix the quoting in the file (a quote inside a value is written twice: "").'
            )
    decoded.table = table
    return decoded


def _read(decoded: Decoded, content: Content, limits: ReadLimits) -> pa.Table:
    """The table, after the fast check of its decoded size from metadata (uncompressed files only: a compressed
    one is counted as it is read)."""
    fmt, name = decoded.format, content.name
    if fmt in READERS:
        payload = content.whole() if content.compression is None else _bounded_whole(content, limits)
        size, _plain = inspect(fmt, payload)
        if size is not None and size.nbytes > limits.table_bytes:
            raise _too_large(name, size, limits)
        return _reading(name, lambda: READERS[fmt](payload, limits.table_bytes))
    if fmt is FileFormat.EXCEL:
        payload = content.whole() if content.compression is None else _bounded_whole(content, limits)
        size = _size_or_none(fmt, payload)
        if size is not None and size.nbytes > limits.table_bytes:
            raise _too_large(name, size, limits)
        return _reading(name, lambda: read_excel(_filled_workbook(decoded, payload)))
    columns = len(decoded.header or ())
    if content.compression is None and text_size_bound(content.path.stat().st_size, columns) > limits.table_bytes:
        size = _size_or_none(fmt, content.path, columns)  # counting its lines can tell: a pass over the file
        if size is not None and size.nbytes > limits.table_bytes:
            raise _too_large(name, size, limits)
    if fmt is FileFormat.JSONL:
        return _reading(name, lambda: read_json_lines(content, limits.table_bytes))
    if fmt is FileFormat.JSON:
        return _reading(name, lambda: read_json_array(content, limits.table_bytes))
    return _reading(name, lambda: read_csv(content, decoded.dialect, limits.table_bytes))


def _reading(name: str, read: Any) -> pa.Table:
    try:
        return read()
    except DataError as error:
        raise DataError(f"Could not read {name}: {error}") from error


def _bounded_whole(content: Content, limits: ReadLimits) -> bytes:
    """A compressed Parquet, Arrow or xlsx file decompressed whole (they are read from anywhere in the file), never
    past the table's share of the budget."""
    bounded = Content(
        content.path, content.name, content.compression, min(limits.decompressed_bytes, limits.table_bytes)
    )
    whole = bounded.whole()
    assert isinstance(whole, bytes)
    return whole


def _size_or_none(fmt: FileFormat, payload: Path | bytes, columns: int = 1) -> DecodedSize | None:
    """The decoded size from the file's own metadata, or None where it is too damaged to tell (its reader then says
    so)."""
    try:
        return decoded_size(fmt, payload, columns)
    except MemoryError:
        raise
    except Exception:  # a damaged zip raises zlib, zipfile and other errors; the reader reports it as damaged
        return None


def _filled_workbook(decoded: Decoded, payload: Path | bytes) -> Path | bytes:
    """The workbook to read: as it is, or rewritten with each merged range's value in every cell it covers."""
    facts = excel_facts(payload)
    if len(facts.sheets) > 1:
        decoded.notes.append(
            f"Read the first of {len(facts.sheets)} sheets, {facts.sheets[0]!r}; "
            "save another sheet as its own file to load it."
        )
    if facts.filled is None:
        return payload
    decoded.notes.append(
        f"Merged cells ({', '.join(facts.merged[:5])}{'…' if len(facts.merged) > 5 else ''}): "
        "each cell of a merged range gets the range's value."
    )
    return facts.filled


def _sniff_csv(decoded: Decoded, content: Content, head: bytes, options: ReadOptions) -> None:
    """The delimiter, encoding and header of a CSV, or a DataError naming what is wrong with it."""
    name = content.name
    encoding, note = guess_encoding(head, options.encoding)
    if note:
        decoded.notes.append(note)
    if b"\x00" in head and not encoding.startswith("utf-16"):
        raise DataError(
            f"{name} is not a text table: it holds NUL bytes (binary data, or text in another encoding "
            "such as UTF-16). Choose the right file or encoding."
        )
    sample = decode_sample(head, encoding, name)
    if not sample.strip():
        raise DataError(f"{name} holds only blank space. Choose a file with a header and rows.")
    block = block_bytes(content)
    if not has_line_break_within(content, block):
        raise DataError(
            f"The first line of {name} is longer than {block // 2**20} MB with no line break. A table has "
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
    decoded.dialect = CsvDialect(delimiter=delimiter, encoding=encoding)
    decoded.header = header


def table_job(arguments: dict[str, Any], path: Path) -> tuple[dict[str, Any], pa.Table]:
    """The reader process's job for a table: `arguments` as `read_table` in `pipeline.tables.sandbox` sends them."""
    decoded = decode(arguments["name"], path, ReadOptions(**arguments["options"]), ReadLimits(**arguments["limits"]))
    assert decoded.table is not None
    return decoded.to_header(), decoded.table
