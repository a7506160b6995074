"""Explore: profile the active dataset on an engine, compare engines, and look at columns, pairs and filters."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from pipeline.data.catalog import Dataset, EngineCopy
from pipeline.engines import split_reference
from pipeline.profile import (
    CORRELATION_LABELS,
    PRESETS,
    ColumnProfile,
    Profile,
    compare_profiles,
    profile_frame,
    shown,
    type_listing,
)
from pipeline.profile import profile_column as profile_one_column
from pipeline.profile.interactions import (
    MAX_SAMPLE_ROWS,
    Filter,
    apply_filters,
    binned_pairs,
    box_stats,
    filter_from_selection,
    filter_step_params,
    filtered_copies,
    sample_rows,
)
from pipeline.profile.model import MEASURES
from pipeline.profile.report import correlation_chart
from pipeline.profile.words import word_counts
from pipeline.render.charts import (
    bar_chart,
    box_chart,
    histogram_chart,
    kinds_chart,
    matrix_chart,
    matrix_height,
    missing_chart,
    pair_heatmap,
    phase_time_chart,
    scatter_chart,
    top_values_chart,
)
from pipeline.steps.spec import Step
from pipeline.tables.column_kinds import BOOLEAN, DATETIME, NUMERIC, OTHER, TEXT
from ui import format as fmt
from ui.chart_panel import show_chart
from ui.choices import last_index, remember
from ui.shell import within_app
from ui.state import active_dataset_or_stop, catalog, eta_bar, shown_errors, working_on
from ui.views.explore import (
    filter_start,
    first_pair,
    interaction_columns,
    profile_speedups,
    profile_times,
    strongest_pairs,
)
from ui.workspace import add_step_for

within_app()

AUTO_PROFILE_CELLS = 20_000_000
DASK_VIEW_ROWS = 200_000  # rows of a Dask dataset the interactive views bring to this server
MAX_FILTER_CHARTS = 4
STAT_LABELS = {
    "mean": "mean",
    "std": "standard deviation",
    "min": "minimum",
    "p5": "5th percentile",
    "p25": "25th percentile (Q1)",
    "p50": "median",
    "p75": "75th percentile (Q3)",
    "p95": "95th percentile",
    "max": "maximum",
    "skew": "skew",
    "kurtosis": "excess kurtosis",
    "zeros": "zeros",
    "negatives": "negative values",
    "infinite": "infinite values",
}


def view_copy(dataset: Dataset, engine_name: str) -> EngineCopy:
    """The copy the interactive views read: the engine's own, or for a Dask copy a random sample on this server."""
    copy = dataset.copies[engine_name]
    if not copy.lazy:
        return copy
    rows = dataset.shape[0]

    def draw() -> EngineCopy:
        sample = copy.engine.sample(copy.frame, rows, DASK_VIEW_ROWS)
        where = f"a random sample of {len(sample):,} of the {rows:,} rows on {copy.engine.label}"
        return EngineCopy(copy.engine.local, sample, {}, where)

    view = dataset.remember(("view sample", engine_name), draw)
    if len(view.frame) < rows:
        st.caption(f":material/info: These views read {view.route}, brought to this server.")
    return view


def run_profile(dataset: Dataset, engine_name: str, preset: str, slot: Any) -> Profile:
    """The profile on one engine, computed once per dataset, engine and preset; progress shows in `slot`."""
    copy = dataset.copies[engine_name]

    def compute() -> Profile:
        with slot.container():  # a click on Stop (or anywhere) interrupts the profile; nothing half-made is kept
            st.button("Stop profiling", key=f"profile_stop_{engine_name}", icon=":material/stop_circle:")
            budget = catalog().budget()
            with working_on(dataset), eta_bar(st, f"Profiling on {copy.engine.label}…") as report:
                result = profile_frame(copy.engine, copy.frame, PRESETS[preset], report, budget)
        slot.empty()
        return result

    return dataset.remember(("profile", engine_name, preset), compute)


