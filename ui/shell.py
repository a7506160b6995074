"""The app around every page: its navigation, the workspace token, the sidebar, and the work saved after the page.

`streamlit run app.py` runs `run_app` on every run. A Streamlit server that finds a `pages/` folder beside its main
script runs the script of a page asked for by its own address (`/models`) alone, as a folder-of-pages app, until some
session's run calls `st.navigation` (Streamlit 1.67: `PagesManager.uses_pages_directory`, cleared only there). A
fresh server whose first visitor opens a page's address (every open tab reloading after a restart) would show that
page without the app around it: no sidebar, no token, no restored or saved work. So every page starts with
`within_app()`, which runs the whole app (the page included) when the page runs alone, then stops the lone run.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

import streamlit as st

from ui import sidebar
from ui.state import save_workspace, start_reader_process
from ui.workspace import show_token

ICON = Path(__file__).parent / "assets" / "icon.png"  # served by this server: no request leaves the machine

_in_app: ContextVar[bool] = ContextVar("in_app", default=False)  # set while run_app runs the page


def run_app() -> None:
    """The whole app: the page the address asks for, inside the navigation and the sidebar, the work saved after."""
    st.set_page_config(page_title="GPU Pipeline Lab", page_icon=ICON, layout="wide")
    navigation = st.navigation(  # also ends the server's folder-of-pages mode, for every later session
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
    marker = _in_app.set(True)
    try:
        navigation.run()
    finally:  # also when the page stops or reruns: what it changed is kept across a refresh
        _in_app.reset(marker)
        save_workspace()


def within_app() -> None:
    """The first line of every page: when Streamlit runs the page alone, run the whole app (which runs the page) and
    stop this lone run there."""
    if _in_app.get():
        return
    run_app()
    st.stop()
