"""Fuzz the readers: seeded files with adversarial contents through the real upload path, with the peak memory of
the process and all its children.

    python -m benchmarks.fuzz_readers --files 10000 --out docs/results/fuzz_readers.json
    python -m benchmarks.fuzz_readers --seed 0 --indices 1234 --write /tmp/repro   # one file, to reproduce it

Files come from `benchmarks.fuzz_files` (the same seed makes the same files). Each goes through `load_file` with
a fresh catalog, the CPU engine and the upload limit, as the Data page loads an upload, in a worker process (a
fresh one every `--batch` files and after any crash) under a watchdog. The worker samples the proportional memory
(PSS) of itself and every descendant (the reader process and its workers) every 15 ms: each page shared between
processes (a reader worker's pages it shares with the reader process) counted once over all of them. With the
worker's own peak (VmHWM) on top of what the others held when the load began, that gives each file's peak; the
reader worker's own peak (`listen_to_peaks`) is kept beside it. Sampling can miss a spike shorter than 15 ms.
Outcomes: loaded, refused with a specific message,
refused by the operating system's limits (the estimates missed), refused with a generic message, failed (any
exception other than DataError), crashed (the worker died), timed out.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import multiprocessing
import os
import re
import statistics
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

from benchmarks.common import proportional_bytes, publish, run_facts
from benchmarks.fuzz_files import NAMES, FuzzFile, make_file

MAX_UPLOAD_BYTES = 200 * 2**20  # the Data page's upload limit
DEFAULT_BATCH = 200
DEFAULT_TIMEOUT_S = 180
PEAK_GOAL_BYTES = int(1.5 * 2**30)
SAMPLE_S = 0.015
START_TIMEOUT_S = 120
# Messages that name no problem the visitor can act on: a bug in a reader wherever one appears.
GENERIC = {
    "the reader failed on it (exit": "the reader's child exited with an error",
    "the reader stopped on it (SIG": "the reader's child was killed by a signal",
    "the reader process stopped": "the reader process stopped",
    "MemoryError": "running out of memory reported as something else",
    "malloc of size": "running out of memory reported as something else",
    "bad_alloc": "running out of memory reported as something else",
    "Traceback": "a traceback",
}
# The operating system's limits on the reader's child: safe, but the estimate from the file's metadata missed.
AT_LIMIT = {
    "is too large once decoded: reading it passed the limit": "the child's memory limit",
    "did not finish within": "the child's time limit",
}
OUTCOMES = ("loaded", "refused", "refused_at_limit", "refused_generic", "failure", "crashed", "timed_out")
PEAK_BUCKETS_MIB = (256, 512, 768, 1024, 1536)


# --- in the worker --------------------------------------------------------------------------------------------


class TreeSampler:
    """A thread that samples the proportional memory of this process and all its descendants while a load runs."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.active = threading.Event()
        self.lock = threading.Lock()
        self.peak = 0
        threading.Thread(target=self._run, name="tree-sampler", daemon=True).start()

    def tree_bytes(self) -> int:
        total = proportional_bytes(self.me.pid)
        for process in self.me.children(recursive=True):
            with contextlib.suppress(psutil.Error, OSError):  # it ended between the listing and the reading
                total += proportional_bytes(process.pid)
        return total

    def _run(self) -> None:
        while True:
            self.active.wait()
            sample = self.tree_bytes()
            with self.lock:
                self.peak = max(self.peak, sample)
            time.sleep(SAMPLE_S)

    def begin(self) -> int:
        """Start sampling; returns what the tree holds now."""
        now = self.tree_bytes()
        with self.lock:
            self.peak = now
        self.active.set()
        return now

    def end(self) -> int:
        """Stop sampling; returns the largest sample."""
        self.active.clear()
        last = self.tree_bytes()
        with self.lock:
            return max(self.peak, last)


def _reset_peak() -> None:
    """Reset this process's peak resident size (VmHWM), so it covers one file."""
    Path("/proc/self/clear_refs").write_text("5")


