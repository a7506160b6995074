"""Helpers for driving a page of the app through Streamlit's AppTest."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from pipeline.data.catalog import Catalog
from tests.support.paths import APP as APP_PATH

TIMEOUT = 120
APP = APP_PATH


def open_page(page: str, catalog: Catalog | None = None) -> AppTest:
    """The app run once (with `catalog` as the session's datasets, if given), then switched to `page`."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if catalog is not None:
        at.session_state["catalog"] = catalog
    at.run()
    return at.switch_page(page).run()


def problems(at: AppTest) -> list[str]:
    """Exceptions and error messages the page shows."""
    return [e.value for e in at.exception] + [e.value for e in at.error]
