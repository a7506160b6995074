"""Every decoder of a visitor's input runs in a child process that the operating system limits.

The server never parses a visitor's file, nor a large JSON document, itself. One reader process per server
process (`python -c`, started once: it imports pyarrow, pandas, openpyxl and the decoders, so no load pays for
their import) hands each job to a worker it forked, which runs jobs one after another (so its allocator and
threads stay warm: a fresh process per job made a 1e6-row CSV load twice as slow). For each job the worker:

- gets the payload as a file descriptor (an upload is first written to a memory file; a file from the data folder
  is opened by the server, so no path is looked up again);
- limits its private memory (`RLIMIT_DATA`, which covers the heap and every private mapping) to the job's limit
  above what it holds, and sets an alarm for the job's time limit; then decodes;
- hands its result back in a memory file (a JSON header, then an Arrow IPC stream), which the server maps
  without copying; then lifts the limit, hands its freed memory back lazily (the kernel takes it whenever it
  needs it; until then the next job reuses it) and waits for the next job.

A crash, a time-out or running out of memory ends only that worker (one that ran out of memory, failed
unexpectedly or still holds much after a job ends by itself); the reader process reports how each job ended
(and kills a worker that outlives its job's time), and the server turns that into a message. The reader process
is started again if it dies. Fuzzing found crashes in pyarrow's footer and batch handling that no pre-check
could rule out, and a few kilobytes of many formats decode to gigabytes however carefully their metadata is
read: the estimates give the precise message, the limits are the guarantee.
"""

from __future__ import annotations

