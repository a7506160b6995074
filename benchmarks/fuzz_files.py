"""Valid files with adversarial contents, made by the real writers, for fuzzing the readers (`fuzz_readers`).

Each generator takes a seeded `random.Random` and makes one file through pyarrow, openpyxl, a real zip of real XML,
or the real compressors: buffer-less and nested columns, dictionaries, lying footers and declared sizes, odd
compressions, xlsx XML variants, CSV and JSON lines variants. `make_file(seed, index)` picks the generator by
index (round robin, so every generator gets its share), then, for a share of files, damages the bytes or renames
the file. A file's `expect` says what an intact file must give where that is clear: its shape, or a refusal
(what it holds is far past any budget). Files stay within a few MB on disk.
"""

from __future__ import annotations

import datetime
import decimal
import io
import json
import random
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks import thrift_compact as thrift
from benchmarks.fuzz_containers import (
    CODECS,
    EXTENSION,
    FOREIGN_CODECS,
    column_letters,
    column_metadata,
    compress,
    mutate,
    parquet_footer,
    patch_zip_sizes,
    rezipped,
    shared_strings,
    with_footer,
    worksheet,
    xlsx_package,
    zip_members,
)

MAX_FILE_BYTES = 6 * 2**20
MUTATED_SHARE = 0.2
RENAMED_SHARE = 0.08
MAX_COLUMNS = 10_000  # the app's limit (pipeline.tables.decode.MAX_COLUMNS), for expectations
LOADS_BELOW = 64 * 2**20  # an intact file that decodes to less than this must load
REFUSED_ABOVE = 4 * 2**30  # and one that decodes to more than this must be refused
PARQUET_CODECS = ("none", "snappy", "gzip", "brotli", "lz4", "zstd")
IPC_DEEPEST = 63  # pyarrow's IPC writer refuses types nested deeper


@dataclass(frozen=True)
class Expect:
    """What an intact file must give: a refusal, or a table of `rows` (and `columns`, where known)."""

    refused: bool = False
    rows: int | None = None
    columns: int | None = None

    def check(self, outcome: str, shape: tuple[int, int] | None) -> str | None:
        """What is wrong with `outcome` (and the loaded `shape`), or None."""
        if self.refused:
            return "loaded a file that holds far more than any budget" if outcome == "loaded" else None
        if outcome != "loaded" or shape is None:
            return f"expected a {self.rows} x {self.columns} table, got: {outcome}"
        if self.rows is not None and shape[0] != self.rows:
            return f"expected {self.rows:,} rows, loaded {shape[0]:,}"
        if self.columns is not None and shape[1] != self.columns:
            return f"expected {self.columns:,} columns, loaded {shape[1]:,}"
        return None


REFUSED = Expect(refused=True)


@dataclass(frozen=True)
class Made:
    """What a generator made: the file's name and bytes, a few words on what it is, and what it must give."""

    name: str
    data: bytes
    what: str
    expect: Expect | None = None
    options: dict[str, str] = field(default_factory=dict)  # ReadOptions a user would set (delimiter, encoding)


@dataclass(frozen=True)
class FuzzFile:
    """One file of a run, reproducible from (seed, index)."""

    seed: int
    index: int
    generator: str
    name: str
    data: bytes
    what: str
    expect: Expect | None
    options: dict[str, str]
    mutated: bool = False
    renamed: bool = False


def by_size(nbytes: float, rows: int | None, columns: int | None = None) -> Expect | None:
    """The expectation for an intact file whose table holds about `nbytes` (NaN: no expectation)."""
    if nbytes != nbytes:
        return None
    if nbytes > REFUSED_ABOVE:
        return REFUSED
    if nbytes < LOADS_BELOW:
        if rows == 0 or (columns is not None and columns > MAX_COLUMNS):
            return REFUSED
        return Expect(rows=rows, columns=columns)
    return None


def _np(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(64))


def _pick(rng: random.Random, weighted: dict) -> object:
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


# --- writers --------------------------------------------------------------------------------------------------


