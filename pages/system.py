"""System: the hardware and versions in use, and why the GPU engine is or is not available."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import format as fmt
from ui.state import cached_system_report

report = cached_system_report()
st.title("System")

st.subheader("Engines")
for status in report.engines:
    if status.available:
        st.success(f"{status.label}: available", icon=":material/check_circle:")
    else:
        st.warning(f"{status.label}: unavailable — {status.reason}", icon=":material/block:")

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
