"""Host parsers, one per format, all returning a pyarrow Table (pyarrow first, openpyxl for Excel)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from pipeline.errors import DataError
from pipeline.tables.formats import FileFormat

Payload = bytes | Path
BLOCK_BYTES = 1 << 24  # the longest row the CSV parser takes


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str = ","
    encoding: str = "utf-8"


def _input(payload: Payload) -> pa.NativeFile:
    return pa.memory_map(str(payload)) if isinstance(payload, Path) else pa.BufferReader(payload)


def read_csv(payload: Payload, dialect: CsvDialect) -> pa.Table:
    encoding = "utf8" if dialect.encoding in ("utf-8", "utf8") else dialect.encoding
    table = _parse_csv(payload, dialect, encoding)
    if encoding == "utf8" and any(pa.types.is_binary(field.type) for field in table.schema):
        raise invalid_utf8(payload)
    return table


def invalid_utf8(payload: Payload) -> DataError:
    """The error for text that is not UTF-8, naming the line and byte of the first bad byte."""
    raw = payload.read_bytes() if isinstance(payload, Path) else payload
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        where = f" on line {line:,} (byte {error.start:,})"
    else:
        where = ""
    return DataError(
        f"It is not valid UTF-8 text{where}. Choose the file's encoding (e.g. latin-1 or cp1252) and load it again."
    )


def _csv_options(dialect: CsvDialect, encoding: str) -> dict[str, Any]:
    return {
        "read_options": pacsv.ReadOptions(encoding=encoding, block_size=BLOCK_BYTES),
        "parse_options": pacsv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=True),
        # empty fields are missing values, as pandas and cuDF read them
        "convert_options": pacsv.ConvertOptions(strings_can_be_null=True),
    }


def text_schema(fmt: FileFormat, payload: Payload, dialect: CsvDialect) -> pa.Schema | None:
    """The schema pyarrow infers for a UTF-8 CSV or JSON-lines file from its first block, as the host reader
    infers it, for a device reader to be given; None for other formats or where pyarrow cannot infer one
    (the host reader then reports the problem)."""
    try:
        if fmt is FileFormat.CSV:
            with pacsv.open_csv(_input(payload), **_csv_options(dialect, "utf8")) as reader:
                return reader.schema
        if fmt is FileFormat.JSONL:
            with pajson.open_json(_input(payload)) as reader:
                return reader.schema
    except (pa.ArrowException, OSError, UnicodeDecodeError):
        return None
    return None


def _parse_csv(payload: Payload, dialect: CsvDialect, encoding: str) -> pa.Table:
    try:
        return pacsv.read_csv(_input(payload), **_csv_options(dialect, encoding))
    except pa.ArrowInvalid as error:
        text = str(error)
        if "Empty CSV file" in text:
            raise DataError("The file has no header line and no rows.") from error
        if "straddling" in text:
            raise DataError(
                f"A row is longer than {BLOCK_BYTES // 2**20} MB. A table has one row per line: check that the "
                "file's line breaks survived, or that a quote is not left open."
            ) from error
        if "invalid UTF8" in text or "UTF-8" in text:
            raise DataError(f"It is not valid UTF-8 text ({text}). Choose the file's encoding.") from error
        raise DataError(f"{text}. Check the delimiter and the quoting of that row.") from error
    except UnicodeDecodeError as error:
        raise DataError(
            f"It is not valid {dialect.encoding} text (byte {error.start:,}). Choose another encoding."
        ) from error


def count_quotes(payload: Payload) -> int:
    """The number of '"' bytes, reading a file in chunks rather than whole."""
    if not isinstance(payload, Path):
        return payload.count(b'"')
    total = 0
    with payload.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            total += chunk.count(b'"')
    return total


def has_line_break_within(payload: Payload, limit: int) -> bool:
    """True when a line break (or the end of the file) comes within the first `limit` bytes.

    Bytes are searched in place and a file is read a megabyte at a time, stopping at the
    first break, so an ordinary table costs one small read.
    """
    if not isinstance(payload, Path):
        return len(payload) <= limit or any(payload.find(end, 0, limit + 1) >= 0 for end in (b"\n", b"\r"))
    seen = 0
    with payload.open("rb") as handle:
        while seen <= limit:
            chunk = handle.read(min(1 << 20, limit + 1 - seen))
            if not chunk or b"\n" in chunk or b"\r" in chunk:
                return True
            seen += len(chunk)
    return False


def unclosed_quote_line(payload: Payload, table: pa.Table) -> int | None:
    """The line where a quote opens that never closes, or None where the quoting is sound.

    A quote that is never closed makes the parser read the rest of the file as one value;
    valid CSV has an even number of quote characters, so only an odd count is inspected.
    """
    if count_quotes(payload) % 2 == 0:
        return None
    raw = payload.read_bytes() if isinstance(payload, Path) else payload
    for column in table.columns:
        if not pa.types.is_string(column.type):
            continue
        swallowed = pc.filter(column, pc.match_substring(column, "\n"))
        if len(swallowed):
            start = str(swallowed[0])[:40].split("\n")[0]
            offset = raw.find(b'"' + start.encode())
            return raw.count(b"\n", 0, max(offset, 0)) + 1
    return None


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


def read_json_lines(payload: Payload) -> pa.Table:
    try:
        table = pajson.read_json(_input(payload))
        field_names(list(table.schema))  # a key that is not UTF-8 fails here, not in a later step
    except pa.ArrowInvalid as error:
        raise DataError(f"{error}. Every line must be one JSON object with consistent types.") from error
    except UnicodeDecodeError as error:
        raise DataError(f"A key is not valid UTF-8 text ({error}). Save the file as UTF-8 JSON lines.") from error
    return table


def _excel_source(payload: Payload) -> io.BytesIO:
    """The workbook as a file object (openpyxl refuses a path whose name does not end in .xlsx)."""
    return io.BytesIO(payload.read_bytes() if isinstance(payload, Path) else payload)


def unreadable_workbook(error: Exception) -> DataError:
    return DataError(f"It is not a readable Excel workbook ({type(error).__name__}: {error}). Save it again as .xlsx.")


def read_excel(payload: Payload) -> pa.Table:
    """The first sheet of an .xlsx workbook, text columns as strings."""
    try:
        frame = pd.read_excel(_excel_source(payload), sheet_name=0, engine="openpyxl")
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
    except Exception as error:  # openpyxl raises many types for a damaged workbook
        raise unreadable_workbook(error) from error
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


HOST_READERS: dict[FileFormat, Callable[[Payload, CsvDialect], pa.Table]] = {
    FileFormat.CSV: read_csv,
    FileFormat.JSONL: lambda payload, _dialect: read_json_lines(payload),
    FileFormat.EXCEL: lambda payload, _dialect: read_excel(payload),
}  # Parquet and Arrow IPC: pipeline.tables.sandbox
