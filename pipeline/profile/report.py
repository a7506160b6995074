"""A profile as one standalone HTML file: tables and charts inlined as SVG, no scripts, nothing fetched."""

from __future__ import annotations

import html

import altair as alt
import pandas as pd

from pipeline.profile import CORRELATION_LABELS, ColumnProfile, Profile, shown, type_listing
from pipeline.profile.model import BOUNDED, MEASURES
from pipeline.render.charts import chart_image, histogram_chart, matrix_chart, missing_chart, top_values_chart

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1f2328; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: 0.3rem; margin-top: 2.5rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.6rem; text-align: left; }
.facts td:last-child, .stats td:last-child { text-align: right; }
.alert { background: #fff8c5; border-left: 4px solid #d4a72c; padding: 0.3rem 0.6rem; margin: 0.2rem 0; }
.column { display: flex; gap: 2rem; flex-wrap: wrap; align-items: flex-start; }
.muted { color: #656d76; }
"""


def correlation_chart(matrix: pd.DataFrame, method: str) -> alt.Chart:
    """A method's matrix as a heatmap: r from -1 to 1 centred on 0, Cramér's V from 0 to 1."""
    bounded = method in BOUNDED
    return matrix_chart(matrix, MEASURES.get(method, "r"), diverging=not bounded, bounded=bounded)


def _svg(chart: alt.TopLevelMixin) -> str:
    return chart_image(chart, "svg").decode()


def _table(rows: dict[str, object], css: str) -> str:
    body = "".join(
        f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(shown(value))}</td></tr>" for key, value in rows.items()
    )
    return f'<table class="{css}">{body}</table>'


def _column_section(column: ColumnProfile) -> str:
    facts = {"kind": column.kind, "dtype": column.dtype, "values": column.count, "missing": column.missing}
    facts["distinct"] = column.distinct
    stats = {key: value for key, value in column.stats.items() if key != "types"}
    if column.stats.get("types"):
        stats["Python types"] = type_listing(column.stats["types"])
    charts = []
    if column.histogram is not None:
        title = {"time": f"{column.name} over time", "length": f"length of {column.name}"}.get(
            column.histogram_of or "", column.name
        )
        charts.append(_svg(histogram_chart(column.histogram, title, temporal=column.histogram_of == "time")))
    if column.top_values is not None and len(column.top_values):
        charts.append(_svg(top_values_chart(column.top_values, column.name)))
    alerts = "".join(f'<div class="alert">{html.escape(message)}</div>' for message in column.flags.values())
    return (
        f"<h3>{html.escape(column.name)}</h3>{alerts}<div class='column'>"
        f"<div>{_table(facts, 'facts')}{_table(stats, 'stats')}</div>{''.join(charts)}</div>"
    )


def profile_html(profile: Profile, title: str) -> str:
    """The whole profile as an HTML document."""
    table = profile.table
    facts = {
        "rows": table.rows,
        "columns": table.columns,
        "memory": f"{table.memory_bytes:,} bytes on {profile.engine_label}",
        "duplicate rows": "not counted (minimal profile)" if table.duplicate_rows is None else table.duplicate_rows,
        "missing cells": table.missing_cells,
        **{f"{kind} columns": n for kind, n in table.kinds.items()},
    }
    alerts = "".join(f'<div class="alert">{html.escape(alert.message)}</div>' for alert in profile.alerts)
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='muted'>Profiled on {html.escape(profile.engine_label)} in {profile.seconds:.3f} s "
        "by GPU Pipeline Lab.</p>",
        "<h2>Table</h2>",
        _table(facts, "facts"),
        f"<h2>Alerts ({len(profile.alerts)})</h2>",
        alerts or "<p>None.</p>",
        "<h2>Columns</h2>",
        profile.summary().to_html(index=False, float_format=lambda v: f"{v:,.4g}", border=0),
        *(_column_section(column) for column in profile.columns),
        "<h2>Correlations</h2>",
    ]
    for method, matrix in profile.correlations.items():
        parts += [f"<h3>{CORRELATION_LABELS.get(method, method)}</h3>", _svg(correlation_chart(matrix, method))]
        if method in profile.method_notes:
            parts.append(f"<p class='muted'>{html.escape(profile.method_notes[method])}</p>")
    if profile.correlation_note:
        parts.append(f"<p class='muted'>{html.escape(profile.correlation_note)}</p>")
    parts.append("<h2>Missing values</h2>")
    gaps = pd.DataFrame(
        [
            {"column": c.name, "missing share": c.missing_share, "missing": c.missing}
            for c in profile.columns
            if c.missing
        ]
    )
    if gaps.empty:
        parts.append("<p>No missing values.</p>")
    else:
        parts.append(_svg(missing_chart(gaps)))
    if profile.missing_together is not None:
        parts += ["<h3>Rows missing in both columns</h3>", _svg(matrix_chart(profile.missing_together, "rows"))]
    parts.append("</body></html>")
    return "".join(parts)