def _own_peak() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _hand_back_memory() -> None:
    """Give freed memory back to the system between files, so each file's peak starts from the same base."""
    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def _serve(connection: Connection) -> None:
    """The worker: load each file it is sent, as the Data page loads an upload, and report how it went."""
    import logging

    import pipeline.tables.sandbox as sandbox
    from pipeline.data.catalog import Catalog
    from pipeline.data.io import ReadOptions, Source
    from pipeline.data.loading import load_file
    from pipeline.engines import get_engine
    from pipeline.errors import DataError

    logging.disable(logging.WARNING)
    peaks: list[int] = []
    sandbox.listen_to_peaks(peaks.append)  # each job's peak in its reader worker, refusals too
    sandbox.warm()
    engines = [get_engine("cpu")]
    sampler = TreeSampler()
    reader = sandbox._reader.process.pid if sandbox._reader else None
    gc.freeze()  # what is loaded by now stays: the collection between files then looks only at what came after
    connection.send({"ready": True, "reader_pid": reader})
    while (job := connection.recv()) is not None:
        name, data, options = job
        peaks.clear()
        _hand_back_memory()
        _reset_peak()
        start_tree = sampler.begin()
        others_at_start = start_tree - proportional_bytes(os.getpid())
        started = time.perf_counter()
        shape, message = None, ""
        try:
            dataset = load_file(
                Catalog(), Source.from_bytes(name, data), engines, ReadOptions(**options), max_bytes=MAX_UPLOAD_BYTES
            )
            outcome, shape = "loaded", list(dataset.shape)
            del dataset
        except DataError as error:
            outcome, message = "refused", str(error)
        except Exception as error:  # the point of the run: anything else is a finding
            outcome = "failure"
            message = f"{type(error).__name__}: {error}\n{''.join(traceback.format_exc(limit=-6))}"[:4000]
        seconds = time.perf_counter() - started
        sampled = sampler.end()
        child = max(peaks, default=0)
        own = _own_peak()
        connection.send(
            {
                "outcome": outcome,
                "message": message,
                "shape": shape,
                "seconds": seconds,
                "sampled_peak_bytes": sampled,
                "child_peak_bytes": child,
                "worker_peak_bytes": own,
                "start_tree_bytes": start_tree,
                "peak_bytes": max(sampled, own + others_at_start),
            }
        )


# --- in the driver --------------------------------------------------------------------------------------------


class WorkerDied(Exception):
    pass


class Worker:
    """A worker process (spawned: a fresh interpreter) and the reader process it starts."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs,), name="fuzz-worker", daemon=True)
        self.process.start()
        theirs.close()
        if not self.connection.poll(START_TIMEOUT_S):
            self.kill()
            raise WorkerDied("the worker did not start")
        reader = self.connection.recv()["reader_pid"]
        self.reader = psutil.Process(reader) if reader else None  # psutil will not signal a reused pid

    def send(self, file: FuzzFile) -> None:
        self.connection.send((file.name, file.data, file.options))

    def result(self, timeout_s: float) -> dict[str, Any] | None:
        """The worker's report on the file sent, or None when it took longer than `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if self.connection.poll(min(1.0, max(deadline - time.monotonic(), 0))):
                    return self.connection.recv()
            except (EOFError, OSError) as error:
                raise WorkerDied(self._death()) from error
            if not self.process.is_alive():
                raise WorkerDied(self._death())
        return None

    def _death(self) -> str:
        self.process.join(5)
        code = self.process.exitcode
        return f"the worker died (exit code {code})"

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.send(None)
        self.process.join(30)
        self.kill()

    def kill(self) -> None:
        """End the worker and everything it started, by their process ids."""
        processes = [self.reader] if getattr(self, "reader", None) else []
        with contextlib.suppress(psutil.Error):
            worker = psutil.Process(self.process.pid)
            processes += [*worker.children(recursive=True), worker]
        for process in processes:
            with contextlib.suppress(psutil.Error):
                process.kill()
        self.process.join(5)


@dataclass
class RunTimes:
    generation_s: float = 0.0
    worker_starts: int = 0
    worker_start_s: float = 0.0


