"""Helpers for driving a page of the app through Streamlit's AppTest."""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from urllib.parse import urlparse

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest, app_test

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


def run_with_selection(at: AppTest, key: str, param: str, selection: object) -> AppTest:
    """Run the page with the widgets' states and the selection `param` on the chart keyed `key`, as the browser
    sends them on every run once a visitor has selected on that chart (AppTest cannot select on charts itself)."""
    chart = next(c for c in at.get("vega_lite_chart") if c.proto.id.endswith(f"-{key}"))
    states = WidgetStates()
    states.CopyFrom(at._tree.get_widget_states())
    state = states.widgets.add()
    state.id = chart.proto.id
    state.string_value = json.dumps({"selection": {param: selection}})
    return at._run(states)


class Downloads:
    """What the download buttons of an AppTest's latest run hand the visitor who clicks one: AppTest builds a media
    file manager for each run and drops it afterwards; this keeps them so a test can ask them for a button's file,
    as the server's /media route does (a deferred file's callable runs as it does on a click)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.managers: list[MediaFileManager] = []
        kept = self.managers

        class Kept(MediaFileManager):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, **kwargs)
                kept.append(self)

        monkeypatch.setattr(app_test, "MediaFileManager", Kept)

    def data(self, at: AppTest, key: str) -> bytes:
        """The bytes of the file the download button `key` gives on the page as its latest run left it."""
        button = next(b for b in at.get("download_button") if b.key == key)
        manager = self.managers[-1]
        deferred = button.proto.deferred_file_id
        url = manager.execute_deferred(deferred) if deferred else button.proto.url
        stored = manager.read_file(PurePosixPath(urlparse(url).path).name)
        assert stored is not None, f"the download button {key} names no stored file"
        return stored.content
