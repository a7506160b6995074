"""Altair chart builders; each takes a small tidy pandas frame (aggregate on the engine before charting).

No chart carries more than MAX_CHART_ROWS rows to the browser, whatever the table's size:
builders refuse bigger inputs, so a missing aggregation fails loudly instead of shipping a table.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from pipeline.engines.choices import ENGINE_CHOICES
from pipeline.errors import PipelineError

MAX_CHART_ROWS = 5_000
IMAGE_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}

ENGINE_COLORS = alt.Scale(
    domain=[choice.label for choice in ENGINE_CHOICES.values()],
    range=[choice.colour for choice in ENGINE_CHOICES.values()],
)


def engine_colors(frame: pd.DataFrame, column: str = "engine") -> alt.Scale:
    """Each engine's colour, for the engines the frame holds only: a legend lists what ran, not every engine."""
    present = set(frame[column].astype(str))
    colours = dict(zip(ENGINE_COLORS.domain, ENGINE_COLORS.range, strict=True))
    known = [label for label in colours if label in present]
    others = sorted(present - set(known))
    return alt.Scale(domain=[*known, *others], range=[colours[label] for label in known] + ["#9d755d"] * len(others))


def small(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` if it is small enough to chart; a ValueError otherwise (aggregate it first)."""
    if len(frame) > MAX_CHART_ROWS:
        raise ValueError(f"A chart gets at most {MAX_CHART_ROWS:,} rows; this one has {len(frame):,}: aggregate first.")
    return frame


def chart_image(chart: alt.TopLevelMixin, fmt: str) -> bytes:
    """The chart rendered to PNG or SVG by vl-convert (no browser needed)."""
    try:
        import vl_convert  # only image downloads need it; charts in the page render without it
    except ImportError as error:
        raise PipelineError("Chart images need vl-convert: `pip install vl-convert-python`.") from error
    spec = chart.to_json()
    if fmt == "png":
        return vl_convert.vegalite_to_png(spec, scale=2)
    if fmt == "svg":
        return vl_convert.vegalite_to_svg(spec).encode()
    raise ValueError(f"Unknown image format {fmt!r}: choose one of {', '.join(IMAGE_FORMATS)}.")


def phase_time_chart(timings: pd.DataFrame) -> alt.Chart:
    """Horizontal bars of time per engine (in ms when every engine took under a second), stacked by phase (columns:
    engine, phase, seconds)."""
    unit, factor = time_unit(timings.groupby("engine")["seconds"].sum())
    frame = small(timings).assign(time=lambda f: f["seconds"] * factor)
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("engine:N", title=None, sort=list(ENGINE_COLORS.domain)),
            x=alt.X("sum(time):Q", title=unit),
            color=alt.Color("phase:N", title="phase", legend=alt.Legend(orient="bottom", columns=1, labelLimit=0)),
            tooltip=["engine:N", "phase:N", alt.Tooltip("time:Q", format=".4g", title=unit)],
        )
        .properties(height=alt.Step(36))
    )


SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def size_unit(nbytes: float) -> tuple[str, int]:
    """The unit a number of bytes reads best in (the largest under which it stays below 1,024), and its bytes."""
    power = 0
    while power < len(SIZE_UNITS) - 1 and abs(nbytes) >= 1024 ** (power + 1):
        power += 1
    return SIZE_UNITS[power], 1024**power


def memory_chart(memory: pd.DataFrame) -> alt.Chart:
    """Bars of bytes held per engine (columns: engine, bytes), in the unit the largest reads best in."""
    unit, divisor = size_unit(float(memory["bytes"].max()) if len(memory) else 0.0)
    return (
        alt.Chart(small(memory).assign(size=lambda f: f["bytes"] / divisor))
        .mark_bar()
        .encode(
            y=alt.Y("engine:N", title=None),
            x=alt.X("size:Q", title=f"memory ({unit})"),
            color=alt.Color("engine:N", scale=engine_colors(memory), legend=None),
            tooltip=["engine:N", alt.Tooltip("size:Q", format=",.4g", title=unit)],
        )
        .properties(height=alt.Step(36))
    )


def histogram_chart(bins: pd.DataFrame, title: str, *, temporal: bool = False, brush: str | None = None) -> alt.Chart:
    """Bars of `count` from `start` to `end`; with `brush`, an x-interval selection of that name."""
    kind = "T" if temporal else "Q"
    chart = (
        alt.Chart(small(bins))
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X(f"start:{kind}", title=title, bin="binned"),
            x2=f"end:{kind}",
            y=alt.Y("count:Q", title="rows"),
            tooltip=[alt.Tooltip(f"start:{kind}", title="from"), alt.Tooltip(f"end:{kind}", title="to"), "count:Q"],
        )
        .properties(height=220)
    )
    if brush:
        chart = chart.add_params(alt.selection_interval(name=brush, encodings=["x"]))
    return chart


def top_values_chart(top: pd.DataFrame, title: str, *, pick: str | None = None) -> alt.Chart:
    """Horizontal bars of the most frequent values; with `pick`, a click selection of values by that name."""
    chart = (
        alt.Chart(small(top))
        .mark_bar(color="#f58518")
        .encode(
            y=alt.Y("value:N", title=title, sort="-x"),
            x=alt.X("count:Q", title="rows"),
            tooltip=["value:N", "count:Q", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=alt.Step(22))
    )
    if pick:
        chart = chart.add_params(alt.selection_point(name=pick, fields=["value"]))
    return chart


def tidy_matrix(matrix: pd.DataFrame, value: str) -> pd.DataFrame:
    """A square frame as rows of (row, column, value), in the matrix's order."""
    tidy = matrix.rename_axis(index="row", columns="column").stack(future_stack=True).rename(value).reset_index()
    return tidy.astype({"row": str, "column": str})


def matrix_chart(
    matrix: pd.DataFrame,
    value: str,
    *,
    diverging: bool = False,
    bounded: bool = False,
    labels: bool | None = None,
    titles: tuple[str, str] | None = None,
) -> alt.Chart:
    """A heatmap of a square matrix; diverging colours centred on 0 for correlations (-1 to 1), one colour from 0 to
    1 for a `bounded` measure (Cramér's V), counts otherwise; `titles` name the columns' and the rows' axis (a
    confusion matrix: predicted, actual). Numbers on dark cells are white."""
    tidy = small(tidy_matrix(matrix, value))
    order = [str(c) for c in matrix.columns]
    if diverging:
        scale = alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True)
    else:
        scale = alt.Scale(scheme="blues", domain=[0, 1]) if bounded else alt.Scale(scheme="blues")
    fraction = diverging or bounded
    number = ".2f" if fraction else (".0%" if value == "share" else ",.0f")
    x_title, y_title = titles or (None, None)
    upright = len(order) <= 8  # a few labels read level; many are turned to fit
    base = alt.Chart(tidy).encode(
        x=alt.X(
            "column:N", sort=order, title=x_title, axis=alt.Axis(labelOverlap=False, labelAngle=0 if upright else -45)
        ),
        y=alt.Y("row:N", sort=order, title=y_title, axis=alt.Axis(labelOverlap=False, labelLimit=0)),
    )
    largest = float(tidy[value].abs().max()) if len(tidy) else 0.0
    dark = f"abs(datum['{value}']) > 0.5" if fraction else f"datum['{value}'] > {largest / 2!r}"
    heat = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", scale=scale, title=value),
        tooltip=["row:N", "column:N", alt.Tooltip(f"{value}:Q", format=".3f" if fraction else number)],
    )
    if labels if labels is not None else len(order) <= 12:
        text = base.mark_text(fontSize=10).encode(
            text=alt.Text(f"{value}:Q", format=number),
            color=alt.condition(dark, alt.value("white"), alt.value("black")),
        )
        heat = heat + text
    return heat


def matrix_height(size: int) -> int:
    """The height (pixels) to draw a size × size heatmap at: rows of about 34 px, plus room for the axes (Streamlit
    stretches the width and would otherwise squash the rows)."""
    return max(240, min(1000, 34 * size + 150))


def missing_chart(summary: pd.DataFrame) -> alt.Chart:
    """Bars of the share of missing values per column (columns: column, missing share); the axis ends near the
    largest share, and every column keeps its whole label."""
    return (
        alt.Chart(small(summary))
        .mark_bar(color="#e45756")
        .encode(
            y=alt.Y("column:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=0)),
            x=alt.X("missing share:Q", title="share missing", axis=alt.Axis(format="%"), scale=alt.Scale(nice=True)),
            tooltip=["column:N", alt.Tooltip("missing share:Q", format=".2%"), "missing:Q"],
        )
        .properties(height=alt.Step(22))
    )


def kinds_chart(kinds: dict[str, int]) -> alt.Chart:
    """Bars of how many columns each kind has."""
    frame = pd.DataFrame({"kind": list(kinds), "columns": list(kinds.values())})
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("columns:Q", title="columns", axis=alt.Axis(tickMinStep=1, format="d")),  # counts: whole ticks
            y=alt.Y("kind:N", sort="-x", title=None),
            color=alt.Color("kind:N", legend=None),
            tooltip=["kind:N", "columns:Q"],
        )
        .properties(height=alt.Step(24))
    )


def _axis_type(frame: pd.DataFrame, name: str) -> str:
    series = frame[name]
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "T"
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return "Q"
    return "N"


def pair_heatmap(binned: pd.DataFrame, x: str, y: str, colour: str | None = None) -> alt.Chart:
    """Binned 2-D counts (or a mean per cell) from interactions.binned_pairs."""
    small(binned)
    encodings: dict[str, Any] = {}
    for channel, name in (("x", x), ("y", y)):
        kind = _axis_type(binned, name)
        if kind == "N":
            encodings[channel] = alt.X(f"{name}:N") if channel == "x" else alt.Y(f"{name}:N")
        else:
            axis = alt.X if channel == "x" else alt.Y
            encodings[channel] = axis(f"{name}:{kind}", bin="binned", title=name)
            encodings[f"{channel}2"] = f"{name} end:{kind}"
    value = f"mean {colour}" if colour else "count"
    scale = alt.Scale(scheme="viridis", type="linear" if colour else "log")  # counts span orders of magnitude
    return (
        alt.Chart(binned)
        .mark_rect()
        .encode(
            **encodings,
            color=alt.Color(f"{value}:Q", scale=scale, title=value),
            tooltip=[c for c in binned.columns],
        )
        .properties(height=360)
    )


def scatter_chart(sample: pd.DataFrame, x: str, y: str, colour: str | None = None) -> alt.Chart:
    """Points of a sample of rows, coloured by a third column when one is given."""
    encodings: dict[str, Any] = {
        "x": alt.X(f"{x}:{_axis_type(sample, x)}", scale=alt.Scale(zero=False)),
        "y": alt.Y(f"{y}:{_axis_type(sample, y)}", scale=alt.Scale(zero=False)),
        "tooltip": list(sample.columns),
    }
    if colour:
        kind = _axis_type(sample, colour)
        if kind == "N":  # clusters and classes in colours told apart at a glance (the theme's are shades of blue)
            scheme = "tableau10" if sample[colour].nunique() <= 10 else "tableau20"
            encodings["color"] = alt.Color(f"{colour}:N", scale=alt.Scale(scheme=scheme))
        else:
            encodings["color"] = alt.Color(f"{colour}:{kind}")
    return alt.Chart(small(sample)).mark_circle(size=24, opacity=0.6).encode(**encodings).properties(height=360)


def predicted_chart(points: pd.DataFrame) -> alt.LayerChart:
    """Predicted against actual values with the line y = x (where every prediction would be right), dashed over the
    range both share (columns: actual, predicted)."""
    values = points[["actual", "predicted"]].to_numpy(dtype="float64")
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    line = pd.DataFrame({"actual": [low, high], "predicted": [low, high], "line": ["y = x", "y = x"]})
    diagonal = (
        alt.Chart(line)
        .mark_line(strokeDash=[6, 4], color="#888")
        .encode(x="actual:Q", y="predicted:Q", tooltip=alt.Tooltip("line:N", title="dashed"))
    )
    return alt.layer(scatter_chart(points, "actual", "predicted"), diagonal)


def time_unit(seconds: pd.Series) -> tuple[str, float]:
    """The unit a time axis reads best in (milliseconds below one second), and the factor from seconds."""
    return ("milliseconds", 1e3) if len(seconds) and float(seconds.max()) < 1.0 else ("seconds", 1.0)


STEP_AXIS = alt.Axis(labelLimit=240)  # "12. Drop rows with missing values" whole, not "12. Drop rows wi…"


def step_time_chart(timings: pd.DataFrame, *, log: bool = False) -> alt.Chart:
    """Grouped bars: time per step (in ms when every step is under a second), one bar per engine (columns: step,
    number, engine, seconds)."""
    scale = alt.Scale(type="log") if log else alt.Scale()
    unit, factor = time_unit(timings["seconds"])
    frame = small(timings).assign(time=lambda f: f["seconds"] * factor)
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("step:N", sort=alt.EncodingSortField("number"), title=None, axis=STEP_AXIS),
            yOffset=alt.YOffset("engine:N"),
            x=alt.X("time:Q", scale=scale, title=unit + (" (log scale)" if log else "")),
            color=alt.Color("engine:N", scale=engine_colors(timings), title="engine"),
            tooltip=["step:N", "engine:N", alt.Tooltip("time:Q", format=".4g", title=unit)],
        )
        .properties(height=alt.Step(14))
    )


def speedup_chart(speedups: pd.DataFrame) -> alt.Chart:
    """Bars of the reference engine's time over each other engine's per step, with a rule at 1× (columns: step,
    number, engine, speedup)."""
    bars = (
        alt.Chart(small(speedups))
        .mark_bar()
        .encode(
            y=alt.Y("step:N", sort=alt.EncodingSortField("number"), title=None, axis=STEP_AXIS),
            yOffset="engine:N",
            x=alt.X("speedup:Q", title="speed-up over the CPU (×)"),
            color=alt.Color("engine:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=0)),
            tooltip=["step:N", "engine:N", alt.Tooltip("speedup:Q", format=".2f")],
        )
    )
    return (
        bars + alt.Chart(pd.DataFrame({"speedup": [1.0]})).mark_rule(color="#888").encode(x="speedup:Q")
    ).properties(height=alt.Step(20))


def cumulative_time_chart(timings: pd.DataFrame) -> alt.Chart:
    """Lines of the running total of seconds over the steps, one per engine."""
    ordered = small(timings).sort_values(["engine", "number"])
    totals = ordered.groupby("engine")["seconds"].cumsum()
    unit, factor = time_unit(totals)
    ordered = ordered.assign(total=totals * factor)
    return (
        alt.Chart(ordered)
        .mark_line(point=True)
        .encode(
            x=alt.X("number:O", title="after step", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("total:Q", title=f"{unit} so far"),
            color=alt.Color("engine:N", scale=engine_colors(ordered), title="engine"),
            tooltip=["step:N", "engine:N", alt.Tooltip("total:Q", format=".4g", title=unit)],
        )
        .properties(height=220)
    )


SCALING_NOTE = (
    "Seconds are medians of the runs timed here. Where a run timed no GPU, the dashed line is the GPU time the "
    "published figures give for the same work (an estimate, not a measurement) and the shaded band its range."
)


def positive(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The rows whose `columns` are all above zero: what a log axis can place."""
    return frame[(frame[columns] > 0).all(axis=1)]


def time_vs_rows_chart(
    scaling: pd.DataFrame, title: str, estimate: pd.DataFrame | None = None
) -> alt.Chart | alt.LayerChart:
    """Seconds against rows on log-log axes, one line per series (columns: series, rows, seconds); with `estimate`
    (series, rows, fastest, slowest, middle), the GPU times a model gives beside them: a dashed line in a band from
    the fastest to the slowest estimate, named an estimate in the legend (SCALING_NOTE says it in words). Rows a log
    axis cannot place (zero or negative) are left out; the axis title stays short, as a long one squeezes the plot."""
    rows = alt.X("rows:Q", scale=alt.Scale(type="log"), title="rows", axis=alt.Axis(format="~s"))
    seconds = alt.Scale(type="log")
    legend = alt.Legend(orient="bottom", columns=2, labelLimit=0)
    estimated = estimate is not None and not estimate.empty
    measured = (
        alt.Chart(small(positive(scaling, ["rows", "seconds"])), title=title)
        .mark_line(point=True)
        .encode(
            x=rows,
            y=alt.Y("seconds:Q", scale=seconds, title="seconds"),
            color=alt.Color("series:N", title=None, legend=legend),
            tooltip=["series:N", alt.Tooltip("rows:Q", format=","), alt.Tooltip("seconds:Q", format=".4f")],
        )
        .properties(height=360)
    )
    if not estimated:
        return measured
    placed = positive(estimate, ["rows", "fastest", "slowest", "middle"])
    base = alt.Chart(small(placed)).encode(x=rows, color=alt.Color("series:N", title=None, legend=legend))
    band = base.mark_area(opacity=0.15).encode(y=alt.Y("fastest:Q", scale=seconds, title="seconds"), y2="slowest:Q")
    ends = base.mark_rule(opacity=0.6).encode(
        y=alt.Y("fastest:Q", scale=seconds, title="seconds"), y2="slowest:Q"
    )  # the range where one size is all
    middle = base.mark_line(point=True, strokeDash=[6, 4]).encode(
        y=alt.Y("middle:Q", scale=seconds, title="seconds"),
        tooltip=[
            "series:N",
            alt.Tooltip("rows:Q", format=","),
            alt.Tooltip("fastest:Q", format=".4f", title="estimate, fastest (s)"),
            alt.Tooltip("slowest:Q", format=".4f", title="estimate, slowest (s)"),
        ],
    )
    return alt.layer(measured, band, ends, middle, title=title).properties(height=360)


def speedup_heatmap(speedups: pd.DataFrame, order: list[str], title: str) -> alt.Chart:
    """Speed-up per question and size, coloured on a log scale centred on 1× (columns: question, rows, speedup)."""
    data = small(speedups).assign(label=lambda f: f["speedup"].map(lambda s: f"{s:.3g}×"))
    base = alt.Chart(data, title=title).encode(
        x=alt.X("rows:O", title="rows", axis=alt.Axis(labelAngle=0, format=",")),
        y=alt.Y("question:N", sort=order, title=None),
    )
    heat = base.mark_rect().encode(
        color=alt.Color(
            "speedup:Q",
            scale=alt.Scale(type="log", scheme="redyellowgreen", domainMid=1),
            title="speed-up (×)",
        ),
        tooltip=["question:N", alt.Tooltip("rows:Q", format=","), alt.Tooltip("speedup:Q", format=".2f")],
    )
    return (heat + base.mark_text(fontSize=11).encode(text="label:N")).properties(height=alt.Step(26))


def curve_chart(points: pd.DataFrame, x_title: str, y_title: str, *, diagonal: bool = False) -> alt.Chart:
    """Lines of (x, y) points in [0, 1]², one per series (columns: series, x, y); ROC adds the chance diagonal."""
    unit = alt.Scale(domain=[0, 1])
    lines = (
        alt.Chart(small(points))
        .mark_line()
        .encode(
            x=alt.X("x:Q", title=x_title, scale=unit),
            y=alt.Y("y:Q", title=y_title, scale=unit),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom", columns=2, labelLimit=0)),
            tooltip=["series:N", alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f")],
        )
    )
    if diagonal:
        chance = pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})
        lines = lines + alt.Chart(chance).mark_line(strokeDash=[4, 4], color="#999").encode(x="x:Q", y="y:Q")
    return lines.properties(height=320)


def bar_chart(values: pd.DataFrame, value: str, title: str, *, color: str = "#4c78a8") -> alt.Chart:
    """Horizontal bars of one value per label, largest first (columns: label, `value`)."""
    return (
        alt.Chart(small(values))
        .mark_bar(color=color)
        .encode(
            y=alt.Y("label:N", sort="-x", title=None),
            x=alt.X(f"{value}:Q", title=title),
            tooltip=["label:N", alt.Tooltip(f"{value}:Q", format=".4g")],
        )
        .properties(height=alt.Step(20))
    )


def training_curves_chart(curves: pd.DataFrame, x: str = "epoch") -> alt.Chart:
    """Loss, accuracy (and any other measure in `kind`: samples/s, device busy %) against `x` (epoch, step), one
    line per run (solid: test, dashed: train, dotted: the device), two panels a row."""
    order = ["loss", "accuracy", "samples/s", "device busy %"]
    return (
        alt.Chart(small(curves))
        .mark_line(point=x == "epoch")
        .encode(
            x=alt.X(f"{x}:Q", title=x, axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),  # a loss from 0.30 to 0.05 is not flat
            color=alt.Color("run:N", title=None, legend=alt.Legend(orient="bottom")),
            # the line styles are told in words beside the chart: the one legend lists each run once
            strokeDash=alt.StrokeDash("set:N", title=None, sort=["test", "train", "device"], legend=None),
            tooltip=["run:N", "set:N", "kind:N", f"{x}:Q", alt.Tooltip("value:Q", format=",.4~f")],
        )
        .properties(width=380, height=220)
        .facet(facet=alt.Facet("kind:N", title=None, sort=order), columns=2)
        .resolve_scale(y="independent")
    )


def throughput_chart(rows: pd.DataFrame) -> alt.Chart:
    """Samples per second against batch size (log scale), one line per device (columns: device, batch_size,
    samples_per_s, busy_percent)."""
    return (
        alt.Chart(small(rows.dropna(subset=["samples_per_s"])))
        .mark_line(point=True)
        .encode(
            x=alt.X("batch_size:Q", title="batch size", scale=alt.Scale(type="log", base=2)),
            y=alt.Y("samples_per_s:Q", title="training samples / s"),
            color=alt.Color("device:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[
                "device:N",
                "batch_size:Q",
                alt.Tooltip("samples_per_s:Q", format=",.0f"),
                alt.Tooltip("busy_percent:Q", title="device busy %", format=".0f"),
            ],
        )
        .properties(height=300)
    )


def workers_chart(points: pd.DataFrame) -> alt.LayerChart:
    """Seconds against Dask workers, one line per data size, with pandas' time for that size dashed
    (columns: size, workers, seconds, pandas_seconds)."""
    data = small(points)
    colour = alt.Color("size:N", title=None, legend=alt.Legend(orient="bottom"))
    dask = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("workers:O", title="Dask workers (one thread each)"),
            y=alt.Y("seconds:Q", scale=alt.Scale(type="log"), title="seconds (total of the questions)"),
            color=colour,
            tooltip=["size:N", "workers:O", alt.Tooltip("seconds:Q", format=".2f")],
        )
    )
    pandas = (
        alt.Chart(data)
        .mark_rule(strokeDash=[4, 4])
        .encode(
            y="pandas_seconds:Q",
            color=colour,
            tooltip=["size:N", alt.Tooltip("pandas_seconds:Q", title="pandas seconds", format=".2f")],
        )
    )
    title = "Time against workers (dashed: pandas on one core)"
    return alt.layer(dask, pandas).properties(title=title, height=360, padding={"top": 8})


def published_speedup_chart(figures: pd.DataFrame) -> alt.LayerChart:
    """Published speed-ups per operation on a log axis: a bar to the published range's low end and a line across the
    range where the source gives one; titled as published figures (columns: work, operation, speedup_low/high)."""
    kept = ["work", "operation", "speedup_low", "speedup_high", "source", "gpu", "cpu", "date"]  # no NaN row counts
    frame = small(figures[kept]).assign(label=lambda f: f["work"] + ": " + f["operation"], one=1.0)
    base = alt.Chart(frame).encode(
        y=alt.Y(
            "label:N",
            sort=alt.EncodingSortField("speedup_high", order="descending"),
            title=None,
            axis=alt.Axis(labelLimit=0),
        ),
        tooltip=[
            "work:N",
            "operation:N",
            "source:N",
            "gpu:N",
            "cpu:N",
            "date:N",
            alt.Tooltip("speedup_low:Q", format=".4g", title="speed-up from"),
            alt.Tooltip("speedup_high:Q", format=".4g", title="speed-up to"),
        ],
    )
    log = alt.Scale(type="log")
    bars = base.mark_bar(color="#76b900", opacity=0.8).encode(  # from 1× (a log axis has no 0) to the low end
        x=alt.X("one:Q", scale=log, title="Published GPU speed-up over the CPU (×, log scale; not measured here)"),
        x2="speedup_low:Q",
    )
    ranges = base.mark_rule(color="#2f6b00", strokeWidth=3).encode(x="speedup_low:Q", x2="speedup_high:Q")
    return alt.layer(bars, ranges).properties(height=alt.Step(22))


def box_chart(stats: pd.DataFrame, category: str, value: str) -> alt.LayerChart:
    """Box plots from quartiles computed on the engine: a box from the first to the third quartile, a tick at the
    median and whiskers from the smallest to the largest value (columns: category, count, min, q1, median, q3,
    max)."""
    order = list(stats["category"])
    base = alt.Chart(small(stats)).encode(
        x=alt.X("category:N", sort=order, title=category, axis=alt.Axis(labelAngle=0 if len(order) <= 8 else -45)),
        tooltip=["category:N", "count:Q", "min:Q", "q1:Q", "median:Q", "q3:Q", "max:Q"],
    )
    whiskers = base.mark_rule(color="#888").encode(
        y=alt.Y("min:Q", title=value, scale=alt.Scale(zero=False)), y2="max:Q"
    )
    boxes = base.mark_bar(size=28, color="#4c78a8", opacity=0.7).encode(y="q1:Q", y2="q3:Q")
    medians = base.mark_tick(color="white", size=28, thickness=2).encode(y="median:Q")
    return alt.layer(whiskers, boxes, medians).properties(height=360)
