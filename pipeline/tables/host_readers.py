"""Host parsers of text and workbooks, each returning a pyarrow Table (pyarrow first, openpyxl for Excel).

They read a visitor's file, so they run only in the reader process (`pipeline.tables.sandbox`), never in the
server; a compressed file reaches them as a stream that is decompressed as it is parsed."""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from pipeline.errors import DataError
from pipeline.tables.decoded_size import within
from pipeline.tables.formats import Content
from pipeline.tables.json_array import ArrayAsLines

Payload = bytes | Path
BLOCK_BYTES = 1 << 24  # the longest row the CSV parser takes
# A compressed file is parsed a block at a time as it decompresses; a block of short rows takes many times its
# size while it is parsed (16 MB of `0\n` took a gigabyte), so its blocks are smaller.
STREAM_BLOCK_BYTES = 1 << 22


def block_bytes(content: Content) -> int:
    """The CSV parser's block for this content, which is also the longest row it takes."""
    return BLOCK_BYTES if content.compression is None else STREAM_BLOCK_BYTES


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str = ","
    encoding: str = "utf-8"


def read_csv(content: Content, dialect: CsvDialect, limit: int | None = None) -> pa.Table:
    """The CSV as a table; a compressed one is parsed a block at a time as it decompresses, stopping past `limit`
    bytes of table."""
    encoding = "utf8" if dialect.encoding in ("utf-8", "utf8") else dialect.encoding
    table = _parse_csv(content, dialect, encoding, limit)
    if encoding == "utf8" and any(pa.types.is_binary(field.type) for field in table.schema):
        raise invalid_utf8(content)
    return table


