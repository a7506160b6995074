"""GPU Pipeline Lab: the entry point. `streamlit run app.py`."""

from pathlib import Path

import streamlit as st

from ui import sidebar
from ui.state import save_workspace, start_reader_process
from ui.workspace import show_token

ICON = Path(__file__).parent / "ui" / "assets" / "icon.png"  # served by this server: no request leaves the machine
st.set_page_config(page_title="GPU Pipeline Lab", page_icon=ICON, layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Start", icon=":material/home:", default=True),
        st.Page("pages/data.py", title="Data", icon=":material/table:"),
        st.Page("pages/explore.py", title="Explore", icon=":material/query_stats:"),
        st.Page("pages/pipeline.py", title="Pipeline", icon=":material/account_tree:"),
        st.Page("pages/models.py", title="Models", icon=":material/model_training:"),
        st.Page("pages/deep_learning.py", title="Deep learning", icon=":material/neurology:"),
        st.Page("pages/benchmark.py", title="Benchmark", icon=":material/speed:"),
        st.Page("pages/system.py", title="System", icon=":material/memory:"),
    ]
)
start_reader_process()
show_token()  # on every run: a page change drops it from the address, and a refresh needs it there
sidebar.render()
try:
    navigation.run()
finally:  # also when the page stops or reruns: what it changed is kept across a refresh
    save_workspace()
