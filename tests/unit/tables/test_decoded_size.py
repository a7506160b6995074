"""The decoded-size estimates, read from each format's own metadata, and the count of what an engine holds.

These run inside the reader process in the app; here they are called directly, on small files made by the real
writers (pyarrow, openpyxl) or, for hostile cases, real files with one field of their metadata changed."""

from __future__ import annotations

import datetime
import decimal
import io
import struct
import zipfile

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.errors import DataError
from pipeline.tables.decoded_size import (
    DecodedSize,
    arrow_size,
    column_number,
    decoded_size,
    held_bytes,
    parquet_size,
    past_limit,
    text_size,
    text_size_bound,
    within,
    xlsx_size,
)
from pipeline.tables.formats import FileFormat
from tests.support.bombs import XLSX_PARTS

GIB = 2**30


def test_the_load_peak_is_three_times_the_table():
    assert DecodedSize(1000, "x").load_peak == 3000


# Parquet: from its footer.


def parquet_bytes(table: pa.Table, **options) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **options)
    return sink.getvalue().to_pybytes()


FIXED_WIDTH = [
    (pa.bool_(), [True, False], 1),
    (pa.int32(), [1, 2], 4),
    (pa.int64(), [1, 2], 8),
    (pa.float32(), [1.5, 2.5], 4),
    (pa.float64(), [1.5, 2.5], 8),
    (pa.timestamp("ns"), [datetime.datetime(2020, 1, 1)] * 2, 8),  # INT96
    (pa.binary(16), [b"0123456789abcdef"] * 2, 16),  # FIXED_LEN_BYTE_ARRAY: its length from the schema
]


@pytest.mark.parametrize(("kind", "values", "width"), FIXED_WIDTH, ids=[str(k) for k, _, _ in FIXED_WIDTH])
def test_a_parquet_fixed_width_column_takes_its_width_and_a_byte_a_value_in_every_row_group(kind, values, width):
    table = pa.table({"x": pa.array(values * 500, kind)})
    data = parquet_bytes(table, row_group_size=300, use_deprecated_int96_timestamps=True)
    assert pq.read_metadata(pa.BufferReader(data)).num_row_groups == 4
    size = parquet_size(data)
    assert size == DecodedSize(1000 * (width + 1), "1,000 rows × 1 columns, from its footer")
    assert size.nbytes >= pq.read_table(pa.BufferReader(data)).nbytes


def test_a_parquet_decimal_is_sized_by_its_stored_length_not_by_the_16_bytes_arrow_gives_it():
    """decimal(20, 2) is stored in 9 bytes; pyarrow decodes it to 16 (the row groups are counted as they are read)."""
    table = pa.table({"x": pa.array([decimal.Decimal("1.50")] * 100, pa.decimal128(20, 2))})
    assert parquet_size(parquet_bytes(table)).nbytes == 100 * (9 + 1)


def test_parquet_columns_of_several_types_add_up_and_are_named_in_the_message():
    table = pa.table({"a": pa.array(range(2000), pa.int64()), "b": pa.array([1.0] * 2000, pa.float32())})
    size = parquet_size(parquet_bytes(table))
    assert size == DecodedSize(2000 * 9 + 2000 * 5, "2,000 rows × 2 columns, from its footer")


def chunks_of(data: bytes) -> list[pq.ColumnChunkMetaData]:
    metadata = pq.read_metadata(pa.BufferReader(data))
    return [metadata.row_group(g).column(0) for g in range(metadata.num_row_groups)]


def test_parquet_text_takes_its_uncompressed_bytes_and_an_offset_a_value_where_those_are_more():
    table = pa.table({"s": [f"value {i}" for i in range(1000)]})  # every value different: no dictionary gain
    data = parquet_bytes(table, row_group_size=400, use_dictionary=False)
    uncompressed = sum(chunk.total_uncompressed_size for chunk in chunks_of(data))
    assert uncompressed > 1000 * len("value 999")  # what the statistics would say, less than the pages
    assert parquet_size(data).nbytes == uncompressed + 1000 * 8
    assert parquet_size(data).nbytes >= pq.read_table(pa.BufferReader(data)).nbytes