import gc
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
GRACE_S = 5  # past its alarm, the reader process kills a worker outright
# A worker whose private resident memory (RssAnon, less what it freed lazily) stays this much above where it started
# ends after its job; the address space its allocator keeps reserved for reuse (counted in VmData, and so in each
# job's limit) and the memory it freed lazily do not count here: neither holds memory the kernel cannot take back at
# once, and keeping them is what keeps the next load fast.
RETIRE_RESIDENT = 64 * 2**20
MESSAGE_BYTES = 1 << 16
RAN_OUT_SHARE = 0.75  # a worker ended by a signal at this share of its memory limit or more had run out of it
READER_ENVIRONMENT = {
    "OPENBLAS_NUM_THREADS": "1",  # no idle BLAS threads in the reader process, which forks (not OMP_NUM_THREADS:
    "MKL_NUM_THREADS": "1",  # pyarrow sizes its own thread pool by it)
    # pyarrow's allocator (mimalloc) reserves a 1 GiB arena up front; under a memory limit that reservation can
    # leave no room for the parser's threads, so it reserves in small steps
    "MIMALLOC_ARENA_RESERVE": "64MiB",
    # what a job frees goes back to the kernel lazily (MADV_FREE, not MADV_DONTNEED): the kernel takes it whenever it
    # needs memory and counts it as available meanwhile, and until then the next job reuses it instead of faulting
    # every page in again (which cost a 1e6-row Parquet load as much CPU as its parse)
    "MIMALLOC_PURGE_DECOMMITS": "0",
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
    """What a job sent back: its header and table, and its child's peak resident memory (bytes; memory the child
    freed lazily in earlier jobs counts while it holds it)."""

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
            env={**os.environ, **READER_ENVIRONMENT},
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
_peak_listeners: list[Callable[[int], None]] = []


def listen_to_peaks(listener: Callable[[int], None]) -> None:
    """Have `listener` told each job's peak resident memory in its worker, whatever the job's outcome (for the
    fuzzing run and other measurements; a refusal's DataError carries no figure)."""
    _peak_listeners.append(listener)


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
            return _reply(ours, ended, limits, name)


def _reply(ours: socket.socket, ended: Future[dict[str, Any]], limits: Limits, name: str) -> Reply:
    """The worker's reply, as soon as it comes; where none does (the worker ended first), how it ended, from the
    reader process."""
    ours.settimeout(limits.seconds + 4 * GRACE_S)  # the reader process kills a worker past its time before this
    try:
        message, fds, _flags, _address = socket.recv_fds(ours, MESSAGE_BYTES, 1)
    except TimeoutError:
        message, fds = b"", []
    try:
        said = json.loads(message) if message else {}
        if "peak" in said:
            _heard_peak(int(said["peak"]))
        if "error" in said:
            raise DataError(said["error"])
        if said.get("memory"):
            raise DataError(_out_of_memory(name, limits))
        if "failed" in said:
            raise DataError(
                f"{name} could not be read: the reader failed on it ({said['failed']}). It was read in a separate "
                "process, so the app and your data are fine. Export or upload the file again."
            )
        if said.get("ok") and fds:
            header, table = _mapped(fds[0], said)
            return Reply(header, table, int(said["peak"]))
        try:
            status = ended.result(timeout=4 * GRACE_S)
        except (OSError, TimeoutError) as error:
            raise DataError(
                f"{name} could not be read: the reader process stopped ({error}). Load it again."
            ) from error
        code = int(status["code"])
        _heard_peak(int(status.get("peak", 0)))
        raise DataError(
            _out_of_memory(name, limits)
            if _ran_out(code, int(status.get("peak", 0)), limits)
            else _died(name, code, limits)
        )
    finally:
        for fd in fds:
            os.close(fd)


def _heard_peak(peak: int) -> None:
    for listener in _peak_listeners:
        listener(peak)


def _mapped(fd: int, said: dict[str, Any]) -> tuple[dict[str, Any], pa.Table | None]:
    """The header and table in the child's memory file, mapped rather than copied."""
    buffer = pa.memory_map(f"/proc/self/fd/{fd}").read_buffer()
    header = json.loads(buffer.slice(8, said["header"]).to_pybytes())
    table = pa.ipc.open_stream(buffer.slice(said["table"])).read_all() if said.get("table") else None
    return header, table


def _ran_out(code: int, peak: int, limits: Limits) -> bool:
    """Whether a worker a signal ended had grown to its memory limit: native code that cannot allocate aborts
    (SIGABRT) or dies of it, rather than raising MemoryError."""
    return code < 0 and code not in (-signal.SIGALRM, -signal.SIGKILL) and peak >= RAN_OUT_SHARE * limits.memory_bytes


def _out_of_memory(name: str, limits: Limits) -> str:
    return (
        f"{name} is too large once decoded: reading it needed more than the {limits.memory_bytes / 2**30:,.2f} GiB "
        "the reader may use for one load, and reading stopped there (the app and your data are fine). Load fewer "
        "rows or columns, or put it in the data folder as Parquet and read it on the Data page's Dask tab, in "
        "partitions."
    )


def _died(name: str, code: int, limits: Limits) -> str:
    if code in (-signal.SIGALRM, -signal.SIGKILL):
        why = f"reading it did not finish within {limits.seconds} s"
    elif code < 0:
        why = (
            f"the reader crashed on it ({signal.Signals(-code).name}): the file is damaged in a way the reader "
            "does not catch"
        )
    else:
        why = f"the reader failed on it (exit {code})"
    return (
        f"{name} could not be read: {why}. It was read in a separate process, so the app and your data are fine. "
        "Export or upload the file again, or load a smaller one."
    )


# --- in the reader process ------------------------------------------------------------------------------------


@dataclass
class _Worker:
    """A child of the reader process that runs jobs one after another (its allocator and threads stay warm), each
    under that job's limits; it ends after a job that ran out of memory or failed unexpectedly, or grew too big."""

    pid: int
    channel: socket.socket
    job: int | None = None  # the server's id of the job it runs, if any
    deadline: float = 0.0
    held: int = 0  # private memory it kept from jobs before (freed, ready for reuse), counted in each job's limit


def serve(fd: int) -> None:
    """The reader process: hand each job the server sends to an idle worker (forking one where none is idle), and
    tell the server how each job ended: done (with the job's peak memory), or the worker's exit code."""
    from pipeline.tables.decode import table_job
    from pipeline.tables.json_input import json_job

    jobs: dict[str, Job] = {"table": table_job, "json": json_job}
    gc.freeze()  # what it holds now stays for good: a worker's collection after each job sees only what came after
    control = socket.socket(fileno=fd)
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that an ended worker wakes the loop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    workers: dict[int, _Worker] = {}
    while True:
        now = time.monotonic()
        deadlines = [worker.deadline for worker in workers.values() if worker.job is not None]
        timeout = max(min(deadlines, default=now + 60) - now, 0)
        watched = [control, wake_read, *(worker.channel for worker in workers.values() if worker.job is not None)]
        ready, _, _ = select.select(watched, [], [], timeout)
        if control in ready:
            try:
                message, fds, _flags, _address = socket.recv_fds(control, MESSAGE_BYTES, 2)
            except ConnectionError:
                message, fds = b"", []
            if not message:
                for pid in workers:
                    os.kill(pid, signal.SIGKILL)
                return  # the server has gone
            request = json.loads(message)
            for idle in [w for w in workers.values() if w.job is None and w.held > request["memory"] // 2]:
                _let_go(workers, idle)  # what it kept would leave the job too little: a fresh worker takes it
            worker = next((w for w in workers.values() if w.job is None), None)
            if worker is None:
                worker = _fork_worker(jobs, workers, (fd, wake_read, wake_write))
                workers[worker.pid] = worker
            socket.send_fds(worker.channel, [message], fds)
            for descriptor in fds:
                os.close(descriptor)
            worker.job, worker.deadline = request["id"], time.monotonic() + request["seconds"] + GRACE_S
        for worker in list(workers.values()):
            if worker.channel in ready:
                _job_done(control, workers, worker)
        if wake_read in ready:
            while True:
                try:
                    os.read(wake_read, 512)
                except BlockingIOError:
                    break
        _reap(control, workers)
        for worker in workers.values():
            if worker.job is not None and time.monotonic() > worker.deadline:
                os.kill(worker.pid, signal.SIGKILL)


def _fork_worker(jobs: dict[str, Job], workers: dict[int, _Worker], closing: tuple[int, ...]) -> _Worker:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        ours.close()
        _work(jobs, theirs, (*closing, *(worker.channel.fileno() for worker in workers.values())))
    theirs.close()
    return _Worker(pid, ours)


def _job_done(control: socket.socket, workers: dict[int, _Worker], worker: _Worker) -> None:
    """A worker said it finished its job (or ended: its exit is reaped and reported instead)."""
    said = worker.channel.recv(MESSAGE_BYTES)
    if not said:
        return
    done = json.loads(said)
    control.send(json.dumps({"id": worker.job, "code": 0, "peak": done["peak"]}).encode())
    worker.job, worker.held = None, done["held"]
    if done["retire"]:
        _let_go(workers, worker)


def _let_go(workers: dict[int, _Worker], worker: _Worker) -> None:
    """An idle worker ended: its channel closed, it exits; its exit is reaped as no one's job."""
    worker.channel.close()
    del workers[worker.pid]


def _reap(control: socket.socket, workers: dict[int, _Worker]) -> None:
    """Tell the server how each job whose worker ended ended: its exit code (minus the signal that ended it) and
    the worker's peak resident memory."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        worker = workers.pop(pid, None)
        if worker is None:
            continue
        worker.channel.close()
        if worker.job is not None:
            ended = {"id": worker.job, "code": os.waitstatus_to_exitcode(status), "peak": usage.ru_maxrss * 1024}
            control.send(json.dumps(ended).encode())


def _status_field(name: str) -> int:
    """A field of /proc/self/status in bytes (VmData: the private memory `RLIMIT_DATA` counts; VmHWM: the peak
    resident memory; RssAnon: the private memory resident now)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1]) * 1024
    return 0


