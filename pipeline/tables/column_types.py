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


def _is_nested(kind: pa.DataType) -> bool:
    return pa.types.is_struct(kind) or pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_map(kind)


def is_plain(schema: pa.Schema) -> bool:
    """True when no column needs converting (so an engine's own reader may read the file as it is)."""
    return not any(_conversion(field.type) for field in schema)


def _conversion(kind: pa.DataType) -> str | None:
    """The name of the conversion a column of this type needs, or None."""
    if _is_nested(kind):
        return "nested"
    if pa.types.is_decimal(kind):
        return "decimal"
    if pa.types.is_float16(kind):
        return "half"
    if pa.types.is_date(kind):
        return "date"
    if pa.types.is_time(kind):
        return "time"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return "binary"
    if pa.types.is_null(kind):
        return "null"
    return None


# What a column of each convertible type becomes (nested and binary columns have no such one type).
PLAIN_TYPES: dict[str, pa.DataType] = {
    "decimal": pa.float64(),
    "half": pa.float32(),
    "date": pa.timestamp("s"),
    "time": pa.string(),
    "null": pa.float64(),
}


def plain_type(kind: pa.DataType) -> pa.DataType | None:
    """The type a column of `kind` has after `plain_columns`, or None where that depends on its values."""
    conversion = _conversion(kind)
    return kind if conversion is None else PLAIN_TYPES.get(conversion)


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


def plain_columns(table: pa.Table) -> tuple[pa.Table, list[str]]:
    """The table with every column of a plain type, and a note for each conversion made."""
    notes: list[str] = []
    table = _flatten_structs(table, notes)
    columns, names = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        conversion = _conversion(field.type)
        name = field.name
        if conversion == "nested":
            column = _as_json_text(column)
            notes.append(f"Column {name!r} holds lists or maps ({field.type}): read as JSON text.")
        elif conversion == "decimal":
            column = pc.cast(column, PLAIN_TYPES[conversion], safe=False)
            notes.append(f"Column {name!r} is {field.type}: read as float64 (about 15 significant digits).")
        elif conversion == "half":
            column = pc.cast(column, PLAIN_TYPES[conversion])
            notes.append(f"Column {name!r} is float16, which cuDF cannot hold: read as float32.")
        elif conversion == "date":
            column = pc.cast(column, PLAIN_TYPES[conversion])
            notes.append(f"Column {name!r} holds dates: read as date-times at midnight.")
        elif conversion == "time":
            column = pc.cast(column, PLAIN_TYPES[conversion])
            notes.append(f"Column {name!r} holds times of day: read as text (HH:MM:SS).")
        elif conversion == "binary":
            notes.append(f"Column {name!r} holds binary data, which cannot be profiled or modelled: left out.")
            continue
        elif conversion == "null":
            column = pa.nulls(len(table), PLAIN_TYPES[conversion])
            notes.append(f"Column {name!r} has no values at all: read as an empty number column.")
        columns.append(column)
        names.append(name)
    return pa.table(columns, names=names), notes
