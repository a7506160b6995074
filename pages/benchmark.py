"""Benchmark: run the suites here or load saved results (several at once), then compare engines, peers and machines."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from pipeline.bench.dask_scaling_view import (
    load_scaling_report,
    out_of_core_table,
    scaling_points,
    shipped_scaling_reports,
    workers_points,
)
from pipeline.bench.harness import (
    ENGINES,
    BenchSettings,
    default_engines,
    engine_missing_reason,
    new_results,
    run_bench,
    starts_cluster,
)
from pipeline.bench.peers import PEER_LABELS
from pipeline.bench.results import ERROR, FAILED, BenchResults, load_results, shipped_results
from pipeline.bench.suites import NOT_YET, SUITES
from pipeline.bench.views import (
    TOTAL,
    cpu_gpu_times,
    cpu_only_times,
    default_comparison,
    environment_table,
    estimated_gpu_curves,
    question_order,
    records_table,
    scaling,
    speedups,
)
from pipeline.cost import break_even, costs
from pipeline.countdown import Part, Rates
from pipeline.engines.dask import DASK_LABELS
from pipeline.published import ESTIMATE_NOTE, SUITE_WORK, published_span, speedup_range
from pipeline.published.size_model import estimated_break_even, fixed_cost, fixed_cost_table
from pipeline.render.charts import (
    SCALING_NOTE,
    published_speedup_chart,
    speedup_heatmap,
    time_vs_rows_chart,
    workers_chart,
)
from pipeline.render.csv_export import safe_csv
from ui import format as fmt
from ui.chart_panel import show_chart
from ui.cluster_field import cluster_choice_field
from ui.published_panel import estimated_costs, instance_prices, shipped_figures, shipped_fixed_costs
from ui.shell import within_app
from ui.state import engines, eta_bar, session_id, shown_errors
from ui.workspace import RUNS_KEY, bench_runs

within_app()

RUNNING_KEY = "bench_running"  # the run in progress; still set on the next run when it was stopped
RATES_KEY = "bench_rates"  # seconds measured per suite and size, for the time left

published_runs = st.cache_data(show_spinner=False)(shipped_results)  # files of this installation: read once
shipped_scaling = st.cache_data(show_spinner=False)(shipped_scaling_reports)
SIZES = [10_000, 100_000, 1_000_000, 10_000_000, 100_000_000]
COLUMNS = ["run", "suite", "question", "label", "engine_label", "rows", "status", "median_s", "min_s", "max_s"]
RECORD_HEADERS = {"engine_label": "engine", "median_s": "median (s)", "min_s": "fastest (s)", "max_s": "slowest (s)"}


def add_runs(new: dict[str, BenchResults]) -> None:
    """Keep the runs and show them along with the runs already shown."""
    bench_runs().update(new)
    shown = st.session_state.get("bench_shown", [])
    st.session_state["bench_shown"] = list(dict.fromkeys([*shown, *new]))


def engine_label(name: str) -> str:
    labels = {engine.name: engine.label for engine in engines()} | PEER_LABELS | DASK_LABELS
    return labels.get(name, name.upper())


def dask_fields() -> dict:
    """Where the Dask engines run, inside the form: BenchSettings' dask_cluster field."""
    with st.expander("Dask cluster (for the Dask engines)"):
        st.caption(
            "A Dask engine runs on the cluster chosen here (the server's shared local one, started the first time, "
            "or a scheduler the operator lists); the groupby, join and steps suites run on it (the others are "
            "recorded as skipped)."
        )
        return {"dask_cluster": cluster_choice_field("bench_dask_cluster")}


