"""Every decoder of a visitor's input runs in a child process that the operating system limits.

The server never parses a visitor's file, nor a large JSON document, itself. One reader process per server
process (`python -c`, started once: it imports pyarrow, pandas, openpyxl and the decoders, so no load pays for
their import) forks a fresh child for each job. The child:

- gets the payload as a file descriptor (an upload is first written to a memory file; a file from the data folder
  is opened by the server, so no path is looked up again);
- limits its own private memory (`RLIMIT_DATA`, which covers the heap and every private mapping, to the job's
  limit above what it held when forked), forbids core files and sets an alarm for its time limit; then decodes;
- hands its result back in a memory file (a JSON header, then an Arrow IPC stream), which the server maps
  without copying.

A crash, a time-out or running out of memory ends only the child; the reader process reports how each child
ended (and kills one that outlives its time), and the server turns that into a message. The reader process is
started again if it dies. Fuzzing found crashes in pyarrow's footer and batch handling that no pre-check could
rule out, and a few kilobytes of many formats decode to gigabytes however carefully their metadata is read:
the estimates give the precise message, the limits are the guarantee.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.errors import DataError
from pipeline.settings import positive_int_setting

ROOT = Path(__file__).resolve().parents[2]  # the folder that holds `pipeline`, whatever the working directory
BOOT = "import sys; sys.path.insert(0, {root!r}); from pipeline.tables.sandbox import serve; serve({fd})"
READERS_ENV = "GPL_READERS"  # children decoding at once, over every session of this server process
SECONDS_ENV = "GPL_READ_SECONDS"
DEFAULT_SECONDS = 120
GRACE_S = 5  # past its alarm, the reader process kills a child outright
MESSAGE_BYTES = 1 << 16
QUIET_THREADS = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "ARROW_DEFAULT_MEMORY_POOL": "system",
}
Job = Callable[[dict[str, Any], Path], tuple[dict[str, Any], pa.Table | None]]


@dataclass(frozen=True)
class Limits:
    """What a job's child may take: private memory above what it holds when it starts, and wall-clock seconds."""

    memory_bytes: int
    seconds: int = DEFAULT_SECONDS

    @classmethod
    def for_memory(cls, memory_bytes: int) -> Limits:
        """`memory_bytes`, and the operator's time limit ($GPL_READ_SECONDS, 120 s)."""
        return cls(memory_bytes, positive_int_setting(SECONDS_ENV, DEFAULT_SECONDS))


@dataclass(frozen=True)
class Reply:
    """What a job sent back: its header and table, and its child's peak resident memory (bytes)."""

    header: dict[str, Any]
    table: pa.Table | None
    peak_bytes: int


# --- in the server --------------------------------------------------------------------------------------------