def overview(profile: Profile) -> None:
    table = profile.table
    cells = table.rows * table.columns
    metrics = st.columns(5)
    metrics[0].metric("Rows", f"{table.rows:,}")
    metrics[1].metric("Columns", f"{table.columns:,}")
    metrics[2].metric(f"Memory ({profile.engine.upper()})", fmt.size(table.memory_bytes))
    metrics[3].metric(
        "Duplicate rows",
        "—" if table.duplicate_rows is None else f"{table.duplicate_rows:,}",
        help="Not counted in the minimal profile." if table.duplicate_rows is None else None,
    )
    share = table.missing_cells / cells if cells else 0.0
    metrics[4].metric("Missing cells", f"{share:.1%}", help=f"{table.missing_cells:,} of {cells:,} cells")
    left, right = st.columns([1, 2])
    with left:
        st.markdown("**Column kinds**")
        show_chart(kinds_chart(table.kinds), pd.DataFrame([table.kinds]), "column_kinds", "chart_kinds")
    with right:
        st.markdown(f"**Alerts** ({len(profile.alerts)})")
        if not profile.alerts:
            st.success("Nothing stands out: no alerts.", icon=":material/check_circle:")
        with st.container(height=260 if len(profile.alerts) > 6 else "content", border=False):
            for alert in profile.alerts:
                st.warning(alert.message, icon=":material/warning:")
    st.markdown("**Columns**")
    st.dataframe(
        fmt.people_table(profile.summary()),
        hide_index=True,
        width="stretch",
        column_config={
            "missing %": st.column_config.ProgressColumn("missing %", min_value=0, max_value=100, format="%.1f%%")
        },
    )


def column_charts(column: ColumnProfile, key: str) -> None:
    if column.histogram is not None:
        what = {"value": column.name, "time": f"{column.name} over time", "length": f"length of {column.name}"}
        title = what[column.histogram_of or "value"]
        chart = histogram_chart(column.histogram, title, temporal=column.histogram_of == "time")
        show_chart(chart, column.histogram, f"{column.name}_{column.histogram_of}_histogram", f"{key}_hist")
    if column.top_values is not None and len(column.top_values):
        chart = top_values_chart(column.top_values, column.name)
        show_chart(chart, column.top_values, f"{column.name}_top_values", f"{key}_top")


def word_frequencies(dataset: Dataset, engine_name: str, name: str) -> None:
    """The most frequent words of a text column, counted on the engine when asked for (kept with the dataset)."""
    if not st.toggle("Word frequencies", key=f"words_{dataset.id}_{name}"):
        return
    copy = view_copy(dataset, engine_name)
    with shown_errors(f"counting the words of {name}"):
        words = dataset.remember(("words", engine_name, name), lambda: word_counts(copy.engine, copy.frame[name]))
        if words.empty:
            st.caption(f"{name} holds no words.")
            return
        chart = bar_chart(words.rename(columns={"word": "label"}), "count", f"most frequent words in {name}")
        show_chart(chart, words, f"{name}_words", f"words_chart_{name}")


def column_tab(dataset: Dataset, profile: Profile, engine_name: str) -> None:
    names = [c.name for c in profile.columns]
    index = last_index("explore_column", names)
    name = remember("explore_column", st.selectbox("Column", names, index=index, key="explore_column"))
    column = profile.column(name)
    st.caption(f"{column.kind} · dtype `{column.dtype}` on {profile.engine_label}")
    metrics = st.columns(4)
    metrics[0].metric("Values", f"{column.count:,}")
    metrics[1].metric("Missing", f"{column.missing:,}", help=f"{column.missing_share:.2%} of rows")
    metrics[2].metric("Distinct", f"{column.distinct:,}")
    metrics[3].metric("Alerts", len(column.flags))
    for message in column.flags.values():
        st.warning(message, icon=":material/warning:")
    stats_col, chart_col = st.columns([1, 2])
    with stats_col:
        table = {STAT_LABELS.get(k, k.replace("_", " ")): shown(v) for k, v in column.stats.items() if k != "types"}
        if column.stats.get("types"):
            table["Python types"] = type_listing(column.stats["types"])
        if table:
            st.dataframe(pd.DataFrame({"statistic": list(table), "value": list(table.values())}), hide_index=True)
        elif column.kind == OTHER:
            st.info("Columns of this kind get counts only.", icon=":material/info:")
    with chart_col:
        if column.count == 0:
            st.info("Every value is missing: there is nothing to chart.", icon=":material/info:")
        column_charts(column, f"col_{profile.columns.index(column)}")
        if column.kind == TEXT and column.count:
            word_frequencies(dataset, engine_name, name)


