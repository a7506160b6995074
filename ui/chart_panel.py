"""Charts on a page with their downloads: PNG and SVG of the chart (vl-convert), CSV of its data."""

from __future__ import annotations

import re
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from pipeline.render.charts import IMAGE_FORMATS, chart_image
from pipeline.render.csv_export import safe_csv


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "chart"


def downloads(chart: alt.TopLevelMixin, data: pd.DataFrame, name: str, key: str) -> None:
    """Three download buttons; images are rendered only when one is clicked."""
    stem = _file_stem(name)
    columns = st.columns(3)
    for column, (fmt, mime) in zip(columns, IMAGE_FORMATS.items(), strict=False):
        column.download_button(
            fmt.upper(),
            data=lambda fmt=fmt: chart_image(chart, fmt),
            file_name=f"{stem}.{fmt}",
            mime=mime,
            key=f"{key}_{fmt}",
            on_click="ignore",
            icon=":material/image:",
            width="stretch",
        )
    columns[2].download_button(
        "CSV",
        data=lambda: safe_csv(data),
        file_name=f"{stem}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        on_click="ignore",
        icon=":material/table:",
        width="stretch",
    )


def show_chart(
    chart: alt.TopLevelMixin,
    data: pd.DataFrame,
    name: str,
    key: str,
    *,
    selectable: bool = False,
    height: int | str = "content",
) -> Any:
    """Draw the chart with a Download menu; with `selectable`, return the selection event (reruns on change).
    `height` in pixels for charts whose rows must keep their size when the width stretches (heatmaps)."""
    if selectable:
        event = st.altair_chart(chart, width="stretch", height=height, key=key, on_select="rerun")
    else:
        event = None
        st.altair_chart(chart, width="stretch", height=height, key=key)
    with st.popover("Download", icon=":material/download:"):
        downloads(chart, data, name, key)
    return event
