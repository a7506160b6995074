"""Altair chart builders; each takes a small tidy pandas frame (aggregate before charting)."""

from __future__ import annotations

import altair as alt
import pandas as pd

ENGINE_COLORS = alt.Scale(domain=["CPU (pandas)", "GPU (cuDF)"], range=["#4c78a8", "#76b900"])


def load_time_chart(timings: pd.DataFrame) -> alt.Chart:
    """Horizontal bars of seconds per engine, stacked by phase (parse, convert, transfer)."""
    return (
        alt.Chart(timings)
        .mark_bar()
        .encode(
            y=alt.Y("engine:N", title=None, sort=list(ENGINE_COLORS.domain)),
            x=alt.X("sum(seconds):Q", title="seconds"),
            color=alt.Color("phase:N", title="phase"),
            tooltip=["engine:N", "phase:N", alt.Tooltip("seconds:Q", format=".4f")],
        )
        .properties(height=alt.Step(36))
    )


def memory_chart(memory: pd.DataFrame) -> alt.Chart:
    """Bars of bytes held per engine (columns: engine, bytes)."""
    return (
        alt.Chart(memory)
        .mark_bar()
        .encode(
            y=alt.Y("engine:N", title=None),
            x=alt.X("MiB:Q", title="memory (MiB)"),
            color=alt.Color("engine:N", scale=ENGINE_COLORS, legend=None),
            tooltip=["engine:N", alt.Tooltip("MiB:Q", format=",.2f")],
        )
        .transform_calculate(MiB="datum.bytes / 1048576")
        .properties(height=alt.Step(36))
    )