class _ReaderProcess:
    """The warm reader process, and the thread that hears how each of its children ended."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-c", BOOT.format(root=str(ROOT), fd=theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            cwd=ROOT,
            env={**os.environ, **QUIET_THREADS},
            start_new_session=True,  # a Ctrl-C meant for the server does not reach it; it ends when the server does
        )
        theirs.close()
        self.control = ours
        self.sending = threading.Lock()
        self.pending: dict[int, Future[dict[str, Any]]] = {}
        self.ids = itertools.count()
        self.stopped = False
        threading.Thread(target=self._listen, name="reader-process", daemon=True).start()

    def submit(self, request: dict[str, Any], fds: list[int]) -> Future[dict[str, Any]]:
        ended: Future[dict[str, Any]] = Future()
        with self.sending:
            if self.stopped:
                raise OSError("the reader process has stopped")
            number = next(self.ids)
            self.pending[number] = ended
            socket.send_fds(self.control, [json.dumps({**request, "id": number}).encode()], fds)
        return ended

    def _listen(self) -> None:
        try:
            while message := self.control.recv(MESSAGE_BYTES):
                status = json.loads(message)
                with self.sending:
                    ended = self.pending.pop(status["id"], None)
                if ended is not None:
                    ended.set_result(status)
        except OSError:
            pass  # the socket was closed: the reader process is gone
        with self.sending:
            self.stopped = True
            waiting, self.pending = list(self.pending.values()), {}
        for ended in waiting:
            ended.set_exception(OSError("the reader process stopped"))


_reader: _ReaderProcess | None = None
_starting = threading.Lock()
_slots = threading.BoundedSemaphore(positive_int_setting(READERS_ENV, 2))


def _reader_process() -> _ReaderProcess:
    """The reader process, started on first use and again whenever it has stopped."""
    global _reader
    with _starting:
        if _reader is None or _reader.stopped or _reader.process.poll() is not None:
            _reader = _ReaderProcess()
        return _reader


def warm() -> None:
    """Start the reader process now (it imports its libraries while the server starts), not at the first load."""
    _reader_process()


def _payload_fd(payload: bytes | Path) -> int:
    """A descriptor for the payload: the file opened (read-only), or the bytes in a memory file."""
    if isinstance(payload, Path):
        return os.open(payload, os.O_RDONLY | os.O_CLOEXEC)
    fd = os.memfd_create("gpl-payload", os.MFD_CLOEXEC)
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]
    return fd


def run_job(job: str, arguments: dict[str, Any], payload: bytes | Path, limits: Limits, name: str) -> Reply:
    """`job` run in a child on `payload` within `limits`; every way the child can fail is a DataError that names
    `name`."""
    with _slots:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        payload_fd = _payload_fd(payload)
        request = {"job": job, "arguments": arguments, "memory": limits.memory_bytes, "seconds": limits.seconds}
        try:
            try:
                ended = _reader_process().submit(request, [theirs.fileno(), payload_fd])
            except OSError:
                ended = _reader_process().submit(request, [theirs.fileno(), payload_fd])  # it had just stopped
        finally:
            theirs.close()
            os.close(payload_fd)
        with ours:
            try:
                status = ended.result(timeout=limits.seconds + 4 * GRACE_S)
            except (OSError, TimeoutError) as error:
                raise DataError(
                    f"{name} could not be read: the reader process stopped ({error}). Load it again."
                ) from error
            return _reply(ours, status, limits, name)


def _reply(ours: socket.socket, status: dict[str, Any], limits: Limits, name: str) -> Reply:
    """The child's reply, read once the reader process has said how it ended."""
    try:
        message, fds, _flags, _address = socket.recv_fds(ours, MESSAGE_BYTES, 1, socket.MSG_DONTWAIT)
    except BlockingIOError:
        message, fds = b"", []
    try:
        said = json.loads(message) if message else {}
        code = int(status["code"])
        if "error" in said:
            raise DataError(said["error"])
        if said.get("memory"):
            raise DataError(_out_of_memory(name, limits))
        if code != 0 or not said.get("ok") or not fds:
            raise DataError(_died(name, code, limits))
        header, table = _mapped(fds[0], said)
        return Reply(header, table, int(status.get("peak", 0)))
    finally:
        for fd in fds:
            os.close(fd)


def _mapped(fd: int, said: dict[str, Any]) -> tuple[dict[str, Any], pa.Table | None]:
    """The header and table in the child's memory file, mapped rather than copied."""
    buffer = pa.memory_map(f"/proc/self/fd/{fd}").read_buffer()
    header = json.loads(buffer.slice(8, said["header"]).to_pybytes())
    table = pa.ipc.open_stream(buffer.slice(said["table"])).read_all() if said.get("table") else None
    return header, table


def _out_of_memory(name: str, limits: Limits) -> str:
    return (
        f"{name} is too large once decoded: reading it passed the limit of {limits.memory_bytes / 2**20:,.0f} MiB "
        "that one load may take, and reading stopped there (the app and your data are fine). Load fewer rows or "
        "columns, or put it in the data folder as Parquet and read it on the Data page's Dask tab, in partitions."
    )


def _died(name: str, code: int, limits: Limits) -> str:
    if code in (-signal.SIGALRM, -signal.SIGKILL):
        why = f"reading it did not finish within {limits.seconds} s"
    elif code < 0:
        why = (
            f"the reader stopped on it ({signal.Signals(-code).name}): the file is damaged in a way the reader "
            f"does not catch, or reading it needed more than its limit of {limits.memory_bytes / 2**20:,.0f} MiB"
        )
    else:
        why = f"the reader failed on it (exit {code})"
    return (
        f"{name} could not be read: {why}. It was read in a separate process, so the app and your data are fine. "
        "Export or upload the file again, or load a smaller one."
    )


