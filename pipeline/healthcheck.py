"""The container's health check (`python -m pipeline.healthcheck`, the Dockerfile's HEALTHCHECK).

It asks whatever the container runs whether it serves: the app on the address, port and path prefix it was given
(flags or STREAMLIT_* variables), a Dask scheduler on its HTTP port (`/health`), a Dask worker by the connection it
holds to its scheduler. One line says what it found; the exit status is 0 when healthy. Standard library and psutil
only, so it starts in a fraction of a second.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import psutil

APP, SCHEDULER, WORKER = "app", "scheduler", "worker"
APP_PORT = 8501  # Streamlit's default
SCHEDULER_HTTP = ":8787"  # `dask scheduler`'s default --dashboard-address
WILDCARDS = {"", "0.0.0.0", "::", "[::]"}
TIMEOUT_S = 4
ADDRESS = re.compile(r"^(?:(?:tcp|tls)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(?P<port>\d{1,5})$")
OWN_ADDRESSES = {"--listen-address", "--contact-address", "--host", "--dashboard-address", "--nanny-contact-address"}
ROLES = {
    ("streamlit", "run"): APP,
    ("dask", "scheduler"): SCHEDULER,
    ("dask-scheduler",): SCHEDULER,
    ("dask", "worker"): WORKER,
    ("cuda", "worker"): WORKER,
    ("dask-worker",): WORKER,
    ("dask-cuda-worker",): WORKER,
}


def role(command: Sequence[str]) -> str | None:
    """What a command line runs: the app (`streamlit run`), a Dask scheduler or a Dask worker; None otherwise."""
    words = [Path(word).name for word in command]
    for pattern, name in ROLES.items():
        if any(tuple(words[i : i + len(pattern)]) == pattern for i in range(len(words))):
            return name
    return None


def option(command: Sequence[str], name: str) -> str | None:
    """The value of the last `--name value` or `--name=value` in `command`, or None."""
    value = None
    for i, word in enumerate(command):
        if word == name and i + 1 < len(command):
            value = command[i + 1]
        elif word.startswith(f"{name}="):
            value = word.split("=", 1)[1]
    return value


def local_host(host: str) -> str:
    """The host to ask: loopback for a wildcard listening address, the address itself otherwise."""
    host = host.strip()
    if host in WILDCARDS:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def with_prefix(prefix: str | None, path: str) -> str:
    return "/" + "/".join(part for part in ((prefix or "").strip("/"), path) if part)


def http_problem(url: str) -> str | None:
    """None when GET `url` answers "ok", else what happened instead."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            body = response.read(64)
    except urllib.error.HTTPError as error:
        return f"{url} answered HTTP {error.code}"
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        return f"{url} did not answer ({reason})"
    return None if body.strip() == b"ok" else f"{url} answered {body[:32]!r}, not ok"


def app_problem(command: Sequence[str], environ: Mapping[str, str]) -> tuple[str, str | None]:
    """The app's health URL (from `streamlit run`'s flags, else the STREAMLIT_* variables, else Streamlit's defaults)
    and what is wrong there, if anything."""
    port = option(command, "--server.port") or environ.get("STREAMLIT_SERVER_PORT") or str(APP_PORT)
    address = option(command, "--server.address") or environ.get("STREAMLIT_SERVER_ADDRESS", "")
    prefix = option(command, "--server.baseUrlPath") or environ.get("STREAMLIT_SERVER_BASE_URL_PATH")
    url = f"http://{local_host(address)}:{port.strip()}{with_prefix(prefix, '_stcore/health')}"
    return url, http_problem(url)


def scheduler_problem(command: Sequence[str]) -> tuple[str, str | None]:
    """A Dask scheduler's /health URL (its --dashboard-address, default :8787; the HTTP server runs even with
    --no-dashboard) and what is wrong there, if anything."""
    host, _, port = (option(command, "--dashboard-address") or SCHEDULER_HTTP).rpartition(":")
    url = f"http://{local_host(host)}:{port}{with_prefix(option(command, '--dashboard-prefix'), 'health')}"
    return url, http_problem(url)


