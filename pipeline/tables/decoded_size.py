"""How much memory a file takes once decoded, estimated from its own metadata before any of it is decoded.

A few kilobytes of Parquet, compressed Arrow IPC or xlsx can decode to gigabytes. Each format says what
it holds without decoding it: a Parquet footer gives every column chunk's values and sizes (and the
lengths of text from its statistics), an Arrow IPC message gives every buffer's length (the first 8
bytes of a compressed buffer are its decompressed length), an xlsx zip gives its sheets, whose cells are
counted as the XML streams by. CSV and JSON lines take about their own size, or 8 bytes a cell.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.errors import DataError
from pipeline.tables.column_types import conversion
from pipeline.tables.formats import FileFormat

Payload = bytes | Path
# A load takes about three times its table at its peak, over its processes: the reader's table and its parser's
# working memory, then the table handed over and the engine's frame made from it.
PEAK_FACTOR = 3
PARQUET_WIDTH = {"BOOLEAN": 1, "INT32": 4, "INT64": 8, "INT96": 8, "FLOAT": 4, "DOUBLE": 8}
XLSX_CELL_BYTES = 300  # measured: loading 1M numeric cells took 300 MB more (openpyxl holds each as an object)
XLSX_TEXT_FACTOR = 4  # shared strings as Python strings, against their XML
CELL_BYTES = 8  # a number or a missing value in a column of a text table
OFFSET_BYTES = 8  # a text value's offset (and validity) next to its characters


@dataclass(frozen=True)
class DecodedSize:
    """Bytes the table takes decoded, and how that was found out (for messages)."""

    nbytes: int
    how: str

    @property
    def load_peak(self) -> int:
        return self.nbytes * PEAK_FACTOR


def _source(payload: Payload) -> pa.NativeFile:
    return pa.memory_map(str(payload)) if isinstance(payload, Path) else pa.BufferReader(payload)


def parquet_size(payload: Payload) -> DecodedSize:
    """Fixed-width columns: values x width; text: the larger of the chunk's uncompressed bytes and its values x
    the mean length of its smallest and largest value (the statistics), which catches a repeated long value."""
    metadata = pq.read_metadata(_source(payload))
    total = 0
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            values = chunk.num_values
            width = PARQUET_WIDTH.get(chunk.physical_type)
            if width is None and chunk.physical_type == "FIXED_LEN_BYTE_ARRAY":
                width = metadata.schema.column(index).length
            if width is not None:
                total += values * (width + 1)
                continue
            text = 0
            statistics = chunk.statistics
            if statistics is not None and statistics.has_min_max:
                lengths = [len(value) for value in (statistics.min, statistics.max) if isinstance(value, str | bytes)]
                text = values * sum(lengths) // max(len(lengths), 1)
            total += max(chunk.total_uncompressed_size, text) + values * OFFSET_BYTES
    return DecodedSize(total, f"{metadata.num_rows:,} rows × {metadata.num_columns:,} columns, from its footer")


def _table(buffer: bytes, at: int) -> tuple[int, bytes, int]:
    """A flatbuffer table at `at`: (its position, its vtable bytes, the vtable's length)."""
    vtable = at - struct.unpack_from("<i", buffer, at)[0]
    length = struct.unpack_from("<H", buffer, vtable)[0]
    return at, buffer[vtable : vtable + length], length


def _field(table: tuple[int, bytes, int], number: int) -> int | None:
    """The position of a table's field `number`, or None where it is absent."""
    at, vtable, length = table
    slot = 4 + 2 * number
    if slot + 2 > length:
        return None
    offset = struct.unpack_from("<H", vtable, slot)[0]
    return at + offset if offset else None


def _follow(buffer: bytes, position: int) -> int:
    return position + struct.unpack_from("<I", buffer, position)[0]


def _batch_bytes(metadata: bytes, body: pa.Buffer) -> int:
    """Bytes an IPC record (or dictionary) batch decodes to: its buffers' lengths, or where the body is compressed,
    the decompressed length written before each buffer (read in place, never copied). 0 for a message that is no
    batch."""
    message = _table(metadata, _follow(metadata, 0))
    kind_at, header_at = _field(message, 1), _field(message, 2)
    if kind_at is None or header_at is None:
        return 0
    kind = metadata[kind_at]
    if kind not in (2, 3):  # 2: dictionary batch, 3: record batch
        return 0
    batch = _table(metadata, _follow(metadata, header_at))
    if kind == 2:
        data_at = _field(batch, 1)
        if data_at is None:
            return 0
        batch = _table(metadata, _follow(metadata, data_at))
    buffers_at = _field(batch, 2)
    if buffers_at is None:
        return 0
    vector = _follow(metadata, buffers_at)
    count = struct.unpack_from("<I", metadata, vector)[0]
    compressed = _field(batch, 3) is not None
    total = 0
    for index in range(count):
        offset, length = struct.unpack_from("<qq", metadata, vector + 4 + 16 * index)
        if compressed and length >= 8:
            decoded = struct.unpack_from("<q", body, offset)[0]
            length = length - 8 if decoded == -1 else decoded
        total += max(length, 0)  # a negative length is damage the reader reports: it never lowers the count
    return total


def arrow_size(payload: Payload) -> DecodedSize:
    """Every batch's decoded bytes, read from its message's metadata (no buffer is decompressed)."""
    source = _source(payload)
    if source.read(6) == b"ARROW1":
        source.seek(8)  # the file format: magic, padding, then the stream
    else:
        source.seek(0)
    total = batches = 0
    while True:
        try:
            message = pa.ipc.read_message(source)
        except (pa.ArrowInvalid, OSError, EOFError):
            break  # the footer, the end of the stream, or damage the reader reports
        total += _batch_bytes(message.metadata.to_pybytes(), message.body)
        batches += 1
    return DecodedSize(total, f"{batches:,} IPC messages, from their metadata")


CELL_STARTS = (b"<c ", b"<c\t", b"<c\n", b"<c\r", b"<c>", b"<c/")  # `<c`, then XML whitespace, `>` or `/`
ROW_NUMBER = re.compile(rb"<row[^>]*?\sr=[\"'](\d{1,9})")
SHARED_CELL = (b't="s"', b"t='s'")  # the attribute only a cell holding a shared string has
MERGED = re.compile(rb"<mergeCell[^>]*?\sref=[\"']([A-Z]{1,3})(\d{1,9}):([A-Z]{1,3})(\d{1,9})")
SHARED_STRING = re.compile(rb"<si[\s>].*?</si>", re.S)


def column_number(letters: bytes) -> int:
    """A spreadsheet column's number: A is 1, Z 26, AA 27, XFD 16,384."""
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


CELL_REFERENCE = re.compile(rb"r=[\"']([A-Z]{1,3})\d")


def _widest_column(part: bytes) -> int:
    """The rightmost column any cell reference in `part` names."""
    if b"r=" not in part:
        return 0
    return max((column_number(letters) for letters in set(CELL_REFERENCE.findall(part))), default=0)


@dataclass
class _Sheet:
    """What a worksheet's XML says of the table openpyxl and pandas build from it."""

    cells: int = 0
    row_tags: int = 0  # rows written, with cells or not (each one a row object, cells or not)
    rows: int = 0
    columns: int = 0
    merged: int = 0
    shared: int = 0  # cells that hold a shared string

    def read(self, part: bytes) -> None:
        self.cells += sum(part.count(start) for start in CELL_STARTS)
        self.row_tags += part.count(b"<row")
        self.rows = max([self.rows, *map(int, ROW_NUMBER.findall(part))])
        self.columns = max(self.columns, _widest_column(part))
        self.shared += sum(part.count(attribute) for attribute in SHARED_CELL)
        for first, top, last, bottom in MERGED.findall(part):  # every cell of a merged range gets its value
            width, height = column_number(last) - column_number(first) + 1, int(bottom) - int(top) + 1
            self.merged += max(width, 0) * max(height, 0)
            self.rows, self.columns = max(self.rows, int(bottom)), max(self.columns, column_number(last))

    @property
    def held(self) -> int:
        """Cells pandas makes: every cell of the rectangle up to the last row and column named, at least those
        written, plus the merged ranges filled in."""
        return max(self.cells, self.rows * self.columns) + self.merged


def _tags(stream: IO[bytes], chunk: int) -> Iterator[bytes]:
    """The stream in pieces that each end after a `>`, so that no tag is cut in two."""
    tail = b""
    while block := stream.read(chunk):
        window = tail + block
        cut = window.rfind(b">") + 1
        if cut:
            yield window[:cut]
        tail = window[cut:]
    if tail:
        yield tail


def _longest_shared_string(stream: IO[bytes], chunk: int) -> int:
    """The bytes of the longest string in a workbook's shared strings, read a piece at a time."""
    longest, tail = 0, b""
    while block := stream.read(chunk):
        window = tail + block
        end = 0
        for found in SHARED_STRING.finditer(window):
            longest, end = max(longest, len(found.group())), found.end()
        tail = window[end:]
    return max(longest, len(tail))


def xlsx_size(payload: Payload, chunk: int = 1 << 22) -> DecodedSize:
    """Cells counted in every sheet's XML as it decompresses (openpyxl holds every cell as an object): the
    rectangle pandas fills up to the last row and column any cell names, merged ranges filled in, and each cell
    that refers to a shared string holding a copy of the longest one. A cell is `<c` followed by any XML
    whitespace (space, tab, line break), `/` or `>`."""
    sheets, longest, text = [], 0, 0
    with zipfile.ZipFile(payload if isinstance(payload, Path) else io.BytesIO(payload)) as archive:
        for info in archive.infolist():
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                sheet = _Sheet()
                with archive.open(info) as stream:
                    for part in _tags(stream, chunk):
                        sheet.read(part)
                sheets.append(sheet)
            elif info.filename == "xl/sharedStrings.xml":
                text += info.file_size
                with archive.open(info) as stream:
                    longest = _longest_shared_string(stream, chunk)
    cells = sum(sheet.held for sheet in sheets)
    rows = sum(sheet.row_tags for sheet in sheets)  # a row object each, cells or not
    shared = sum(sheet.shared for sheet in sheets) * longest
    return DecodedSize(
        (cells + rows) * XLSX_CELL_BYTES + text * XLSX_TEXT_FACTOR + shared,
        f"{cells:,} cells in {rows:,} rows of its sheets, counted in their XML",
    )


def text_size(payload: Payload, columns: int) -> DecodedSize:
    """A CSV or JSON lines file: its own size, or 8 bytes for each cell (lines x columns) where that is more."""
    if isinstance(payload, Path):
        size, lines = payload.stat().st_size, 0
        with payload.open("rb") as handle:
            while block := handle.read(1 << 24):
                lines += block.count(b"\n")
    else:
        size, lines = len(payload), payload.count(b"\n")
    return DecodedSize(max(size, (lines + 1) * max(columns, 1) * CELL_BYTES), f"{lines:,} lines of {size:,} bytes")


def text_size_bound(size: int, columns: int) -> int:
    """The most `text_size` can say of a text file of `size` bytes and `columns` columns, without reading it: a
    line of `columns` cells holds at least `columns` bytes (delimiters and the line end), so it has at most
    size / columns lines (and each cell a byte of validity beside its 8)."""
    return max(size, (size // max(columns, 1) + 1) * max(columns, 1) * (CELL_BYTES + 1))


def decoded_size(fmt: FileFormat, payload: Payload, columns: int = 1) -> DecodedSize:
    """The estimate for a file of this format (`columns`: a text table's header width)."""
    if fmt is FileFormat.PARQUET:
        return parquet_size(payload)
    if fmt is FileFormat.ARROW:
        return arrow_size(payload)
    if fmt is FileFormat.EXCEL:
        return xlsx_size(payload)
    return text_size(payload, columns)


def past_limit(held: int, limit: int) -> DataError:
    return DataError(
        f"Decoded, its table passes {held / 2**30:,.2f} GiB, more than the {limit / 2**30:,.2f} GiB a loaded table may "
        f"take here (the whole load takes about {PEAK_FACTOR} times its table); reading stopped there. Load fewer "
        "rows or columns."
    )


def within(parts: Iterable[pa.Table | pa.RecordBatch], limit: int | None) -> list[Any]:
    """The parts read one after another, stopping with a DataError once they hold more than `limit` bytes as an
    engine holds them (`held_bytes`)."""
    read, held = [], 0
    for part in parts:
        held += held_bytes(part)
        if limit is not None and held > limit:
            raise past_limit(held, limit)
        read.append(part)
    return read


NULL_BYTES = 8  # a column with no values becomes float64 (`column_types.PLAIN_TYPES`)
# A value inside a list or map, written as JSON text (`column_types.plain_columns`): a Python object's pointer, its
# text and that text again as an Arrow string while it is made.
NESTED_VALUE_BYTES = 24
WRITTEN_OUT = ("dictionary", "run-end", "nested")  # conversions that write a column out value by value


def _nested_values(array: pa.Array) -> int:
    """How many values an array holds at every level (the Arrow buffers of `null` children hold none)."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        return len(array) + int(pc.sum(pc.take(_entry_values(array.dictionary), array.indices)).as_py() or 0)
    if pa.types.is_run_end_encoded(kind):
        return len(array)  # one value per logical row once written out
    if pa.types.is_struct(kind) or pa.types.is_union(kind):
        return len(array) + sum(_nested_values(array.field(i)) for i in range(kind.num_fields))
    if hasattr(array, "values"):  # lists, list views, fixed-size lists, maps
        return len(array) + _nested_values(array.values)
    return len(array)


def _entry_values(dictionary: pa.Array) -> pa.Array:
    """The values each entry of a dictionary holds once written out (a list's length, none for a missing list, else
    one)."""
    if hasattr(dictionary, "values") and not pa.types.is_dictionary(dictionary.type):
        return pc.list_value_length(dictionary)
    return pa.array([1] * len(dictionary), pa.int64())


def held_bytes(table: pa.Table | pa.RecordBatch) -> int:
    """Bytes a table takes once an engine holds it with plain columns: its Arrow buffers, plus what they leave out
    (a column of `null` type has no buffer at all but becomes 8 bytes a row; booleans take a byte each; lists,
    maps, unions and encoded columns are written out, as their values or as JSON text)."""
    total = table.nbytes
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        if pa.types.is_null(kind):
            total += NULL_BYTES * len(column)
        elif pa.types.is_boolean(kind):
            total += len(column)
        elif conversion(kind) in WRITTEN_OUT:
            chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
            total += NESTED_VALUE_BYTES * sum(_nested_values(chunk) for chunk in chunks)
    return total
