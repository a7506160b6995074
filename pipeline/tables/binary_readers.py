"""Parquet and Arrow IPC read into Arrow tables within a memory limit, and sized and typed from their metadata.

Native readers of these binary formats can crash the process on a damaged file (pyarrow aborted on a Parquet footer
whose column types disagree, and a batch whose offsets point outside its buffers segfaults whoever reads it), so
they run only in the reader process (`pipeline.tables.sandbox`), and every table is validated in full there before
it is handed over.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.errors import DataError
from pipeline.tables.column_types import is_plain
from pipeline.tables.decoded_size import OFFSET_BYTES, DecodedSize, decoded_size, held_bytes, past_limit, within
from pipeline.tables.formats import FileFormat

Payload = bytes | Path
MAX_ROW_GROUPS = 10_000  # each is read on its own: a file of a million one-row groups takes minutes for nothing


def _input(payload: Payload) -> pa.NativeFile:
    return pa.memory_map(str(payload)) if isinstance(payload, Path) else pa.BufferReader(payload)


def _dictionary_text(parquet: pq.ParquetFile) -> list[str]:
    """Top-level text columns stored dictionary-encoded: where their expansion might not fit, read as dictionaries and
    expanded only once the lengths of their values say it fits (one long value repeated a million times decodes to
    gigabytes, and the footer's statistics, which could say so, are written by whoever made the file)."""
    metadata, encoded = parquet.metadata, set()
    for group in range(metadata.num_row_groups):
        for index in range(metadata.num_columns):
            chunk = metadata.row_group(group).column(index)
            if (
                chunk.physical_type == "BYTE_ARRAY"
                and any("DICTIONARY" in encoding for encoding in chunk.encodings)
                and "." not in chunk.path_in_schema
            ):
                encoded.add(chunk.path_in_schema)
    text = {
        field.name
        for field in parquet.schema_arrow
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type) or pa.types.is_binary(field.type)
    }
    return sorted(encoded & text)


def _expanded(group: pa.Table, columns: list[str], types: pa.Schema, held: int, limit: int | None) -> pa.Table:
    """A row group read with `columns` as dictionaries, expanded to their own types once their decoded size (the
    lengths of the dictionary's values, taken by the indices) is known to fit."""
    size = held_bytes(group.drop_columns(columns))
    for name in columns:
        for chunk in group.column(name).chunks:
            lengths = pc.take(pc.binary_length(chunk.dictionary), chunk.indices)
            size += (pc.sum(lengths).as_py() or 0) + 8 * len(chunk)
    if limit is not None and held + size > limit:
        raise past_limit(held + size, limit)
    for name in columns:
        position, kind = group.schema.get_field_index(name), types.field(name).type
        values = [chunk.dictionary.take(chunk.indices).cast(kind) for chunk in group.column(name).chunks]
        group = group.set_column(position, name, pa.chunked_array(values, kind))
    return group


def _expansion_bound(probe: pq.ParquetFile, group: int, columns: list[str]) -> int:
    """The most bytes `columns` of row group `group` can take once expanded: its rows times the longest value of
    each column's dictionary, plus their offsets. A column chunk holds one dictionary page, before its data pages,
    and the reader takes all of it in with the chunk's first row, so one row read as dictionaries shows every value
    a dictionary-encoded row can take (rows not dictionary-encoded hold their text in the file: no expansion). A
    footer that understates the rows is caught as the group is counted once read, and by the worker's memory limit."""
    first = next(probe.iter_batches(batch_size=1, row_groups=[group], columns=columns), None)
    if first is None:
        return 0
    rows = probe.metadata.row_group(group).num_rows
    bound = 0
    for name in columns:
        longest = pc.max(pc.binary_length(first.column(name).dictionary)).as_py() or 0
        bound += rows * (longest + OFFSET_BYTES)
    return bound


def read_parquet(payload: Payload, limit: int | None = None) -> pa.Table:
    """The file read a row group at a time, stopping past `limit` bytes. Where the longest values of its
    dictionary-encoded text could take it past `limit` once expanded, that text is read as a dictionary first
    and expanded only once its size is known to fit; otherwise the row group is read as it is (the fast path)."""
    try:
        parquet = pq.ParquetFile(_input(payload))
        if parquet.num_row_groups > MAX_ROW_GROUPS:
            raise DataError(
                f"It has {parquet.num_row_groups:,} row groups; this app reads at most {MAX_ROW_GROUPS:,}. Write it "
                "again with larger row groups (e.g. pyarrow `row_group_size=1_000_000`)."
            )
        encoded = _dictionary_text(parquet) if limit is not None else []
        probe = pq.ParquetFile(_input(payload), read_dictionary=encoded) if encoded else None
        groups, held = [], 0
        for i in range(parquet.num_row_groups):
            if probe is not None and held + _expansion_bound(probe, i, encoded) > limit:
                group = _expanded(probe.read_row_group(i), encoded, parquet.schema_arrow, held, limit)
            else:
                group = parquet.read_row_group(i)
            held += held_bytes(group)
            if limit is not None and held > limit:
                raise past_limit(held, limit)
            groups.append(group)
        table = pa.concat_tables(groups) if groups else parquet.schema_arrow.empty_table()
        table.validate(full=True)
        return table
    except MemoryError:
        raise
    except UnicodeDecodeError as error:
        raise DataError(f"A column name is not UTF-8 text ({error}). Save the file with UTF-8 names.") from error
    except (pa.ArrowException, OSError) as error:
        raise DataError(
            f"It is not a readable Parquet file: it is truncated or damaged ({error}). Export or upload it again."
        ) from error


def _is_stream(payload: Payload) -> bool:
    return _input(payload).read(4) == b"\xff\xff\xff\xff"


def read_arrow(payload: Payload, limit: int | None = None) -> pa.Table:
    """The file (or stream) read a record batch at a time, stopping past `limit` bytes."""
    try:
        if _is_stream(payload):
            reader: Any = pa.ipc.open_stream(_input(payload))
            table = pa.Table.from_batches(within(iter(reader), limit), reader.schema)
        else:
            reader = pa.ipc.open_file(_input(payload))
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
            table = pa.Table.from_batches(within(batches, limit), reader.schema)
        table.validate(full=True)  # offsets pointing outside their buffers would crash whoever reads them next
        return table
    except MemoryError:
        raise
    except UnicodeDecodeError as error:
        raise DataError(f"A column name is not UTF-8 text ({error}). Save the file with UTF-8 names.") from error
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
            opened = pa.ipc.open_stream if _is_stream(payload) else pa.ipc.open_file
            schema = opened(_input(payload)).schema
    except MemoryError:
        raise
    except (pa.ArrowException, OSError, ValueError, EOFError, struct.error):
        return None, True
    return size, is_plain(schema)


READERS = {FileFormat.PARQUET: read_parquet, FileFormat.ARROW: read_arrow}
