"""Small files that decode to huge tables, written by the real writers (or, for xlsx, a real zip of real XML).

Shared by the tests (which check each is refused before decoding) and benchmarks/decode_bombs.py (which
measures the peak memory of loading each).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

LONG_TEXT = "x" * 1000


def parquet_long_strings(path: Path, rows: int = 1_000_000) -> Path:
    """One column of `rows` copies of a 1,000-character string: dictionary-encoded, about 100 KB on disk."""
    table = pa.table({"text": pa.array([LONG_TEXT]).take(pa.array([0] * rows, pa.int32()))})
    pq.write_table(table, path, compression="zstd")
    return path


def parquet_many_integers(path: Path, rows: int = 1_000_000_000, batch: int = 10_000_000) -> Path:
    """`rows` zeros as int64 (8 GB decoded), written a batch at a time: a few MB on disk."""
    zeros = pa.table({"n": pa.array([0] * batch, pa.int64())})
    with pq.ParquetWriter(path, zeros.schema, compression="zstd") as writer:
        for _ in range(rows // batch):
            writer.write_table(zeros, row_group_size=batch)
    return path


def arrow_long_strings(path: Path, rows: int = 1_000_000) -> Path:
    """Arrow IPC with zstd-compressed buffers: 1 GB of repeated text in a file of about 200 KB."""
    table = pa.table({"text": pa.array([LONG_TEXT]).take(pa.array([0] * rows, pa.int32()))})
    with pa.ipc.new_file(path, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
        writer.write_table(table, max_chunksize=rows)
    return path


XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def xlsx_many_cells(path: Path, rows: int = 2_000_000, columns: int = 20) -> Path:
    """A workbook of rows x columns numeric cells (40 million: about 1.3 MB), rows and cells without positions
    (which the format allows), so the sheet's XML repeats and compresses about 500-fold."""
    letters = [chr(ord("A") + i) for i in range(columns)]
    row = ("<row>" + "<c><v>1</v></c>" * columns + "</row>").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in XLSX_PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            header = "".join(f'<c t="inlineStr"><is><t>c{c}</t></is></c>' for c in letters)
            sheet.write(f"<row>{header}</row>".encode())
            for start in range(0, rows, 10_000):
                sheet.write(row * min(10_000, rows - start))
            sheet.write(b"</sheetData></worksheet>")
    path.write_bytes(buffer.getvalue())
    return path


MAKERS = {
    "long_strings.parquet": parquet_long_strings,
    "billion_integers.parquet": parquet_many_integers,
    "long_strings_zstd.arrow": arrow_long_strings,
    "many_cells.xlsx": xlsx_many_cells,
}
