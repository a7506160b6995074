"""The profile of a table one engine holds whole (pandas or cuDF): its phases, one after the other, assembled
into a Profile.

Every aggregation runs where the data lives (pandas/numpy on the CPU, cuDF/CuPy on the GPU);
only small results (scalars, histogram bins, top values, small matrices) come back to the host.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from pipeline.engines import Engine
from pipeline.profile.alerts import profile_alerts
from pipeline.profile.correlations import category_columns, correlations, cramers_v, missing_matrices
from pipeline.profile.kernels import profile_column
from pipeline.profile.model import CRAMERS_V, ColumnProfile, Profile, ProfileProgress, ProfileSettings, TableStats
from pipeline.tables.column_kinds import BOOLEAN, DATETIME, NUMERIC
from pipeline.timing import PhaseClock


def profile_local(engine: Engine, frame: Any, settings: ProfileSettings, report: ProfileProgress) -> Profile:
    """The profile of a frame held whole by one engine (pandas or cuDF)."""
    timer = PhaseClock(engine.synchronize)
    run = timer.run
    rows, width = len(frame), len(frame.columns)
    report(0.0, "Counting missing values…")
    missing = run("table", lambda: engine.to_pandas(frame.isna().sum().to_frame("missing"))["missing"].to_numpy())
    series = [frame[name] for name in frame.columns]
    profiled = engine.each(lambda i: profile_column(engine, series[i], int(missing[i]), settings), range(width))
    columns = []
    for i, name in enumerate(frame.columns):
        report(i / (width + 2), f"Column {i + 1} of {width}: {name}")
        columns.append(run("columns", lambda: next(profiled)))
    duplicates = None
    if settings.duplicates:
        report(width / (width + 2), "Duplicate rows…")
        duplicates = run("table", lambda: duplicate_rows(engine, frame, columns, settings))
    matrices: dict[str, pd.DataFrame] = {}
    method_notes: dict[str, str] = {}
    note = "Correlations were not computed (minimal profile)."
    together = missing_correlation = None
    if settings.correlations:
        report(width / (width + 2), "Correlations…")
        matrices, note = run("correlations", lambda: correlations(engine, frame, columns, settings))
        categories = category_columns(columns)
        if len(categories) >= 2:
            matrix, sparse_note = run("correlations", lambda: cramers_v(engine, frame, categories))
            matrices = {**matrices, CRAMERS_V: matrix}
            if sparse_note:
                method_notes[CRAMERS_V] = sparse_note
    if settings.missing_matrices:
        report((width + 1) / (width + 2), "Missing values together…")
        together, missing_correlation = run(
            "missing values", lambda: missing_matrices(engine, frame, columns, settings)
        )
    table = TableStats(
        rows=rows,
        columns=width,
        memory_bytes=engine.frame_nbytes(frame),
        duplicate_rows=duplicates,
        missing_cells=int(missing.sum()),
        kinds={kind: n for kind, n in Counter(c.kind for c in columns).items()},
    )
    report(1.0, "Done")
    profile = assembled(engine, table, columns, (matrices, note), (together, missing_correlation), settings, timer)
    profile.method_notes = method_notes
    return profile


DISTINCT_ROW_KINDS = (NUMERIC, BOOLEAN, DATETIME)  # whose distinct count is exactly that of a one-column table's rows


def duplicate_rows(engine: Engine, frame: Any, columns: list[ColumnProfile], settings: ProfileSettings) -> int:
    """How many rows equal an earlier row. A table of one column of numbers, flags or times has its rows less its
    distinct values, missing counted as one more (the column's profile sorted and counted them); any other table
    is counted by its engine."""
    if len(columns) == 1 and columns[0].kind in DISTINCT_ROW_KINDS:
        column = columns[0]
        return column.rows - column.distinct - (1 if column.missing else 0)
    return engine.duplicate_rows(frame, engine.block_rows(1, settings.chunk_rows))


def assembled(
    engine: Engine,
    table: TableStats,
    columns: list[ColumnProfile],
    correlations: tuple[dict[str, pd.DataFrame], str | None],
    missing: tuple[pd.DataFrame | None, pd.DataFrame | None],
    settings: ProfileSettings,
    timer: PhaseClock,
    approximate: tuple[str, ...] = (),
) -> Profile:
    """The Profile of an engine's statistics (correlation matrices and their note; missing-together counts and
    the correlation of missingness), with its alerts and the phases' seconds."""
    matrices, note = correlations
    return Profile(
        engine=engine.name,
        engine_label=engine.label,
        table=table,
        columns=columns,
        correlations=matrices,
        correlation_note=note,
        missing_together=missing[0],
        missing_correlation=missing[1],
        alerts=profile_alerts(table, columns, matrices, settings),
        phases=dict(timer.phases),
        approximate=approximate,
    )
