"""Date-time columns as numbers and back: ticks in the column's unit, time zones kept aside."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def naive_utc(series: Any) -> tuple[Any, str, str | None]:
    """A date-time series (pandas or cuDF) as naive UTC, its tick unit (`s`, `us`…), and its zone, if any."""
    tz = getattr(series.dtype, "tz", None)
    if tz is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series, np.datetime_data(np.dtype(str(series.dtype)))[0], str(tz) if tz is not None else None


def from_ticks(ticks: Any, unit: str, tz: str | None) -> pd.Series:
    """Host timestamps from ticks in `unit` since the epoch (fractions dropped), in zone `tz` when given."""
    moments = pd.Series(pd.to_datetime(np.asarray(ticks).astype("int64"), unit=unit))
    return moments.dt.tz_localize("UTC").dt.tz_convert(tz) if tz else moments
