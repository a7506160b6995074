"""System: the hardware and versions in use, and why the GPU engine is or is not available."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipeline.engines.cluster import choice_named, idle_limit_s
from pipeline.engines.dask import DaskEngine, cluster_users, dask_missing_reason
from ui import format as fmt
from ui.cluster_field import cluster_choice_field
from ui.shell import within_app
from ui.state import (
    cached_system_report,
    leave_session_cluster,
    session_cluster,
    session_cluster_settings,
    session_id,
    shown_errors,
    use_cluster,
)

within_app()


def dask_cluster_section() -> None:
    """Start the shared local Dask cluster or reach one of the operator's schedulers, and show its workers, threads,
    memory, GPUs and dashboard."""
    st.subheader("Dask cluster")
    st.caption(
        "The Dask engines run on a cluster: this server's local one (its workers share the cores and memory and "
        "spill to disk past their limit; the operator sets its size) or a scheduler the operator lists. Load data "
        "onto it on the Data page (Dask tab, or Copy to the Dask cluster); Explore, Pipeline, Models and the "
        "Benchmark then run there. Every session shares it, and each one's work on it (a benchmark run, a model "
        "being trained) is counted: it is shut down only when no other session and no work is on it, or after "
        f"{idle_limit_s() / 60:g} minutes without work. Leaving it removes this session's datasets there."
    )
    reason = dask_missing_reason()
    if reason:
        st.info(reason, icon=":material/info:")
        return
    gpu_reason = dask_missing_reason(gpu=True)
    with st.form("dask_form"):
        left, right = st.columns([3, 1])
        with left:
            name = cluster_choice_field("dask_choice")
        gpu = right.checkbox("GPU workers (Dask GPU)", key="dask_gpu", disabled=gpu_reason is not None, help=gpu_reason)
        go = st.form_submit_button("Start or connect", icon=":material/hub:", key="dask_go")
    if go:
        with shown_errors("starting the Dask cluster"):
            choice = choice_named(name, gpu)
            with st.spinner("Starting the cluster…" if choice.local else "Connecting…"):
                use_cluster(choice.settings)
    if "dask_closed_note" in st.session_state:
        st.caption(st.session_state.pop("dask_closed_note"))
    settings = session_cluster_settings()
    if settings is None:
        return
    with shown_errors("asking the Dask cluster"):  # connects again where the cluster was lost
        cluster_facts(session_cluster())
    others = len(cluster_users(settings) - {session_id()})
    last = not others
    if st.button(  # outside the part that asks the cluster: whatever its state, a session can always leave it
        ("Disconnect" if settings.address else "Shut down") if last else "Leave the cluster",
        key="dask_close",
        icon=":material/power_settings_new:",
        help=None if last else f"{others} other session(s) use it or run work on it: it keeps running for them.",
    ):
        st.session_state["dask_closed_note"] = leave_session_cluster()
        st.rerun()


def cluster_facts(engine: DaskEngine | None) -> None:
    """The cluster's workers, threads, memory, GPUs, the other sessions on it and its dashboard."""
    if engine is None:  # shut down a moment ago
        return
    facts = engine.facts()
    columns = st.columns(5)
    columns[0].metric("Workers", len(facts.workers))
    columns[1].metric("Threads", facts.threads)
    columns[2].metric("Memory limit", fmt.size(facts.memory_limit) if facts.memory_limit else "none")
    columns[3].metric("GPUs", facts.gpus)
    columns[4].metric("Other sessions on it", len(cluster_users(engine.settings) - {session_id()}))
    where = "local cluster" if facts.local else "remote cluster"
    link = f" · [Dask dashboard]({facts.dashboard})" if facts.dashboard else ""
    st.markdown(f"{engine.label} on a {where}, scheduler `{facts.scheduler}`{link}")
    st.dataframe(facts.frame(), hide_index=True, width="stretch")


report = cached_system_report()
st.title("System")

st.subheader("Engines")
for status in report.engines:
    if status.available:
        st.success(f"{status.label}: available", icon=":material/check_circle:")
    else:
        st.warning(f"{status.label}: unavailable — {status.reason}", icon=":material/block:")

dask_cluster_section()

st.subheader("GPU")
if report.gpus:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "GPU": gpu.index,
                    "name": gpu.name,
                    "memory used": fmt.size(gpu.memory_used),
                    "memory total": fmt.size(gpu.memory_total),
                    "driver": gpu.driver,
                    "CUDA (driver)": gpu.cuda,
                }
                for gpu in report.gpus
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.info(f"No GPU visible: {report.gpu_query_error}", icon=":material/info:")

st.subheader("CPU and memory")
st.markdown(f"**CPU:** {report.cpu_model}")
columns = st.columns(2)
columns[0].metric("Cores (physical / logical)", f"{report.physical_cores or '?'} / {report.logical_cores or '?'}")
columns[1].metric("RAM (available / total)", f"{fmt.size(report.ram_available)} / {fmt.size(report.ram_total)}")

st.subheader("Library versions")
st.table(report.versions_frame().set_index("library"))  # a plain table: every row shown, none behind a scroll