def correlations_tab(profile: Profile) -> None:
    if not profile.correlations:
        st.info(profile.correlation_note or "No correlations.", icon=":material/info:")
        return
    method = st.radio(
        "Method",
        list(profile.correlations),
        horizontal=True,
        key="explore_corr_method",
        format_func=lambda m: CORRELATION_LABELS.get(m, m),
    )
    method = method or "pearson"
    matrix = profile.correlations[method]
    if profile.correlation_note:
        st.caption(profile.correlation_note)
    st.caption(
        "Pearson uses each pair's complete rows; Spearman ranks the values within the rows each pair shares "
        "(ties averaged), as pandas and SciPy do; both run from -1 to 1. Cramér's V measures how much two "
        "category columns go together, from 0 (not at all) to 1 (one decides the other), over text and true/false "
        "columns of 2 to 50 values; it is bias-corrected (Bergsma 2013), so that columns unrelated in a small table "
        "come out near 0 rather than inflated."
    )
    if method in profile.method_notes:
        st.caption(f":material/info: {profile.method_notes[method]}")
    show_chart(
        correlation_chart(matrix, method),
        matrix.reset_index(),
        f"{method}_correlation",
        "chart_corr",
        height=matrix_height(len(matrix)),
    )
    st.markdown("**Strongest pairs**")
    pairs = strongest_pairs(matrix, measure=MEASURES.get(method, "r"))
    st.dataframe(fmt.people_table(pairs), hide_index=True, width="stretch")


def missing_tab(profile: Profile) -> None:
    missing = pd.DataFrame(
        [{"column": c.name, "missing share": c.missing_share, "missing": c.missing} for c in profile.columns]
    )
    if not missing["missing"].any():
        st.success("No missing values in any column.", icon=":material/check_circle:")
        return
    missing = missing[missing["missing"] > 0]
    st.markdown(f"**Share missing** ({len(missing)} of {len(profile.columns)} columns have gaps)")
    show_chart(missing_chart(missing), missing, "missing_share", "chart_missing")
    if profile.missing_together is None:
        st.caption("The minimal profile does not compute which values go missing together.")
        return
    left, right = st.columns(2)
    with left:
        st.markdown("**Rows missing in both columns**")
        together = profile.missing_together
        show_chart(
            matrix_chart(together, "rows"),
            together.reset_index(),
            "missing_together",
            "chart_together",
            height=matrix_height(len(together)),
        )
    with right:
        st.markdown("**Correlation of missingness**")
        st.caption("Near 1: the columns go missing together; near -1: one is missing when the other is not.")
        nullity = profile.missing_correlation
        show_chart(
            matrix_chart(nullity, "r", diverging=True),
            nullity.reset_index(),
            "missing_correlation",
            "chart_nc",
            height=matrix_height(len(nullity)),
        )


def current_filters() -> dict[str, Filter]:
    """The active dataset's filters by column (each dataset keeps its own)."""
    return st.session_state.setdefault(f"explore_filters_{catalog().active_id}", {})


def filtered(frame: Any) -> Any:
    """The rows passing the active dataset's filters, selected on the engine."""
    return apply_filters(frame, list(current_filters().values()))


