"""The sidebar every page shows: engine badge and the active dataset."""

from __future__ import annotations

import streamlit as st

from pipeline.engines import GPU, detect
from ui.state import catalog, engines


def engine_badge() -> None:
    gpu_status = next(status for status in detect() if status.name == GPU)
    if gpu_status.available:
        gpu = next(engine for engine in engines() if engine.name == GPU)
        st.sidebar.success(f"CPU + GPU: {gpu.device_name}", icon=":material/memory:")
    else:
        st.sidebar.info("CPU only", icon=":material/computer:")
        st.sidebar.caption(f"GPU engine unavailable: {gpu_status.reason}")


def active_dataset() -> None:
    active = catalog().active
    st.sidebar.markdown("**Active dataset**")
    if active is None:
        st.sidebar.caption("None loaded: add one on the Data page.")
        return
    rows, columns = active.shape
    st.sidebar.markdown(f":material/table: {active.name}")
    st.sidebar.caption(f"{rows:,} rows × {columns:,} columns · on {', '.join(n.upper() for n in active.copies)}")


def render() -> None:
    engine_badge()
    active_dataset()