def test_parquet_text_repeated_in_a_dictionary_takes_the_mean_length_of_its_least_and_greatest_value():
    """999 values alternating between 10 and 31 characters: the pages hold each once, the statistics tell."""
    values = pa.array(["a" * 10, "b" * 31]).take(pa.array([0, 1] * 499 + [0], pa.int32()))
    data = parquet_bytes(pa.table({"s": values}))
    (chunk,) = chunks_of(data)
    assert chunk.total_uncompressed_size < 2000
    assert parquet_size(data).nbytes == 999 * 41 // 2 + 999 * 8 == 28_471


@pytest.mark.parametrize("kind", [pa.string(), pa.binary()])
def test_parquet_text_of_one_repeated_value_is_sized_as_written_out(kind):
    values = pa.array(["x" * 1000], kind).take(pa.array([0] * 5000, pa.int32()))
    data = parquet_bytes(pa.table({"s": values}))
    size = parquet_size(data)
    assert size.nbytes == 5000 * (1000 + 8)
    assert size.nbytes >= pq.read_table(pa.BufferReader(data)).nbytes


@pytest.mark.parametrize(
    ("values", "options"),
    [
        (pa.array(["x" * 1000]).take(pa.array([0] * 100, pa.int32())), {"write_statistics": False}),
        (pa.nulls(100, pa.string()), {}),
    ],
    ids=["no statistics", "only missing values"],
)
def test_parquet_text_without_least_and_greatest_value_takes_its_pages(values, options):
    data = parquet_bytes(pa.table({"s": values}), **options)
    (chunk,) = chunks_of(data)
    assert parquet_size(data).nbytes == chunk.total_uncompressed_size + 100 * 8


# Arrow IPC: from each message's metadata.


def ipc_bytes(table: pa.Table, file: bool = False, chunk: int | None = None, **options) -> bytes:
    sink = pa.BufferOutputStream()
    opened = pa.ipc.new_file if file else pa.ipc.new_stream
    with opened(sink, table.schema, options=pa.ipc.IpcWriteOptions(**options)) as writer:
        writer.write_table(table, max_chunksize=chunk)
    return sink.getvalue().to_pybytes()


MIXED = pa.table({"n": pa.array([1, None] * 5, pa.int64()), "s": ["abc", "", None, "x", "yy"] * 2})
# Its buffers: validity 2 + int64 80; validity 2 + offsets 44 + characters 12.
MIXED_BYTES = 2 + 80 + 2 + 44 + 12


@pytest.mark.parametrize("file", [False, True], ids=["stream", "file"])
@pytest.mark.parametrize("compression", [None, "zstd", "lz4"])
def test_an_arrow_batch_takes_its_buffers_whether_stored_as_a_stream_or_a_file_compressed_or_not(file, compression):
    size = arrow_size(ipc_bytes(MIXED, file=file, compression=compression))
    assert size == DecodedSize(MIXED_BYTES, "2 IPC messages, from their metadata")  # the schema and one batch
    assert size.nbytes >= MIXED.nbytes


def test_every_arrow_batch_is_counted(tmp_path):
    table = pa.table({"n": pa.array(range(1000), pa.int64())})
    path = tmp_path / "t.arrow"
    path.write_bytes(ipc_bytes(table, file=True, chunk=300))
    assert arrow_size(path) == DecodedSize(8000, "5 IPC messages, from their metadata")  # 300, 300, 300, 100


def test_an_arrow_dictionary_counts_its_dictionary_batch_and_its_indices():
    table = pa.table({"d": pa.array(["a", "bb", "a"]).dictionary_encode()})
    # the dictionary: no validity, offsets 12, characters 3; the indices: no validity, 3 x int32
    assert arrow_size(ipc_bytes(table)) == DecodedSize(15 + 12, "3 IPC messages, from their metadata")


def test_a_truncated_arrow_stream_counts_the_messages_before_the_damage():
    data = ipc_bytes(MIXED)
    assert arrow_size(data[:-20]) == DecodedSize(0, "1 IPC messages, from their metadata")
    assert arrow_size(b"not arrow at all") == DecodedSize(0, "0 IPC messages, from their metadata")