def classify(outcome: str, message: str) -> tuple[str, str]:
    """The outcome's category, and why for the refusals that are not plainly specific."""
    if outcome != "refused":
        return outcome, ""
    for marker, why in GENERIC.items():
        if marker in message:
            return "refused_generic", why
    for marker, why in AT_LIMIT.items():
        if marker in message:
            return "refused_at_limit", why
    if not message.strip() or message.rstrip().endswith((":", "()")):
        return "refused_generic", "an empty message"
    return "refused", ""


def _record(file: FuzzFile, report: dict[str, Any]) -> dict[str, Any]:
    category, why = classify(report["outcome"], report.get("message", ""))
    shape = tuple(report["shape"]) if report.get("shape") else None
    mismatch = file.expect.check("loaded" if category == "loaded" else category, shape) if file.expect else None
    return {
        "seed": file.seed,
        "index": file.index,
        "generator": file.generator,
        "mutated": file.mutated,
        "renamed": file.renamed,
        "name": file.name,
        "bytes": len(file.data),
        "what": file.what,
        "options": file.options,
        **report,
        "outcome": category,
        "why": why,
        "mismatch": mismatch,
    }


def run_files(
    files: Iterable[FuzzFile],
    *,
    batch: int = DEFAULT_BATCH,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    times: RunTimes | None = None,
    progress: Any = None,
) -> Iterator[dict[str, Any]]:
    """Each file loaded in a worker, one at a time (the next file is made while the worker loads this one); a
    fresh worker every `batch` files and after a crash or a time-out."""
    times = times or RunTimes()
    source = iter(files)
    worker: Worker | None = None
    done_in_worker = 0

    def made() -> FuzzFile | None:
        started = time.perf_counter()
        file = next(source, None)
        times.generation_s += time.perf_counter() - started
        return file

    upcoming = made()
    try:
        while upcoming is not None:
            if worker is None or done_in_worker >= batch:
                if worker is not None:
                    worker.stop()
                started = time.perf_counter()
                worker, done_in_worker = Worker(), 0
                times.worker_starts += 1
                times.worker_start_s += time.perf_counter() - started
            file, sent = upcoming, time.perf_counter()
            worker.send(file)
            upcoming = made()
            try:
                report = worker.result(max(timeout_s - (time.perf_counter() - sent), 1))
            except WorkerDied as died:
                report = {"outcome": "crashed", "message": str(died), "seconds": time.perf_counter() - sent}
                worker.kill()
                worker = None
            else:
                if report is None:
                    report = {
                        "outcome": "timed_out",
                        "message": f"no answer within {timeout_s:.0f} s",
                        "seconds": time.perf_counter() - sent,
                    }
                    worker.kill()
                    worker = None
            done_in_worker += 1
            record = _record(file, report)
            if progress:
                progress(record)
            yield record
    finally:
        if worker is not None:
            worker.stop()


# --- the report -----------------------------------------------------------------------------------------------


def message_group(record: dict[str, Any]) -> str:
    """A refusal message with the file's name and every number taken out, cut to its first sentence: messages
    that differ only in those fall into one group."""
    text = record.get("message", "").replace(record["name"], "<file>")
    text = re.sub(r"\d[\d,.]*", "N", text)
    text = re.sub(r"\s+", " ", text)
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return first[:200]


def _mib(nbytes: float) -> float:
    return round(nbytes / 2**20, 1)


def _brief(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "seed": record["seed"],
        "index": record["index"],
        "generator": record["generator"],
        "mutated": record["mutated"],
        "name": record["name"],
        "what": record["what"],
        "bytes": record["bytes"],
        "outcome": record["outcome"],
        "shape": record.get("shape"),
        "seconds": round(record.get("seconds", 0.0), 3),
        "peak_mib": _mib(record.get("peak_bytes", 0)),
        "child_peak_mib": _mib(record.get("child_peak_bytes", 0)),
        "message": record.get("message", "")[:600],
    }


