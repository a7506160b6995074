"""System: the hardware and versions in use, and why the GPU engine is or is not available."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipeline.dask_engine import ClusterSettings, close_dask_engine, dask_missing_reason
from ui import format as fmt
from ui.state import CLUSTER_KEY, cached_system_report, catalog, session_cluster, shown_errors, use_cluster


def dask_cluster_section() -> None:
    """Start a local Dask cluster or reach a scheduler, and show its workers, threads, memory, GPUs and dashboard."""
    st.subheader("Dask cluster")
    st.caption(
        "The Dask engines run on a cluster: a local one on this machine (its workers share the cores and memory "
        "and spill to disk past their limit) or the scheduler you name. Load data onto it on the Data page (Dask "
        "tab, or Copy to the Dask cluster); Explore, Pipeline, Models and the Benchmark then run there. A "
        "cluster started here is shared by every session of this server; shutting it down removes the datasets "
        "only it held."
    )
    reason = dask_missing_reason()
    if reason:
        st.info(reason, icon=":material/info:")
        return
    gpu_reason = dask_missing_reason(gpu=True)
    with st.form("dask_form"):
        address = st.text_input(
            "Scheduler address (empty: a local cluster)", placeholder="tcp://10.0.0.5:8786", key="dask_address"
        )
        left, middle, right = st.columns(3)
        workers = left.number_input("Local workers", 1, 256, max(1, report.logical_cores or 1), key="dask_workers")
        memory = middle.text_input("Memory per local worker", "auto", key="dask_memory", help="e.g. 2GiB, or auto")
        gpu = right.checkbox("GPU workers (Dask GPU)", key="dask_gpu", disabled=gpu_reason is not None, help=gpu_reason)
        go = st.form_submit_button("Start or connect", icon=":material/hub:", key="dask_go")
    if go:
        with shown_errors("starting the Dask cluster"):
            settings = ClusterSettings(
                gpu=gpu, address=address.strip() or None, workers=int(workers), memory_limit=memory.strip() or "auto"
            )
            with st.spinner("Starting the cluster…" if settings.address is None else "Connecting…"):
                use_cluster(settings)
    if "dask_closed_note" in st.session_state:
        st.caption(st.session_state.pop("dask_closed_note"))
    engine = session_cluster()
    if engine is None:
        return
    with shown_errors("asking the Dask cluster"):
        facts = engine.facts()
        columns = st.columns(4)
        columns[0].metric("Workers", len(facts.workers))
        columns[1].metric("Threads", facts.threads)
        columns[2].metric("Memory limit", fmt.size(facts.memory_limit) if facts.memory_limit else "none")
        columns[3].metric("GPUs", facts.gpus)
        where = "local cluster" if facts.local else "remote cluster"
        link = f" · [Dask dashboard]({facts.dashboard})" if facts.dashboard else ""
        st.markdown(f"{engine.label} on a {where}, scheduler `{facts.scheduler}`{link}")
        st.dataframe(facts.frame(), hide_index=True, width="stretch")
        if st.button(
            "Shut down" if facts.local else "Disconnect", key="dask_close", icon=":material/power_settings_new:"
        ):
            close_dask_engine(engine.settings)
            st.session_state.pop(CLUSTER_KEY)
            emptied = catalog().drop_engine(engine.name)
            if emptied:
                st.session_state["dask_closed_note"] = f"Removed with the cluster: {', '.join(emptied)}."
            st.rerun()


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
st.dataframe(report.versions_frame(), hide_index=True, width="stretch")