def invalid_utf8(content: Content) -> DataError:
    """The error for text that is not UTF-8, naming the line and byte of the first bad byte."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    where, seen, lines = "", 0, 0
    with content.open() as stream:
        while chunk := stream.read(1 << 20):
            held = decoder.getstate()[0]  # the start of a character cut by the chunk before
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                line = lines + (held + chunk).count(b"\n", 0, error.start) + 1
                where = f" on line {line:,} (byte {seen - len(held) + error.start:,})"
                break
            seen, lines = seen + len(chunk), lines + chunk.count(b"\n")
    return DataError(
        f"It is not valid UTF-8 text{where}. Choose the file's encoding (e.g. latin-1 or cp1252) and load it again."
    )


def _csv_options(dialect: CsvDialect, encoding: str, block: int) -> dict[str, Any]:
    return {
        "read_options": pacsv.ReadOptions(encoding=encoding, block_size=block),
        "parse_options": pacsv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=True),
        # empty fields are missing values, as pandas and cuDF read them
        "convert_options": pacsv.ConvertOptions(strings_can_be_null=True),
    }


def _parse_csv(content: Content, dialect: CsvDialect, encoding: str, limit: int | None) -> pa.Table:
    block = block_bytes(content)
    options = _csv_options(dialect, encoding, block)
    try:
        if content.compression is None:
            return pacsv.read_csv(content.arrow_input(), **options)
        with pacsv.open_csv(content.open(), **options) as reader:
            return pa.Table.from_batches(within(reader, limit), reader.schema)
    except MemoryError:
        raise
    except pa.ArrowInvalid as error:
        text = str(error)
        if "Empty CSV file" in text:
            raise DataError("The file has no header line and no rows.") from error
        if "straddling" in text:
            raise DataError(
                f"A row is longer than {block // 2**20} MB. A table has one row per line: check that the "
                "file's line breaks survived, or that a quote is not left open."
            ) from error
        if "invalid UTF8" in text or "UTF-8" in text:
            raise DataError(f"It is not valid UTF-8 text ({text}). Choose the file's encoding.") from error
        raise DataError(f"{text}. Check the delimiter and the quoting of that row.") from error
    except UnicodeDecodeError as error:
        raise DataError(
            f"It is not valid {dialect.encoding} text (byte {error.start:,}). Choose another encoding."
        ) from error
    except UnicodeError as error:  # e.g. UTF-16 without a byte-order mark
        raise DataError(
            f"It is not valid {dialect.encoding} text ({error}). Choose the file's encoding (UTF-16 without a "
            "byte-order mark: utf-16-le or utf-16-be)."
        ) from error


def count_quotes(content: Content) -> int:
    """The number of '"' bytes, read a chunk at a time."""
    total = 0
    with content.open() as stream:
        while chunk := stream.read(1 << 24):
            total += chunk.count(b'"')
    return total


def has_line_break_within(content: Content, limit: int) -> bool:
    """True when a line break (or the end of the file) comes within the first `limit` bytes, read a megabyte at a
    time and stopping at the first break, so an ordinary table costs one small read."""
    seen = 0
    with content.open() as stream:
        while seen <= limit:
            chunk = stream.read(min(1 << 20, limit + 1 - seen))
            if not chunk or b"\n" in chunk or b"\r" in chunk:
                return True
            seen += len(chunk)
    return False


def unclosed_quote_line(content: Content, table: pa.Table) -> int | None:
    """The line where a quote opens that never closes, or None where the quoting is sound.

    A quote that is never closed makes the parser read the rest of the file into one value of the row it opened
    in, which is then the table's last row and holds a line break; valid CSV has an even number of quote
    characters, so the file's quotes are counted only where the last row's text holds a line break.
    """
    if table.num_rows == 0:
        return None
    last = table.slice(table.num_rows - 1)
    for column in last.columns:
        if not pa.types.is_string(column.type):
            continue
        swallowed = column[0].as_py()
        if swallowed is not None and "\n" in swallowed:
            if count_quotes(content) % 2 == 0:
                return None
            return _line_of(content, b'"' + swallowed[:40].split("\n")[0].encode())
    return None


def _line_of(content: Content, needle: bytes) -> int:
    """The line on which `needle` first appears (1 where it does not), reading the content a chunk at a time."""
    lines, tail = 0, b""
    with content.open() as stream:
        while chunk := stream.read(1 << 24):
            window = tail + chunk
            found = window.find(needle)
            if found >= 0:
                return lines + window.count(b"\n", 0, found) + 1
            keep = len(needle) - 1
            lines += window.count(b"\n", 0, len(window) - keep) if keep else window.count(b"\n")
            tail = window[len(window) - keep :] if keep else b""
    return 1


def field_names(fields: list[pa.Field]) -> list[str]:
    """Every field's name, nested ones too; pyarrow decodes a name as UTF-8 when it is read, so a key that is not
    UTF-8 raises UnicodeDecodeError here."""
    names = []
    for field in fields:
        names.append(field.name)
        kind = field.type
        if pa.types.is_struct(kind):
            names += field_names([kind.field(i) for i in range(kind.num_fields)])
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
            names += field_names([kind.value_field])
        elif pa.types.is_map(kind):
            names += field_names([kind.key_field, kind.item_field])
    return names


def read_json_lines(content: Content, limit: int | None = None) -> pa.Table:
    """JSON lines as a table; a compressed file is parsed a block at a time as it decompresses, stopping past
    `limit` bytes of table. A line may be as long as a CSV row."""
    block = block_bytes(content)
    if content.compression is None:
        options = pajson.ReadOptions(block_size=block)
        return _json_table(lambda: pajson.read_json(content.arrow_input(), read_options=options), block, JSON_LINES)
    return _json_table(lambda: _streamed_json(content.open(), block, limit), block, JSON_LINES)


def read_json_array(content: Content, limit: int | None = None) -> pa.Table:
    """A JSON array of records as a table: streamed to the JSON lines reader one record a line
    (`json_array.ArrayAsLines`), stopping past `limit` bytes of table. A record may be as long as a CSV row."""
    block = block_bytes(content)
    lines = ArrayAsLines(content.open())
    return _json_table(lambda: _streamed_json(io.BufferedReader(lines, 1 << 20), block, limit), block, JSON_ARRAY)


@dataclass(frozen=True)
class JsonLayout:
    """What a row is in a JSON table, and what it must be, for messages."""

    row: str
    rule: str
    save_as: str


JSON_LINES = JsonLayout(
    "A line", "Every line must be one JSON object with consistent types.", "Save the file as UTF-8 JSON lines."
)
JSON_ARRAY = JsonLayout(
    "A record",
    'Every element of the array must be one object (a record such as {"a": 1}) with consistent types.',
    "Save the file as UTF-8 JSON.",
)


ROOT_CHANGED = re.compile(r"Column\(\) changed from (\w+) to (\w+) in row (\d+)")  # a row that is no object


def _streamed_json(stream: IO[bytes], block: int, limit: int | None) -> pa.Table:
    """JSON lines parsed a block at a time as `stream` gives them, stopping past `limit` bytes of table."""
    with pajson.open_json(stream, read_options=pajson.ReadOptions(block_size=block)) as reader:
        return pa.Table.from_batches(within(reader, limit), reader.schema)


def _json_table(read: Callable[[], pa.Table], block: int, layout: JsonLayout) -> pa.Table:
    """The table `read` parses, its keys checked, pyarrow's errors told as what is wrong with the file."""
    try:
        table = read()
        field_names(list(table.schema))  # a key that is not UTF-8 fails here, not in a later step
    except MemoryError:
        raise
    except pa.ArrowInvalid as error:
        if "straddl" in str(error):
            raise DataError(
                f"{layout.row} is longer than {block // 2**20} MB. Write long values in a file of their own, or save "
                "the table as Parquet."
            ) from error
        if "Empty JSON stream" in str(error):
            raise DataError("It holds no rows. Choose a file with rows.") from error
        root = ROOT_CHANGED.search(str(error))
        if root and layout is JSON_ARRAY:
            first, then, row = root.groups()
            kind, element = (then, int(row) + 1) if first == "object" else (first, 1)
            named = "null" if kind == "null" else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
            raise DataError(f"Element {element:,} of its array is {named}, not an object. {layout.rule}") from error
        raise DataError(f"{error}. {layout.rule}") from error
    except UnicodeDecodeError as error:
        raise DataError(f"A key is not valid UTF-8 text ({error}). {layout.save_as}") from error
    return table


