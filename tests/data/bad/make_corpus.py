"""Write the bad-input corpus: every file that `cases.toml` names, built by the real writers.

Small files are committed beside this script; the large ones (a 100 MB line, 10^5 columns,
10^6 categories, a decompression bomb) are written on demand into `large/`, which git ignores:

    python tests/data/bad/make_corpus.py            # the small files, here
    python tests/data/bad/make_corpus.py --large    # also the large ones, into large/
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import io
import lzma
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
LARGE = HERE / "large"
SAMPLE = pd.DataFrame({"id": [1, 2, 3], "city": ["Oslo", "Zürich", "Lyon"], "price": [9.5, 3.25, 7.0]})


def sample_csv(encoding: str = "utf-8", sep: str = ",") -> bytes:
    return SAMPLE.to_csv(index=False, sep=sep).encode(encoding)


def parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def feather_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    feather.write_feather(table, sink)
    return sink.getvalue().to_pybytes()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def excel_with_sheets_and_merged_cells() -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sales = workbook.active
    sales.title = "sales"
    sales.append(["region", "quarter", "revenue"])
    for row in (["North", "Q1", 10.5], [None, "Q2", 12.0], ["South", "Q1", 7.25], [None, "Q2", 8.0]):
        sales.append(row)
    sales.merge_cells("A2:A3")
    sales.merge_cells("A4:A5")
    workbook.create_sheet("notes").append(["written by", "finance"])
    workbook.create_sheet("empty")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def nested_parquet() -> bytes:
    table = pa.table(
        {
            "id": [1, 2, 3],
            "tags": pa.array([["a", "b"], [], None], pa.list_(pa.string())),
            "point": pa.array([{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": None}, None]),
            "attributes": pa.array([[("k", 1)], [], None], pa.map_(pa.string(), pa.int64())),
        }
    )
    return parquet(table)


def decimal_parquet() -> bytes:
    from decimal import Decimal

    table = pa.table(
        {
            "id": [1, 2, 3],
            "amount": pa.array([Decimal("12.50"), Decimal("-0.01"), None], pa.decimal128(12, 2)),
            "big": pa.array([Decimal("1" * 30), Decimal("0"), Decimal("2.5")], pa.decimal128(38, 4)),
        }
    )
    return parquet(table)


def odd_types_parquet() -> bytes:
    import datetime as dt

    table = pa.table(
        {
            "day": pa.array([dt.date(2024, 1, 31), dt.date(2024, 2, 29), None], pa.date32()),
            "clock": pa.array([dt.time(8, 30), dt.time(23, 59, 59), None], pa.time64("us")),
            "blob": pa.array([b"\x00\x01", b"", None], pa.binary()),
            "huge": pa.array([2**64 - 1, 0, None], pa.uint64()),
            "half": pa.array([1.5, -2.0, None], pa.float16()),
            "wait": pa.array([dt.timedelta(seconds=5), dt.timedelta(days=1), None], pa.duration("s")),
            "level": pa.array(["low", "high", "low"]).dictionary_encode(),
        }
    )
    return parquet(table)


def corrupt_parquet_footer() -> bytes:
    data = bytearray(parquet(pa.Table.from_pandas(SAMPLE, preserve_index=False)))
    data[-12:-4] = b"\xde\xad\xbe\xef" * 2  # keep the PAR1 magic, break the footer length and metadata
    return bytes(data)


def mixed_encodings() -> bytes:
    return "id,city\n1,Zürich\n".encode() + "2,Müller\n".encode("latin-1") + b"3,Lyon\n"


def invalid_utf8_late() -> bytes:
    rows = "".join(f"{i},name{i}\n" for i in range(20_000)).encode()
    return b"id,name\n" + rows + b"20000,caf\xe9\n"


def pandas_method_names() -> bytes:
    return b"mean,sum,count,index,shape,T,values,copy\n1,2,3,4,5,6,7,8\n9,10,11,12,13,14,15,16\n"


def dates_in_several_formats() -> bytes:
    lines = ["iso,iso_time,day_first,month_first,words,mixed"]
    lines += [
        "2024-01-31,2024-01-31T10:00:00Z,31/01/2024,01/31/2024,31 Jan 2024,2024-01-31",
        "2024-02-29,2024-02-29T23:59:59Z,29/02/2024,02/29/2024,29 Feb 2024,29/02/2024",
        "2024-12-01,2024-12-01T00:00:00Z,01/12/2024,12/01/2024,1 Dec 2024,Dec 1 2024",
    ]
    return ("\n".join(lines) + "\n").encode()


def wide_header(columns: int) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns))
    row = ",".join(str(i % 10) for i in range(columns))
    return f"{header}\n{row}\n{row}\n".encode()


def many_categories(rows: int) -> bytes:
    codes = np.random.default_rng(0).permutation(rows)
    frame = pd.DataFrame({"user": [f"user_{code:07d}" for code in codes], "value": np.arange(rows) % 97})
    return frame.to_csv(index=False).encode()


def one_huge_line(size: int) -> bytes:
    return b"x" * size


def gzip_bomb(expanded: int) -> bytes:
    buffer = io.BytesIO()
    chunk = b"0," * (1 << 19) + b"\n"
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as stream:
        stream.write(b"a,b\n")
        for _ in range(expanded // len(chunk)):
            stream.write(chunk)
    return buffer.getvalue()


SMALL: dict[str, Callable[[], bytes]] = {
    "empty.csv": lambda: b"",
    "header_only.csv": lambda: b"id,city,price\n",
    "blank_lines.csv": lambda: b"  \n\n\t\n",
    "binary_junk.csv": lambda: bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)),
    "png_named.csv": lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
    "latin1.csv": lambda: sample_csv("latin-1"),
    "cp1252_semicolon.csv": lambda: "id;name;price\n1;café;3,50 €\n2;naïve;4,00 €\n".encode("cp1252"),
    "utf16_bom.csv": lambda: sample_csv("utf-16"),
    "utf8_bom.csv": lambda: sample_csv("utf-8-sig"),
    "invalid_utf8_late.csv": invalid_utf8_late,
    "mixed_encodings.csv": mixed_encodings,
    "mixed_line_endings.csv": lambda: b"id,city\r\n1,Oslo\n2,Lyon\r3,Rome\r\n4,Bern\n",
    "unbalanced_quotes.csv": lambda: b'id,note\n1,fine\n2,"never closed\n3,lost\n4,also lost\n',
    "ragged_long_row.csv": lambda: b"id,city\n1,Oslo\n2,Lyon,extra\n3,Rome\n",
    "ragged_short_row.csv": lambda: b"id,city,price\n1,Oslo,2.5\n2,Lyon\n3,Rome,1.0\n",
    "duplicate_columns.csv": lambda: b"id,value,value,value\n1,2,3,4\n5,6,7,8\n",
    "blank_column_names.csv": lambda: b"id,,  ,price\n1,a,b,2.5\n2,c,d,3.5\n",
    "pandas_method_names.csv": pandas_method_names,
    "markup_names.csv": lambda: b'"<script>alert(1)</script>","**bold**",=1+1\n<b>x</b>,[link](http://x),=cmd\n',
    "thousands_separators.csv": lambda: b'id,amount\n1,"1,234,567.89"\n2,"12,000"\n3,"7.5"\n',
    "decimal_commas.csv": lambda: b"id;amount;rate\n1;1.234,56;0,5\n2;12,00;1,25\n3;7;2\n",
    "dates_several_formats.csv": dates_in_several_formats,
    "all_missing.csv": lambda: b"id,empty,also_empty\n1,,\n2,,\n3,,\n",
    "infinities.csv": lambda: b"id,x\n1,inf\n2,-inf\n3,1.5\n4,nan\n5,Infinity\n",
    "single_row.csv": lambda: b"id,city\n1,Oslo\n",
    "overflowing_integers.csv": lambda: b"id,big\n1,99999999999999999999\n2,1\n",
    "one_column.txt": lambda: b"reading\n1.5\n2.5\n3.5\n",
    "truncated.parquet": lambda: parquet(pa.Table.from_pandas(SAMPLE, preserve_index=False))[:300],
    "corrupt_footer.parquet": corrupt_parquet_footer,
    "nested.parquet": nested_parquet,
    "decimal.parquet": decimal_parquet,
    "odd_types.parquet": odd_types_parquet,
    "zero_rows.parquet": lambda: parquet(pa.Table.from_pandas(SAMPLE.head(0), preserve_index=False)),
    "truncated.feather": lambda: feather_bytes(pa.Table.from_pandas(SAMPLE, preserve_index=False))[:200],
    "json_array.json": lambda: b'[{"id": 1}, {"id": 2}]',
    "json_pretty_object.json": lambda: b'{\n  "rows": [\n    {"id": 1},\n    {"id": 2}\n  ]\n}\n',
    "json_mixed_types.jsonl": lambda: b'{"id": 1, "x": 1}\n{"id": 2, "x": "two"}\n',
    "json_nested.jsonl": lambda: (
        b'{"id": 1, "who": {"name": "Ada", "age": 36}, "tags": ["a"]}\n'
        b'{"id": 2, "who": {"name": "Bo", "age": null}, "tags": []}\n'
    ),
    "json_trailing_garbage.jsonl": lambda: b'{"id": 1}\n{"id": 2}\nnot json at all\n',
    "sheets_and_merged_cells.xlsx": excel_with_sheets_and_merged_cells,
    "truncated.xlsx": lambda: excel_with_sheets_and_merged_cells()[:500],
    "parquet_named.csv": lambda: parquet(pa.Table.from_pandas(SAMPLE, preserve_index=False)),
    "text_named.parquet": lambda: sample_csv(),
    "excel_named.csv": excel_with_sheets_and_merged_cells,
    "gzip_named.zip": lambda: gzip.compress(sample_csv()),
    "plain_named.csv.gz": lambda: sample_csv(),
    "truncated.csv.gz": lambda: gzip.compress(sample_csv() * 200)[:100],
    "two_members.zip": lambda: zipped({"a.csv": sample_csv(), "b.csv": sample_csv()}),
    "zip_in_zip.zip": lambda: zipped({"inner.zip": zipped({"t.csv": sample_csv()})}),
    "bz2.csv.bz2": lambda: bz2.compress(sample_csv()),
    "xz_named.csv": lambda: lzma.compress(sample_csv()),
}

LARGE_FILES: dict[str, Callable[[], bytes]] = {
    "huge_single_line.csv": lambda: one_huge_line(100 * 2**20),
    "wide_100k_columns.csv": lambda: wide_header(100_000),
    "million_categories.csv": lambda: many_categories(1_000_000),
    "bomb.csv.gz": lambda: gzip_bomb(1024 * 2**20),
}


def write(files: dict[str, Callable[[], bytes]], folder: Path, *, overwrite: bool) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in files.items():
        path = folder / name
        if overwrite or not path.exists():
            path.write_bytes(build())
        written.append(path)
    return written


def ensure_large() -> Path:
    """The large files, written once into `large/` (reused by later runs)."""
    write(LARGE_FILES, LARGE, overwrite=False)
    return LARGE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also write the large files into large/")
    arguments = parser.parse_args()
    write(SMALL, HERE, overwrite=True)
    if arguments.large:
        ensure_large()


if __name__ == "__main__":
    main()