def run_here() -> None:
    available = default_engines()
    offered = [*available, *(name for name in ENGINES if starts_cluster(name) and engine_missing_reason(name) is None)]
    missing = {name: engine_missing_reason(name) for name in ENGINES if name not in offered}
    with st.form("bench_form", border=True):
        left, right = st.columns(2)
        suites = left.multiselect("Suites", list(SUITES), default=["groupby", "join"], key="bench_suites")
        chosen = right.multiselect(
            "Engines and peers", offered, default=available, format_func=engine_label, key="bench_engines"
        )
        sizes = left.multiselect("Rows", SIZES, default=[100_000], format_func=lambda n: f"{n:,}", key="bench_sizes")
        repeat, warm = right.columns(2)
        repeats = repeat.number_input("Timed repeats", 1, 20, 3, key="bench_repeats")
        warmup = warm.number_input("Warm-up runs", 0, 5, 1, key="bench_warmup")
        cluster = dask_fields()
        go = st.form_submit_button("Run the benchmark", type="primary", icon=":material/play_arrow:", key="bench_go")
    notes = [f"{engine_label(name)}: {reason.rstrip('.')}" for name, reason in missing.items()]
    notes += [f"{name}: {why}" for name, why in NOT_YET.items()]
    st.caption(
        "Each suite's table is generated once per size from a fixed seed (the same data on every engine); "
        "warm-up runs are not timed; the device is synchronised before each clock stops; an answer that "
        "disagrees with the first engine's is reported as failed, not timed. "
        + ("Not available: " + "; ".join(notes) if notes else "")
    )
    if go:
        with shown_errors("running the benchmark"):
            settings = BenchSettings(
                tuple(suites),
                tuple(chosen),
                tuple(sorted(sizes)),
                repeats=int(repeats),
                warmup=int(warmup),
                **cluster,
            )
            name = f"this session {time.strftime('%H:%M:%S')}"
            results = new_results(settings)
            add_runs({name: results})  # kept from the start and filled as it runs: Stop keeps what is done
            st.session_state[RUNNING_KEY] = name
            stop_slot = st.empty()
            stop_slot.button("Stop the benchmark", key="bench_stop", icon=":material/stop_circle:")
            rates = st.session_state.setdefault(RATES_KEY, Rates())
            with eta_bar(st, "Starting…", bench_parts(settings), rates) as report:
                run_bench(settings, report, results, user=session_id())  # counted on its Dask clusters while it runs
            st.session_state.pop(RUNNING_KEY, None)
            stop_slot.empty()
            st.toast("Benchmark finished.")


def bench_parts(settings: BenchSettings) -> list[Part]:
    """The run's cases in the order `run_bench` takes them, each a part of the time left: a suite on these engines,
    sized by its rows (so the time left comes from the sizes already done)."""
    engines = " and ".join(settings.engines)
    return [Part(f"{suite} on {engines}", rows) for rows in settings.sizes for suite in settings.suites]


def load_files() -> None:
    files = st.file_uploader(
        "Results files (.json) written by `python -m pipeline.bench --out` or downloaded here",
        type=["json"],
        accept_multiple_files=True,
        key="bench_files",
    )
    left, right = st.columns(2)
    if left.button("Load", key="bench_load", disabled=not files, icon=":material/upload_file:"):
        for upload in files:
            with shown_errors(f"loading {upload.name}"):
                add_runs({upload.name: load_results(upload.getvalue(), upload.name)})
    shipped = published_runs()
    if right.button(
        "Load the published runs",
        key="bench_shipped",
        disabled=not shipped,
        icon=":material/library_books:",
        help="The runs measured for docs/benchmarks.md: " + (", ".join(shipped) or "none in this installation"),
    ):
        add_runs(shipped)


def show_runs(loaded: dict[str, BenchResults]) -> None:
    st.subheader("Runs")
    stopped = st.session_state.pop(RUNNING_KEY, None)
    shown = [name for name in st.session_state.get("bench_shown", loaded) if name in loaded]
    if stopped in loaded:
        st.warning(
            f"{stopped} was stopped before it finished; its {len(loaded[stopped].records):,} records so far are kept "
            "and shown.",
            icon=":material/warning:",
        )
        # the browser still reports the choice as it was before the run began (the stop cut the page short of it)
        shown = list(dict.fromkeys([*shown, stopped]))
    st.session_state["bench_shown"] = shown
    chosen = {name: loaded[name] for name in st.multiselect("Runs shown", list(loaded), key="bench_shown")}
    if not chosen:
        st.info("Choose at least one run to compare.", icon=":material/info:")
        return
    st.dataframe(fmt.people_table(environment_table(chosen)), hide_index=True, width="stretch")
    table = records_table(chosen)
    if table.empty:
        st.info("No question finished yet in the runs shown: nothing to compare.", icon=":material/info:")
        return
    bad = table[table["status"].isin([FAILED, ERROR])]
    if not bad.empty:
        st.warning(
            (
                "1 answer failed its check or raised; it is not timed"
                if len(bad) == 1
                else f"{len(bad)} answers failed their check or raised; they are not timed"
            )
            + ": see the table below.",
            icon=":material/warning:",
        )
    suites = list(dict.fromkeys(table["suite"]))
    left, right = st.columns(2)
    first = suites.index("groupby") if "groupby" in suites else 0
    suite = left.selectbox("Suite", suites, index=first, key="bench_suite")
    questions = question_order(table, suite)
    question = right.selectbox("Question", [TOTAL, *questions], key="bench_question")
    curve = scaling(table, suite, question)
    work = SUITE_WORK.get(suite)
    estimate = (
        estimated_gpu_curves(curve, table, work, shipped_figures(), shipped_fixed_costs())
        if work and not curve.empty
        else None
    )
    if curve.empty:
        st.info("No engine answered every question of this suite at any size.", icon=":material/info:")
    else:
        title = f"{suite}: {'total of every question' if question == TOTAL else question}"
        chart = time_vs_rows_chart(curve, title, estimate)
        data = curve if estimate is None else pd.concat([curve, estimate], ignore_index=True)
        show_chart(chart, data, f"time_vs_rows_{suite}", "bench_chart_scaling")
        if estimate is not None and not estimate.empty:
            st.caption(SCALING_NOTE)
    show_speedups(table, suite, questions)
    show_costs(curve, table, suite, estimate)
    st.markdown("**Records**")
    records = fmt.people_table(table[[*COLUMNS, "message"]]).rename(columns=RECORD_HEADERS)
    st.dataframe(
        records,
        hide_index=True,
        width="stretch",
        column_config={"rows": st.column_config.NumberColumn("rows", format="localized")},
    )
    downloads(chosen, table)