def _held_resident() -> int:
    """The private memory resident now (RssAnon), less what was freed lazily (LazyFree: the kernel takes it back
    whenever it needs it)."""
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("LazyFree:"):
            return _status_field("RssAnon") - int(line.split()[1]) * 1024
    return _status_field("RssAnon")


def _work(jobs: dict[str, Job], channel: socket.socket, closing: tuple[int, ...]) -> None:
    """A worker, forked from the reader process: run each job it is given under that job's limits; exit when it
    must (never returning into the reader process's loop)."""
    code = 0
    try:
        for descriptor in closing:
            os.close(descriptor)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        started, resident = _status_field("VmData"), _held_resident()
        while True:
            try:
                text, fds, _flags, _address = socket.recv_fds(channel, MESSAGE_BYTES, 2)
            except ConnectionError:
                break  # the reader process has gone
            if not text:
                break  # the reader process has gone, or let this worker go
            retire = _run(jobs, json.loads(text), fds, started)
            held = _status_field("VmData") - started
            retire = retire or _held_resident() - resident > RETIRE_RESIDENT
            channel.send(json.dumps({"peak": _status_field("VmHWM"), "held": held, "retire": retire}).encode())
            if retire:
                break
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


def _run(jobs: dict[str, Job], request: dict[str, Any], fds: list[int], started: int) -> bool:
    """One job, within its limits (its memory counted from what the worker held when it `started`, so what earlier
    jobs left behind counts too); whether the worker should end after it."""
    retire = False
    reply = socket.socket(fileno=fds[0])
    Path("/proc/self/clear_refs").write_text("5")  # the peak resident memory, from here: this job's
    _, unlimited = resource.getrlimit(resource.RLIMIT_DATA)
    allowed = started + int(request["memory"])
    resource.setrlimit(resource.RLIMIT_DATA, (allowed, unlimited))
    signal.alarm(math.ceil(request["seconds"]))
    try:
        header, table = jobs[request["job"]](request["arguments"], Path(f"/proc/self/fd/{fds[1]}"))
        _send(reply, header, table)
        del header, table
    except DataError as error:
        reply.send(json.dumps({"error": str(error)[:4000], "peak": _status_field("VmHWM")}).encode())
    except MemoryError:
        reply.send(json.dumps({"memory": True, "peak": _status_field("VmHWM")}).encode())
        retire = True
    except Exception as error:  # a reader's own failure on a file it should have refused: said, and logged
        traceback.print_exc()
        failed = f"{type(error).__name__}: {str(error)[:1000]}"
        reply.send(json.dumps({"failed": failed, "peak": _status_field("VmHWM")}).encode())
        retire = True
    finally:
        signal.alarm(0)
        resource.setrlimit(resource.RLIMIT_DATA, (unlimited, unlimited))
        reply.close()
        os.close(fds[1])
    gc.collect()
    pa.default_memory_pool().release_unused()
    return retire


def _send(reply: socket.socket, header: dict[str, Any], table: pa.Table | None) -> None:
    """The header and table written to a memory file (the table 64-byte aligned, as Arrow reads it in place), and
    the file's descriptor sent to the server."""
    text = json.dumps(header).encode()
    start = -(-(8 + len(text)) // 64) * 64
    fd = os.memfd_create("gpl-reply", os.MFD_CLOEXEC)
    try:
        with open(fd, "wb", closefd=False) as out:
            out.write(struct.pack("<Q", len(text)) + text + bytes(start - 8 - len(text)))
            if table is not None:
                with pa.ipc.new_stream(out, table.schema) as writer:
                    writer.write_table(table)
        said = {
            "ok": True,
            "header": len(text),
            "table": start if table is not None else 0,
            "peak": _status_field("VmHWM"),
        }
        socket.send_fds(reply, [json.dumps(said).encode()], [fd])
    finally:
        os.close(fd)
