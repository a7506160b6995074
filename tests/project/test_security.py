"""What nobody reaching the server may do: run code, read files outside the data folder, see another
session's data or a traceback; checked in the code, in pipeline.data.io, through AppTest and on the real server."""

from __future__ import annotations

import ast
import logging
import re
import time
import tomllib
import urllib.error
import urllib.request

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.data.catalog import Catalog, SessionLimits
from pipeline.data.io import list_data_files, resolve_in_folder
from pipeline.data.loading import load_bundled, load_synthetic
from pipeline.errors import DataError
from pipeline.tables.synthetic import SyntheticSpec
from tests.support import files
from tests.support.apptest import APP, TIMEOUT
from tests.support.outbound import proxy_environment, recording_proxy
from tests.support.paths import REPO_ROOT
from tests.support.server import running_server

ROOT = REPO_ROOT
APP_CODE = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").rglob("*.py"))]
APP_CODE += sorted((ROOT / "pipeline").rglob("*.py"))
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "joblib", "marshal", "shelve", "cloudpickle"}
FORBIDDEN_TEXT = (
    r"read_pickle",
    r"allow_pickle\s*=\s*True",
    r"unsafe_allow_html\s*=\s*True",
    r"shell\s*=\s*True",
    r"torch\.load",
    r"yaml\.load\(",
)