def write_parquet(table: pa.Table, rng: random.Random, **forced: object) -> bytes:
    """The table written by pyarrow with writer options drawn at random (codec, dictionary, statistics, page
    version, row group and page sizes), `forced` ones as given."""
    options: dict[str, object] = {
        "compression": rng.choice(PARQUET_CODECS),
        "use_dictionary": rng.random() < 0.7,
        "write_statistics": rng.random() < 0.8,
        "data_page_version": rng.choice(("1.0", "2.0")),
        "store_schema": rng.random() < 0.9,
    }
    if rng.random() < 0.2:  # small row groups, but never more than 2,000 column chunks
        chunks = max(1, 2000 // max(table.num_columns, 1))
        options["row_group_size"] = max(rng.choice((1, 7, 1000, 65536)), -(-table.num_rows // chunks))
    if rng.random() < 0.1 and table.num_rows <= 10**5:
        options["data_page_size"] = rng.choice((64, 4096))
    if rng.random() < 0.1:
        options["write_page_index"] = True
    options.update(forced)
    if options["compression"] in ("brotli", "gzip"):
        options["compression_level"] = 1  # their default levels take seconds for a few MB
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **options)
    return buffer.getvalue()


def write_ipc(
    table: pa.Table, rng: random.Random, *, stream: bool | None = None, compression: str | None = "random", **extra
) -> bytes:
    """The table as an Arrow IPC file or stream (drawn at random where not given), its buffers compressed with
    lz4 or zstd or not at all, in batches of a random size."""
    stream = rng.random() < 0.5 if stream is None else stream
    if compression == "random":
        compression = rng.choice((None, None, "lz4", "zstd"))
    options = pa.ipc.IpcWriteOptions(compression=compression, **extra)
    sink = pa.BufferOutputStream()
    opener = pa.ipc.new_stream if stream else pa.ipc.new_file
    chunk = rng.choice((None, None, 1, 1000, 65536))
    if chunk is not None:  # small batches, but never more than a hundred of them
        chunk = max(chunk, table.num_rows // 100)
    with opener(sink, table.schema, options=options) as writer:
        writer.write_table(table, max_chunksize=chunk)
    return sink.getvalue().to_pybytes()


def ordinary_table(rng: random.Random, rows: int, width: int | None = None) -> tuple[pa.Table, int]:
    """A table of the types real files hold (numbers, text, booleans, times, decimals, binary), and how many
    columns it keeps once loaded (binary columns are left out)."""
    numbers = _np(rng)
    makers: dict[str, Callable[[], pa.Array]] = {
        "int64": lambda: pa.array(numbers.integers(-(10**12), 10**12, rows)),
        "int8": lambda: pa.array(numbers.integers(-128, 127, rows, dtype=np.int8)),
        "uint32": lambda: pa.array(numbers.integers(0, 2**32 - 1, rows, dtype=np.uint32)),
        "float64": lambda: pa.array(numbers.normal(size=rows), mask=numbers.random(rows) < 0.1),
        "float32": lambda: pa.array(numbers.normal(size=rows).astype(np.float32)),
        "string": lambda: pa.array([f"v{i % 97}" * (i % 5) for i in range(rows)]),
        "large_string": lambda: pa.array([f"é{i}" for i in range(rows)], pa.large_string()),
        "bool": lambda: pa.array(numbers.random(rows) < 0.5),
        "timestamp": lambda: pa.array(numbers.integers(0, 2**40, rows), pa.timestamp("ms")),
        "timestamp_tz": lambda: pa.array(numbers.integers(0, 2**40, rows), pa.timestamp("us", "Europe/Paris")),
        "date32": lambda: pa.array(numbers.integers(0, 40_000, rows, dtype=np.int32), pa.date32()),
        "time64": lambda: pa.array(numbers.integers(0, 86_400 * 10**6, rows), pa.time64("us")),
        "decimal": lambda: pa.array(numbers.integers(0, 10**6, rows)).cast(pa.decimal128(22, 2)),
        "float16": lambda: pa.array(numbers.normal(size=rows).astype(np.float16)),
        "dictionary": lambda: pa.array([f"k{i % 7}" for i in range(rows)]).dictionary_encode(),
        "binary": lambda: pa.array([bytes([i % 256]) * (i % 9) for i in range(rows)], pa.binary()),
    }
    width = width or rng.randint(1, 8)
    kinds = [rng.choice(list(makers)) for _ in range(width)]
    if all(kind == "binary" for kind in kinds):
        kinds[0] = "int64"
    table = pa.table({f"{kind}_{i}": makers[kind]() for i, kind in enumerate(kinds)})
    return table, sum(kind != "binary" for kind in kinds)


# --- Parquet --------------------------------------------------------------------------------------------------


def parquet_nulls(rng: random.Random) -> Made:
    """Columns of type null (no buffers at all), from one row to 10^9, beside an ordinary column or not."""
    rows = _pick(rng, {1: 2, 10: 2, 1000: 2, 10**5: 2, 10**6: 2, 10**7: 2, 5 * 10**7: 1, 10**8: 1, 10**9: 0.15})
    columns = _pick(rng, {1: 4, 2: 2, 5: 1, 50: 1, 3000: 0.5 if rows <= 1000 else 0})
    while rows * columns > 2 * 10**8 and rows > 1:
        rows //= 10
    table = pa.table({f"n{i}": pa.nulls(rows) for i in range(columns)})
    if rng.random() < 0.3 and rows <= 10**5:
        table = table.append_column("id", pa.array(np.arange(rows)))
    data = write_parquet(table, rng)
    return Made(
        "nulls.parquet",
        data,
        f"{rows:,} rows x {columns} null columns",
        by_size(8 * rows * table.num_columns, rows, table.num_columns),
    )


def _nested_column(rng: random.Random, deepest: int = 100) -> tuple[pa.Array, str, float, int]:
    """A nested column with huge or deep contents (structs at most `deepest` levels): (array, what, bytes it
    decodes to, columns once flattened)."""
    kind = rng.choice(
        (
            "list_null",
            "list_list_null",
            "list_int",
            "fixed_list_null",
            "deep_struct",
            "wide_struct",
            "map",
            "struct_of_lists",
        )
    )
    rows = rng.choice((1, 2, 10, 1000))
    if kind in ("list_null", "list_list_null", "list_int", "fixed_list_null"):
        values = _pick(rng, {10: 1, 10**4: 2, 10**6: 2, 10**7: 1, 3 * 10**7: 0.5})
        if kind == "list_int":
            values = min(values, 3 * 10**5)
        per_row = max(values // rows, 1)
        values = per_row * rows
        offsets = pa.array(np.arange(rows + 1, dtype=np.int64) * per_row)
        child = pa.array(np.zeros(values, dtype=np.int64)) if kind == "list_int" else pa.nulls(values)
        if kind == "fixed_list_null":
            array = pa.FixedSizeListArray.from_arrays(child, per_row)
        elif rng.random() < 0.5:
            array = pa.LargeListArray.from_arrays(offsets, child)
        else:
            array = pa.ListArray.from_arrays(offsets.cast(pa.int32()), child)
        if kind == "list_list_null":
            array = pa.ListArray.from_arrays(pa.array([0, rows], pa.int32()), array)
            rows = 1
        # what it decodes to: each value written as JSON text ("null, " or "0, ")
        return array, f"{kind}: {rows:,} rows, {values:,} values", 16.0 * values, 1
    if kind == "deep_struct":
        depth = min(rng.choice((1, 2, 8, 9, 30, 64, 100)), deepest)
        array = pa.array(np.arange(rows))
        for _ in range(depth):
            array = pa.StructArray.from_arrays([array], ["f"])
        nbytes = 64.0 * rows if depth < 64 else float("nan")  # past 100 levels, Parquet itself refuses the schema
        return array, f"struct nested {depth} deep, {rows} rows", nbytes, 1
    if kind == "wide_struct":
        fields = rng.choice((2, 100, 3000, 10_001, 12_000))
        rows = min(rows, 10)
        array = pa.StructArray.from_arrays(
            [pa.array(np.zeros(rows, np.int8))] * fields, [f"f{i}" for i in range(fields)]
        )
        return array, f"struct of {fields:,} fields, {rows} rows", 9.0 * rows * fields, fields
    if kind == "map":
        per_row = rng.choice((1, 100, 10_000))
        rows = min(rows, max(1, 3 * 10**5 // per_row))
        keys = pa.array([f"k{i}" for i in range(per_row)] * rows)
        items = pa.ListArray.from_arrays(
            pa.array(np.arange(rows * per_row + 1, dtype=np.int32)), pa.array(np.zeros(rows * per_row, np.int64))
        )
        offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * per_row)
        array = pa.MapArray.from_arrays(offsets, keys, items)
        return array, f"map<string, list<int64>>: {rows} rows x {per_row:,} entries", 40.0 * rows * per_row, 1
    per_row = rng.choice((1, 1000, 100_000))
    lists = pa.ListArray.from_arrays(pa.array(np.arange(rows + 1, dtype=np.int32) * per_row), pa.nulls(rows * per_row))
    array = pa.StructArray.from_arrays([lists, pa.array(np.arange(rows))], ["l", "i"])
    return array, f"struct of a list<null> of {per_row:,} a row and an int, {rows} rows", 16.0 * rows * per_row, 2


def parquet_nested(rng: random.Random) -> Made:
    array, what, nbytes, columns = _nested_column(rng)
    data = write_parquet(pa.table({"nested": array}), rng)
    return Made("nested.parquet", data, what, by_size(nbytes, len(array), columns))


def _dictionary_text(rng: random.Random) -> tuple[pa.Array, int, int, str]:
    """A dictionary array of long text values and many indices: (array, rows, decoded bytes, what)."""
    length = _pick(rng, {1: 1, 100: 2, 1000: 3, 10**4: 2, 10**5: 1, 10**6: 0.5})
    rows = _pick(rng, {10: 2, 1000: 2, 10**4: 2, 10**5: 2, 10**6: 1})
    distinct = min(rng.choice((1, 2, 100)), max(3 * 2**20 // length, 1))
    values = pa.array([(f"{i:03d}" + "x" * length)[:length] for i in range(distinct)])  # unique, or the writer expands
    if len(set(values.to_pylist())) < distinct:
        values = values.slice(0, 1)
        distinct = 1
    indices = pa.array(_np(rng).integers(0, distinct, rows, dtype=np.int32))
    nbytes = rows * (length + 8)
    return pa.DictionaryArray.from_arrays(indices, values), rows, nbytes, f"{rows:,} x text of {length:,} chars"


def parquet_dictionary_text(rng: random.Random) -> Made:
    """Dictionary-encoded text with long values: top level, in a struct or in a list; the Arrow schema stored
    (read back as a dictionary) or not (read back as plain text, expanded), statistics on or off."""
    array, rows, nbytes, what = _dictionary_text(rng)
    where = rng.choice(("top", "top", "struct", "list"))
    per_row = nbytes // max(rows, 1)
    if where != "top" and rows * per_row > 32 * 2**20:  # the writer expands a nested dictionary: keep it small
        rows = 32 * 2**20 // per_row
        array, nbytes = array.slice(0, rows), rows * per_row
    if where == "struct":
        array = pa.StructArray.from_arrays([array, pa.array(np.arange(rows) % 1000)], ["text", "id"])
    elif where == "list":
        array = pa.ListArray.from_arrays(pa.array(np.arange(rows + 1, dtype=np.int32)), array)
    store = rng.random() < 0.5
    columns = 2 if where == "struct" else 1
    data = write_parquet(
        pa.table({"t": array}),
        rng,
        store_schema=store,
        use_dictionary=True,
        row_group_size=None,
        dictionary_pagesize_limit=8 * 2**20,
    )
    expect = None if store and where == "top" else by_size(nbytes, rows, columns)
    if store and where == "top":
        expect = Expect(rows=rows, columns=1) if rows else REFUSED  # read back as a dictionary: small whatever it says
    return Made("dictionary_text.parquet", data, f"{what}, {where}, schema stored: {store}", expect)


def _lie(footer: thrift.Struct, rng: random.Random) -> str:
    """One lie told in a Parquet footer; returns its name."""
    lie = rng.choice(
        (
            "short_stats",
            "no_dictionary",
            "tiny_size",
            "huge_size",
            "num_values",
            "num_rows",
            "type",
            "children",
            "no_arrow_schema",
            "group_bytes",
        )
    )
    chunks = column_metadata(footer)
    if lie == "short_stats":
        for meta in chunks:
            stats = thrift.field(meta, 12)
            stats = stats[2] if stats else []
            for number, value in ((1, b"b"), (2, b"a"), (5, b"b"), (6, b"a")):
                thrift.set_field(stats, number, thrift.BINARY, value)
            thrift.set_field(meta, 12, thrift.STRUCT, stats)
    elif lie == "no_dictionary":
        for meta in chunks:
            encodings = thrift.field(meta, 2)
            encodings[2] = (encodings[2][0], [e for e in encodings[2][1] if e not in (2, 8)] or [0])
    elif lie in ("tiny_size", "huge_size"):
        for meta in chunks:
            thrift.set_field(meta, 6, thrift.I64, 1 if lie == "tiny_size" else rng.choice((2**40, 2**62)))
    elif lie == "num_values":
        for meta in chunks:
            thrift.set_field(meta, 5, thrift.I64, rng.choice((0, -1, 1, 2**31, 2**62)))
    elif lie == "num_rows":
        value = rng.choice((0, -5, 1, 2**31, 2**62))
        thrift.set_field(footer, 3, thrift.I64, value)
        for group in thrift.field(footer, 4)[2][1]:
            thrift.set_field(group, 3, thrift.I64, value)
    elif lie == "type" and chunks:
        meta = rng.choice(chunks)
        thrift.set_field(meta, 1, thrift.I32, rng.choice((0, 1, 2, 3, 4, 5, 6, 7, 99)))
    elif lie == "children":
        schema = thrift.field(footer, 2)[2][1]
        element = rng.choice(schema)
        thrift.set_field(element, 5, thrift.I32, rng.choice((0, 1, 2, 100, 2**31 - 1)))
    elif lie == "no_arrow_schema":
        footer[:] = [entry for entry in footer if entry[0] != 5]
    else:
        for group in thrift.field(footer, 4)[2][1]:
            thrift.set_field(group, 2, thrift.I64, rng.choice((0, 1, 2**62)))
    return lie


def parquet_footer_lies(rng: random.Random) -> Made:
    """A valid file whose footer then lies (patched in its Thrift encoding): statistics shorter than the values,
    the dictionary encoding hidden, sizes and counts tiny or huge, types and schema changed."""
    if rng.random() < 0.6:
        array, rows, _nbytes, what = _dictionary_text(rng)
        table = pa.table({"text": array, "id": pa.array(np.arange(rows) % 1000)})
    else:
        rows = rng.choice((10, 1000, 10**5))
        table, _columns = ordinary_table(rng, rows)
        what = f"ordinary table of {rows:,} rows"
    data = write_parquet(
        table, rng, use_dictionary=True, row_group_size=None, compression="zstd", dictionary_pagesize_limit=8 * 2**20
    )
    footer, start = parquet_footer(data)
    lies = [_lie(footer, rng) for _ in range(rng.choice((1, 1, 2, 3)))]
    return Made("footer_lies.parquet", with_footer(data, footer, start), f"{what}; footer lies: {', '.join(lies)}")


def parquet_codecs(rng: random.Random) -> Made:
    """An ordinary table with each Parquet codec, page version, dictionary and statistics setting."""
    rows = _pick(rng, {0: 0.3, 1: 1, 10: 2, 1000: 3, 10**5: 1})
    table, columns = ordinary_table(rng, rows)
    data = write_parquet(table, rng)
    expect = REFUSED if rows == 0 else Expect(rows=rows, columns=columns)
    return Made("table.parquet", data, f"{rows:,} x {table.num_columns} ordinary columns", expect)


def parquet_wide(rng: random.Random) -> Made:
    """Many columns: just under, at and over the app's 10,000."""
    columns = _pick(rng, {100: 2, 2000: 2, 9_999: 1, 10_000: 1, 10_001: 1, 12_000: 1})
    rows = rng.choice((1, 3))
    table = pa.table({f"c{i}": pa.array(np.full(rows, i % 100, np.int8)) for i in range(columns)})
    data = write_parquet(table, rng, compression="zstd", write_statistics=False)
    return Made("wide.parquet", data, f"{rows} rows x {columns:,} columns", by_size(0, rows, columns))


# --- Arrow IPC ------------------------------------------------------------------------------------------------


def arrow_nulls_nested(rng: random.Random) -> Made:
    """Null and nested columns whose lengths cost nothing on disk (no buffers), up to billions of values."""
    kind = rng.choice(("nulls", "list_null", "large_list_null", "struct_of_nulls", "nested"))
    if kind == "nested":
        array, what, nbytes, columns = _nested_column(rng, deepest=IPC_DEEPEST)
        table = pa.table({"nested": array})
        return Made("nested.arrow", write_ipc(table, rng), what, by_size(nbytes, len(array), columns))
    length = _pick(rng, {1: 1, 1000: 1, 10**6: 2, 5 * 10**7: 0.5, 10**9: 2, 2**31 - 1: 1})
    if kind == "nulls":
        columns = rng.choice((1, 3))
        table = pa.table({f"n{i}": pa.nulls(length) for i in range(columns)})
        return Made(
            "nulls.arrow",
            write_ipc(table, rng),
            f"{length:,} nulls x {columns}",
            by_size(8.0 * length * columns, length, columns),
        )
    if kind == "struct_of_nulls":
        array = pa.StructArray.from_arrays([pa.nulls(length), pa.nulls(length)], ["a", "b"])
        return Made(
            "struct.arrow",
            write_ipc(pa.table({"s": array}), rng),
            f"struct of 2 x {length:,} nulls",
            by_size(16.0 * length, length, 2),
        )
    rows = rng.choice((1, 2, 1000))
    per_row = max(length // rows, 1)
    if kind == "large_list_null" or per_row * rows >= 2**31:
        offsets = pa.array(np.arange(rows + 1, dtype=np.int64) * per_row)
        array = pa.LargeListArray.from_arrays(offsets, pa.nulls(per_row * rows))
    else:
        array = pa.ListArray.from_arrays(
            pa.array(np.arange(rows + 1, dtype=np.int32) * per_row), pa.nulls(per_row * rows)
        )
    return Made(
        "lists.arrow",
        write_ipc(pa.table({"l": array}), rng),
        f"{rows} lists of {per_row:,} nulls",
        by_size(16.0 * per_row * rows, rows, 1),
    )


def arrow_dictionary(rng: random.Random) -> Made:
    """Dictionary batches: long values, any index type, replacement and delta dictionaries in streams, and
    dictionaries inside lists and structs."""
    array, rows, nbytes, what = _dictionary_text(rng)
    index_type = rng.choice((pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint32()))
    array = pa.DictionaryArray.from_arrays(array.indices.cast(index_type), array.dictionary)
    where = rng.choice(("top", "top", "list", "struct"))
    if where == "list":
        array = pa.ListArray.from_arrays(pa.array(np.arange(rows + 1, dtype=np.int32)), array)
        expect = by_size(nbytes, rows, 1)
    elif where == "struct":
        array = pa.StructArray.from_arrays([array], ["text"])
        expect = Expect(rows=rows, columns=1) if rows else REFUSED
    else:
        expect = Expect(rows=rows, columns=1) if rows else REFUSED
    table = pa.table({"d": array})
    if where == "top" and rng.random() < 0.5:  # batches each with its own dictionary: replacements or deltas
        rows = min(rows, 10**5)
        batches = []
        for number in range(rng.choice((2, 5))):
            dictionary = pa.array([f"{number}-{i}-" + "z" * 100 for i in range(3)])
            indices = pa.array(np.zeros(rows, np.int32) + number % 3)
            batches.append(pa.record_batch([pa.DictionaryArray.from_arrays(indices, dictionary)], ["d"]))
        table = pa.Table.from_batches(batches)
        expect = Expect(rows=rows * len(batches), columns=1) if rows else REFUSED
        what = f"{len(batches)} batches of {rows:,} rows, each with its own dictionary"
        deltas = rng.random() < 0.5
        data = write_ipc(table, rng, stream=True, emit_dictionary_deltas=deltas)
        return Made("dictionaries.arrow", data, f"{what}, deltas: {deltas}", expect)
    data = write_ipc(table, rng, compression="zstd" if rows * index_type.bit_width > 2**24 else "random")
    return Made("dictionary.arrow", data, f"{what}, {index_type} indices, {where}", expect)


def _exotic_columns(rng: random.Random, rows: int) -> dict[str, pa.Array]:
    numbers = _np(rng)
    ints = pa.array(numbers.integers(0, 100, rows))
    makers: dict[str, Callable[[], pa.Array]] = {
        "sparse_union": lambda: pa.UnionArray.from_sparse(
            pa.array(numbers.integers(0, 2, rows, dtype=np.int8)), [ints, pa.array([str(i) for i in range(rows)])]
        ),
        "dense_union": lambda: pa.UnionArray.from_dense(
            pa.array(np.zeros(rows, np.int8)), pa.array(np.arange(rows, dtype=np.int32)), [ints]
        ),
        "run_end_encoded": lambda: pa.RunEndEncodedArray.from_arrays(
            pa.array([rows], pa.int32()) if rows else pa.array([], pa.int32()),
            pa.array([7] if rows else [], pa.int64()),
        ),
        "string_view": lambda: pa.array([f"s{i}" for i in range(rows)], pa.string_view()),
        "binary_view": lambda: pa.array([b"b" * (i % 20) for i in range(rows)], pa.binary_view()),
        "list_view": lambda: pa.array([[i, i] for i in range(rows)], pa.list_view(pa.int64())),
        "large_list_view": lambda: pa.array([[i] for i in range(rows)], pa.large_list_view(pa.int32())),
        "uuid": lambda: pa.ExtensionArray.from_storage(pa.uuid(), pa.array([bytes(16)] * rows, pa.binary(16))),
        "json": lambda: pa.ExtensionArray.from_storage(pa.json_(), pa.array(['{"a": 1}'] * rows, pa.string())),
        "bool8": lambda: pa.ExtensionArray.from_storage(pa.bool8(), pa.array(np.ones(rows, np.int8))),
        "tensor": lambda: pa.ExtensionArray.from_storage(
            pa.fixed_shape_tensor(pa.int32(), (2, 2)), pa.array([[1, 2, 3, 4]] * rows, pa.list_(pa.int32(), 4))
        ),
        "duration": lambda: pa.array(numbers.integers(0, 10**9, rows), pa.duration("ns")),
        "interval": lambda: pa.array(
            [pa.scalar((1, 2, 3), pa.month_day_nano_interval()).as_py()] * rows, pa.month_day_nano_interval()
        ),
        "decimal256": lambda: pa.array([decimal.Decimal(i) for i in range(rows)], pa.decimal256(60, 0)),
        "decimal32": lambda: pa.array([decimal.Decimal(i) for i in range(rows)], pa.decimal32(9, 2)),
        "float16": lambda: pa.array(numbers.normal(size=rows).astype(np.float16)),
        "time32": lambda: pa.array(np.zeros(rows, np.int32), pa.time32("s")),
        "date64": lambda: pa.array(np.zeros(rows, np.int64), pa.date64()),
        "timestamp_tz": lambda: pa.array(np.zeros(rows, np.int64), pa.timestamp("ns", "+05:30")),
        "timestamp_s": lambda: pa.array(numbers.integers(-(2**50), 2**50, rows), pa.timestamp("s")),
        "large_binary": lambda: pa.array([b"x"] * rows, pa.large_binary()),
        "fixed_binary": lambda: pa.array([b"abcd"] * rows, pa.binary(4)),
        "dictionary_of_lists": lambda: pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(rows, np.int32)), pa.array([[1, 2]])
        ),
        "map_of_structs": lambda: pa.array(
            [[("k", {"x": i})] for i in range(rows)], pa.map_(pa.string(), pa.struct([("x", pa.int64())]))
        ),
        "null_struct": lambda: pa.array([None] * rows, pa.struct([("a", pa.null())])),
        "empty_struct": lambda: pa.array([{}] * rows, pa.struct([])),
        "uint64_big": lambda: pa.array([2**64 - 1] * rows, pa.uint64()),
        "nan_inf": lambda: pa.array([float("nan"), float("inf"), -float("inf")] * (rows // 3) + [0.0] * (rows % 3)),
    }
    chosen = rng.sample(list(makers), rng.choice((1, 1, 2, 4)))
    return {name: makers[name]() for name in chosen}


def arrow_exotic(rng: random.Random) -> Made:
    """Types an engine may not hold: unions, run-end encoding, views, extension types, durations, intervals,
    wide decimals, times; in Arrow IPC, or in Parquet where it can hold them."""
    rows = rng.choice((0, 1, 3, 100, 10_000))
    columns = _exotic_columns(rng, rows)
    expect = REFUSED if rows == 0 else None  # which exotic columns an engine keeps is for the app to decide
    if rng.random() < 0.3:
        columns["id"] = pa.array(np.arange(rows))
        expect = REFUSED if rows == 0 else Expect(rows=rows)
    table = pa.table(columns)
    what = f"{rows:,} rows of {', '.join(columns)}"
    if rng.random() < 0.3:
        try:
            return Made("exotic.parquet", write_parquet(table, rng), what, expect)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # Parquet cannot hold one of the types: Arrow IPC can
    return Made("exotic.arrow", write_ipc(table, rng), what, expect)


def arrow_declared_sizes(rng: random.Random) -> Made:
    """An IPC file whose declared sizes lie: a buffer's length in the metadata, or a compressed buffer's
    decompressed length (the 8 bytes before it), or the batch's row count, patched to huge, tiny or negative."""
    rows = rng.choice((1001, 65_537, 123_457))
    compression = rng.choice((None, "lz4", "zstd"))
    table = pa.table({"x": pa.array(np.arange(rows, dtype=np.int64)), "s": pa.array([str(i) for i in range(rows)])})
    data = bytearray(write_ipc(table, rng, compression=compression))
    target = rng.choice(("buffer", "rows"))
    old = struct.pack("<q", 8 * rows if target == "buffer" else rows)
    new_value = rng.choice((0, 1, -1, -(2**40), 2**31, 2**40, 2**62))
    found = 0
    at = data.find(old)
    while at >= 0:
        if rng.random() < 0.7:
            data[at : at + 8] = struct.pack("<q", new_value)
            found += 1
        at = data.find(old, at + 8)
    what = f"{rows:,} rows, {compression or 'uncompressed'}: {found} {target} size(s) patched to {new_value:,}"
    return Made("declared.arrow", bytes(data), what)


# --- Excel ----------------------------------------------------------------------------------------------------

SPACES = (" ", " ", "  ", "\t", "\n", "\r\n", " \t\n ")


def _cell(rng: random.Random, reference: str | None, kind: str, value: object) -> str:
    """A cell element with whitespace of any kind between its attributes, in any order."""
    attributes = []
    if reference is not None:
        attributes.append(f'r="{reference}"')
    if kind != "n":
        attributes.append(f't="{kind}"')
    if rng.random() < 0.1:
        attributes.append('s="0"')
    rng.shuffle(attributes)
    opening = "<c" + "".join(rng.choice(SPACES) + attribute for attribute in attributes) + rng.choice(("", "", "\n"))
    if kind == "inlineStr":
        return f"{opening}><is><t>{value}</t></is></c>"
    if kind == "str":
        return f"{opening}><f>1+1</f><v>{value}</v></c>"
    return f"{opening}><v>{value}</v></c>"


def xlsx_cells(rng: random.Random) -> Made:
    """A hand-written sheet: any whitespace in `<c` tags, attributes in any order, inline and shared strings,
    booleans, errors, formulas, with or without cell references."""
    rows = rng.choice((1, 5, 100, 2000))
    columns = rng.choice((1, 3, 20))
    with_refs = rng.random() < 0.5
    kinds = [rng.choice(("n", "n", "inlineStr", "s", "b", "str", "e")) for _ in range(columns)]
    strings = [f"text {i}" for i in range(50)]
    lines = []
    header = "".join(
        _cell(rng, f"{column_letters(c + 1)}1" if with_refs else None, "inlineStr", f"col{c}") for c in range(columns)
    )
    lines.append(f'<row r="1">{header}</row>' if with_refs else f"<row>{header}</row>")
    for r in range(2, rows + 2):
        cells = []
        for c, kind in enumerate(kinds):
            value = {"n": r * 1.5, "inlineStr": f"v{r}", "s": r % 50, "b": r % 2, "str": "2", "e": "#N/A"}[kind]
            cells.append(_cell(rng, f"{column_letters(c + 1)}{r}" if with_refs else None, kind, value))
        lines.append((f'<row r="{r}">' if with_refs else "<row>") + "".join(cells) + "</row>")
    sheet = worksheet(rng.choice(("", "\n")).join(lines))
    package = xlsx_package([sheet], shared_strings(strings))
    what = f"{rows:,} x {columns} cells ({', '.join(sorted(set(kinds)))}), references: {with_refs}"
    return Made("cells.xlsx", zip_members(package), what, Expect(rows=rows, columns=columns))


def xlsx_sparse(rng: random.Random) -> Made:
    """Few cells that span a huge range: one far row, one far column, a huge dimension, many empty rows, a huge
    merged range."""
    kind = _pick(rng, {"far_row": 2, "far_column": 2, "far_both": 1, "dimension": 2, "empty_rows": 2, "merged": 1})
    far_row = _pick(rng, {100: 3, 10_000: 2, 200_000: 1, 1_048_576: 1})
    far_column = _pick(rng, {30: 2, 702: 2, 16_384: 1})
    header = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="inlineStr"><is><t>b</t></is></c></row>'
    )
    first = '<row r="2"><c r="A2"><v>1</v></c><c r="B2"><v>2</v></c></row>'
    before = after = rest = ""
    rows, columns = 1, 2
    if kind in ("far_row", "far_both"):
        letters = column_letters(far_column) if kind == "far_both" else "A"
        rest = f'<row r="{far_row}"><c r="{letters}{far_row}"><v>3</v></c></row>'
        rows, columns = far_row - 1, far_column if kind == "far_both" else 2
    elif kind == "far_column":
        rest = f'<row r="3"><c r="{column_letters(far_column)}3"><v>3</v></c></row>'
        rows, columns = 2, far_column
    elif kind == "dimension":
        before = f'<dimension ref="A1:{column_letters(far_column)}{far_row}"/>'
    elif kind == "empty_rows":
        count = min(far_row, 100_000)
        rest = "".join(f'<row r="{r}"/>' for r in range(3, count + 3))
    else:
        after = f'<mergeCells count="1"><mergeCell ref="A2:{column_letters(far_column)}{far_row}"/></mergeCells>'
        rows, columns = far_row - 1, far_column
    sheet = worksheet(header + first + rest, before, after)
    cells = rows * max(columns, 1)
    expect = by_size(cells * 100.0, rows, columns) if kind not in ("dimension", "empty_rows") else None
    if kind == "dimension":
        expect = Expect(rows=1, columns=2)
    what = f"{kind}: row {far_row:,}, column {far_column:,} ({column_letters(far_column)})"
    return Made("sparse.xlsx", zip_members(xlsx_package([sheet])), what, expect)


def xlsx_shared_strings(rng: random.Random) -> Made:
    """Shared strings: one long string referenced by many cells, very many strings, or a shared strings part whose
    declared size in the zip lies."""
    kind = rng.choice(("long_repeated", "many_strings", "lying_size"))
    length = rng.choice((10, 1000, 10**5, 10**6))
    cells = rng.choice((10, 1000, 20_000))
    if kind == "many_strings":
        strings = [f"s{i}" for i in range(_pick(rng, {1000: 3, 30_000: 2, 300_000: 0.3}))]
        references = [i % len(strings) for i in range(cells)]
    else:
        strings = ["x" * length]
        references = [0] * cells
    rows = "".join(f'<row r="{r + 2}"><c r="A{r + 2}" t="s"><v>{ref}</v></c></row>' for r, ref in enumerate(references))
    sheet = worksheet('<row r="1"><c r="A1" t="inlineStr"><is><t>h</t></is></c></row>' + rows)
    data = zip_members(xlsx_package([sheet], shared_strings(strings)))
    if kind == "lying_size":
        data = patch_zip_sizes(data, "xl/sharedStrings.xml", rng.choice((1, 100, 2**32 - 1)))
    text = sum(len(strings[ref]) for ref in references)
    expect = by_size(float(text), cells, 1) if kind != "lying_size" else None
    what = f"{kind}: {len(strings):,} strings of up to {max(map(len, strings)):,} chars, {cells:,} cells"
    return Made("shared.xlsx", data, what, expect)


def xlsx_openpyxl(rng: random.Random) -> Made:
    """A workbook written by openpyxl: several sheets, merged cells, dates, formulas, number formats."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    rows = rng.choice((1, 10, 500))
    columns = rng.choice((1, 4))
    sheet.append([f"h{c}" for c in range(columns)])
    for r in range(rows):
        row: list[object] = [r, r / 3, f"t{r}", datetime.datetime(2020, 1, 1) + datetime.timedelta(days=r)][:columns]
        sheet.append(row)
    if rng.random() < 0.3 and columns > 1 and rows > 2:
        sheet.merge_cells(start_row=2, start_column=1, end_row=3, end_column=1)
    if rng.random() < 0.3 and columns > 1 and rows:
        sheet["A2"] = "=1+1"  # no cached value: read as empty
    for number in range(rng.choice((0, 0, 2))):
        workbook.create_sheet(f"extra{number}").append(["x", 1])
    buffer = io.BytesIO()
    workbook.save(buffer)
    core = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><cp:coreProperties '
        b'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"/>'
    )
    data = rezipped(buffer.getvalue(), {"docProps/core.xml": core})
    return Made("book.xlsx", data, f"openpyxl, {rows} x {columns}", Expect(rows=rows, columns=columns))


# --- CSV ------------------------------------------------------------------------------------------------------


def _csv_rows(rng: random.Random, rows: int, columns: int, delimiter: str = ",") -> bytes:
    numbers = _np(rng).integers(0, 1000, (rows, columns))
    lines = [delimiter.join(f"c{c}" for c in range(columns))]
    lines += [delimiter.join(map(str, row)) for row in numbers.tolist()]
    return ("\n".join(lines) + "\n").encode()


def csv_wide(rng: random.Random) -> Made:
    """Header widths up to 30,000 columns, rows as wide or wider."""
    columns = rng.choice((1, 100, 2000, 9_999, 10_000, 10_001, 30_000))
    rows = rng.choice((0, 1, 5, 50))
    data = _csv_rows(rng, rows, columns)
    expect = by_size(8.0 * rows * columns, rows, columns)
    if rng.random() < 0.2 and rows:
        data += b",".join([b"9"] * (columns + rng.choice((1, 1000)))) + b"\n"
        expect = REFUSED
    return Made("wide.csv", data, f"{rows} rows x {columns:,} columns", expect)


def csv_long_lines(rng: random.Random) -> Made:
    """Lines from 1 MB to 40 MB (compressed, so the file stays small), quoted or not, first or later; CR-only line
    ends; no line break at all."""
    length = rng.choice((2**20, 15 * 2**20, 17 * 2**20, 40 * 2**20))
    where = rng.choice(("first", "later", "quoted", "no_break", "cr_only"))
    before, after = {
        "first": (b"a", b",b\n1,2\n"),
        "later": (b"a,b\n1,2\n", b",3\n"),
        "quoted": (b'a,b\n1,"', b'"\n'),
        "no_break": (b"", b""),
        "cr_only": (b"a,b\r1,2\r3,", b"\r"),
    }[where]
    megabyte = b"x" * 2**20
    if length <= 2**20 and rng.random() < 0.5:
        return Made("long.csv", before + megabyte + after, f"a {length:,}-byte line ({where})")
    codec = rng.choice(("gzip", "zstd", "xz", "bz2"))
    data = compress(before, codec) + compress(megabyte, codec, repeat=length // 2**20) + compress(after, codec)
    return Made(f"long.csv{EXTENSION[codec]}", data, f"a {length:,}-byte line ({where}), {codec}")


def csv_quotes(rng: random.Random) -> Made:
    """Quoting of every kind: delimiters, quotes and line breaks inside values, a quote left open, quotes in the
    header, a byte-order mark, mixed line ends, trailing delimiters, blank lines."""
    rows = rng.choice((3, 100, 5000))
    features = rng.sample(
        ("embedded", "unclosed", "header_quotes", "bom", "mixed_ends", "trailing", "blank", "spaces", "escaped"),
        rng.choice((1, 2, 3)),
    )
    header = '"a,1","b""2",c' if "header_quotes" in features else "a,b,c"
    lines = [header]
    for r in range(rows):
        first = f'"line\nbreak {r}"' if "embedded" in features else str(r)
        second = f'"say ""hi"" {r}"' if "escaped" in features else f"{r / 7:.3f}"
        third = f'"{r},{r}"' if "embedded" in features else f"t{r}"
        if "spaces" in features:
            first = f"  {first}  "
        lines.append(",".join((first, second, third)) + ("," if "trailing" in features else ""))
    if "unclosed" in features:
        at = rng.randrange(1, len(lines))
        lines[at] = '"' + lines[at]
    ends = ("\n", "\r\n", "\r")
    text = "".join(line + (rng.choice(ends) if "mixed_ends" in features else "\n") for line in lines)
    if "blank" in features:
        text = text.replace("\n", "\n\n", 3)
    data = ("\ufeff" if "bom" in features else "").encode() + text.encode()
    simple = not set(features) & {"unclosed", "trailing", "mixed_ends", "spaces", "blank"}
    return Made("quotes.csv", data, ", ".join(features), Expect(rows=rows, columns=3) if simple else None)


def csv_encodings(rng: random.Random) -> Made:
    """Text in UTF-8 (with or without a BOM), UTF-16 (with or without a BOM), latin-1, cp1252, shift_jis and
    gb18030; read with the encoding a user chose (right or wrong) or the default; any delimiter."""
    encoding = rng.choice(("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252", "shift_jis", "gb18030"))
    delimiter = rng.choice((",", ";", "\t", "|"))
    sample = {"latin-1": "café", "cp1252": "€uro", "shift_jis": "日本", "gb18030": "中文"}.get(encoding, "naïve ☃")
    rows = rng.choice((2, 50, 3000))
    lines = [delimiter.join(("id", "name", "value"))]
    lines += [delimiter.join((str(r), f"{sample}{r}", f"{r}.5")) for r in range(rows)]
    data = ("\n".join(lines) + "\n").encode(encoding)
    chosen = rng.choice(("default", "right", "wrong"))
    options: dict[str, str] = {}
    if chosen == "right":
        options["encoding"] = {"utf-16-le": "utf-16"}.get(encoding, encoding)
    elif chosen == "wrong":
        options["encoding"] = rng.choice(("latin-1", "utf-16", "shift_jis", "utf-8"))
    if rng.random() < 0.3:
        options["delimiter"] = rng.choice((delimiter, delimiter, ","))
    right_delimiter = options.get("delimiter", delimiter) == delimiter
    readable_default = encoding in ("utf-8", "utf-8-sig", "utf-16")
    fine = (chosen == "right" and encoding != "utf-16-le") or (chosen == "default" and readable_default)
    expect = Expect(rows=rows, columns=3) if fine and right_delimiter else None
    return Made("text.csv", data, f"{encoding}, {delimiter!r}-separated, encoding {chosen}", expect, options)


def csv_many_values(rng: random.Random) -> Made:
    """Many small values: millions of tiny cells or empty fields, plain or as compressed members repeated (up to
    gigabytes once decompressed)."""
    columns = rng.choice((1, 10, 200))
    empty = rng.random() < 0.4
    block_rows = max(1, 200_000 // columns)
    line = ("," * (columns - 1) if empty else ",".join(["1"] * columns)) + "\n"
    header = ",".join(f"c{c}" for c in range(columns)) + "\n"
    block = (line * block_rows).encode()
    repeat = _pick(rng, {1: 3, 10: 2, 100: 1, 2000: 0.3})
    if repeat == 1 and rng.random() < 0.5:
        data, name = header.encode() + block, "values.csv"
    else:
        codec = rng.choice(("gzip", "zstd", "bz2", "xz"))
        member = compress(block, codec)
        repeat = min(repeat, 4 * 2**20 // len(member))
        data = compress(header.encode(), codec) + member * repeat
        name = f"values.csv{EXTENSION[codec]}"
    rows = block_rows * repeat
    decoded = 8.0 * rows * columns
    what = f"{rows:,} rows x {columns} {'empty' if empty else 'one-digit'} fields"
    expect = REFUSED if empty and columns == 1 else by_size(decoded, rows, columns)  # blank lines: no rows
    return Made(name, data, what, expect)


# --- JSON lines -----------------------------------------------------------------------------------------------


def jsonl_nesting(rng: random.Random) -> Made:
    """Nesting below, at and above the 100-level limit, on the first line or later, objects or arrays."""
    depth = rng.choice((1, 5, 50, 99, 100, 101, 150, 1000, 20_000))
    arrays = rng.random() < 0.5
    inner = "1"
    for level in range(depth - 1):  # the line's own object is the first level
        inner = f"[{inner}]" if arrays else f'{{"k{level % 3}": {inner}}}'
    deep = f'{{"a": 1, "n": {inner}}}' if depth > 1 else '{"a": 1, "n": 1}'
    rows = rng.choice((1, 10, 1000))
    shallow = '{"a": 2, "n": null}'
    lines = [shallow] * rows
    lines.insert(rng.choice((0, rows)), deep)
    data = ("\n".join(lines) + "\n").encode()
    expect = REFUSED if depth > 100 else None
    return Made("nested.jsonl", data, f"{'arrays' if arrays else 'objects'} nested {depth:,} deep", expect)


def jsonl_values(rng: random.Random) -> Made:
    """JSON lines variants: many keys, long strings, long arrays of small values, types that change, only nulls,
    escapes and surrogates, bytes that are not UTF-8, huge numbers, duplicate keys, blank lines."""
    kind = rng.choice(
        (
            "many_keys",
            "long_string",
            "long_array",
            "type_change",
            "nulls",
            "escapes",
            "bad_utf8",
            "huge_numbers",
            "duplicate_keys",
            "blank_lines",
        )
    )
    rows = rng.choice((1, 10, 1000))
    expect: Expect | None = None
    if kind == "many_keys":
        keys = rng.choice((10, 5000, 10_001, 20_000))
        line = json.dumps({f"k{i}": i for i in range(keys)})
        rows = min(rows, 10)
        lines = [line] * rows
        expect = by_size(8.0 * rows * keys, rows, keys)
    elif kind == "long_string":
        length = rng.choice((10**3, 10**6, 3 * 10**6))
        rows = min(rows, max(1, 4 * 10**6 // length))
        lines = [json.dumps({"s": "y" * length, "i": r}) for r in range(rows)]
        expect = Expect(rows=rows, columns=2)
    elif kind == "long_array":
        length = rng.choice((10, 10**4, 10**6))
        rows = min(rows, max(1, 2 * 10**6 // length))
        lines = ['{"a": [' + ",".join(["0"] * length) + "]}"] * rows
        expect = Expect(rows=rows, columns=1)
    elif kind == "type_change":
        lines = [json.dumps({"x": r}) for r in range(rows)] + [json.dumps({"x": "text"})]
    elif kind == "nulls":
        lines = ['{"a": null, "b": null}'] * rows
        expect = Expect(rows=rows, columns=2)
    elif kind == "escapes":
        lines = [json.dumps({"s": "\\u0000 😀 \n \t é", "r": r}, ensure_ascii=rng.random() < 0.5) for r in range(rows)]
        lines.append('{"s": "\\ud800 lone surrogate", "r": -1}')
    elif kind == "bad_utf8":
        lines = [json.dumps({"s": f"ok{r}"}) for r in range(rows)]
        lines.insert(rng.randrange(len(lines) + 1), '{"s": "\xff\xfe"}'.encode("latin-1").decode("latin-1"))
        data = ("\n".join(lines) + "\n").encode("latin-1")
        return Made("values.jsonl", data, f"{kind}, {rows} rows")
    elif kind == "huge_numbers":
        lines = [f'{{"n": {rng.choice(("1e400", "-1e400", str(2**70), "1" * 500, "0.1e-400"))}}}' for _ in range(rows)]
    elif kind == "duplicate_keys":
        lines = ['{"a": 1, "a": "two", "a": [3]}'] * rows
    else:
        lines = [json.dumps({"a": r}) if r % 2 else "" for r in range(rows)] + [json.dumps({"a": -1})]
    data = ("\n".join(lines) + "\n").encode()
    return Made("values.jsonl", data, f"{kind}, {rows} rows", expect)


# --- compression and declared sizes ---------------------------------------------------------------------------


def compressed_text(rng: random.Random) -> Made:
    """CSV or JSON lines through every codec the app reads and some it does not; zips of several members or with
    folders, stored or deflated or bzip2 or lzma; one codec inside another; names that disagree; bombs."""
    jsonl = rng.random() < 0.3
    rows = rng.choice((5, 1000, 50_000))
    text = (
        "".join(json.dumps({"a": r, "b": f"t{r}"}) + "\n" for r in range(rows)).encode()
        if jsonl
        else _csv_rows(rng, rows, 3)
    )
    extension = ".jsonl" if jsonl else ".csv"
    kind = rng.choice(
        ("plain", "plain", "foreign", "zip_many", "zip_folder", "zip_method", "nested", "misnamed", "bomb", "empty")
    )
    codec = rng.choice(CODECS)
    expect: Expect | None = Expect(rows=rows, columns=2 if jsonl else 3)
    if kind == "foreign":
        codec = rng.choice(FOREIGN_CODECS)
        data, expect = compress(text, codec), REFUSED
    elif kind == "zip_many":
        members = {f"part{i}{extension}": text for i in range(rng.choice((2, 3, 50 if rows <= 1000 else 4)))}
        data, codec, expect = zip_members(members), "zip", REFUSED
    elif kind == "zip_folder":
        data, codec = zip_members({f"folder/table{extension}": text}, directories=("folder/", "empty/")), "zip"
    elif kind == "zip_method":
        method = rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA))
        data, codec = zip_members({f"table{extension}": text}, method), "zip"
    elif kind == "nested":
        inner = rng.choice(CODECS)
        data, expect = compress(compress(text, inner, member=f"t{extension}"), codec), REFUSED
        codec = f"{inner} in {codec}"
    elif kind == "misnamed":
        data = compress(text, codec, member=f"t{extension}")
        extension += rng.choice((".gz", ".bz2", ".zip", ".xz", ".zst", ""))
        return Made(f"table{extension}", data, f"{rows:,} rows, {codec}, named {extension}")
    elif kind == "bomb":  # one small member repeated: up to about 10 GB once decompressed
        codec = _pick(rng, {"gzip": 2, "zstd": 2, "bz2": 1, "xz": 1})
        body = (b'{"a": 1, "b": "t"}\n' if jsonl else b"1,2,3\n") * 100_000
        member = compress(body, codec)
        repeat = min(_pick(rng, {10: 4, 300: 2, 2000: 1, 20_000: 0.3}), 4 * 2**20 // len(member))
        data = compress(text, codec) + member * repeat
        rows += 100_000 * repeat
        expect = by_size(rows * (18.0 if jsonl else 24.0), rows, 2 if jsonl else 3)
        return Made(
            f"bomb{extension}{EXTENSION[codec]}",
            data,
            f"{len(text) + len(body) * repeat:,} bytes once decompressed, {codec}",
            expect,
        )
    elif kind == "empty":
        data, expect = compress(b"", codec, member=f"t{extension}"), REFUSED
    else:
        data = compress(text, codec, member=f"t{extension}")
    if codec == "zip" and kind not in ("zip_many",):
        extension += ".zip"
    elif codec in EXTENSION:
        extension += EXTENSION[codec]
    return Made(f"table{extension}", data, f"{rows:,} rows, {kind}, {codec}", expect)


def compressed_binary(rng: random.Random) -> Made:
    """Parquet, Arrow IPC and xlsx inside gzip, bz2, xz, zstd or zip (an xlsx is itself a zip)."""
    rows = rng.choice((1, 100, 10_000))
    kind = rng.choice(("parquet", "arrow", "xlsx"))
    table, columns = ordinary_table(rng, rows)
    if kind == "parquet":
        inner, extension = write_parquet(table, rng), ".parquet"
    elif kind == "arrow":
        inner, extension = write_ipc(table, rng), ".arrow"
    else:
        made = xlsx_openpyxl(rng)
        inner, extension, rows, columns = made.data, ".xlsx", made.expect.rows, made.expect.columns
    codec = rng.choice(CODECS)
    data = compress(inner, codec, member=f"t{extension}")
    name = f"table{extension}{EXTENSION[codec]}"
    return Made(name, data, f"{kind} of {rows:,} rows in {codec}", Expect(rows=rows, columns=columns))


def declared_sizes(rng: random.Random) -> Made:
    """Sizes declared in containers that lie: gzip's length trailer, a zip member's sizes, a Parquet footer's
    length, an Arrow file footer's length, all set to tiny, huge or negative values."""
    kind = rng.choice(("gzip_trailer", "zip_size", "parquet_footer_length", "arrow_footer_length"))
    rows = rng.choice((10, 1000, 30_000))
    value = rng.choice((0, 1, 7, 2**31 - 1, 2**32 - 1))
    if kind == "gzip_trailer":
        data = bytearray(compress(_csv_rows(rng, rows, 3), "gzip"))
        struct.pack_into("<I", data, len(data) - 4, value)
        return Made("table.csv.gz", bytes(data), f"{rows:,} rows, gzip trailer size {value:,}")
    if kind == "zip_size":
        data = patch_zip_sizes(compress(_csv_rows(rng, rows, 3), "zip", member="t.csv"), "t.csv", value)
        return Made("table.csv.zip", data, f"{rows:,} rows, zip member size {value:,}")
    table, _columns = ordinary_table(rng, rows)
    if kind == "parquet_footer_length":
        data = bytearray(write_parquet(table, rng))
        struct.pack_into("<I", data, len(data) - 8, value)
        return Made("table.parquet", bytes(data), f"{rows:,} rows, footer length {value:,}")
    data = bytearray(write_ipc(table, rng, stream=False))
    struct.pack_into("<i", data, len(data) - 10, value if value < 2**31 else -1)
    return Made("table.arrow", bytes(data), f"{rows:,} rows, Arrow footer length {value:,}")


GENERATORS: dict[str, Callable[[random.Random], Made]] = {
    "parquet_nulls": parquet_nulls,
    "parquet_nested": parquet_nested,
    "parquet_dictionary_text": parquet_dictionary_text,
    "parquet_footer_lies": parquet_footer_lies,
    "parquet_codecs": parquet_codecs,
    "parquet_wide": parquet_wide,
    "arrow_nulls_nested": arrow_nulls_nested,
    "arrow_dictionary": arrow_dictionary,
    "arrow_exotic": arrow_exotic,
    "arrow_declared_sizes": arrow_declared_sizes,
    "xlsx_cells": xlsx_cells,
    "xlsx_sparse": xlsx_sparse,
    "xlsx_shared_strings": xlsx_shared_strings,
    "xlsx_openpyxl": xlsx_openpyxl,
    "csv_wide": csv_wide,
    "csv_long_lines": csv_long_lines,
    "csv_quotes": csv_quotes,
    "csv_encodings": csv_encodings,
    "csv_many_values": csv_many_values,
    "jsonl_nesting": jsonl_nesting,
    "jsonl_values": jsonl_values,
    "compressed_text": compressed_text,
    "compressed_binary": compressed_binary,
    "declared_sizes": declared_sizes,
}
NAMES = list(GENERATORS)


def _renamed(name: str, rng: random.Random) -> tuple[str, bool]:
    """Another name for the file, and whether it still says what the file is (so the expectation holds)."""
    stem, _dot, extension = name.partition(".")
    kind = rng.choice(("upper", "long", "unicode", "wrong", "none", "double"))
    if kind == "upper":
        return f"{stem}.{extension.upper()}", True
    if kind == "long":
        return f"{stem * 40}"[:200] + f".{extension}", False  # the app takes dataset names of 80 characters
    if kind == "unicode":
        return f"données ☃ 表 {stem}.{extension}", True
    if kind == "wrong":
        return f"{stem}.{rng.choice(('csv', 'parquet', 'arrow', 'jsonl', 'xlsx', 'txt', 'json', 'gz'))}", False
    if kind == "none":
        return stem, False
    return f"{stem}.{rng.choice(('csv', 'parquet', 'xlsx'))}.{extension}", False


def make_file(seed: int, index: int, generator: str | None = None) -> FuzzFile:
    """File `index` of the run seeded `seed`: the same bytes every time."""
    rng = random.Random(f"{seed}:{index}")
    generator = generator or NAMES[index % len(NAMES)]
    made = GENERATORS[generator](rng)
    file = FuzzFile(seed, index, generator, made.name, made.data, made.what, made.expect, made.options)
    if rng.random() < MUTATED_SHARE:
        file = replace(file, data=mutate(file.data, rng), mutated=True, expect=None)
    if rng.random() < RENAMED_SHARE:
        name, same = _renamed(file.name, rng)
        file = replace(file, name=name, renamed=True, expect=file.expect if same else None)
    return file
