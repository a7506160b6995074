"""Host parsers, one per format, all returning a pyarrow Table (pyarrow first, openpyxl for Excel)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.json as pajson
import pyarrow.parquet as pq

from pipeline.errors import DataError
from pipeline.formats import FileFormat

Payload = bytes | Path


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str = ","
    encoding: str = "utf-8"


def _input(payload: Payload) -> pa.NativeFile:
    return pa.memory_map(str(payload)) if isinstance(payload, Path) else pa.BufferReader(payload)


def read_csv(payload: Payload, dialect: CsvDialect) -> pa.Table:
    encoding = "utf8" if dialect.encoding in ("utf-8", "utf8") else dialect.encoding
    try:
        return pacsv.read_csv(
            _input(payload),
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=True),
            # empty fields are missing values, as pandas and cuDF read them
            convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
        )
    except pa.ArrowInvalid as error:
        text = str(error)
        if "Empty CSV file" in text:
            raise DataError("The file has no header line and no rows.") from error
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


def read_parquet(payload: Payload) -> pa.Table:
    try:
        return pq.read_table(_input(payload))
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(
            f"It is not a readable Parquet file: it is truncated or damaged ({error}). Export or upload it again."
        ) from error


def read_arrow(payload: Payload) -> pa.Table:
    try:
        head = _input(payload).read(4)
        if head == b"\xff\xff\xff\xff":
            return pa.ipc.open_stream(_input(payload)).read_all()
        return feather.read_table(_input(payload))
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(
            f"It is not a readable Arrow IPC / Feather file: it is truncated or damaged ({error}). "
            "Export or upload it again."
        ) from error


def read_json_lines(payload: Payload) -> pa.Table:
    try:
        return pajson.read_json(_input(payload))
    except pa.ArrowInvalid as error:
        raise DataError(f"{error}. Every line must be one JSON object with consistent types.") from error


def _excel_source(payload: Payload) -> Path | io.BytesIO:
    return payload if isinstance(payload, Path) else io.BytesIO(payload)


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


def excel_sheet_names(payload: Payload) -> list[str]:
    """The sheets of a workbook, in order; a damaged workbook is a DataError."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(_excel_source(payload), read_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged workbook
        raise unreadable_workbook(error) from error
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


HOST_READERS: dict[FileFormat, Callable[[Payload, CsvDialect], pa.Table]] = {
    FileFormat.CSV: read_csv,
    FileFormat.PARQUET: lambda payload, _dialect: read_parquet(payload),
    FileFormat.ARROW: lambda payload, _dialect: read_arrow(payload),
    FileFormat.JSONL: lambda payload, _dialect: read_json_lines(payload),
    FileFormat.EXCEL: lambda payload, _dialect: read_excel(payload),
}