def box_pair(kinds: dict[str, str], x: str, y: str) -> tuple[str, str] | None:
    """(category, number) when one of the two columns is text or true/false and the other numeric."""
    for category, value in ((x, y), (y, x)):
        if kinds.get(category) in (TEXT, BOOLEAN) and kinds.get(value) == NUMERIC:
            return category, value
    return None


def interactions_tab(dataset: Dataset, profile: Profile, engine_name: str) -> None:
    copy = view_copy(dataset, engine_name)
    usable, left_out = interaction_columns(profile)
    if len(usable) < 2:
        st.info("Interactions need two columns with values; this table has fewer.", icon=":material/info:")
        return
    numeric = [c.name for c in profile.columns if c.kind == NUMERIC and c.count]
    pair = first_pair(profile, usable) or (usable[0], usable[1])
    x_col, y_col, colour_col, view_col = st.columns(4)
    x = x_col.selectbox("x", usable, index=usable.index(pair[0]), key=f"pair_x_{dataset.id}")
    others = [n for n in usable if n != x]
    y = y_col.selectbox(
        "y", others, index=others.index(pair[1]) if pair[1] in others else 0, key=f"pair_y_{dataset.id}"
    )
    if left_out:
        st.caption("Not offered here: " + "; ".join(left_out.values()))
    colour = colour_col.selectbox("Colour by", ["(none)", *[n for n in usable if n not in (x, y)]], key="pair_colour")
    colour = None if colour == "(none)" else colour
    frame = filtered(copy.frame)
    rows = len(frame)
    kinds = {c.name: c.kind for c in profile.columns}
    boxes = box_pair(kinds, x, y)
    views = ["scatter", "binned heatmap", *(["box plot"] if boxes else [])]
    default = 2 if boxes else 0 if rows <= MAX_SAMPLE_ROWS else 1  # a number by a category opens as box plots
    view = view_col.radio("View", views, index=default, key=f"pair_view_{default}")
    if current_filters():
        st.caption(f"With the filters of the Filter tab: {rows:,} of {len(copy.frame):,} rows.")
    if rows == 0:
        st.info("No rows pass the filters. Clear them on the Filter tab.", icon=":material/info:")
        return
    if view == "box plot" and boxes:
        category, value = boxes
        stats = box_stats(copy.engine, frame, category, value)
        st.caption(
            f"Quartiles of {value} within the {len(stats)} most frequent values of {category}, computed on "
            f"{copy.engine.label}; whiskers from the smallest to the largest value."
        )
        show_chart(box_chart(stats, category, value), stats, f"{value}_by_{category}", "chart_pair")
        return
    if view == "scatter":
        sample = sample_rows(copy.engine, frame, [x, y, *([colour] if colour else [])])
        if rows > len(sample):
            st.caption(f"A random sample of {len(sample):,} of {rows:,} rows, drawn on {copy.engine.label}.")
        show_chart(scatter_chart(sample, x, y, colour), sample, f"{x}_vs_{y}", "chart_pair")
        return
    if colour and colour not in numeric:
        st.caption(f"The heatmap colours cells by a numeric column's mean; {colour!r} is not numeric, so counts show.")
        colour = None
    binned = binned_pairs(copy.engine, frame, x, y, colour)
    st.caption(f"{rows:,} rows binned on {copy.engine.label} into {len(binned):,} cells.")
    show_chart(pair_heatmap(binned, x, y, colour), binned, f"{x}_vs_{y}_binned", "chart_pair")


