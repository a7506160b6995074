"""GPU Pipeline Lab: the entry point. `streamlit run app.py`. The app around the pages is `ui.shell.run_app`."""

from ui.shell import run_app

run_app()
