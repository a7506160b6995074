"""Alerts: what a user should look at in a column (missing, constant, skewed, an id…) or in the table."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pipeline.profile.model import Alert, ColumnProfile, ProfileSettings, TableStats, type_listing
from pipeline.tables.column_kinds import DATETIME, NUMERIC, TEXT


def column_flags(column: ColumnProfile, settings: ProfileSettings) -> dict[str, str]:
    """Alert codes for one column, each with the sentence a user reads."""
    flags: dict[str, str] = {}
    name, rows = column.name, column.rows
    if rows and column.count == 0:
        return {"all_missing": f"{name!r} has no values: every row is missing."}
    if column.missing_share >= settings.high_missing_share:
        flags["high_missing"] = f"{name!r} is missing in {column.missing_share:.1%} of rows."
    if column.distinct == 1:
        flags["constant"] = f"{name!r} holds one value only; it carries no information."
    types = column.stats.get("types") or {}
    if len(types) > 1:
        flags["mixed_types"] = f"{name!r} mixes Python types: {type_listing(types)}. Clean it before modelling."
    skew = column.stats.get("skew")
    if skew is not None and abs(skew) >= settings.skew_threshold:
        flags["skewed"] = f"{name!r} is highly skewed (skew {skew:.2f}); consider a log or rank transform."
    if column.stats.get("infinite"):
        flags["infinite"] = f"{name!r} has {column.stats['infinite']:,} infinite values (left out of its statistics)."
    flags.update(range_flags(column))
    integer_like = column.kind == TEXT or (column.kind == NUMERIC and "int" in column.dtype.lower())
    if integer_like and column.count > 1 and column.distinct == column.count:
        flags["likely_id"] = f"{name!r} is unique in every row: likely an id column, not a feature."
    elif column.kind == TEXT and column.distinct > max(
        settings.high_cardinality_min, settings.high_cardinality_share * column.count
    ):
        flags["high_cardinality"] = f"{name!r} has {column.distinct:,} distinct values (high cardinality)."
    return flags


NEVER_NEGATIVE = re.compile(
    r"(^|[^a-z])(age|ages|count|counts|quantity|qty|price|prices|weight|height|duration|distance|salary|income)"
    r"([^a-z]|$)"
)


def range_flags(column: ColumnProfile) -> dict[str, str]:
    """Values outside the range a column's meaning allows: a negative age, count or price; dates in the future."""
    name, stats = column.name, column.stats
    low, high = stats.get("min"), stats.get("max")
    if column.kind == NUMERIC and low is not None and low < 0 and NEVER_NEGATIVE.search(str(name).lower()):
        return {"negative_values": f"{name!r} has negative values (as low as {low:g}): check them."}
    if column.kind == DATETIME and high is not None:
        now = pd.Timestamp.now(tz="UTC")
        now = now.tz_convert(high.tz) if high.tz is not None else now.tz_localize(None)
        if high > now + pd.Timedelta(days=1):
            return {"future_dates": f"{name!r} has dates in the future (the latest is {high}): check them."}
    return {}


def _correlation_alerts(matrix: pd.DataFrame | None, threshold: float) -> list[Alert]:
    if matrix is None:
        return []
    alerts = []
    names = list(matrix.columns)
    for i, left in enumerate(names):
        for right in names[i + 1 :]:
            r = matrix.loc[left, right]
            if np.isfinite(r) and abs(r) >= threshold:
                alerts.append(
                    Alert(left, "high_correlation", f"{left!r} and {right!r} are highly correlated (Pearson {r:.3f}).")
                )
    return alerts


def _table_alerts(table: TableStats) -> list[Alert]:
    alerts = []
    if table.duplicate_rows:
        share = table.duplicate_rows / table.rows
        rows = "row repeats" if table.duplicate_rows == 1 else "rows repeat"
        alerts.append(Alert(None, "duplicates", f"{table.duplicate_rows:,} {rows} an earlier row ({share:.1%})."))
    if table.rows == 1:
        alerts.append(Alert(None, "single_row", "The table has one row: spreads, skew and correlations need more."))
    return alerts


def profile_alerts(
    table: TableStats, columns: list[ColumnProfile], matrices: dict[str, pd.DataFrame], settings: ProfileSettings
) -> list[Alert]:
    """The table's alerts, then each column's, then highly correlated pairs."""
    alerts = _table_alerts(table)
    alerts += [Alert(c.name, code, message) for c in columns for code, message in c.flags.items()]
    return alerts + _correlation_alerts(matrices.get("pearson"), settings.high_correlation)