def scheduler_of(command: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The scheduler a `dask worker` command names: its first address argument, else --scheduler-file's address,
    else $DASK_SCHEDULER_ADDRESS."""
    words = list(command)
    start = next((i for i, word in enumerate(words) if Path(word).name.endswith("worker")), 0)
    arguments = [word for i, word in enumerate(words) if i > start and words[i - 1] not in OWN_ADDRESSES]
    found = next((word for word in arguments if ADDRESS.match(word)), None)
    if found is None and (scheduler_file := option(command, "--scheduler-file")):
        try:
            found = json.loads(Path(scheduler_file).read_text())["address"]
        except (OSError, ValueError, KeyError) as error:
            return f"unreadable scheduler file {scheduler_file} ({error})"
    return found or environ.get("DASK_SCHEDULER_ADDRESS")


def worker_problem(
    command: Sequence[str], environ: Mapping[str, str], peers: Iterable[tuple[str, int]]
) -> tuple[str, str | None]:
    """The scheduler a Dask worker names and whether one of `peers` (the remote ends of the container's established
    TCP connections) is that scheduler: a worker that lost it (or never reached it) is not serving."""
    address = scheduler_of(command, environ)
    match = ADDRESS.match(address or "")
    if match is None:
        return str(address), f"no scheduler address in the worker's command line ({address or 'none given'})"
    host, port = match["host"].strip("[]"), int(match["port"])
    try:
        ips = {normal_ip(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except OSError as error:
        return address, f"the scheduler's host {host!r} cannot be resolved ({error})"
    connected = any(normal_ip(ip) in ips and peer_port == port for ip, peer_port in peers)
    return address, None if connected else f"no connection to the scheduler at {address}"


def normal_ip(ip: str) -> str:
    """An IP address as text, IPv4-mapped IPv6 addresses (::ffff:10.0.0.5) as the IPv4 address they carry."""
    parsed = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(parsed, "ipv4_mapped", None)
    return str(mapped or parsed)


def container_commands() -> list[list[str]]:
    """The command lines of this container's processes (its own process namespace), oldest first, this one left out."""
    commands = []
    for process in sorted(psutil.process_iter(["pid", "cmdline"]), key=lambda p: p.info["pid"]):
        if process.info["pid"] != os.getpid() and process.info["cmdline"]:
            commands.append(process.info["cmdline"])
    return commands


def container_peers() -> list[tuple[str, int]]:
    """The remote ends of the established TCP connections held by this container's processes."""
    peers = []
    for process in psutil.process_iter():
        try:
            connections = process.net_connections(kind="tcp")
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        peers += [tuple(c.raddr[:2]) for c in connections if c.status == psutil.CONN_ESTABLISHED and c.raddr]
    return peers


def check(
    commands: Sequence[Sequence[str]], environ: Mapping[str, str], peers: Iterable[tuple[str, int]] = ()
) -> tuple[bool, str]:
    """Healthy or not, and the line that says so, for a container whose processes run `commands`."""
    command = next((c for c in commands if role(c)), None)
    if command is None:
        shown = " ".join(commands[0]) if commands else "nothing"
        return True, f"healthy: nothing to check (the container runs {shown})"
    kind = role(command)
    if kind == APP:
        where, problem = app_problem(command, environ)
        what = "the app"
    elif kind == SCHEDULER:
        where, problem = scheduler_problem(command)
        what = "the Dask scheduler"
    else:
        where, problem = worker_problem(command, environ, peers)
        what = "the Dask worker"
    if problem:
        return False, f"unhealthy: {what}: {problem}"
    return True, f"healthy: {what} ({where})"


def main() -> int:
    commands = container_commands()
    worker = any(role(command) == WORKER for command in commands)
    healthy, line = check(commands, os.environ, container_peers() if worker else ())
    print(line)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
