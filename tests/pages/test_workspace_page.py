"""Work that survives a refresh (kept on the server under the session's own token) and moves as a workspace file."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.data.catalog import Catalog
from pipeline.data.loading import load_bundled
from pipeline.engines import CPU, get_engine
from pipeline.steps.spec import Recipe, Step
from pipeline.workspace import capture, to_zip
from pipeline.workspace_store import WorkspaceStore
from tests.support.apptest import APP, TIMEOUT, problems
from ui import workspace as ui_workspace


def session(token: str | None = None) -> AppTest:
    """A new browser session, opened at the address with `token` (or the bare address)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if token is not None:
        at.query_params["w"] = token
    return at.run()


def address(at: AppTest) -> str:
    """The token the session's address shows now."""
    token = at.query_params["w"]
    return token[0] if isinstance(token, list) else token


def names(at: AppTest) -> list[str]:
    return [d.name for d in at.session_state["catalog"]]


def issued(token: str) -> bool:
    return WorkspaceStore.from_environment().issued(token)


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="upload_file").set_value((name, data, "text/csv")).run()
    return at.button(key="upload_load").click().run()


def load_bundled_in(at: AppTest, name: str) -> AppTest:
    at.switch_page("pages/data.py").run()
    at.selectbox(key="bundled_name").set_value(name).run()
    return at.button(key="bundled_load").click().run()


def test_the_address_opened_in_a_new_browser_brings_back_the_datasets_recipes_and_runs_under_a_new_token():
    catalog = Catalog()
    load_bundled(catalog, "iris", [get_engine(CPU)])
    wine = load_bundled(catalog, "wine", [get_engine(CPU)])
    steps = [Step("sort", {"columns": ["alcohol"]})]
    first = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a session that has done some work
    first.session_state["catalog"] = catalog
    first.session_state["pipeline_steps"], first.session_state["pipeline_owner"] = steps, wine.id
    first.run()
    assert not problems(first)
    token = address(first)
    assert issued(token), "a new session gets a token the server issued"

    refreshed = session(token)  # the same address in a new browser session (AppTest sends no browser's cookie)
    restored = refreshed.session_state["catalog"]
    assert [d.name for d in restored] == ["iris", "wine"] and restored.active.name == "wine"
    assert issued(address(refreshed)) and address(refreshed) != token, "the restored work goes on under its own"
    refreshed.switch_page("pages/pipeline.py").run()
    assert refreshed.session_state["pipeline_steps"] == steps and not problems(refreshed)
    assert names(session(address(refreshed))) == ["iris", "wine"], "a second refresh finds it again"

    stranger = session(WorkspaceStore.from_environment().issue())  # issued, nothing kept under it: a fresh start
    assert names(stranger) == ["iris"]


def test_a_malformed_token_is_replaced_and_never_names_a_file():
    at = session("../../etc/passwd")
    assert issued(address(at)) and names(at) == ["iris"]


SECRET = b"city,secret\nOslo,victim-marker-5c1e\n"


def test_a_link_with_a_token_the_server_never_issued_saves_nothing_under_it():
    chosen = "attackerChoseThisToken0123456789"  # well formed, never issued: sent to a victim
    victim = upload(session(chosen), "private.csv", SECRET)
    assert "private" in names(victim)
    attacker = session(chosen)  # the attacker opens the address they made up
    assert names(attacker) == ["iris"], "nothing of the victim's is kept under a token the attacker chose"
    assert address(victim) != chosen and issued(address(victim)), "the victim works under a token of its own"


def test_a_link_to_the_attacker_s_own_workspace_gives_the_victim_a_copy_the_attacker_never_sees_again():
    attacker = load_bundled_in(session(), "wine")
    planted = address(attacker)  # issued to the attacker's own session, then sent to a victim
    victim = session(planted)
    assert names(victim) == ["iris", "wine"], "the victim sees what the link holds"
    upload(victim, "private.csv", SECRET)
    assert "private" in names(victim)
    assert names(session(planted)) == ["iris", "wine"], "the attacker opening their own link finds only their work"
    assert address(victim) != planted and issued(address(victim))


def test_a_link_opened_in_a_second_browser_is_its_own_copy_and_the_two_part_ways():
    first = load_bundled_in(session(), "wine")
    link = address(first)
    second = session(link)
    assert names(second) == ["iris", "wine"], "the second browser starts with a copy of what the link holds"
    load_bundled_in(first, "digits")  # each side goes on working
    load_bundled_in(second, "diabetes")
    assert names(session(link)) == ["iris", "wine", "digits"], "the first side's work, without the second's"
    assert names(session(address(second))) == ["iris", "wine", "diabetes"], "and the other way round"
    assert address(first) == link and address(second) != link, "each keeps its own token in the address"