# Hostile Arrow IPC: real messages with one field of their flatbuffer metadata changed.


def messages(stream: bytes) -> list[tuple[bytearray, bytes]]:
    source, found = pa.BufferReader(stream), []
    while True:
        try:
            message = pa.ipc.read_message(source)
        except EOFError:
            return found
        found.append((bytearray(message.metadata.to_pybytes()), message.body.to_pybytes() if message.body else b""))


def framed(parts: list[tuple[bytes, bytes]]) -> bytes:
    return b"".join(
        b"\xff\xff\xff\xff" + struct.pack("<i", len(metadata)) + metadata + body for metadata, body in parts
    )


def field_at(metadata: bytes, table: int, number: int) -> int:
    """The position of the vtable entry of a flatbuffer table's field (0 there: the field is absent)."""
    return table - struct.unpack_from("<i", metadata, table)[0] + 4 + 2 * number


def child(metadata: bytes, table: int, number: int) -> int:
    """The table a table's field `number` points to."""
    at = table + struct.unpack_from("<H", metadata, field_at(metadata, table, number))[0]
    return at + struct.unpack_from("<I", metadata, at)[0]


def batch_table(metadata: bytes) -> int:
    return child(metadata, struct.unpack_from("<I", metadata, 0)[0], 2)


def buffer_entries(metadata: bytes) -> int:
    """Where the (offset, length) of a record batch's first buffer lies."""
    return child(metadata, batch_table(metadata), 2) + 4


@pytest.mark.parametrize("field", [1, 2], ids=["its kind", "its header"])
def test_an_arrow_message_without_a_kind_or_header_counts_nothing_and_the_next_ones_still_count(field):
    (schema, first) = messages(ipc_bytes(MIXED))
    broken = bytearray(first[0])
    message = struct.unpack_from("<I", broken, 0)[0]
    struct.pack_into("<H", broken, field_at(broken, message, field), 0)
    size = arrow_size(framed([schema, (broken, first[1]), first]))
    assert size == DecodedSize(MIXED_BYTES, "3 IPC messages, from their metadata")


def test_an_arrow_batch_without_buffers_counts_nothing():
    (schema, (metadata, body)) = messages(ipc_bytes(MIXED))
    struct.pack_into("<H", metadata, field_at(metadata, batch_table(metadata), 2), 0)
    assert arrow_size(framed([schema, (metadata, body)])).nbytes == 0


def test_an_arrow_dictionary_batch_without_its_data_counts_nothing():
    table = pa.table({"d": pa.array(["a", "bb", "a"]).dictionary_encode()})
    (schema, (metadata, body), batch) = messages(ipc_bytes(table))
    struct.pack_into("<H", metadata, field_at(metadata, batch_table(metadata), 1), 0)
    assert arrow_size(framed([schema, (metadata, body), batch])).nbytes == 12  # the indices alone


def test_a_compressed_arrow_buffer_stored_as_it_is_counts_its_own_bytes():
    """A length of -1 before a buffer's bytes: they were not compressed (they did not shrink)."""
    (schema, (metadata, body)) = messages(ipc_bytes(MIXED, compression="zstd"))
    offset, length = struct.unpack_from("<qq", metadata, buffer_entries(metadata) + 16)  # the int64 values
    assert struct.unpack_from("<q", body, offset)[0] == 80
    patched = bytearray(body)
    struct.pack_into("<q", patched, offset, -1)
    assert arrow_size(framed([schema, (metadata, bytes(patched))])).nbytes == MIXED_BYTES - 80 + length - 8


