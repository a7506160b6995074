"""Turn a host-read Arrow table's columns into types every page and engine can use, saying what changed.

Nested columns (struct, list, map), decimals, half floats, dates, times, binary data and columns
with no values at all load into pandas as Python objects (or not at all into cuDF) that the
profile, the steps and the models cannot use; each is converted to a plain type with a note.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

MAX_FLATTEN_ROUNDS = 8


def _is_plain_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def is_plain_type(kind: pa.DataType) -> bool:
    """The types every page and engine takes as they are (the rows of `type_map.TYPE_TABLE`); anything else a file
    may hold (views, unions, run-end or dictionary encodings of other types, intervals, extension types, and
    whatever a later pyarrow adds) is converted in the reader, never handed to the server as it is."""
    return (
        pa.types.is_integer(kind)
        or pa.types.is_float32(kind)
        or pa.types.is_float64(kind)
        or pa.types.is_boolean(kind)
        or _is_plain_text(kind)
        or pa.types.is_timestamp(kind)
        or pa.types.is_duration(kind)
        or (pa.types.is_dictionary(kind) and _is_plain_text(kind.value_type) and pa.types.is_integer(kind.index_type))
    )


def is_plain(schema: pa.Schema) -> bool:
    """True when no column needs converting (so an engine's own reader may read the file as it is)."""
    return all(is_plain_type(field.type) for field in schema)


def conversion(kind: pa.DataType) -> str | None:
    """The name of the conversion a column of this type needs, or None."""
    if is_plain_type(kind):
        return None
    if pa.types.is_dictionary(kind):
        return "dictionary"
    if pa.types.is_run_end_encoded(kind):
        return "run-end"
    if pa.types.is_string_view(kind):
        return "text"
    if pa.types.is_decimal(kind):
        return "decimal"
    if pa.types.is_float16(kind):
        return "half"
    if pa.types.is_date(kind):
        return "date"
    if pa.types.is_time(kind):
        return "time"
    if (
        pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
        or pa.types.is_binary_view(kind)
    ):
        return "binary"
    if pa.types.is_null(kind):
        return "null"
    return "nested"  # lists, maps, unions, intervals, extension types: written out as JSON text


# What a column of each convertible type becomes (nested and binary columns have no such one type).
PLAIN_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "decimal": pa.float64(),
    "half": pa.float32(),
    "date": pa.timestamp("s"),
    "time": pa.string(),
    "null": pa.float64(),
}


def plain_type(kind: pa.DataType) -> pa.DataType | None:
    """The type a column of `kind` has after `plain_columns`, or None where that depends on its values."""
    needed = conversion(kind)
    return kind if needed is None else PLAIN_TYPES.get(needed)


def _flatten_structs(table: pa.Table, notes: list[str]) -> pa.Table:
    """Struct columns become one column per field, named `parent.field`."""
    for _ in range(MAX_FLATTEN_ROUNDS):
        structs = [field.name for field in table.schema if pa.types.is_struct(field.type)]
        if not structs:
            break
        notes.append(
            f"Nested column{'s' if len(structs) > 1 else ''} {', '.join(map(repr, structs))} "
            "split into one column per field (named parent.field)."
        )
        table = table.flatten()
    return table


def _as_json_text(column: pa.ChunkedArray) -> pa.Array:
    return pa.array(
        [None if value is None else json.dumps(value, default=str) for value in column.to_pylist()], pa.string()
    )


def _decoded(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary- or run-end-encoded column written out as its values."""
    if pa.types.is_dictionary(column.type):
        chunks = [chunk.dictionary.take(chunk.indices) for chunk in column.chunks]
        return pa.chunked_array(chunks, column.type.value_type)
    return pa.chunked_array([pc.run_end_decode(chunk) for chunk in column.chunks], column.type.value_type)


def _plain(column: pa.ChunkedArray, name: str, rows: int, notes: list[str]) -> pa.ChunkedArray | pa.Array | None:
    """The column as a plain type (None: left out), with a note for what changed."""
    kind = column.type
    needed = conversion(kind)
    if needed in ("dictionary", "run-end"):
        notes.append(f"Column {name!r} is {needed}-encoded {kind.value_type}: written out as its values.")
        return _plain(_decoded(column), name, rows, notes)
    if needed == "nested":
        notes.append(f"Column {name!r} holds lists, maps or other composite values ({kind}): read as JSON text.")
        return _as_json_text(column)
    if needed == "text":
        notes.append(f"Column {name!r} is {kind}: read as text.")
        return pc.cast(column, PLAIN_TYPES[needed])
    if needed == "decimal":
        notes.append(f"Column {name!r} is {kind}: read as float64 (about 15 significant digits).")
        return pc.cast(column, PLAIN_TYPES[needed], safe=False)
    if needed == "half":
        notes.append(f"Column {name!r} is float16, which cuDF cannot hold: read as float32.")
        return pc.cast(column, PLAIN_TYPES[needed])
    if needed == "date":
        notes.append(f"Column {name!r} holds dates: read as date-times at midnight.")
        return pc.cast(column, PLAIN_TYPES[needed])
    if needed == "time":
        notes.append(f"Column {name!r} holds times of day: read as text (HH:MM:SS).")
        return pc.cast(column, PLAIN_TYPES[needed])
    if needed == "binary":
        notes.append(f"Column {name!r} holds binary data, which cannot be profiled or modelled: left out.")
        return None
    if needed == "null":
        notes.append(f"Column {name!r} has no values at all: read as an empty number column.")
        return pa.nulls(rows, PLAIN_TYPES[needed])
    return column


def plain_columns(table: pa.Table) -> tuple[pa.Table, list[str]]:
    """The table with every column of a plain type, and a note for each conversion made."""
    notes: list[str] = []
    table = _flatten_structs(table, notes)
    columns, names = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        plain = _plain(column, field.name, len(table), notes)
        if plain is not None:
            columns.append(plain)
            names.append(field.name)
    return pa.table(columns, names=names), notes