# --- in the reader process ------------------------------------------------------------------------------------


def serve(fd: int) -> None:
    """The reader process: fork a child for each job the server sends, and tell the server how each ended."""
    from pipeline.tables.decode import table_job
    from pipeline.tables.json_input import json_job

    jobs: dict[str, Job] = {"table": table_job, "json": json_job}
    control = socket.socket(fileno=fd)
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that an ended child wakes the loop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    running: dict[int, tuple[int, float]] = {}  # child pid -> (job id, when to kill it)
    while True:
        now = time.monotonic()
        timeout = max(min((end for _, end in running.values()), default=now + 60) - now, 0)
        ready, _, _ = select.select([control, wake_read], [], [], timeout)
        if control in ready:
            message, fds, _flags, _address = socket.recv_fds(control, MESSAGE_BYTES, 2)
            if not message:
                for pid in running:
                    os.kill(pid, signal.SIGKILL)
                return  # the server has gone
            request = json.loads(message)
            pid = os.fork()
            if pid == 0:
                _child(jobs, request, fds, (control.fileno(), wake_read, wake_write))
            for descriptor in fds:
                os.close(descriptor)
            running[pid] = (request["id"], time.monotonic() + request["seconds"] + GRACE_S)
        if wake_read in ready:
            while True:
                try:
                    os.read(wake_read, 512)
                except BlockingIOError:
                    break
        _reap(control, running)
        for pid, (_, end) in running.items():
            if time.monotonic() > end:
                os.kill(pid, signal.SIGKILL)


def _reap(control: socket.socket, running: dict[int, tuple[int, float]]) -> None:
    """Tell the server how each child that has ended did: its exit code (minus the signal that ended it) and its
    peak resident memory."""
    while running:
        pid, status, usage = os.wait4(-1, os.WNOHANG)
        if pid == 0:
            return
        number, _ = running.pop(pid)
        ended = {"id": number, "code": os.waitstatus_to_exitcode(status), "peak": usage.ru_maxrss * 1024}
        control.send(json.dumps(ended).encode())


def _private_bytes() -> int:
    """This process's private memory as `RLIMIT_DATA` counts it (VmData)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmData:"):
            return int(line.split()[1]) * 1024
    return 0


def _child(jobs: dict[str, Job], request: dict[str, Any], fds: list[int], closing: tuple[int, ...]) -> None:
    """In a forked child: limit itself, run the job, reply, and exit (never returning to the reader's loop)."""
    code = 0
    try:
        for descriptor in closing:
            os.close(descriptor)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        reply = socket.socket(fileno=fds[0])
        allowed = _private_bytes() + int(request["memory"])
        resource.setrlimit(resource.RLIMIT_DATA, (allowed, allowed))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.alarm(math.ceil(request["seconds"]))
        try:
            header, table = jobs[request["job"]](request["arguments"], Path(f"/proc/self/fd/{fds[1]}"))
            _send(reply, header, table)
        except DataError as error:
            reply.send(json.dumps({"error": str(error)[:4000]}).encode())
        except MemoryError:
            reply.send(b'{"memory": true}')
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


def _send(reply: socket.socket, header: dict[str, Any], table: pa.Table | None) -> None:
    """The header and table written to a memory file (the table 64-byte aligned, as Arrow reads it in place), and
    the file's descriptor sent to the server."""
    text = json.dumps(header).encode()
    start = -(-(8 + len(text)) // 64) * 64
    fd = os.memfd_create("gpl-reply", os.MFD_CLOEXEC)
    with open(fd, "wb", closefd=False) as out:
        out.write(struct.pack("<Q", len(text)) + text + bytes(start - 8 - len(text)))
        if table is not None:
            with pa.ipc.new_stream(out, table.schema) as writer:
                writer.write_table(table)
    said = {"ok": True, "header": len(text), "table": start if table is not None else 0}
    socket.send_fds(reply, [json.dumps(said).encode()], [fd])
