"""Tables for the Explore page: profile phases and speed-ups by engine, strongest pairs, the Interactions defaults."""

from __future__ import annotations

import pandas as pd

from pipeline.profile.model import Profile
from pipeline.render.charts import tidy_matrix
from pipeline.tables.column_kinds import BOOLEAN, DATETIME, NUMERIC, TEXT
from ui.views import engine_speedups

FILTER_START_LEVELS = 20  # at most this many values make a column a filter to start on


def profile_times(profiles: dict[str, Profile]) -> pd.DataFrame:
    """Seconds per profile phase and engine (columns: engine, phase, seconds)."""
    return pd.DataFrame(
        [
            {"engine": p.engine_label, "phase": phase, "seconds": seconds}
            for p in profiles.values()
            for phase, seconds in p.phases.items()
        ],
        columns=["engine", "phase", "seconds"],
    )


def profile_speedups(profiles: dict[str, Profile]) -> dict[str, float]:
    """Each other engine's profile speed-up over the reference engine's, by label."""
    return engine_speedups(profiles, lambda p: p.seconds, lambda p: p.engine_label)


def strongest_pairs(matrix: pd.DataFrame, top: int = 20, measure: str = "r") -> pd.DataFrame:
    """The `top` pairs of a correlation matrix by the size of their `measure` (r, or Cramér's V), each pair once
    (columns: row, column, the measure)."""
    pairs = tidy_matrix(matrix, measure)
    pairs = pairs[pairs["row"] < pairs["column"]].dropna()
    return pairs.reindex(pairs[measure].abs().sort_values(ascending=False).index).head(top)


def interaction_columns(profile: Profile) -> tuple[list[str], dict[str, str]]:
    """The columns worth plotting against each other, and those left out (ids, free text) with the reason."""
    left_out = {
        c.name: c.flags.get("likely_id") or c.flags["high_cardinality"]
        for c in profile.columns
        if "likely_id" in c.flags or "high_cardinality" in c.flags
    }
    usable = [
        c.name
        for c in profile.columns
        if c.kind in (NUMERIC, DATETIME, TEXT, BOOLEAN) and c.count and c.name not in left_out
    ]
    return usable, left_out


def first_pair(profile: Profile, usable: list[str]) -> tuple[str, str] | None:
    """The most correlated pair (Pearson) among `usable`, to open Interactions on; None without correlations."""
    matrix = profile.correlations.get("pearson") if profile.correlations else None
    if matrix is None:
        return None
    kept = [name for name in matrix.columns if name in usable]
    pairs = strongest_pairs(matrix.loc[kept, kept], top=1)
    return None if pairs.empty else (str(pairs.iloc[0]["row"]), str(pairs.iloc[0]["column"]))


def filter_start(profile: Profile, choices: list[str]) -> list[str]:
    """The column the Filter tab opens on: the category (text or true/false) with the fewest values, two or more,
    else the column of `choices` with the fewest distinct values up to `FILTER_START_LEVELS`, never an id or free
    text; the first choice when none is low in values."""
    left_out = interaction_columns(profile)[1]
    columns = [c for c in profile.columns if c.name in choices and c.name not in left_out and c.distinct >= 2]
    for kinds in ((TEXT, BOOLEAN), (NUMERIC, TEXT, BOOLEAN)):
        fewest = [c for c in columns if c.kind in kinds and c.distinct <= FILTER_START_LEVELS]
        if fewest:
            return [min(fewest, key=lambda c: c.distinct).name]
    return choices[:1]