@pytest.mark.parametrize("path", APP_CODE, ids=[str(path.relative_to(ROOT)) for path in APP_CODE])
def test_no_code_runs_or_unpickles_user_content(path):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {node.func.id}"
        if isinstance(node, ast.Import):
            assert not {alias.name.split(".")[0] for alias in node.names} & FORBIDDEN_MODULES, (path.name, node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.module.split(".")[0] not in FORBIDDEN_MODULES, (path.name, node.lineno)
    for pattern in FORBIDDEN_TEXT:
        assert not re.search(pattern, source), f"{path.name} uses {pattern}"


def test_the_code_check_catches_what_it_is_for(tmp_path):
    """The check above fails on each thing it forbids (so it cannot pass by accident)."""
    for bad in ("eval(text)", "import pickle", "from joblib import load", "st.markdown(x, unsafe_allow_html=True)"):
        path = tmp_path / "bad.py"
        path.write_text(bad + "\n")
        with pytest.raises(AssertionError):
            test_no_code_runs_or_unpickles_user_content(path)


def test_streamlit_config_keeps_the_server_locked_down():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server, client = config["server"], config["client"]
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True and server["corsAllowedOrigins"] == []
    assert 0 < server["maxUploadSize"] <= 200
    assert server["enableStaticServing"] is False
    assert client["showErrorDetails"] == "none" and client["showErrorLinks"] is False
    assert config["browser"]["gatherUsageStats"] is False


CACHED_FUNCTIONS = {
    # Every Streamlit cache is shared by all sessions, so none may take or return a user's data.
    "ui/state.py": {
        "engines",
        "cached_system_report",
        "cached_bundled_frame",
        "idle_cluster_reaper",
        "start_reader_process",
    },
    "pages/benchmark.py": {"published_runs", "shipped_scaling"},  # files of this installation, read once
    "ui/published_panel.py": {"shipped_figures", "shipped_fixed_costs"},  # published figures shipped with the app
}


def test_caches_shared_across_sessions_hold_no_user_data():
    found: dict[str, set[str]] = {}
    for path in APP_CODE:
        source = path.read_text(encoding="utf-8")
        names = set(re.findall(r"@st\.cache_(?:data|resource)[^\n]*\ndef (\w+)", source))
        names |= set(re.findall(r"^(\w+) = st\.cache_(?:data|resource)", source, flags=re.MULTILINE))
        if names:
            found[str(path.relative_to(ROOT))] = names
    assert found == CACHED_FUNCTIONS, "a new shared cache: check it holds nothing from a session, then list it here"


CSV_WRITERS = {
    "pipeline/render/csv_export.py": 1,  # safe_csv: formula-like text escaped for spreadsheets
    "pipeline/bench/cli.py": 1,  # BenchResults.to_csv, which is safe_csv of the records
}


def test_every_csv_the_app_writes_goes_through_safe_csv():
    """A frame's own `to_csv` writes `=HYPERLINK(…)` as a formula: downloads use `safe_csv` (docs/reliability.md).
    The benchmark's io suite times the engines' `to_csv` by name (`getattr`), which writes no download."""
    found = {}
    for path in APP_CODE:
        calls = len(re.findall(r"\.to_csv\(", path.read_text(encoding="utf-8")))
        if calls:
            found[str(path.relative_to(ROOT))] = calls
    assert found == CSV_WRITERS


def test_paths_that_leave_the_data_folder_are_refused(tmp_path):
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_bytes(files.csv_bytes())
    secret = tmp_path / "secret.csv"
    secret.write_bytes(b"password\nhunter2\n")
    outside_dir = tmp_path / "elsewhere"
    outside_dir.mkdir()
    (outside_dir / "b.csv").write_bytes(b"x\n1\n")
    (folder / "link.csv").symlink_to(secret)
    (folder / "linked_dir").symlink_to(outside_dir)
    attempts = [
        "../secret.csv",
        "sub/../../secret.csv",
        str(secret),
        "/etc/passwd",
        "link.csv",
        "linked_dir/b.csv",
        "a.csv\x00.png",
        "",
        ".",
        "sub",
        "~/secret.csv",
    ]
    for attempt in attempts:
        with pytest.raises(DataError):
            resolve_in_folder(folder, attempt)
    assert [str(path) for path in list_data_files(folder)] == ["a.csv"]
    assert resolve_in_folder(folder, "a.csv") == (folder / "a.csv").resolve()


def test_a_session_holds_at_most_its_limit_of_datasets(cpu):
    catalog = Catalog(SessionLimits(datasets=2))
    load_bundled(catalog, "iris", [cpu])
    load_bundled(catalog, "wine", [cpu])
    with pytest.raises(DataError, match=r"holds 2 datasets and may hold at most 2.*Remove datasets"):
        load_bundled(catalog, "iris", [cpu])
    with pytest.raises(DataError, match="may hold at most 2"):
        load_synthetic(catalog, SyntheticSpec(kind="join_j1", rows=1000), [cpu])
    assert [dataset.name for dataset in catalog] == ["iris", "wine"] and catalog.active.name == "wine"


def test_a_session_holds_at_most_its_limit_of_memory(cpu):
    catalog = Catalog(SessionLimits(bytes=200_000))
    load_bundled(catalog, "iris", [cpu])
    held = catalog.nbytes
    with pytest.raises(DataError, match=r"more than the 0.00 GiB this session has left of its memory limit"):
        load_synthetic(catalog, SyntheticSpec(kind="classification", rows=10_000, features=8), [cpu])
    assert [dataset.name for dataset in catalog] == ["iris"] and catalog.nbytes == held


def test_session_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GPL_SESSION_MAX_DATASETS", "3")
    monkeypatch.setenv("GPL_SESSION_MAX_MB", "64")
    assert SessionLimits.from_environment() == SessionLimits(datasets=3, bytes=64 * 2**20)
    monkeypatch.setenv("GPL_SESSION_MAX_DATASETS", "lots")
    assert SessionLimits.from_environment().datasets == SessionLimits().datasets


def failing_page() -> None:
    """A page whose work fails unexpectedly, inside the app's error display."""
    import streamlit as st

    from ui.state import shown_errors

    st.session_state["kept"] = "still here"
    with shown_errors("summing the columns"):
        raise KeyError("/srv/internal/path secret-detail")


def test_an_unexpected_failure_shows_a_short_message_and_logs_the_details(caplog):
    with caplog.at_level(logging.ERROR, logger="gpu_pipeline_lab"):
        at = AppTest.from_function(failing_page, default_timeout=TIMEOUT).run()
    assert not at.exception
    [message] = [element.value for element in at.error]
    assert message.startswith("Something went wrong while summing the columns (KeyError). What was loaded")
    assert "secret-detail" not in message and "Traceback" not in message
    reference = re.search(r"reference (\w{8})", message).group(1)
    logged = [record for record in caplog.records if reference in record.getMessage()]
    assert logged and "secret-detail" in str(logged[0].exc_info[1])
    assert at.session_state["kept"] == "still here"


def test_an_upload_stays_in_memory(tmp_path, monkeypatch):
    """Uploaded bytes are never written to the temporary or data folders (only to the session's own workspace,
    under its token, when app.py saves it: tests/unit/test_workspace.py)."""
    import tempfile

    scratch, data = tmp_path / "tmp", tmp_path / "data"
    scratch.mkdir()
    data.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("GPL_DATA_DIR", str(data))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run().switch_page("pages/data.py").run()
    marker = b"city,secret\nOslo,upload-marker-7f3a\n"
    at.file_uploader(key="upload_file").set_value(("private.csv", marker, "text/csv")).run()
    at.button(key="upload_load").click().run()
    assert at.session_state["catalog"].active.name == "private"
    assert not list(scratch.rglob("*")) and not list(data.rglob("*"))


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("served")
    (data / "table.csv").write_bytes(files.csv_bytes())
    with running_server(data) as server:
        yield server.url


def fetch(url: str, *, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=b"" if method != "GET" else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_real_server_refuses_an_upload_without_its_xsrf_token(live_server):
    status, _headers, _body = fetch(f"{live_server}/_stcore/upload_file/some-session/some-file", method="PUT")
    assert status == 403


def test_the_real_server_does_not_allow_other_origins(live_server):
    _status, headers, _body = fetch(f"{live_server}/_stcore/health", headers={"Origin": "https://evil.example"})
    assert headers.get("Access-Control-Allow-Origin") in (None, "")


@pytest.mark.parametrize(
    "path",
    [
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/app/static/../../etc/passwd",
        "/media/..%2f..%2fetc/passwd",
    ],
)
def test_the_real_server_serves_no_files_outside_the_app(live_server, path):
    status, _headers, body = fetch(live_server + path)
    assert b"root:" not in body
    assert status in (200, 400, 403, 404)  # 200 is the app's own page for unknown routes


def test_the_real_server_does_not_serve_the_data_folder(live_server):
    for path in ("/table.csv", "/data/table.csv", "/app/static/table.csv", "/media/table.csv"):
        _status, _headers, body = fetch(live_server + path)
        assert "Zürich".encode() not in body


def test_the_server_asks_no_outside_service_for_its_address(tmp_path):
    """Started as the container starts it (headless, on every interface: `--server.address=0.0.0.0`), Streamlit asks
    checkip.amazonaws.com for the machine's public address unless `browser.serverAddress` is set. Every HTTP(S)
    request the server makes goes to a proxy on loopback here, which records it and answers none."""
    data = tmp_path / "data"
    data.mkdir()
    with (
        recording_proxy() as (proxy, received),
        running_server(data, STREAMLIT_SERVER_ADDRESS="0.0.0.0", **proxy_environment(proxy)) as server,
    ):
        deadline = time.monotonic() + 20
        while "You can now view" not in server.output() and time.monotonic() < deadline:
            time.sleep(0.2)
        output = server.output()
    assert "You can now view" in output, "the welcome is printed after the address lookup it would make"
    assert received == [], f"the server tried to reach {received}"
    assert "external IP" not in output


def test_the_data_page_says_when_the_session_is_full(monkeypatch, tmp_path):
    monkeypatch.setenv("GPL_SESSION_MAX_DATASETS", "2")
    monkeypatch.setenv("GPL_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run().switch_page("pages/data.py").run()
    at.button(key="bundled_load").click().run()
    at.button(key="bundled_load").click().run()
    assert not at.exception
    assert any("may hold at most 2" in element.value for element in at.error), [e.value for e in at.error]
    assert [dataset.name for dataset in at.session_state["catalog"]] == ["iris", "iris (2)"]


def test_all_sessions_together_hold_at_most_the_servers_limit(cpu, monkeypatch):
    from pipeline.data.catalog import server_held

    first, second = Catalog(), Catalog()
    load_bundled(first, "digits", [cpu])
    monkeypatch.setenv("GPL_SERVER_MAX_MB", str(max(server_held() // 2**20, 1)))  # no room for one more
    with pytest.raises(DataError, match=r"would bring all sessions of this server to .* over the .* they may hold"):
        load_bundled(second, "digits", [cpu])
    assert len(second) == 0 and len(first) == 1
    assert "all sessions of this server may still take together" in second.budget().why