def summarize(records: list[dict[str, Any]], *, seed: int, elapsed_s: float, times: RunTimes) -> dict[str, Any]:
    """Counts, peaks, the slowest files, the refusal messages grouped, and every file that went wrong."""
    counts = Counter(record["outcome"] for record in records)
    by_generator: dict[str, dict[str, Any]] = {}
    for name in NAMES:
        mine = [record for record in records if record["generator"] == name]
        if not mine:
            continue
        by_generator[name] = {
            "files": len(mine),
            "mutated": sum(record["mutated"] for record in mine),
            **{outcome: n for outcome, n in Counter(record["outcome"] for record in mine).items()},
            "mismatches": sum(bool(record["mismatch"]) for record in mine),
            "peak_max_mib": _mib(max(record.get("peak_bytes", 0) for record in mine)),
            "seconds_total": round(sum(record.get("seconds", 0.0) for record in mine), 1),
            "seconds_median": round(statistics.median(record.get("seconds", 0.0) for record in mine), 3),
            "seconds_max": round(max(record.get("seconds", 0.0) for record in mine), 3),
        }
    peaks = sorted(record.get("peak_bytes", 0) for record in records if record.get("peak_bytes"))
    buckets = Counter(
        next((f"< {limit} MiB" for limit in PEAK_BUCKETS_MIB if peak < limit * 2**20), f">= {PEAK_BUCKETS_MIB[-1]} MiB")
        for peak in peaks
    )
    refusals: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["outcome"].startswith("refused"):
            group = refusals.setdefault(
                message_group(record), {"count": 0, "outcome": record["outcome"], "example": _brief(record)}
            )
            group["count"] += 1
    wrong = [record for record in records if record["outcome"] not in ("loaded", "refused") or record["mismatch"]]
    over = [record for record in records if record.get("peak_bytes", 0) > PEAK_GOAL_BYTES]
    goals = {
        "crashes": counts["crashed"],
        "timeouts": counts["timed_out"],
        "failures": counts["failure"],
        "generic_messages": counts["refused_generic"],
        "refused_at_limits": counts["refused_at_limit"],
        "mismatches": sum(bool(record["mismatch"]) for record in records),
        "peaks_over_1_5_gib": len(over),
    }
    return {
        "environment": run_facts(),
        "command": f"python -m benchmarks.fuzz_readers --files {len(records)} --seed {seed}",
        "seed": seed,
        "files": len(records),
        "settings": {"max_upload_bytes": MAX_UPLOAD_BYTES, "engines": ["cpu"], "sample_s": SAMPLE_S},
        "elapsed_s": round(elapsed_s, 1),
        "files_per_s": round(len(records) / elapsed_s, 2) if elapsed_s else None,
        "time": {
            "loading_s": round(sum(record.get("seconds", 0.0) for record in records), 1),
            "generation_s": round(times.generation_s, 1),
            "worker_starts": times.worker_starts,
            "worker_start_s": round(times.worker_start_s, 1),
        },
        "goals": goals,
        "goals_met": not any(goals[key] for key in goals if key != "refused_at_limits"),
        "counts": {outcome: counts.get(outcome, 0) for outcome in OUTCOMES},
        "by_generator": by_generator,
        "peaks": {
            "what": "proportional memory (PSS) of the worker and all its descendants, summed: shared pages once",
            "median_mib": _mib(statistics.median(peaks)) if peaks else None,
            "p90_mib": _mib(peaks[int(0.9 * (len(peaks) - 1))]) if peaks else None,
            "p99_mib": _mib(peaks[int(0.99 * (len(peaks) - 1))]) if peaks else None,
            "max_mib": _mib(peaks[-1]) if peaks else None,
            "histogram": {bucket: buckets[bucket] for bucket in sorted(buckets, key=_bucket_order)},
            "over_goal": len(over),
        },
        "largest_peaks": [_brief(r) for r in sorted(records, key=lambda r: -r.get("peak_bytes", 0))[:25]],
        "slowest": [_brief(r) for r in sorted(records, key=lambda r: -r.get("seconds", 0.0))[:25]],
        "refusal_messages": sorted(refusals.values(), key=lambda group: -group["count"]),
        "wrong": [{**_brief(r), "why": r["why"], "mismatch": r["mismatch"], "reproduce": reproduce(r)} for r in wrong],
    }


