"""The sidebar every page shows: engine badge and the active dataset."""

from __future__ import annotations

import streamlit as st

from pipeline.engines import device_status
from ui.state import catalog, engines


def engine_badge() -> None:
    gpu_status = device_status()
    if gpu_status.available:
        gpu = next(engine for engine in engines() if engine.device)
        st.sidebar.success(f"CPU + GPU: {gpu.device_name}", icon=":material/memory:")
    else:
        st.sidebar.info("CPU only", icon=":material/computer:")
        st.sidebar.caption(f"GPU engine unavailable: {gpu_status.reason}")


def active_dataset() -> None:
    """The active dataset, switchable from every page."""
    datasets = catalog()
    st.sidebar.markdown("**Active dataset**")
    if not len(datasets):
        st.sidebar.caption("None loaded: add one on the Data page.")
        return
    names = {dataset.id: dataset.name for dataset in datasets}
    st.session_state["active_choice"] = datasets.active_id  # the catalog decides; loads change it too
    st.sidebar.selectbox(
        "Active dataset",
        list(names),
        format_func=names.get,
        key="active_choice",
        label_visibility="collapsed",
        on_change=lambda: datasets.set_active(st.session_state["active_choice"]),
    )
    rows, columns = datasets.active.shape
    on = ", ".join(name.upper() for name in datasets.active.copies)
    st.sidebar.caption(f"{rows:,} rows × {columns:,} columns · on {on}")


def render() -> None:
    engine_badge()
    active_dataset()