def filter_chart(dataset: Dataset, engine_name: str, copy: EngineCopy, profile: Profile, name: str) -> None:
    """One column's distribution under every other filter; brushing or clicking it sets this column's filter."""
    others = tuple(f for column, f in current_filters().items() if column != name)

    def distribution() -> ColumnProfile:
        series = apply_filters(copy.frame, list(others))[name]
        return profile_one_column(copy.engine, series, int(series.isna().sum()), PRESETS["minimal"])

    column = dataset.remember(("filter chart", engine_name, name, others), distribution)
    param = f"pick_{profile.columns.index(profile.column(name))}"
    if column.count == 0:
        st.caption(f"{name}: no values under the other filters.")
        return
    if column.kind in (NUMERIC, DATETIME):
        chart = histogram_chart(column.histogram, name, temporal=column.kind == DATETIME, brush=param)
        data = column.histogram
    else:
        chart, data = top_values_chart(column.top_values, name, pick=param), column.top_values
    generation = st.session_state.get("filter_generation", 0)  # new keys drop the brushes of cleared filters
    key = f"filter_chart_{dataset.id}_{param}_{generation}"  # a brush stays with its dataset, never applies to the next
    event = show_chart(chart, data, f"{name}_filter", key, selectable=True)
    selection = (event or {}).get("selection", {}).get(param)
    rule = filter_from_selection(copy.frame, name, selection) if selection else None
    if rule is not None and current_filters().get(name) != rule:
        current_filters()[name] = rule
        st.rerun()


def keep_filtered_rows(dataset: Dataset, profile: Profile, rules: list[Filter]) -> None:
    """The rows that pass, kept as a dataset of their own, or as a filter step at the end of the dataset's recipe."""
    as_dataset, as_step = st.columns(2)
    if as_dataset.button("Keep these rows as a dataset", key="filter_keep", icon=":material/save:", width="stretch"):
        with shown_errors("keeping the filtered rows"):
            described = " and ".join(rule.describe() for rule in rules)
            kept = catalog().add(
                f"{dataset.name} (filtered)",
                f"rows of {dataset.name} where {described}",
                filtered_copies(dataset.copies, rules),
            )
            st.toast(f"Saved {kept.name}; it is now the active dataset.")
            st.rerun()
    if as_step.button(
        "Add to the Pipeline as a filter step", key="filter_step", icon=":material/account_tree:", width="stretch"
    ):
        kinds = {c.name: c.kind for c in profile.columns}
        add_step_for(dataset.id, Step("filter", filter_step_params(rules, kinds)))
        st.toast("Added a filter step at the end of this dataset's Pipeline.")


def filter_tab(dataset: Dataset, profile: Profile, engine_name: str) -> None:
    copy = view_copy(dataset, engine_name)
    choices = [c.name for c in profile.columns if c.kind in (NUMERIC, DATETIME, TEXT, BOOLEAN) and c.count]
    defaults = [n for n in choices if n in current_filters()] or filter_start(profile, choices)
    picked = st.multiselect(
        "Columns to filter by",
        choices,
        default=defaults,
        max_selections=MAX_FILTER_CHARTS,
        key=f"filter_columns_{dataset.id}",
    )
    st.caption(
        "Drag across a histogram or click bars of values to filter the rows; every other chart, and the "
        f"Interactions tab, follow. The filtering runs on {copy.engine.label}."
    )
    filters = current_filters()
    for name in [n for n in filters if n not in picked]:
        del filters[name]
    rows = len(filtered(copy.frame))
    total = len(copy.frame)
    status, clear = st.columns([4, 1], vertical_alignment="center")
    status.markdown(f"**{rows:,} of {total:,} rows** pass ({rows / total:.1%})" if total else "The table has no rows.")
    if clear.button("Clear filters", key="filter_clear", disabled=not filters, icon=":material/filter_alt_off:"):
        filters.clear()
        st.session_state["filter_generation"] = st.session_state.get("filter_generation", 0) + 1
        st.rerun()
    for rule in filters.values():
        st.caption(f":material/filter_alt: {rule.describe()}")
    if filters:
        keep_filtered_rows(dataset, profile, list(filters.values()))
    charts = st.columns(2)
    for i, name in enumerate(picked):
        with charts[i % 2]:
            filter_chart(dataset, engine_name, copy, profile, name)


