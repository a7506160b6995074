"""Profile a table on its engine (`python -m pipeline.profile PATH` for the command line).

`model`: what a profile is; `kernels`: one column's statistics; `correlations`: pairwise statistics; `alerts`;
`local`: a frame one engine holds whole (pandas or cuDF); `partitioned`: a Dask frame, in two passes built on the
kernels; `cli`: the command line.
"""

from __future__ import annotations

from typing import Any

from pipeline.budget import MemoryBudget, gib
from pipeline.engines import Engine, is_out_of_memory, out_of_memory_error
from pipeline.errors import DataError
from pipeline.profile.kernels import profile_column
from pipeline.profile.local import profile_local
from pipeline.profile.memory import profile_need
from pipeline.profile.model import (
    CORRELATION_LABELS,
    MAX_MATRIX_COLUMNS,
    PRESETS,
    ColumnProfile,
    Profile,
    ProfileProgress,
    ProfileSettings,
    compare_profiles,
    plain,
    shown,
    type_listing,
)
from pipeline.profile.partitioned import profile_dask

__all__ = [
    "CORRELATION_LABELS",
    "MAX_MATRIX_COLUMNS",
    "PRESETS",
    "ColumnProfile",
    "Profile",
    "ProfileProgress",
    "ProfileSettings",
    "compare_profiles",
    "plain",
    "profile_column",
    "profile_frame",
    "shown",
    "type_listing",
]


def profile_frame(
    engine: Engine,
    frame: Any,
    settings: ProfileSettings | None = None,
    progress: ProfileProgress | None = None,
    budget: MemoryBudget | None = None,
) -> Profile:
    """Profile an engine frame (a Dask frame by its partitions); `progress(fraction, message)` hears about each
    column.

    A frame in this server's memory is refused before the profile starts when its estimated peak is more than
    `budget` (by default the server's: give the session's, `catalog.budget()`). Running out of
    GPU memory raises GpuMemoryError with what to do instead.
    """
    if len(frame.columns) == 0:
        raise DataError("The table has no columns, so there is nothing to profile. Load a table with columns.")
    repeated = sorted({str(c) for c in frame.columns if list(frame.columns).count(c) > 1})
    if repeated:
        raise DataError(f"Column names must be unique to profile a table; repeated: {', '.join(repeated)}.")
    settings, progress = settings or ProfileSettings(), progress or (lambda _fraction, _message: None)
    if engine.data_in_host_memory:
        check_profile_fits(frame, settings, budget or MemoryBudget.for_session())
    try:
        if engine.lazy:
            return profile_dask(engine, frame, settings, progress)
        return profile_local(engine, frame, settings, progress)
    except Exception as error:
        if engine.memory_of_its_own and is_out_of_memory(error):
            raise out_of_memory_error(engine, "profiling this table") from error
        raise


def check_profile_fits(frame: Any, settings: ProfileSettings, budget: MemoryBudget) -> None:
    """A DataError, before any statistic is computed, when profiling `frame` would take more than `budget`."""
    minimal = PRESETS["minimal"]
    ways = "profile a sample (Pipeline: a “Sample rows” step, its result saved as a dataset) or fewer columns, or load "
    ways += "it on a Dask cluster and profile it there."
    if settings == minimal:
        doing, instead = "The minimal profile", ways[0].upper() + ways[1:]
    else:
        doing, instead = "The profile", f"Use the minimal profile (about {gib(profile_need(frame, minimal))}), {ways}"
    doing += f" of this table ({len(frame):,} rows, {len(frame.columns):,} columns)"
    budget.check(profile_need(frame, settings), doing, instead)