def test_a_compressed_arrow_buffer_of_eight_bytes_is_its_decompressed_length_alone():
    (schema, (metadata, body)) = messages(ipc_bytes(MIXED, compression="zstd"))
    entries = buffer_entries(metadata)
    offset, _ = struct.unpack_from("<qq", metadata, entries)  # the first validity bitmap: 2 bytes decompressed
    struct.pack_into("<qq", metadata, entries, offset, 8)
    assert arrow_size(framed([schema, (metadata, body)])).nbytes == MIXED_BYTES


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_a_negative_buffer_length_never_lowers_an_arrow_estimate(compression):
    """A damaged length (the reader refuses it) took a terabyte off the estimate: enough to hide a real bomb in the
    same file from the check made before decoding."""
    (schema, (metadata, body)) = messages(ipc_bytes(MIXED, compression=compression))
    entry = buffer_entries(metadata) + 16  # the int64 values: 80 bytes decoded
    offset, _ = struct.unpack_from("<qq", metadata, entry)
    patched = bytearray(body)
    if compression:
        struct.pack_into("<q", patched, offset, -(10**12))
    else:
        struct.pack_into("<qq", metadata, entry, offset, -(10**12))
    assert arrow_size(framed([schema, (metadata, bytes(patched))])).nbytes == MIXED_BYTES - 80


def vtable_after(metadata: bytearray, table: int, length: int | None = None) -> bytearray:
    """The metadata with the table's vtable copied after everything (`length` bytes long, the extra entries absent)
    and the table pointed at it: its offset to its vtable is then negative, as where a builder shares one."""
    vtable = table - struct.unpack_from("<i", metadata, table)[0]
    size = struct.unpack_from("<H", metadata, vtable)[0]
    copy = bytearray(metadata[vtable : vtable + size]) + bytes((length or size) - size)
    struct.pack_into("<H", copy, 0, length or size)
    moved = metadata + copy
    struct.pack_into("<i", moved, table, table - len(metadata))
    return moved + bytes(-len(moved) % 8)


def field_far_away(metadata: bytearray, table: int, number: int, distance: int = 0x8000) -> bytearray:
    """The metadata with the table's field `number` (an offset to a vector) moved `distance` bytes or more past the
    table's start, the vector copied after it."""
    at = table + struct.unpack_from("<H", metadata, field_at(metadata, table, number))[0]
    vector = at + struct.unpack_from("<I", metadata, at)[0]
    count = struct.unpack_from("<I", metadata, vector)[0]
    offset = distance + (4 - table - distance) % 8  # the field 4 bytes past an 8-byte boundary, its vector on one
    moved = metadata + bytes(table + offset - len(metadata))
    moved += struct.pack("<I", 4) + metadata[vector : vector + 4 + 16 * count]
    struct.pack_into("<H", moved, field_at(moved, table, number), offset)
    return moved + bytes(-len(moved) % 8)


@pytest.mark.parametrize(
    "layout",
    [
        lambda metadata: vtable_after(metadata, batch_table(metadata)),
        lambda metadata: vtable_after(metadata, batch_table(metadata), length=0x8000),
        lambda metadata: field_far_away(metadata, batch_table(metadata), 2),
    ],
    ids=["vtable after its table", "vtable of 32 KiB", "field 32 KiB past its table"],
)
def test_an_arrow_batch_is_read_wherever_its_flatbuffer_lays_out_its_parts(layout):
    (schema, (metadata, body)) = messages(ipc_bytes(MIXED))
    size = arrow_size(framed([schema, (layout(metadata), body)]))
    assert size == DecodedSize(MIXED_BYTES, "2 IPC messages, from their metadata")


def test_an_uncompressed_arrow_buffer_of_eight_bytes_or_fewer_takes_its_length():
    table = pa.table({"n": pa.array([7], pa.int64())})
    assert arrow_size(ipc_bytes(table)).nbytes == 8


# xlsx: cells counted in its sheets' XML.


