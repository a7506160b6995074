"""One table from each plain Arrow type to its pandas dtype, its cuDF dtype and its kind, for both engines.

Both engines are given the same Arrow schema (Parquet and Arrow files carry one; CSV and JSON lines get theirs
from pyarrow on the host, `host_readers.text_schema`), and both turn it into frames through this table, so a
column cannot have one kind on the CPU and another on the GPU. `make preflight` checks the cuDF column against
cuDF's own mapping from the real package.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from pipeline.tables.column_kinds import BOOLEAN, DATETIME, NUMERIC, OTHER, TEXT
from pipeline.tables.column_types import plain_type


@dataclass(frozen=True)
class TypeRow:
    """How one plain Arrow type lands on each engine."""

    arrow: pa.DataType
    cpu: str  # pandas dtype of a column without missing values
    cpu_with_nulls: str  # pandas dtype of a column with missing values
    gpu: str  # cuDF dtype, missing values or not (cuDF keeps nulls in every type)
    kind: str
    device_reader: bool = True  # cuDF's CSV and JSON readers take this dtype, so the device may parse it


def _ints() -> list[TypeRow]:
    signed = [pa.int8(), pa.int16(), pa.int32(), pa.int64()]
    unsigned = [pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()]
    return [TypeRow(t, str(t), "float64", str(t), NUMERIC) for t in signed + unsigned]


def _timestamps() -> list[TypeRow]:
    rows = []
    for unit in ("s", "ms", "us", "ns"):
        naive = f"datetime64[{unit}]"
        rows.append(TypeRow(pa.timestamp(unit), naive, naive, naive, DATETIME))
        aware = f"datetime64[{unit}, UTC]"
        # cuDF holds time zones on top of UTC values, but its text readers take no zone: parsed on the host
        rows.append(TypeRow(pa.timestamp(unit, "UTC"), aware, aware, aware, DATETIME, device_reader=False))
    return rows


def _durations() -> list[TypeRow]:
    return [
        TypeRow(pa.duration(unit), f"timedelta64[{unit}]", f"timedelta64[{unit}]", f"timedelta64[{unit}]", OTHER)
        for unit in ("s", "ms", "us", "ns")
    ]


TYPE_TABLE: tuple[TypeRow, ...] = (
    *_ints(),
    TypeRow(pa.float32(), "float32", "float32", "float32", NUMERIC),
    TypeRow(pa.float64(), "float64", "float64", "float64", NUMERIC),
    # pandas would give a boolean column with gaps as Python objects (text to the profile); cuDF keeps it bool
    TypeRow(pa.bool_(), "bool", "boolean", "bool", BOOLEAN),
    TypeRow(pa.string(), "str", "str", "str", TEXT),
    TypeRow(pa.large_string(), "str", "str", "str", TEXT),
    *_timestamps(),
    *_durations(),
    TypeRow(pa.dictionary(pa.int32(), pa.string()), "category", "category", "category", TEXT, device_reader=False),
)

_BY_TYPE = {row.arrow: row for row in TYPE_TABLE}


def type_row(arrow: pa.DataType) -> TypeRow:
    """The table's row for a plain Arrow type (dictionaries by their value type); KeyError for a type that
    `column_types.plain_columns` converts before any engine sees it."""
    if pa.types.is_dictionary(arrow):
        return _BY_TYPE[pa.dictionary(pa.int32(), pa.string())]
    if pa.types.is_timestamp(arrow) and arrow.tz is not None:
        return _BY_TYPE[pa.timestamp(arrow.unit, "UTC")]
    return _BY_TYPE[arrow]


def kind_of(arrow: pa.DataType) -> str:
    """The kind a column of this plain Arrow type has on every engine."""
    return type_row(arrow).kind


def pandas_column(column: pa.ChunkedArray) -> pd.Series | None:
    """The pandas values of an Arrow column whose default conversion would give another kind, or None where
    pyarrow's own conversion already agrees with the table (nulls in a boolean column become pandas' "boolean")."""
    if pa.types.is_boolean(column.type) and column.null_count:
        return column.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    return None


def device_dtypes(schema: pa.Schema) -> list[str] | None:
    """cuDF dtypes, one per column in order, for a device reader told the schema the host inferred (as the
    columns will be once plain); None when a column has a type cuDF's text readers cannot be given."""
    dtypes = []
    for field in schema:
        plain = plain_type(field.type)
        try:
            row = type_row(plain) if plain is not None else None
        except KeyError:
            row = None
        if row is None or not row.device_reader:
            return None
        dtypes.append(row.gpu)
    return dtypes
