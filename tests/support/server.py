"""The real Streamlit server for end-to-end tests: started on a free port, stopped afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        """What the server has printed so far (its log, warnings and tracebacks)."""
        return self.log.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(data: Path, port: int | None = None, **environment: str) -> Iterator[Server]:
    """`streamlit run app.py` on `port` (a free one by default) with `data` as its data folder (and any other
    environment), until the block ends."""
    port = port or free_port()
    env = {**os.environ, "GPL_DATA_DIR": str(data), "STREAMLIT_SERVER_PORT": str(port), **environment}
    log = data.parent / f"streamlit-{port}.log"
    with log.open("wb") as sink:  # a file, not a pipe: nobody reads a pipe, and a full one stalls the server
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        raise RuntimeError(f"streamlit did not start: {server.output()[-2000:]}")
    try:
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)