def workbook(sheets: dict[str, str], shared: str | None = None) -> bytes:
    """A real zip of an xlsx's parts, each worksheet's XML given whole (`xl/worksheets/<name>`)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in XLSX_PARTS.items():
            archive.writestr(name, text)
        for name, text in sheets.items():
            archive.writestr(f"xl/worksheets/{name}", text)
        if shared is not None:
            archive.writestr("xl/sharedStrings.xml", shared)
    return buffer.getvalue()


def sheet(data: str, after: str = "") -> str:
    return (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{data}</sheetData>{after}</worksheet>"
    )


CELL = 300  # XLSX_CELL_BYTES: what openpyxl holds for a cell


@pytest.mark.parametrize(
    ("letters", "number"), [(b"A", 1), (b"Z", 26), (b"AA", 27), (b"AZ", 52), (b"BA", 53), (b"XFD", 16_384)]
)
def test_a_column_letter_names_its_number(letters, number):
    assert column_number(letters) == number


def test_every_way_a_cell_tag_opens_is_a_cell_and_no_other_tag_is():
    cells = '<c t="n"><v>1</v></c><c\tt="n"/><c\nt="n"/><c\rt="n"/><c><v>2</v></c><c/>'
    others = '<cfRule type="x"/><col min="1"/><cols/>'
    size = xlsx_size(workbook({"sheet1.xml": sheet(f"<row>{cells}{others}</row>")}))
    assert size == DecodedSize((6 + 1) * CELL, "6 cells in 1 rows of its sheets, counted in their XML")


@pytest.mark.parametrize("quote", ['"', "'"])
def test_an_xlsx_sheet_holds_the_rectangle_up_to_its_last_row_and_column(quote):
    data = f"<row r={quote}10{quote}><c r={quote}C10{quote}><v>1</v></c></row>"
    size = xlsx_size(workbook({"sheet1.xml": sheet(data)}))
    assert size == DecodedSize((10 * 3 + 1) * CELL, "30 cells in 1 rows of its sheets, counted in their XML")


@pytest.mark.parametrize("chunk", [4, 1 << 22])
def test_an_xlsx_sheet_that_names_rows_but_no_columns_holds_its_cells(chunk):
    data = '<row r="5"><c><v>1</v></c></row><row r="2"><c><v>1</v></c><c><v>2</v></c></row>'
    assert xlsx_size(workbook({"sheet1.xml": sheet(data)}), chunk).nbytes == (3 + 2) * CELL


def test_each_xlsx_merged_range_fills_each_of_its_cells_and_widens_the_sheet():
    merged = '<mergeCells><mergeCell ref="B2:D5"/><mergeCell ref="F1:F2"/></mergeCells>'
    size = xlsx_size(workbook({"sheet1.xml": sheet('<row r="1"><c r="A1"/></row>', merged)}))
    assert size.nbytes == (5 * 6 + 3 * 4 + 2 + 1) * CELL  # rows 1-5, columns A-F, then the merged 12 and 2


@pytest.mark.parametrize(
    ("ref", "rows", "columns"), [("D2:B5", 5, 2), ("B5:D2", 2, 4), ("D5:B2", 2, 2)], ids=["width", "height", "both"]
)
def test_an_xlsx_merged_range_written_backwards_fills_nothing(ref, rows, columns):
    merged = f'<mergeCells><mergeCell ref="{ref}"/></mergeCells>'
    size = xlsx_size(workbook({"sheet1.xml": sheet('<row r="1"><c r="A1"/></row>', merged)}))
    assert size.nbytes == (rows * columns + 1) * CELL  # its last row and column still bound the sheet


SHARED = (
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2">'
    "<si><t>short</t></si><si><t>a longer string</t></si><sis/></sst>"
)
LONGEST = len("<si><t>a longer string</t></si>")


def test_each_xlsx_cell_that_refers_to_a_shared_string_holds_a_copy_of_the_longest_one():
    data = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t=\'s\'><v>1</v></c><c r="C1"><v>3</v></c></row>'
    size = xlsx_size(workbook({"sheet1.xml": sheet(data)}, SHARED))
    assert size.nbytes == (3 + 1) * CELL + len(SHARED) * 4 + 2 * LONGEST


@pytest.mark.parametrize("shared", [None, ""], ids=["no shared strings", "an empty part"])
def test_cells_that_refer_to_shared_strings_that_are_not_there_hold_nothing_more(shared):
    data = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    assert xlsx_size(workbook({"sheet1.xml": sheet(data)}, shared)).nbytes == (1 + 1) * CELL


def test_a_shared_strings_part_repeated_in_the_zip_is_counted_each_time():
    payload = io.BytesIO(workbook({"sheet1.xml": sheet('<row r="1"><c r="A1"/></row>')}, SHARED))
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(payload, "a") as archive:
        archive.writestr("xl/sharedStrings.xml", "<sst/>")
    assert xlsx_size(payload.getvalue()).nbytes == (1 + 1) * CELL + (len(SHARED) + len("<sst/>")) * 4


def test_a_shared_string_never_closed_counts_to_the_end_of_its_part():
    shared = "<sst><si><t>a</t></si><si><t>" + "x" * 500
    data = '<row r="1"><c r="A1" t="s"><v>1</v></c></row>'
    size = xlsx_size(workbook({"sheet1.xml": sheet(data)}, shared))
    assert size.nbytes == (1 + 1) * CELL + len(shared) * 4 + len("<si><t>" + "x" * 500)


def test_every_worksheet_is_counted_and_no_other_part():
    one = sheet('<row r="2"><c r="B2"/></row>')
    parts = {"sheet1.xml": one, "sheet2.xml": one, "_rels/sheet1.xml.rels": one, "sheet3.bin": one}
    size = xlsx_size(workbook(parts))
    assert size == DecodedSize((4 + 1) * 2 * CELL, "8 cells in 2 rows of its sheets, counted in their XML")


ODD_SHEET = (
    sheet(
        '<row r="9" spans="1:3"><c r="C9" t="s"><v>0</v></c><c\tr="A9"><v>1</v></c></row>'
        '<row r="2"><c r="AB2"><v>2</v></c><c/></row><row/>',
        '<mergeCells><mergeCell ref="B3:E12"/></mergeCells>',
    )
    + '<row r="11"><c r="A1'
)  # a part cut short after its last tag


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 16, 64, 1 << 22])
def test_an_xlsx_is_sized_alike_however_its_parts_are_cut_as_they_stream(chunk):
    payload = workbook({"sheet1.xml": ODD_SHEET}, SHARED)
    # 5 cells, rows 1-12 (the merged range) by columns A-AB (28), 40 merged cells; 3 row tags and the cut one
    expected = (12 * 28 + 40 + 4) * CELL + len(SHARED) * 4 + 1 * LONGEST
    assert xlsx_size(payload, chunk) == DecodedSize(expected, "376 cells in 4 rows of its sheets, counted in their XML")


def test_a_workbook_written_by_openpyxl_is_counted_cell_by_cell(tmp_path):
    """openpyxl writes its text inside the cells: no shared strings."""
    book = openpyxl.Workbook()
    for row in [["name", "n"], ["a", 1], ["b", 2]]:
        book.active.append(row)
    path = tmp_path / "t.xlsx"
    book.save(path)
    assert xlsx_size(path) == DecodedSize((6 + 3) * CELL, "6 cells in 3 rows of its sheets, counted in their XML")


# CSV and JSON lines: the file's own size, or 8 bytes a cell.


@pytest.mark.parametrize(
    ("payload", "columns", "nbytes"),
    [
        (b"a,b,c\n1,2,3\n4,5,6\n", 3, (3 + 1) * 3 * 8),  # 3 lines: 4 counted (a last line without its break)
        (b"x" * 500 + b"\n", 2, 501),  # long values: the file's own size
        (b"a\n1\n", 0, 3 * 8),  # no header width known: one column
        (b"", 1, 8),
    ],
)
def test_a_text_table_takes_its_size_or_eight_bytes_a_cell(tmp_path, payload, columns, nbytes):
    lines = payload.count(b"\n")
    expected = DecodedSize(nbytes, f"{lines:,} lines of {len(payload):,} bytes")
    path = tmp_path / "t.csv"
    path.write_bytes(payload)
    assert text_size(payload, columns) == expected
    assert text_size(path, columns) == expected


def test_a_text_file_on_disk_is_counted_a_block_at_a_time_as_a_whole_upload_is(tmp_path):
    payload = b"\n" * (1 << 24) + b"1\n2\n"  # past the first block of 16 MiB
    path = tmp_path / "t.csv"
    path.write_bytes(payload)
    assert (
        text_size(path, 1)
        == text_size(payload, 1)
        == DecodedSize(((1 << 24) + 3) * 8, "16,777,218 lines of 16,777,220 bytes")
    )


def test_a_text_files_lines_and_bytes_are_named_with_thousands_separators():
    payload = b"1\n" * 1500
    assert text_size(payload, 1) == DecodedSize(1501 * 8, "1,500 lines of 3,000 bytes")


@pytest.mark.parametrize(
    ("size", "columns", "bound"),
    [
        (100, 3, (33 + 1) * 3 * 9),
        (10, 1000, 1 * 1000 * 9),
        (100, 0, 101 * 1 * 9),
        (0, 2, 2 * 9),
    ],
)
def test_the_bound_of_a_text_file_unread_assumes_a_byte_a_cell(size, columns, bound):
    assert text_size_bound(size, columns) == bound


@pytest.mark.parametrize("payload", [b"a,b\n1,2\n", b"a,b\n,\n,\n,\n", b"ab\n" * 7, b"a,b\n1,2"])
def test_the_bound_of_a_text_file_is_never_below_its_estimate(payload):
    assert text_size(payload, 2).nbytes <= text_size_bound(len(payload), 2)


PARQUET_INTS = pa.table({"n": pa.array(range(10), pa.int64())})


@pytest.mark.parametrize(
    ("fmt", "payload", "columns", "expected"),
    [
        (FileFormat.PARQUET, parquet_bytes(PARQUET_INTS), 1, parquet_size(parquet_bytes(PARQUET_INTS))),
        (FileFormat.ARROW, ipc_bytes(PARQUET_INTS), 1, DecodedSize(80, "2 IPC messages, from their metadata")),
        (FileFormat.CSV, b"a,b\n1,2\n", 2, DecodedSize(3 * 2 * 8, "2 lines of 8 bytes")),
        (FileFormat.JSONL, b'{"a": 1}\n', 1, DecodedSize(2 * 8, "1 lines of 9 bytes")),
        (FileFormat.JSON, b'[{"a": 1}]', 1, DecodedSize(10, "0 lines of 10 bytes")),
    ],
    ids=["parquet", "arrow", "csv", "jsonl", "json"],
)
def test_each_format_is_estimated_its_own_way(fmt, payload, columns, expected):
    assert decoded_size(fmt, payload, columns) == expected


def test_a_text_table_is_estimated_as_one_column_unless_told():
    assert decoded_size(FileFormat.CSV, b"a\n1\n2\n").nbytes == 4 * 8


def test_an_xlsx_is_estimated_from_its_sheets():
    payload = workbook({"sheet1.xml": sheet('<row r="2"><c r="B2"/></row>')})
    assert decoded_size(FileFormat.EXCEL, payload) == xlsx_size(payload)
    assert decoded_size(FileFormat.EXCEL, payload).nbytes == (4 + 1) * CELL


# What an engine holds, counted as a table is read.


def test_the_message_past_the_limit_names_the_table_and_the_limit():
    error = past_limit(3 * GIB // 2, GIB)
    assert str(error) == (
        "Decoded, its table passes 1.50 GiB, more than the 1.00 GiB a loaded table may take here (the whole load "
        "takes about 3 times its table); reading stopped there. Load fewer rows or columns."
    )


def nulls(rows: int) -> pa.Table:
    """A table of no buffers that an engine holds as 8 bytes a row."""
    return pa.table({"x": pa.nulls(rows)})


def test_parts_are_read_until_they_pass_the_limit_and_not_past_it():
    quarter = nulls(GIB // 32)  # 0.25 GiB held, nothing allocated
    assert within([quarter] * 4, GIB) == [quarter] * 4  # exactly at the limit: kept
    with pytest.raises(DataError, match=r"^Decoded, its table passes 1.25 GiB, more than the 1.00 GiB "):
        within(iter([quarter] * 6), GIB)


def test_parts_read_without_a_limit_are_all_kept_in_order():
    parts = [nulls(1), nulls(2), nulls(3)]
    assert within(iter(parts), None) == parts


def test_a_null_column_is_held_as_eight_bytes_a_row_and_a_boolean_as_one():
    assert held_bytes(nulls(1000)) == 8000
    flags = pa.table({"f": pa.array([True, False] * 500)})
    assert held_bytes(flags) == flags.nbytes + 1000
    numbers = pa.record_batch({"n": pa.array(range(1000), pa.int64())})
    assert held_bytes(numbers) == numbers.nbytes == 8000


LIST = pa.array([[1, 2], [3], None, []])  # 4 rows, 3 values
NESTED = [
    ("list", LIST, 4 + 3),
    ("large list", LIST.cast(pa.large_list(pa.int64())), 4 + 3),
    ("list view", pa.array([[1, 2], [3], None, []], pa.list_view(pa.int64())), 4 + 3),
    ("fixed-size list", pa.array([[1, 2], [3, 4], None], pa.list_(pa.int64(), 2)), 3 + 6),
    ("list of lists", pa.array([[[1, 2], [3]], [[4]]]), 2 + 3 + 4),
    ("map", pa.array([[("a", 1), ("b", 2)], [("c", 3)]], pa.map_(pa.string(), pa.int64())), 2 + 3 + 3 + 3),
    ("struct", pa.array([{"a": 1, "b": [1, 2]}, {"a": 2, "b": []}]), 2 + 2 + 2 + 2),
    (
        "sparse union",
        pa.UnionArray.from_sparse(pa.array([0, 1, 0], pa.int8()), [pa.array([1, 2, 3]), pa.array(["a", "b", "c"])]),
        3 + 3 + 3,
    ),
    ("dictionary", pa.array([1, 22, 1, None]).dictionary_encode(), 4 + 3),  # a missing value: a row, no value
    ("dictionary of text", pa.array(["a", "bb", "a", None]).dictionary_encode(), 0),  # kept: categories
    (
        "dictionary of lists",
        pa.DictionaryArray.from_arrays(pa.array([0, 1, 0, 2]), pa.array([[1, 2], [3], None])),
        4 + 5,
    ),
    ("empty dictionary", pa.array([], pa.int64()).dictionary_encode(), 0),
    ("dictionary of missing values", pa.DictionaryArray.from_arrays(pa.array([None, None], pa.int32()), [1]), 2),
    ("run-end encoded", pa.RunEndEncodedArray.from_arrays([3, 5], ["a", "b"]), 5),
    ("interval", pa.array([pa.MonthDayNano([1, 2, 3])] * 3, pa.month_day_nano_interval()), 3),
]


@pytest.mark.parametrize(("name", "array", "values"), NESTED, ids=[name for name, _, _ in NESTED])
def test_a_column_written_out_value_by_value_is_held_as_its_values_at_every_level(name, array, values):
    table = pa.table({"x": array})
    assert held_bytes(table) == table.nbytes + 24 * values


def test_a_record_batch_is_held_as_a_table_of_the_same_columns():
    batch = pa.record_batch({"x": LIST, "n": pa.nulls(4)})
    assert held_bytes(batch) == held_bytes(pa.Table.from_batches([batch])) == batch.nbytes + 24 * 7 + 8 * 4


def test_each_chunk_of_a_column_and_each_column_is_counted():
    column = pa.chunked_array([LIST, LIST.slice(0, 2)])
    table = pa.table({"x": column, "n": pa.nulls(6), "f": pa.array([True] * 6)})
    assert held_bytes(table) == table.nbytes + 24 * (7 + 2 + 3) + 8 * 6 + 6


@pytest.mark.parametrize(
    "array",
    [
        pa.array([[1, 2], [3, 4, 5], [6]] * 100).slice(1, 2),
        pa.array([{"a": i, "b": [i]} for i in range(300)]).slice(100, 10),
        pa.array(["xy", "z"] * 100).dictionary_encode().slice(5, 20),
        pa.array(range(1000), pa.int64()).slice(10, 20),
    ],
    ids=["list", "struct", "dictionary", "integers"],
)
def test_a_slice_is_held_as_at_least_the_values_it_shows(array):
    sliced, compact = pa.table({"x": array}), pa.table({"x": pa.concat_arrays([array])})
    assert held_bytes(sliced) >= held_bytes(compact)