def show_speedups(table: pd.DataFrame, suite: str, questions: list[str]) -> None:
    series = list(dict.fromkeys(table.loc[(table["suite"] == suite) & (table["status"] == "ok"), "series"]))
    if len(series) < 2:
        st.caption("Speed-ups need two engines (or two runs) that answered this suite.")
        return
    left, right = st.columns(2)
    first, over = default_comparison(table, series)
    faster = left.selectbox("Speed-up of", series, index=series.index(first), key="bench_other")
    options = [s for s in series if s != faster]
    reference = right.selectbox(
        "over", options, index=options.index(over) if over in options else 0, key="bench_baseline"
    )
    ratios = speedups(table, suite, reference, faster)
    if ratios.empty:
        st.caption("These two have no question and size in common.")
        return
    title = f"{faster} over {reference} (above 1×: faster)"
    show_chart(speedup_heatmap(ratios, questions, title), ratios, f"speedup_{suite}", "bench_chart_speedup")


def show_costs(curve: pd.DataFrame, table: pd.DataFrame, suite: str, estimate: pd.DataFrame | None) -> None:
    """Cost per run on a CPU and a GPU instance and the break-even size: measured where a run timed both engines,
    else from the size-aware model (a fixed GPU cost per call plus the published speed-up), labelled an estimate."""
    st.markdown("**Cost per run and break-even**")
    prices = instance_prices("bench_prices")
    if prices is None or curve.empty:
        return
    for run, times in cpu_gpu_times(curve, table).groupby("run", sort=False):
        found = break_even(times, prices)
        st.markdown(f"*{run}* (measured): {found.verdict}")
        st.dataframe(costs(times, prices), hide_index=True, width="stretch")
    if estimate is None:
        if cpu_only_times(curve, table).empty:
            return
        st.caption(
            f"No run here timed the GPU on {suite}, and nothing published covers work like it: there is no GPU "
            f"estimate. On a GPU machine, run both engines to see the cost and the break-even size. The GPU pays off "
            f"where it is more than {prices.paying_speedup:.2g}× faster at these prices."
        )
        return
    work = SUITE_WORK[suite]
    figures, measured = shipped_figures(), shipped_fixed_costs()
    low, high = speedup_range(figures, work)
    fixed = fixed_cost(measured, work)
    for run, times in estimate.groupby("run", sort=False):
        found = estimated_break_even(times, work, figures, measured, prices)
        st.warning(
            f"**Estimated break-even at your prices (an estimate, not a measurement)** — *{run}*: no run here timed "
            f"the GPU. {found.verdict} The model: {fmt.seconds(fixed.low)}–{fmt.seconds(fixed.high)} of fixed GPU "
            f"cost per call (one call per question) plus the CPU time measured here divided by the published "
            f"{published_span(low, high)} for {work} (Published figures tab). {ESTIMATE_NOTE}",
            icon=":material/calculate:",
        )
        st.dataframe(estimated_costs(times, fixed, prices), hide_index=True, width="stretch")


def published_tab() -> None:
    """The published figures, each with its source, hardware and date; never mixed with the runs."""
    figures = shipped_figures()
    st.caption(
        "Speed-ups other people published for work like this app's, on their hardware, each with the table size it "
        "was measured at: figures to compare with, not measurements of this machine. Without a GPU, the Pipeline, "
        "Models and Benchmark pages turn them into a size-aware estimate beside your own CPU times: a fixed cost per "
        "GPU call (timed by the sources below on small tables) plus your CPU time divided by the published speed-up."
    )
    show_chart(published_speedup_chart(figures), figures, "published_speedups", "bench_published_chart")
    st.dataframe(
        figures.assign(rows=[f"{n:,.0f}" if pd.notna(n) else "not stated" for n in figures["rows"]]),
        hide_index=True,
        width="stretch",
        column_config={
            "url": st.column_config.LinkColumn("source address"),
            "speedup_low": st.column_config.NumberColumn("published speed-up from", format="%.4g×"),
            "speedup_high": st.column_config.NumberColumn("to", format="%.4g×"),
        },
    )
    st.markdown("**What one GPU call costs on a small table** (the model's fixed cost per call)")
    st.dataframe(
        fixed_cost_table(shipped_fixed_costs()),
        hide_index=True,
        width="stretch",
        column_config={
            "url": st.column_config.LinkColumn("source address"),
            "GPU seconds": st.column_config.NumberColumn(format="%.4g"),
            "CPU seconds": st.column_config.NumberColumn(format="%.4g"),
        },
    )