def test_a_token_with_a_trailing_newline_names_no_file():
    given = "A" * 32 + "\n"
    at = load_bundled_in(session(given), "wine")
    assert address(at) != given and issued(address(at))
    assert not any("\n" in path.name for path in Path(os.environ["GPL_WORKSPACE_DIR"]).iterdir())


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


SALES = b"city,amount\nOslo,1.5\nLima,2.25\nOslo,3.0\n"


def saved_names(data: bytes) -> list[str]:
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("workspace.json"))
    return [entry["name"] for entry in manifest["datasets"]]


def test_save_workspace_writes_exactly_what_this_session_holds(downloads):
    """The Save button's file is written on the click, outside the session's run: it must still be this session's."""
    at = upload(session(), "sales.csv", SALES)
    load_bundled_in(at, "wine")
    at.switch_page("pages/data.py").run()
    assert saved_names(downloads.data(at, "workspace_save")) == ["iris", "sales", "wine"]
    assert not problems(at)


@pytest.fixture
def browser(monkeypatch) -> dict[str, bytes]:
    """The browser the next AppTest session runs in, by the secret its XSRF cookie holds (AppTest sends no cookies)."""
    current = {"secret": b"first browser..."}
    monkeypatch.setattr(ui_workspace, "browser_secret", lambda: current["secret"])
    return current


def pipeline_result_and_training(at: AppTest) -> AppTest:
    """A preset run on the Pipeline page and a random forest trained on the Models page."""
    at.switch_page("pages/pipeline.py").run()
    at.button(key="preset_run").click().run()
    assert "pipeline_result" in at.session_state
    at.switch_page("pages/models.py").run()
    algorithms = at.selectbox(key="model_algorithm_classification")
    algorithms.set_value(next(a for a in algorithms.options if "Random forest" in str(a))).run()
    at.slider(key="model_test_share").set_value(0.3).run()
    at.button(key="model_go").click().run()
    assert not problems(at) and "model_result" in at.session_state
    return at


def test_a_refresh_in_the_same_browser_goes_on_under_the_same_token_with_its_results_and_choices(browser):
    first = pipeline_result_and_training(session())
    token = address(first)

    refreshed = session(token)  # the same browser opens the same address: a refresh
    assert address(refreshed) == token, "the same browser goes on under the same token"
    refreshed.switch_page("pages/models.py").run()
    assert refreshed.selectbox(key="model_algorithm_classification").value.key == "random_forest_classifier"
    assert refreshed.slider(key="model_test_share").value == 0.3
    assert any(m.label == "Fit on CPU (pandas)" for m in refreshed.metric), "the training's result is shown again"
    refreshed.switch_page("pages/pipeline.py").run()
    assert any("This run was kept in your workspace" in c.value for c in refreshed.caption), "the run's result"
    assert not problems(refreshed)

    browser["secret"] = b"another browser."
    elsewhere = session(token)  # the address opened in another browser: a link
    assert address(elsewhere) != token and issued(address(elsewhere)), "its own copy under its own token"
    elsewhere.switch_page("pages/models.py").run()
    assert any(m.label == "Fit on CPU (pandas)" for m in elsewhere.metric), "the copy holds the results too"


def test_two_tabs_of_one_browser_on_one_address_part_ways_at_the_first_save_that_finds_the_other_s(browser):
    first = session()
    token = address(load_bundled_in(first, "wine"))
    second = session(token)  # the same browser, a second tab on the same address
    assert address(second) == token
    load_bundled_in(first, "digits")  # the first tab saves
    load_bundled_in(second, "diabetes")  # the second finds the first's save there: it goes on under its own token
    assert address(second) != token and issued(address(second))
    assert names(session(token)) == ["iris", "wine", "digits"], "the first tab's work, whole"
    assert names(session(address(second))) == ["iris", "wine", "diabetes"], "the second's, whole"


def test_a_saved_workspace_opens_in_another_session_with_its_results_and_choices(downloads):
    first = pipeline_result_and_training(session())
    first.switch_page("pages/data.py").run()
    data = downloads.data(first, "workspace_save")
    assert saved_names(data) == ["iris"] and any(
        n.startswith("arrays/") for n in zipfile.ZipFile(io.BytesIO(data)).namelist()
    )

    other = session().switch_page("pages/data.py").run()
    other.file_uploader(key="workspace_file").set_value(("workspace.zip", data, "application/zip")).run()
    other.button(key="workspace_open").click().run()
    assert not problems(other) and names(other) == ["iris", "iris (2)"]
    other.switch_page("pages/models.py").run()
    assert other.selectbox(key="model_algorithm_classification").value.key == "random_forest_classifier"
    assert any(m.label == "Fit on CPU (pandas)" for m in other.metric), "the training opened with the file"
    other.switch_page("pages/pipeline.py").run()
    assert any("This run was kept in your workspace" in c.value for c in other.caption)