def _excel_source(payload: Payload) -> io.BytesIO:
    """The workbook as a file object (openpyxl refuses a path whose name does not end in .xlsx)."""
    return io.BytesIO(payload.read_bytes() if isinstance(payload, Path) else payload)


def unreadable_workbook(error: BaseException) -> DataError:
    """The message for a damaged workbook, naming the first cause too (openpyxl wraps what defusedxml refused)."""
    root = error
    while (cause := root.__cause__ or root.__context__) is not None:
        root = cause
    why = f"{type(error).__name__}: {error}" + (f"; first {type(root).__name__}: {root}" if root is not error else "")
    return DataError(f"It is not a readable Excel workbook ({why}). Save it again as .xlsx.")


def read_excel(payload: Payload) -> pa.Table:
    """The first sheet of an .xlsx workbook, text columns as strings."""
    try:
        frame = pd.read_excel(_excel_source(payload), sheet_name=0, engine="openpyxl")
    except MemoryError:
        raise  # too large, not damaged: the reader process says so
    except Exception as error:  # openpyxl raises many types for a damaged workbook
        raise unreadable_workbook(error) from error
    mixed = [column for column in frame.columns if frame[column].dtype == object]
    frame[mixed] = frame[mixed].astype("str")
    return pa.Table.from_pandas(frame, preserve_index=False)


@dataclass(frozen=True)
class ExcelFacts:
    """A workbook's sheets, and its first sheet's merged ranges with the workbook rewritten to fill them."""

    sheets: list[str]
    merged: list[str]
    filled: bytes | None = None


def excel_facts(payload: Payload) -> ExcelFacts:
    """Sheets and merged cells of a workbook; a damaged workbook is a DataError.

    A merged range means its value holds for every cell it covers (a region name spanning its
    rows), so `filled` is the workbook with that value written into each of them.
    """
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(_excel_source(payload))
    except MemoryError:
        raise  # too large, not damaged: the reader process says so
    except Exception as error:  # openpyxl raises many types for a damaged workbook
        raise unreadable_workbook(error) from error
    if not workbook.worksheets:
        raise DataError("It is not a readable Excel workbook: it holds no worksheet. Save it again as .xlsx.")
    sheet = workbook.worksheets[0]
    ranges = sorted(sheet.merged_cells.ranges, key=lambda merged: (merged.min_row, merged.min_col))
    if not ranges:
        return ExcelFacts(list(workbook.sheetnames), [])
    for merged in ranges:
        value = sheet.cell(merged.min_row, merged.min_col).value
        sheet.unmerge_cells(str(merged))
        for row in sheet.iter_rows(merged.min_row, merged.max_row, merged.min_col, merged.max_col):
            for cell in row:
                cell.value = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return ExcelFacts(list(workbook.sheetnames), [str(merged) for merged in ranges], buffer.getvalue())
