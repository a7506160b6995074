"""A proxy on loopback that records every request sent through it and answers none: a child process started with
`proxy_environment` reaches nothing outside the machine over HTTP(S), and the test sees what it tried."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def proxy_environment(url: str) -> dict[str, str]:
    """Environment variables that send every HTTP and HTTPS request (requests, urllib) through the proxy at `url`."""
    return {name: url for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")} | {
        "NO_PROXY": "",
        "no_proxy": "",
    }


@contextmanager
def recording_proxy() -> Iterator[tuple[str, list[str]]]:
    """The proxy's URL and the first line of each request it received (`GET http://host/ …`, `CONNECT host:443 …`)."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[str] = []

    def record() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # the listener was closed: the block ended
                return
            with connection:
                connection.settimeout(2)
                try:
                    received.append(connection.recv(1024).split(b"\r\n")[0].decode("latin-1"))
                except OSError as error:
                    received.append(f"a connection that sent nothing ({error})")

    thread = threading.Thread(target=record, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", received
    finally:
        listener.close()
        thread.join(timeout=5)
