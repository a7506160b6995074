"""The host memory a profile takes at its peak in this server's process, estimated from the table before it starts.

A profile runs in phases, one after the other, each letting go of what it made before the next: the table's
missing-value flags, each column's statistics, the duplicate rows, the correlations, the missing-value matrices. The
peak is the largest phase. Within a phase some arrays are held for every column at once (`each`), some are made for
one column at a time (`largest`: the largest column's set the phase), some are a few 8-byte values a row
(`row_bytes`: hashes, orders, ranks), and some are made for a chunk of `ProfileSettings.chunk_rows` rows at a time
(`chunk_row_bytes`: the temporaries of streamed sums, bins and hashes, which stop growing past a chunk). Columns
count `held_bytes` (numbers, flags and times at 8 bytes a value at least; text at its bytes, categorical text as its
codes and categories, which the profile never writes out row by row), and at least 8 bytes a row. The factors were
measured on pandas (tests/unit/test_host_peaks.py fails where the real peak passes this estimate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.budget import WORK_OVERHEAD
from pipeline.engines.cpu import CpuEngine
from pipeline.profile.local import DISTINCT_ROW_KINDS
from pipeline.profile.model import MAX_MATRIX_COLUMNS, ProfileSettings
from pipeline.tables.column_bytes import VALUE_BYTES, held_bytes, is_fixed_width
from pipeline.tables.column_kinds import BOOLEAN, NUMERIC, TEXT, column_kind

AT_ONCE = CpuEngine.at_once  # columns the host engine works on at a time (`Engine.each`)


@dataclass(frozen=True)
class Factors:
    """Multiples of a column's bytes: for columns of numbers, flags or times, and for text and other objects."""

    number: float = 0.0
    text: float = 0.0

    def of(self, nbytes: int, fixed_width: bool) -> float:
        return (self.number if fixed_width else self.text) * nbytes


@dataclass(frozen=True)
class Phase:
    """What one phase of a profile holds at its peak (see the module's docstring)."""

    each: Factors = field(default_factory=Factors)
    largest: Factors = field(default_factory=Factors)
    row_bytes: int = 0
    chunk_row_bytes: int = 0

    def need(self, columns: list[tuple[int, bool]], rows: int, chunk_rows: int) -> float:
        """Bytes for `columns` given as (bytes, fixed width), `rows` rows and chunks of `chunk_rows` rows, with
        AT_ONCE columns worked on at a time (the `largest` ones, each with its chunk)."""
        held = sum(self.each.of(nbytes, fixed) for nbytes, fixed in columns)
        largest = sum(sorted(self.largest.of(nbytes, fixed) for nbytes, fixed in columns)[-AT_ONCE:])
        in_flight = min(AT_ONCE, len(columns)) * self.chunk_row_bytes * min(rows, chunk_rows)
        return held + largest + self.row_bytes * rows + in_flight


MISSING_FLAGS = Phase(each=Factors(number=0.125, text=0.125))  # a flag a cell, summed per column
# a column of numbers or times sorted once, and a chunk's floats (moments, bins); text's value counts
COLUMNS = Phase(largest=Factors(number=1.0, text=4.0), chunk_row_bytes=5 * VALUE_BYTES)
# row hashes, their order and the flags of neighbours sharing one; a column's keys (floats' bits, text's codes); a
# chunk's hashes and gathered keys
DUPLICATES = Phase(largest=Factors(number=1.0, text=3.0), row_bytes=3 * VALUE_BYTES, chunk_row_bytes=4 * VALUE_BYTES)
# numeric columns' ranks and blocks of values and ranks; one pair of category columns grouped (Cramér's V)
CORRELATIONS = Phase(each=Factors(number=3.5), largest=Factors(text=3.0), row_bytes=6 * VALUE_BYTES)
MISSING_MATRICES = Phase(each=Factors(number=3.5, text=3.5))  # the flags of columns with gaps, as floats in blocks


def column_bytes(series: Any) -> int:
    """A column's bytes for the profile: `held_bytes`, at least VALUE_BYTES a row (lengths, counts, indexers)."""
    return max(held_bytes(series), VALUE_BYTES * len(series))


def counted_by_its_column(frame: Any) -> bool:
    """A table of one column of numbers, flags or times: its duplicate rows come from its column's distinct count
    (see `local.duplicate_rows`), which takes no memory of its own."""
    return len(frame.columns) == 1 and column_kind(frame.dtypes.iloc[0]) in DISTINCT_ROW_KINDS


def profile_need(frame: Any, settings: ProfileSettings) -> int:
    """Bytes of this server's memory that profiling a pandas `frame` with `settings` takes at its peak."""
    columns = {name: (column_bytes(frame[name]), is_fixed_width(frame[name])) for name in frame.columns}
    rows, chunk = len(frame), CpuEngine.block_rows(1, settings.chunk_rows)
    sizes = list(columns.values())
    phases = [MISSING_FLAGS.need(sizes, rows, chunk), COLUMNS.need(sizes, rows, chunk)]
    if settings.duplicates and not counted_by_its_column(frame):
        phases.append(DUPLICATES.need(sizes, rows, chunk))
    kinds = [column_kind(frame[name].dtype) for name in frame.columns]
    if settings.correlations and (kinds.count(NUMERIC) >= 2 or kinds.count(TEXT) + kinds.count(BOOLEAN) >= 2):
        # Pearson and Spearman need two numeric columns, Cramér's V two of text or flags: no pair, no phase
        numeric = [size for name, size in columns.items() if column_kind(frame[name].dtype) == NUMERIC]
        text = [size for size in columns.values() if not size[1]]
        phases.append(CORRELATIONS.need(numeric[:MAX_MATRIX_COLUMNS] + text, rows, chunk))
    if settings.missing_matrices:
        gaps = [size for name, size in columns.items() if frame[name].hasnans]
        phases.append(MISSING_MATRICES.need(gaps[:MAX_MATRIX_COLUMNS], rows, chunk))
    return int(WORK_OVERHEAD + max(phases))
