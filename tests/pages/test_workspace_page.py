"""Work that survives a refresh (kept on the server under the address's token) and moves as a workspace file."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from pipeline.data.catalog import Catalog
from pipeline.data.loading import load_bundled
from pipeline.engines import CPU, get_engine
from pipeline.steps.spec import Recipe, Step
from pipeline.workspace import capture, to_zip
from pipeline.workspace_store import is_token, new_token
from tests.support.apptest import APP, TIMEOUT, problems


def session(token: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if token is not None:
        at.query_params["w"] = token
    return at.run()


def test_a_refresh_brings_back_the_datasets_recipes_and_runs():
    token = new_token()
    catalog = Catalog()
    load_bundled(catalog, "iris", [get_engine(CPU)])
    wine = load_bundled(catalog, "wine", [get_engine(CPU)])
    steps = [Step("sort", {"columns": ["alcohol"]})]
    first = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a session that has done some work (AppTest runs
    first.query_params["w"] = token  # app.py, which saves, on a session's first run only: the work goes in first)
    first.session_state["catalog"] = catalog
    first.session_state["pipeline_steps"], first.session_state["pipeline_owner"] = steps, wine.id
    first.run()
    assert not problems(first)

    refreshed = session(token)  # the same address in a new browser session
    restored = refreshed.session_state["catalog"]
    assert [d.name for d in restored] == ["iris", "wine"] and restored.active.name == "wine"
    refreshed.switch_page("pages/pipeline.py").run()
    assert refreshed.session_state["pipeline_steps"] == steps and not problems(refreshed)

    stranger = session(new_token())  # a token nobody saved under: a fresh start, nothing of the other session
    assert [d.name for d in stranger.session_state["catalog"]] == ["iris"]
    fresh = session()
    given = fresh.query_params["w"]
    assert is_token(given[0] if isinstance(given, list) else given), "a new session gets an unguessable token"


def test_a_malformed_token_is_replaced_and_never_names_a_file():
    at = session("../../etc/passwd")
    token = at.query_params["w"]
    token = token[0] if isinstance(token, list) else token
    assert is_token(token) and [d.name for d in at.session_state["catalog"]] == ["iris"]


def test_a_workspace_file_opens_its_datasets_and_recipes_beside_the_current_ones():
    cpu = get_engine(CPU)
    source = Catalog()
    wine = load_bundled(source, "wine", [cpu])
    recipe = Recipe((Step("sort", {"columns": ["alcohol"]}),))
    data = to_zip(capture(source, {wine.id: recipe}, {}, 2**26, lambda e, f: e.to_pandas(f)))
    at = session().switch_page("pages/data.py").run()
    at.file_uploader(key="workspace_file").set_value(("workspace.zip", data, "application/zip")).run()
    at.button(key="workspace_open").click().run()
    assert not problems(at)
    catalog = at.session_state["catalog"]
    assert [d.name for d in catalog] == ["iris", "wine"] and catalog.active.name == "wine"
    at.switch_page("pages/pipeline.py").run()
    assert [s.kind for s in at.session_state["pipeline_steps"]] == ["sort"]


def test_a_file_that_is_not_a_workspace_is_refused_and_nothing_is_lost():
    at = session().switch_page("pages/data.py").run()
    at.file_uploader(key="workspace_file").set_value(("workspace.zip", b"PK\x03\x04junk", "application/zip")).run()
    at.button(key="workspace_open").click().run()
    assert any("not a workspace file" in p for p in problems(at))
    assert [d.name for d in at.session_state["catalog"]] == ["iris"]
