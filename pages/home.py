"""Start: what the app is for, what is loaded, and the path through it."""

from __future__ import annotations

import streamlit as st

from pipeline.engines import device_status
from ui.shell import within_app
from ui.state import catalog

within_app()

PATH = (
    ("pages/data.py", "Data", ":material/table:", "Load a file, a bundled table or a generated one of any size."),
    ("pages/explore.py", "Explore", ":material/query_stats:", "Profile it: columns, correlations, missing values."),
    ("pages/pipeline.py", "Pipeline", ":material/account_tree:", "Clean and encode it, each step timed per engine."),
    ("pages/models.py", "Models", ":material/model_training:", "Train and compare models; a leaderboard in a click."),
    ("pages/benchmark.py", "Benchmark", ":material/speed:", "Scaling, cost per run and where the GPU pays off."),
)

st.title("GPU Pipeline Lab")
st.markdown(
    "**Is a GPU worth it for your data?** Load a table, explore it, build a preprocessing pipeline and train "
    "models: every step runs on the CPU (pandas, scikit-learn) and, where there is one, on the GPU (cuDF, cuML) "
    "side by side — timed, checked for agreement, and priced."
)
datasets = catalog()
status = device_status()
left, right = st.columns(2)
with left:
    if len(datasets):
        rows, columns = datasets.active.shape
        st.success(
            f"**{datasets.active.name}** is loaded ({rows:,} rows × {columns:,} columns): explore it, or load "
            "your own.",
            icon=":material/check_circle:",
        )
    else:
        st.info("No table is loaded yet: start on the Data page.", icon=":material/info:")
with right:
    if status.available:
        st.success("A GPU is here: every page compares it with the CPU.", icon=":material/memory:")
    else:
        st.info(
            f"**CPU only** — {status.reason} Beside your own CPU times you still see what a GPU would take and "
            "cost: an estimate for your table's size from published figures (a fixed cost per GPU call plus the "
            "published speed-up; sources under Benchmark › Published figures), and where it is not expected to help.",
            icon=":material/computer:",
        )
st.subheader("The path")
for column, (page, title, icon, what) in zip(st.columns(len(PATH)), PATH, strict=True):
    with column.container(border=True):
        st.page_link(page, label=title, icon=icon)
        st.caption(what)
st.caption(
    "Deep learning (PyTorch on CPU and GPU) and System (engines, versions, the Dask cluster) are in the menu. "
    "Everything here is also reachable without the UI: `python -m pipeline.profile`, `python -m pipeline.bench`."
)