def engine_comparison(dataset: Dataset, preset: str, slot: Any) -> None:
    profiles = {name: run_profile(dataset, name, preset, slot) for name in dataset.copies}
    timings = profile_times(profiles)
    st.markdown("**Profile time by engine**")
    show_chart(phase_time_chart(timings), timings, "profile_times", "chart_engine_times")
    for label, ratio in profile_speedups(profiles).items():
        st.metric(f"{label} speed-up", f"{ratio:,.2f}×")
    reference, others = split_reference(profiles)
    for other in others.values() if reference is not None else ():
        parity = compare_profiles(reference, other)
        if parity.ok:
            estimates = " (the estimates of a Dask profile left out)" if other.approximate else ""
            st.success(
                f"{other.engine_label}: the statistics agree{estimates}: counts exactly, floating-point values "
                "within 1e-7 relative.",
                icon=":material/check_circle:",
            )
        else:
            st.warning(
                f"{other.engine_label}: {len(parity.mismatches)} statistics differ: "
                + "; ".join(parity.mismatches[:10]),
                icon=":material/warning:",
            )


st.title("Explore")
dataset = active_dataset_or_stop()

engine_names = list(dataset.copies)
labels = {name: copy.engine.label for name, copy in dataset.copies.items()}
rows, width = dataset.shape
st.caption(f"**{dataset.name}** · {rows:,} rows × {width:,} columns · every statistic is computed on the engine.")
engine_col, preset_col, compare_col = st.columns([2, 2, 2], vertical_alignment="bottom")
engine_name = engine_col.selectbox(
    "Engine", engine_names, index=len(engine_names) - 1, format_func=labels.get, key="explore_engine"
)
preset = preset_col.radio(
    "Profile",
    list(PRESETS),
    horizontal=True,
    key="explore_preset",
    help="minimal: per-column statistics only (what ydata-profiling's minimal mode computes); "
    "full: also duplicate rows, correlations and missing-value patterns.",
)
compare = compare_col.toggle(
    "Compare engines",
    key="explore_compare",
    disabled=len(engine_names) < 2,
    help="Profile on every engine, show the times side by side and check the statistics agree."
    if len(engine_names) > 1
    else "This dataset is on one engine only; the System page says why the GPU engine is unavailable.",
)
for name, reason in dataset.failures.items():
    st.caption(f":material/info: Not on {name.upper()}: {reason}")

ready = rows * width <= AUTO_PROFILE_CELLS or dataset.recall(("profile", engine_name, preset)) is not None
if not ready and not st.button(f"Profile {rows:,} rows on {labels[engine_name]}", type="primary", key="profile_go"):
    st.info("Large table: profiling starts when you press the button (it shows progress per column).")
    st.stop()

progress_slot = st.empty()  # always present, so the elements below keep their place between reruns
with shown_errors("profiling the table"):
    profile = run_profile(dataset, engine_name, preset, progress_slot)
    st.caption(f"Profiled on {profile.engine_label} in {fmt.seconds(profile.seconds)} ({preset}).")
    for note in profile.approximate:
        st.caption(f"≈ Estimated: {note}")
    if compare:
        engine_comparison(dataset, preset, progress_slot)
    views = {
        "Overview": lambda: overview(profile),
        "Columns": lambda: column_tab(dataset, profile, engine_name),
        "Correlations": lambda: correlations_tab(profile),
        "Missing values": lambda: missing_tab(profile),
        "Interactions": lambda: interactions_tab(dataset, profile, engine_name),
        "Filter": lambda: filter_tab(dataset, profile, engine_name),
    }
    # Only the open tab runs (on_change="rerun" makes tabs lazy), so a big table pays for one view at a time.
    for label, tab in zip(views, st.tabs(list(views), key="explore_tab", on_change="rerun"), strict=True):
        with tab, shown_errors(f"showing {label.lower()}"):
            if tab.open:
                views[label]()
