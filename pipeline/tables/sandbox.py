"""Parquet and Arrow IPC from a visitor are parsed in a child process, so a reader that crashes takes only the child.

Fuzzing the readers with damaged files aborted pyarrow on a Parquet footer whose column types disagree and
segfaulted it on Arrow batches whose offsets point outside their buffers: either would end the server and
every session in it. The child (`python -c ... child_main()`, importing pyarrow and `binary_readers` only)
reads the file within the memory limit it is given, validates the table in full, and sends it back as an
Arrow IPC stream that it wrote itself; a crash, a time-out or running out of memory there is a message here.
"""

from __future__ import annotations

import json
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from pipeline.errors import DataError
from pipeline.tables.decoded_size import DecodedSize
from pipeline.tables.formats import FileFormat

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 300
INSPECT, READ = "inspect", "read"
CHILD = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from pipeline.tables.sandbox import child_main; child_main()"


def _send_header(out: IO[bytes], header: dict[str, Any]) -> None:
    data = json.dumps(header).encode()
    out.write(struct.pack("<Q", len(data)) + data)
    out.flush()


def child_main() -> None:
    """In the child: argv is ACTION FORMAT LIMIT [PATH]; the payload is the file at PATH, or standard input."""
    from pipeline.tables.binary_readers import READERS, inspect

    action, fmt, limit = sys.argv[1], FileFormat(sys.argv[2]), int(sys.argv[3])
    payload: bytes | Path = Path(sys.argv[4]) if len(sys.argv) > 4 else sys.stdin.buffer.read()
    out = sys.stdout.buffer
    try:
        if action == INSPECT:
            size, plain = inspect(fmt, payload)
            known = {"nbytes": size.nbytes, "how": size.how} if size else {}
            _send_header(out, {**known, "plain": plain})
            return
        started = time.perf_counter()
        table = READERS[fmt](payload, limit or None)
        seconds = time.perf_counter() - started
    except DataError as error:
        _send_header(out, {"error": str(error)})
        return
    except MemoryError:
        _send_header(out, {"error": "Reading it ran out of memory. Load fewer rows or columns."})
        return
    _send_header(out, {"rows": table.num_rows, "seconds": seconds})
    with pa.ipc.new_stream(out, table.schema) as writer:
        writer.write_table(table)


def _receive_header(stream: IO[bytes]) -> dict[str, Any] | None:
    head = stream.read(8)
    if len(head) < 8:
        return None
    return json.loads(stream.read(struct.unpack("<Q", head)[0]))


def _run(action: str, fmt: FileFormat, payload: bytes | Path, limit: int | None, name: str) -> tuple[dict, Any]:
    """The child's header and, for READ, the table it sent; every way the child can fail is a DataError."""
    arguments = [sys.executable, "-c", CHILD, action, fmt.value, str(limit or 0)]
    if isinstance(payload, Path):
        arguments.append(str(payload))
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            arguments,
            stdin=subprocess.PIPE if isinstance(payload, bytes) else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        timer = threading.Timer(TIMEOUT_S, child.kill)
        timer.start()
        if isinstance(payload, bytes):
            threading.Thread(target=_feed, args=(child.stdin, payload), daemon=True).start()
        try:
            header = _receive_header(child.stdout)
            table = None
            if header is not None and action == READ and "error" not in header:
                table = pa.ipc.open_stream(child.stdout).read_all()
        except (pa.ArrowException, OSError, ValueError):
            header = None  # the child died while sending: its exit code says how
        finally:
            child.stdout.close()
            code = child.wait()
            timer.cancel()
    if header is None or code != 0:
        raise DataError(_died(fmt, name, code))
    if "error" in header:
        raise DataError(header["error"])
    return header, table


def _feed(stdin: IO[bytes], payload: bytes) -> None:
    try:
        stdin.write(payload)
        stdin.close()
    except OSError:
        pass  # the child ended before reading it all: its exit code says why


def _died(fmt: FileFormat, name: str, code: int) -> str:
    if code == -signal.SIGKILL:
        why = f"it did not finish within {TIMEOUT_S} s or ran out of memory"
    elif code < 0:
        why = f"the {fmt} reader crashed on it ({signal.Signals(-code).name})"
    else:
        why = f"the {fmt} reader failed on it (exit {code})"
    return (
        f"{name} could not be read: {why}. The file is damaged in a way the reader does not catch; it was read in a "
        "separate process, so the app and your data are fine. Export or upload the file again."
    )


def inspect_binary(fmt: FileFormat, payload: bytes | Path, name: str) -> tuple[DecodedSize | None, bool]:
    """The file's decoded size (None where its metadata is damaged) and whether its columns are all of plain types,
    read from its metadata in a child."""
    header, _ = _run(INSPECT, fmt, payload, None, name)
    size = DecodedSize(int(header["nbytes"]), str(header["how"])) if "nbytes" in header else None
    return size, bool(header["plain"])


def read_binary(fmt: FileFormat, payload: bytes | Path, limit: int | None, name: str = "It") -> tuple[pa.Table, float]:
    """The Parquet or Arrow IPC file as a validated Arrow table, read in a child within `limit` bytes, and the
    seconds the child's reader took (starting the child and handing the table over not counted)."""
    header, table = _run(READ, fmt, payload, limit, name)
    return table, float(header["seconds"])