def _bucket_order(bucket: str) -> int:
    number = int(re.search(r"\d+", bucket).group())
    return number + (1 if bucket.startswith(">=") else 0)


def reproduce(record: dict[str, Any]) -> str:
    return f"python -m benchmarks.fuzz_readers --seed {record['seed']} --indices {record['index']} --write DIR"


def markdown(report: dict[str, Any]) -> str:
    """The tables for docs/reliability.md."""
    counts, peaks = report["counts"], report["peaks"]
    lines = [
        f"{report['files']:,} files, seed {report['seed']}, {report['elapsed_s']:,.0f} s "
        f"({report['files_per_s']} files/s)",
        "",
        "| outcome | files |",
        "|---|---|",
        *(f"| {outcome} | {counts[outcome]:,} |" for outcome in OUTCOMES),
        "",
        f"Peaks (process and children): median {peaks['median_mib']} MiB, p99 {peaks['p99_mib']} MiB, "
        f"max {peaks['max_mib']} MiB; over 1.5 GiB: {peaks['over_goal']}.",
        "",
        "| generator | files | loaded | refused | at a limit | generic | failed | crashed | timed out | "
        "peak max | slowest |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in report["by_generator"].items():
        lines.append(
            f"| `{name}` | {row['files']} | {row.get('loaded', 0)} | {row.get('refused', 0)} | "
            f"{row.get('refused_at_limit', 0)} | {row.get('refused_generic', 0)} | {row.get('failure', 0)} | "
            f"{row.get('crashed', 0)} | {row.get('timed_out', 0)} | {row['peak_max_mib']:,.0f} MiB | "
            f"{row['seconds_max']:.1f} s |"
        )
    lines += ["", "| refusal (grouped) | files |", "|---|---|"]
    for group in report["refusal_messages"][:30]:
        text = group["example"]["message"].replace(group["example"]["name"], "…").replace("|", "\\|")
        lines.append(f"| {text[:160]}{'…' if len(text) > 160 else ''} | {group['count']:,} |")
    return "\n".join(lines)


def _progress(total: int) -> Any:
    started = time.perf_counter()
    seen = Counter()

    def report(record: dict[str, Any]) -> None:
        seen[record["outcome"]] += 1
        done = sum(seen.values())
        if record["outcome"] not in ("loaded", "refused"):
            print(
                f"  [{record['index']}] {record['generator']}: {record['outcome']} {record['why']} "
                f"{record.get('message', '')[:160]!r}",
                file=sys.stderr,
                flush=True,
            )
        if done % 100 == 0 or done == total:
            elapsed = time.perf_counter() - started
            print(f"{done:,}/{total:,} files, {elapsed:,.0f} s: {dict(seen)}", file=sys.stderr, flush=True)

    return report


def _indices(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=500, help="how many files (indices 0 to N-1)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed makes the same files")
    parser.add_argument("--indices", type=_indices, help="only these files, e.g. 12,345 (to reproduce them)")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="files per worker process")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds a file may take")
    parser.add_argument("--write", type=Path, help="write the files into this folder instead of loading them")
    parser.add_argument("--out", type=Path, help="write the JSON report here")
    arguments = parser.parse_args(argv)
    indices = arguments.indices if arguments.indices is not None else list(range(arguments.files))
    files = (make_file(arguments.seed, index) for index in indices)
    if arguments.write:
        arguments.write.mkdir(parents=True, exist_ok=True)
        for file in files:
            path = arguments.write / f"{file.index}-{file.name.replace('/', '_')}"
            path.write_bytes(file.data)
            print(f"{path}: {file.generator}, {file.what}, options {file.options}, mutated {file.mutated}")
        return 0
    times = RunTimes()
    started = time.perf_counter()
    records = list(
        run_files(
            files, batch=arguments.batch, timeout_s=arguments.timeout, times=times, progress=_progress(len(indices))
        )
    )
    report = summarize(records, seed=arguments.seed, elapsed_s=time.perf_counter() - started, times=times)
    publish(report, arguments.out, markdown(report))
    return 0 if report["goals_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
