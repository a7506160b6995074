"""The container's health check asks what the container runs where it runs it: the app on the port, address and
path prefix it was given (the HEALTHCHECK once asked 8501 whatever the port), a Dask scheduler on its HTTP port, a
Dask worker by its connection to its scheduler."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline.healthcheck import check, container_peers, role, scheduler_of, worker_problem
from tests.support.paths import REPO_ROOT
from tests.support.server import free_port, running_server

STREAMLIT = ["/opt/conda/bin/python3.12", "/opt/conda/bin/streamlit", "run", "app.py"]


@contextmanager
def answering(path: str, body: bytes = b"ok") -> Iterator[int]:
    """An HTTP server on a free loopback port answering `body` at `path` (404 elsewhere); its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == path else 404)
            self.end_headers()
            self.wfile.write(body if self.path == path else b"")

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (STREAMLIT, "app"),
        (["python", "-m", "streamlit", "run", "app.py", "--server.port=9000"], "app"),
        (["/opt/conda/bin/python3.12", "/opt/conda/bin/dask", "scheduler", "--port", "8786"], "scheduler"),
        (["python", "/opt/conda/bin/dask-scheduler"], "scheduler"),
        (["python", "/opt/conda/bin/dask", "worker", "tcp://10.0.0.5:8786", "--nworkers", "auto"], "worker"),
        (["python", "/opt/conda/bin/dask", "cuda", "worker", "tcp://10.0.0.5:8786"], "worker"),
        (["python", "/opt/conda/bin/dask-cuda-worker", "tcp://10.0.0.5:8786"], "worker"),
        (["python", "-c", "from multiprocessing.spawn import spawn_main; spawn_main()"], None),
        (["ipython"], None),
        (["python", "-m", "pipeline.bench", "--suite", "groupby"], None),
    ],
)
def test_what_a_command_line_runs(command, expected):
    assert role(command) == expected


def test_the_app_is_asked_on_the_port_its_environment_gives_not_on_8501():
    with answering("/_stcore/health") as port:
        healthy, said = check([STREAMLIT], {"STREAMLIT_SERVER_PORT": str(port), "STREAMLIT_SERVER_ADDRESS": "0.0.0.0"})
    assert healthy, said
    assert said == f"healthy: the app (http://127.0.0.1:{port}/_stcore/health)"


def test_flags_come_before_the_environment_and_a_path_prefix_is_followed():
    with answering("/lab/_stcore/health") as port:
        command = [*STREAMLIT, "--server.port", str(port), "--server.address=127.0.0.1"]
        healthy, said = check([command], {"STREAMLIT_SERVER_PORT": "1", "STREAMLIT_SERVER_BASE_URL_PATH": "/lab/"})
    assert healthy, said


def test_an_app_that_does_not_answer_is_unhealthy_and_the_line_names_where_it_asked():
    port = free_port()
    healthy, said = check([STREAMLIT], {"STREAMLIT_SERVER_PORT": str(port)})
    assert not healthy
    assert said.startswith(f"unhealthy: the app: http://127.0.0.1:{port}/_stcore/health did not answer"), said


def test_an_answer_other_than_ok_is_unhealthy():
    with answering("/_stcore/health", b"starting") as port:
        healthy, said = check([STREAMLIT], {"STREAMLIT_SERVER_PORT": str(port)})
    assert not healthy and "not ok" in said, said


def test_the_real_streamlit_server_is_healthy_on_its_own_port(tmp_path):
    with running_server(tmp_path) as server:
        port = server.url.rsplit(":", 1)[1]
        healthy, said = check([STREAMLIT], {"STREAMLIT_SERVER_PORT": port})
    assert healthy, said


def test_a_scheduler_is_asked_on_its_dashboard_address_and_prefix():
    with answering("/dask/health") as port:
        command = [
            "dask",
            "scheduler",
            "--port",
            "8786",
            "--dashboard-address",
            f":{port}",
            "--dashboard-prefix",
            "dask",
        ]
        healthy, said = check([command], {})
    assert healthy and said == f"healthy: the Dask scheduler (http://127.0.0.1:{port}/dask/health)", said
    healthy, said = check([["dask", "scheduler", "--dashboard-address", f"127.0.0.1:{free_port()}"]], {})
    assert not healthy and said.startswith("unhealthy: the Dask scheduler: http://127.0.0.1:"), said


def test_a_real_dask_scheduler_answers_on_its_http_port_also_without_its_dashboard(tmp_path):
    """`dask scheduler --no-dashboard` still serves /health on --dashboard-address."""
    port, http = free_port(), free_port()
    command = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--dashboard-address", f"127.0.0.1:{http}", "--no-dashboard"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        healthy, said = check([["dask", "scheduler", *command[3:]]], {})
        while not healthy and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
            healthy, said = check([["dask", "scheduler", *command[3:]]], {})
        assert healthy, said
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize(
    "command",
    [
        ["dask", "worker", "tcp://127.0.0.1:{port}", "--nworkers", "auto"],
        ["dask", "cuda", "worker", "--listen-address", "tcp://127.0.0.1:1", "127.0.0.1:{port}"],
        ["dask-worker", "--host", "127.0.0.1", "tcp://localhost:{port}"],
    ],
)
def test_a_worker_is_healthy_while_it_holds_a_connection_to_the_scheduler_it_names(command):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    words = [word.format(port=port) for word in command]
    try:
        with socket.create_connection(("127.0.0.1", port)) as _held:
            peers = container_peers()
            assert ("127.0.0.1", port) in peers
            _, problem = worker_problem(words, {}, peers)
            assert problem is None, problem
        _, problem = worker_problem(words, {}, [("127.0.0.1", port + 1), ("10.0.0.5", port)])
        assert problem is not None and problem.startswith("no connection to the scheduler at"), problem
    finally:
        listener.close()


def test_a_worker_finds_its_scheduler_in_a_scheduler_file_or_the_environment(tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    scheduler_file.write_text(json.dumps({"address": "tcp://10.0.0.5:8786"}))
    assert scheduler_of(["dask", "worker", "--scheduler-file", str(scheduler_file)], {}) == "tcp://10.0.0.5:8786"
    assert scheduler_of(["dask", "worker"], {"DASK_SCHEDULER_ADDRESS": "tcp://10.0.0.6:8786"}) == "tcp://10.0.0.6:8786"
    _, problem = worker_problem(["dask", "worker", "--nworkers", "2"], {}, [])
    assert problem == "no scheduler address in the worker's command line (none given)"


def test_a_container_running_something_else_has_nothing_to_check():
    assert check([["ipython"]], {}) == (True, "healthy: nothing to check (the container runs ipython)")


def test_the_module_runs_as_the_dockerfile_runs_it():
    """`python -m pipeline.healthcheck` from anywhere with the app on PYTHONPATH: one line, exit status 0 or 1."""
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.healthcheck"],
        cwd="/",
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (0, 1) and len(done.stdout.splitlines()) == 1, (done.stdout, done.stderr)
    assert done.stdout.startswith(("healthy: ", "unhealthy: ")), done.stdout
