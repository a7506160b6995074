"""Real files in every supported format, written by the real writers, for the tests."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

SAMPLE = pd.DataFrame(
    {
        "id": [1, 2, 3, 4],
        "price": [9.5, 3.25, None, 7.0],
        "city": ["Oslo", "Zürich", "Lyon", None],
        "ok": [True, False, True, True],
    }
)


def csv_bytes(frame: pd.DataFrame = SAMPLE, sep: str = ",", encoding: str = "utf-8") -> bytes:
    return frame.to_csv(index=False, sep=sep).encode(encoding)


def zstd_bytes(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as stream:
        stream.write(data)
    return sink.getvalue().to_pybytes()


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


COMPRESSORS = {
    "gz": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "zst": zstd_bytes,
    "zip": lambda data: zip_bytes({"table.csv": data}),
}


def parquet_bytes(frame: pd.DataFrame = SAMPLE) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    return buffer.getvalue()


def feather_bytes(frame: pd.DataFrame = SAMPLE) -> bytes:
    sink = pa.BufferOutputStream()
    feather.write_feather(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


def arrow_stream_bytes(frame: pd.DataFrame = SAMPLE) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def jsonl_bytes(frame: pd.DataFrame = SAMPLE) -> bytes:
    return frame.to_json(orient="records", lines=True).encode()


def json_array_bytes(frame: pd.DataFrame = SAMPLE) -> bytes:
    """A JSON array of records, pretty-printed as vega_datasets and many exports write it."""
    return frame.to_json(orient="records", indent=2).encode()


def excel_bytes(frame: pd.DataFrame = SAMPLE) -> bytes:
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False, engine="openpyxl")
    return buffer.getvalue()


EVERY_FORMAT = {
    "table.csv": csv_bytes(),
    "table.tsv": csv_bytes(sep="\t"),
    "table_semicolon.csv": csv_bytes(sep=";"),
    "table_pipe.txt": csv_bytes(sep="|"),
    **{f"table.csv.{ext}": compress(csv_bytes()) for ext, compress in COMPRESSORS.items()},
    "table.parquet": parquet_bytes(),
    "table.feather": feather_bytes(),
    "table.arrows": arrow_stream_bytes(),
    "table.jsonl": jsonl_bytes(),
    "table.json": json_array_bytes(),
    "table.json.gz": gzip.compress(json_array_bytes()),
    "table.xlsx": excel_bytes(),
}
