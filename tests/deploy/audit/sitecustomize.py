"""Put on PYTHONPATH inside a container by `make deploy-check`: every Python process there appends each address it
looks up or connects to (and each URL it opens) to $GPL_AUDIT_LOG, one JSON object a line, for the check to read."""

import json
import os
import sys

LOG = os.environ.get("GPL_AUDIT_LOG", "/tmp/gpl-audit/connections.log")
EVENTS = {"socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo", "http.client.connect"}


def _where(event: str, args: tuple) -> object:
    if event == "socket.getaddrinfo":
        return list(args[:2])  # host, port
    if event == "http.client.connect":
        return list(args[1:3])  # host, port
    address = args[1] if len(args) > 1 else None  # socket.connect / sendto / sendmsg: (socket, address)
    return list(address) if isinstance(address, tuple) else address


def _record(event: str, args: tuple) -> None:
    if event not in EVENTS:
        return
    try:
        line = json.dumps({"event": event, "where": _where(event, args), "argv": sys.argv[:3]}, default=repr)
        os.makedirs(os.path.dirname(LOG), exist_ok=True)
        with open(LOG, "a", encoding="utf-8") as sink:
            sink.write(line + "\n")
    except Exception:  # an audit hook must never break the process it watches
        pass


sys.addaudithook(_record)
