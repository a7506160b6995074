"""The one Arrow → pandas / cuDF / kind table: the CPU engine follows it, and every column of the bad-input corpus,
of the test formats and of the generated tables has the same kind on both engines through it."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipeline.data.io import Source, prepare
from pipeline.tables.column_kinds import BOOLEAN, TEXT, column_kind
from pipeline.tables.column_types import plain_type
from pipeline.tables.formats import FileFormat
from pipeline.tables.synthetic import GENERATORS, SyntheticSpec, generate
from pipeline.tables.type_map import TYPE_TABLE, device_dtypes, kind_of, type_row
from tests.support import files
from tests.support.corpus import SMALL_CASES

LOADING = [case for case in SMALL_CASES if case.outcome == "loads"]


def sample(arrow: pa.DataType, with_nulls: bool) -> pa.ChunkedArray:
    """Three values of a type (one of them missing when asked), made by casting small integers or text."""
    if pa.types.is_dictionary(arrow):
        return pa.chunked_array([pa.array(["a", None if with_nulls else "b", "a"]).dictionary_encode()])
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
        values = pa.array(["a", None if with_nulls else "b", "c"], arrow)
    elif pa.types.is_boolean(arrow):
        values = pa.array([True, None if with_nulls else False, False])
    else:
        values = pa.array([1, None if with_nulls else 2, 3], pa.int64()).cast(arrow)
    return pa.chunked_array([values])


def gpu_kind(arrow: pa.DataType) -> str:
    """The kind of the cuDF dtype the table gives (dtype written as text, as pandas reads it)."""
    return column_kind(pa_dtype(type_row(arrow).gpu))


def pa_dtype(text: str):
    import pandas as pd

    return pd.api.types.pandas_dtype(text)


@pytest.mark.parametrize("row", TYPE_TABLE, ids=[str(row.arrow) for row in TYPE_TABLE])
@pytest.mark.parametrize("with_nulls", [False, True], ids=["full", "gaps"])
def test_the_cpu_engine_gives_each_type_the_tables_dtype_and_kind(cpu, row, with_nulls):
    frame = cpu.from_arrow(pa.table({"c": sample(row.arrow, with_nulls)}))
    assert str(frame["c"].dtype) == (row.cpu_with_nulls if with_nulls else row.cpu)
    assert column_kind(frame["c"].dtype) == row.kind == gpu_kind(row.arrow)


def test_a_boolean_column_with_gaps_is_boolean_on_the_cpu(cpu, tmp_path):
    source = Source.from_bytes("flags.csv", b"x,flag\n1,True\n2,\n3,False\n4,True\n")
    frame = cpu.from_arrow(prepare(source).table)
    assert column_kind(frame["flag"].dtype) == BOOLEAN
    assert frame["flag"].isna().tolist() == [False, True, False, False]
    assert frame["flag"].sum() == 2


def check_same_kinds(table: pa.Table, cpu) -> None:
    frame = cpu.from_arrow(table)
    for position, field in enumerate(table.schema):
        on_cpu = column_kind(frame.iloc[:, position].dtype)
        assert on_cpu == kind_of(field.type) == gpu_kind(field.type), (field.name, field.type, on_cpu)


@pytest.mark.parametrize("case", LOADING, ids=[case.id for case in LOADING])
def test_every_loading_corpus_file_has_the_same_kinds_on_both_engines(case, cpu):
    prepared = prepare(Source.from_path(case.path), case.options)
    check_same_kinds(prepared.table, cpu)
    text = prepared.format in (FileFormat.CSV, FileFormat.JSONL) and prepared.readable_natively
    dtypes = device_dtypes(prepared.table.schema) if text else None
    if dtypes is not None:  # the device reader would be told these types: they are the host table's kinds
        assert [column_kind(pa_dtype(d)) for d in dtypes] == [kind_of(f.type) for f in prepared.table.schema]


@pytest.mark.parametrize("name", list(files.EVERY_FORMAT))
def test_every_format_has_the_same_kinds_on_both_engines(name, cpu):
    check_same_kinds(prepare(Source.from_bytes(name, files.EVERY_FORMAT[name])).table, cpu)


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_every_generated_table_has_the_same_kinds_on_both_engines(kind, cpu):
    for frame in generate(SyntheticSpec(kind=kind, rows=1_000, na_percent=5), cpu).values():
        check_same_kinds(pa.Table.from_pandas(frame, preserve_index=False), cpu)


def test_text_gets_the_device_types_of_its_plain_columns():
    schema = pa.schema([("d", pa.date32()), ("t", pa.time32("s")), ("n", pa.null()), ("s", pa.string())])
    assert device_dtypes(schema) == ["datetime64[s]", "str", "float64", "str"]
    assert plain_type(pa.list_(pa.int64())) is None
    assert device_dtypes(pa.schema([("when", pa.timestamp("s", "UTC"))])) is None  # parsed on the host
    assert kind_of(pa.dictionary(pa.int8(), pa.string())) == TEXT
