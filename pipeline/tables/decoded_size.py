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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import DataError
from pipeline.tables.formats import FileFormat

Payload = bytes | Path
PEAK_FACTOR = 2  # a load holds the parsed Arrow table and the engine's frame made from it at once
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


def _field(buffer: bytes, table: tuple[int, bytes, int], number: int) -> int | None:
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
    the decompressed length written before each buffer. 0 for a message that is no batch."""
    message = _table(metadata, _follow(metadata, 0))
    kind_at, header_at = _field(metadata, message, 1), _field(metadata, message, 2)
    if kind_at is None or header_at is None:
        return 0
    kind = metadata[kind_at]
    if kind not in (2, 3):  # 2: dictionary batch, 3: record batch
        return 0
    batch = _table(metadata, _follow(metadata, header_at))
    if kind == 2:
        data_at = _field(metadata, batch, 1)
        if data_at is None:
            return 0
        batch = _table(metadata, _follow(metadata, data_at))
    buffers_at = _field(metadata, batch, 2)
    if buffers_at is None:
        return 0
    vector = _follow(metadata, buffers_at)
    count = struct.unpack_from("<I", metadata, vector)[0]
    compressed = _field(metadata, batch, 3) is not None
    raw = body.to_pybytes() if compressed else b""
    total = 0
    for index in range(count):
        offset, length = struct.unpack_from("<qq", metadata, vector + 4 + 16 * index)
        if compressed and length >= 8:
            decoded = struct.unpack_from("<q", raw, offset)[0]
            total += length - 8 if decoded == -1 else decoded
        else:
            total += length
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


CELL_TAG = re.compile(rb"<c[\s/>]")  # a cell element: `<c`, then whitespace of any kind, `/` or `>`


def xlsx_size(payload: Payload, chunk: int = 1 << 22) -> DecodedSize:
    """Cells counted in every sheet's XML as it decompresses (openpyxl holds every cell as an object), plus the
    shared strings. A cell is `<c` followed by any XML whitespace (space, tab, line break), `/` or `>`."""
    cells = text = 0
    with zipfile.ZipFile(payload if isinstance(payload, Path) else io.BytesIO(payload)) as archive:
        for info in archive.infolist():
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                tail = b""
                with archive.open(info) as sheet:
                    while block := sheet.read(chunk):
                        window = tail + block
                        cells += len(CELL_TAG.findall(window))  # a tag takes 3 bytes: one cut short is not found
                        tail = window[-2:]  # and starts in these, to be found with the next block
            elif info.filename == "xl/sharedStrings.xml":
                text += info.file_size
    return DecodedSize(
        cells * XLSX_CELL_BYTES + text * XLSX_TEXT_FACTOR, f"{cells:,} cells in its sheets, counted in their XML"
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
        f"Decoded, it holds more than {held / 2**30:,.2f} GiB, past the {limit / 2**30:,.2f} GiB this load may take, "
        "although its metadata promised less; reading stopped there. Load fewer rows or columns."
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


def _nested_values(array: pa.Array) -> int:
    """How many values a nested array holds at every level (the Arrow buffers of `null` children hold none)."""
    kind = array.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_map(kind):
        return len(array) + _nested_values(array.values)
    if pa.types.is_struct(kind):
        return len(array) + sum(_nested_values(array.field(i)) for i in range(kind.num_fields))
    return len(array)


def held_bytes(table: pa.Table | pa.RecordBatch) -> int:
    """Bytes a table takes once an engine holds it with plain columns: its Arrow buffers, plus what they leave out
    (a column of `null` type has no buffer at all but becomes 8 bytes a row; booleans take a byte each; lists and
    maps become JSON text)."""
    total = table.nbytes
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        if pa.types.is_null(kind):
            total += NULL_BYTES * len(column)
        elif pa.types.is_boolean(kind):
            total += len(column)
        elif pa.types.is_nested(kind):
            chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
            total += NESTED_VALUE_BYTES * sum(_nested_values(chunk) for chunk in chunks)
    return total