def downloads(chosen: dict[str, BenchResults], table: pd.DataFrame) -> None:
    columns = st.columns(len(chosen) + 1)
    columns[0].download_button(
        "All records (CSV)",
        lambda: safe_csv(table),
        "benchmark.csv",
        "text/csv",
        key="bench_csv",
        on_click="ignore",
        icon=":material/table:",
    )
    for i, (column, (name, results)) in enumerate(zip(columns[1:], chosen.items(), strict=True)):
        stem = name.removesuffix(".json").replace(" ", "_").replace(":", "")
        column.download_button(
            f"{name} (JSON)",
            results.to_json,
            f"{stem}.json",
            "application/json",
            key=f"bench_json_{i}",
            on_click="ignore",
            icon=":material/download:",
        )


def dask_scaling_tab() -> None:
    st.caption(
        "How the Dask CPU engine scales: the total time of db-benchmark groupby q1–q10 against local workers and "
        "rows, next to pandas, and a table larger than one worker's memory (spilling to disk). Measure your own "
        "machine or cluster with `python -m benchmarks.dask_scaling --out report.json` and load the report here."
    )
    reports = dict(shipped_scaling())
    upload = st.file_uploader("A scaling report (.json)", type=["json"], key="bench_scaling_file")
    if upload is not None:
        with shown_errors(f"loading {upload.name}"):
            reports = {upload.name: load_scaling_report(upload.getvalue(), upload.name), **reports}
    if not reports:
        st.info("No scaling report in this installation: load one made by the script.", icon=":material/info:")
        return
    name = st.selectbox("Report", list(reports), key="bench_scaling_report")
    report = reports[name]
    machine = report.get("machine", {})
    cores = f"{machine.get('physical_cores', '?')} cores, {machine.get('ram_gib', '?')} GiB RAM"
    st.caption(f"Measured {report.get('when', '?')} on {machine.get('cpu', 'an unnamed CPU')} ({cores}).")
    points = scaling_points(report)
    if not points.empty:
        left, right = st.columns(2)
        with left:
            curve = points[["series", "rows", "seconds"]]
            show_chart(time_vs_rows_chart(curve, "Time against rows"), curve, "dask_time_vs_rows", "bench_dask_rows")
        workers = workers_points(points)
        with right:
            if not workers.empty:
                show_chart(workers_chart(workers), workers, "dask_time_vs_workers", "bench_dask_workers")
    run = report.get("out_of_core")
    if run:
        size = {key: fmt.size(run.get(key) or 0) for key in ("data_bytes", "memory_limit_bytes")}
        used = {key: fmt.size(run.get(key) or 0) for key in ("peak_cluster_bytes", "spilled_to_disk_bytes")}
        st.markdown(
            f"**Larger than memory:** {run['rows']:,} rows ({size['data_bytes']}) on one worker limited to "
            f"{size['memory_limit_bytes']}: peak {used['peak_cluster_bytes']} for the cluster's processes, "
            f"{used['spilled_to_disk_bytes']} spilled to disk."
        )
        st.dataframe(out_of_core_table(report), hide_index=True, width="stretch")


st.title("Benchmark")
st.caption(
    "The same questions on pandas, cuDF and CPU peers (polars, DuckDB): db-benchmark groupby and join, "
    "file reading and writing, the Pipeline presets and the Explore profile. Reproduce from a shell with "
    "`python -m pipeline.bench --help`."
)
# on_change="rerun" makes the tabs lazy: the scaling charts are drawn only while their tab is open
here, saved, scaled, published = st.tabs(
    ["Run here", "Load results", "Dask scaling", "Published figures"], key="bench_tab", on_change="rerun"
)
with here:
    run_here()
with saved:
    load_files()
with scaled:
    if scaled.open:
        dask_scaling_tab()
with published:
    if published.open:
        published_tab()
loaded = bench_runs()
if here.open or saved.open:  # the Dask scaling report and the published figures stand alone
    if loaded:
        show_runs(loaded)
        if st.button("Forget all runs", key="bench_forget", icon=":material/delete:"):
            st.session_state[RUNS_KEY] = {}
            st.session_state["bench_shown"] = []
            st.rerun()
    else:
        st.info("Run the benchmark here or load saved results to compare them.", icon=":material/info:")
