"""Parquet and Arrow IPC read into Arrow tables within a memory limit, and sized and typed from their metadata.

Native readers of these binary formats can crash the process on a damaged file (pyarrow aborted on a
Parquet footer whose column types disagree, and a batch whose offsets point outside its buffers
segfaults whoever reads it), so the app runs everything here in a child process (`pipeline.tables.sandbox`);
this module imports nothing but pyarrow and the app's size estimates, so that child starts fast.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.errors import DataError
from pipeline.tables.column_types import is_plain
from pipeline.tables.decoded_size import DecodedSize, decoded_size
from pipeline.tables.formats import FileFormat

Payload = bytes | Path


def _input(payload: Payload) -> pa.NativeFile:
    return pa.memory_map(str(payload)) if isinstance(payload, Path) else pa.BufferReader(payload)


def _past_limit(held: int, limit: int) -> DataError:
    return DataError(
        f"Decoded, it holds more than {held / 2**30:,.2f} GiB, past the {limit / 2**30:,.2f} GiB this load may take, "
        "although its metadata promised less; reading stopped there. Load fewer rows or columns."
    )


def _within(parts: Iterator[pa.Table | pa.RecordBatch], limit: int | None) -> list[Any]:
    """The parts read one after another, stopping with a DataError once they hold more than `limit` bytes."""
    read, held = [], 0
    for part in parts:
        held += part.nbytes
        if limit is not None and held > limit:
            raise _past_limit(held, limit)
        read.append(part)
    return read


def _unsure_text(parquet: pq.ParquetFile) -> list[str]:
    """Text columns whose decoded size the footer cannot bound: dictionary-encoded without min/max statistics (one
    long value repeated a million times decodes to gigabytes)."""
    metadata, unsure = parquet.metadata, set()
    for group in range(metadata.num_row_groups):
        for index in range(metadata.num_columns):
            chunk = metadata.row_group(group).column(index)
            statistics = chunk.statistics
            if (
                chunk.physical_type == "BYTE_ARRAY"
                and any("DICTIONARY" in encoding for encoding in chunk.encodings)
                and not (statistics is not None and statistics.has_min_max)
                and "." not in chunk.path_in_schema
            ):
                unsure.add(chunk.path_in_schema)
    plain = {field.name for field in parquet.schema_arrow if not pa.types.is_dictionary(field.type)}
    return sorted(unsure & plain)


def _expanded(group: pa.Table, columns: list[str], types: pa.Schema, held: int, limit: int | None) -> pa.Table:
    """A row group read with `columns` as dictionaries, expanded to their own types once their decoded size (the
    lengths of the dictionary's values, taken by the indices) is known to fit."""
    size = group.nbytes
    for name in columns:
        column = group.column(name)
        size -= column.nbytes
        for chunk in column.chunks:
            lengths = pc.take(pc.binary_length(chunk.dictionary), chunk.indices)
            size += (pc.sum(lengths).as_py() or 0) + 8 * len(chunk)
    if limit is not None and held + size > limit:
        raise _past_limit(held + size, limit)
    for name in columns:
        position = group.schema.get_field_index(name)
        group = group.set_column(position, name, pc.cast(group.column(name), types.field(name).type))
    return group


def read_parquet(payload: Payload, limit: int | None = None) -> pa.Table:
    """The file read a row group at a time, stopping past `limit` bytes; text the footer cannot size is read as a
    dictionary first and expanded only once its size is known to fit."""
    try:
        parquet = pq.ParquetFile(_input(payload))
        unsure = _unsure_text(parquet)
        if not unsure:
            groups = _within((parquet.read_row_group(i) for i in range(parquet.num_row_groups)), limit)
        else:
            types, parquet = parquet.schema_arrow, pq.ParquetFile(_input(payload), read_dictionary=unsure)
            groups, held = [], 0
            for i in range(parquet.num_row_groups):
                groups.append(_expanded(parquet.read_row_group(i), unsure, types, held, limit))
                held += groups[-1].nbytes
        table = pa.concat_tables(groups) if groups else parquet.schema_arrow.empty_table()
        table.validate(full=True)
        return table
    except (pa.ArrowException, OSError) as error:
        raise DataError(
            f"It is not a readable Parquet file: it is truncated or damaged ({error}). Export or upload it again."
        ) from error


def read_arrow(payload: Payload, limit: int | None = None) -> pa.Table:
    """The file (or stream) read a record batch at a time, stopping past `limit` bytes."""
    try:
        head = _input(payload).read(4)
        if head == b"\xff\xff\xff\xff":
            reader = pa.ipc.open_stream(_input(payload))
            table = pa.Table.from_batches(_within(iter(reader), limit), reader.schema)
        else:
            reader = pa.ipc.open_file(_input(payload))
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
            table = pa.Table.from_batches(_within(batches, limit), reader.schema)
        table.validate(full=True)  # offsets pointing outside their buffers would crash whoever reads them next
        return table
    except (pa.ArrowException, OSError) as error:
        raise DataError(
            f"It is not a readable Arrow IPC / Feather file: it is truncated or damaged ({error}). "
            "Export or upload it again."
        ) from error


def inspect(fmt: FileFormat, payload: Payload) -> tuple[DecodedSize | None, bool]:
    """The file's decoded size and whether its columns all have plain types, from its metadata alone; (None, True)
    where the metadata cannot be read (the reader then says how the file is damaged)."""
    try:
        size = decoded_size(fmt, payload)
        if fmt is FileFormat.PARQUET:
            schema = pq.read_schema(_input(payload))
        else:
            head = _input(payload).read(4)
            opened = pa.ipc.open_stream if head == b"\xff\xff\xff\xff" else pa.ipc.open_file
            schema = opened(_input(payload)).schema
    except (pa.ArrowException, OSError, ValueError, EOFError, struct.error):
        return None, True
    return size, is_plain(schema)


READERS = {FileFormat.PARQUET: read_parquet, FileFormat.ARROW: read_arrow}
