"""Whole-process profile times: this tree's `python -m pipeline.profile`, other checkouts', ydata-profiling minimal.

    python -m benchmarks.profile_process --sizes 1000000 --against ../before --peer-venv ../ydata-venv \\
        --peer-memory-gb 16 --repeats 3 --out docs/results/profile_process_cpu.json

The generated `mixed` table (20 columns, as in `benchmarks.profile_speed`) is written once per size as Parquet
(in --folder, else a temporary folder). Each program then runs as a fresh process, timed from spawn to exit
(interpreter start, imports, reading the file, profiling, writing the result), the programs taking turns (ABC ABC
…): one warm-up round, then --repeats timed rounds.

- this tree: `python -m pipeline.profile FILE --engine cpu --preset P --out JSON`, for each of --presets;
- each --against checkout the same way with the full preset, run in that checkout with this interpreter;
- ydata-profiling minimal in its own environment (--peer-venv, created on first use):
  `benchmarks/ydata_peer.py FILE --whole`, that is its imports, `pd.read_parquet` and
  `ProfileReport(minimal=True).get_description()`.

Peak memory, two ways: the process's `ru_maxrss` as `wait4` reports it to a small launcher
(`benchmarks/timed_child.py`, which also times the run: a process forked from this large one would start with this
one's peak), exact but its own peak or, if larger, that of the largest child it waited for (our profile reads the
file in a sandboxed reader process and its worker, so not their sum); and the peak of the proportional memory
(PSS: each shared page counted once) of the process and everything it started, sampled every 0.1 s (a spike
shorter than that can be missed). A run past --time-limit is killed; --peer-memory-gb caps ydata-profiling's
address space (RLIMIT_AS), so a table it cannot fit ends as "out of memory after N s" instead of swapping the
machine. A program whose run does not end well is recorded so and not run again at that size. Ratios are the other
program's median over this row's, from this one run.

Every program inherits this command's environment. At 1e7 rows our profile refuses the file under the default
limit of one load ($GPL_MAX_LOAD_MB, 1.5 GiB; the table takes about 5.6 GiB): raise it for that size, e.g.
`GPL_MAX_LOAD_MB=8192 python -m benchmarks.profile_process --sizes 10000000 …` (the report records it).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from benchmarks.common import (
    add_ratios,
    benchmark_parser,
    proportional_bytes,
    publish,
    run_facts,
    times,
    timing_fields,
)
from benchmarks.profile_speed import peer_python
from pipeline.budget import WORK_LIMIT_ENV
from pipeline.cli_support import stoppable
from pipeline.engines import CPU, get_engine
from pipeline.engines.usage import Reading, UsageSampler
from pipeline.profile import PRESETS
from pipeline.system import git_commit
from pipeline.tables.synthetic import SyntheticSpec, generate
from pipeline.timing import Timing

ROOT = Path(__file__).resolve().parent.parent
PEER_SCRIPT = ROOT / "benchmarks" / "ydata_peer.py"
LAUNCHER = ROOT / "benchmarks" / "timed_child.py"
PEER = "ydata-profiling minimal"
OURS = "GPU Pipeline Lab"
OK = "ok"
OUT_OF_MEMORY = "out of memory"
TIME_LIMIT = "time limit"
TREE_SAMPLE_S = 0.1
MEMORY_WORDS = ("MemoryError", "bad_alloc", "Cannot allocate memory", "out of memory")


@dataclass(frozen=True)
class Program:
    """One contender: its label, command line, working folder, preset, the address space it may take (None: no cap)
    and the JSON profile it writes (None: the peer, which prints one line of JSON)."""

    label: str
    command: tuple[str, ...]
    cwd: Path
    preset: str
    memory_bytes: int | None = None
    written: Path | None = None


@dataclass(frozen=True)
class Ended:
    """How one process ended (ok, out of memory, time limit, or failed: its last error line), after how many seconds
    from spawn to exit, its peak resident memory (`ru_maxrss`), the peak of its tree's (sampled PSS) and its
    standard output."""

    outcome: str
    seconds: float
    peak_bytes: int
    tree_peak_bytes: int
    stdout: str


def tree_memory(launcher: int) -> Callable[[], Reading]:
    """A reading for `UsageSampler`: the proportional memory (PSS) of everything the launcher started."""
    root = psutil.Process(launcher)

    def read() -> Reading:
        try:
            processes = root.children(recursive=True)
        except psutil.Error:  # it ended
            return 0.0, 0.0
        total = 0
        for process in processes:
            with contextlib.suppress(OSError):  # it ended between the listing and the reading
                total += proportional_bytes(process.pid)
        return 0.0, float(total)

    return read


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def _outcome(code: int, timed_out: bool, errors: str) -> str:
    if timed_out:
        return TIME_LIMIT
    if code == 0:
        return OK
    if code == -signal.SIGKILL or any(word in errors for word in MEMORY_WORDS):  # SIGKILL not ours: the OOM killer
        return OUT_OF_MEMORY
    lines = errors.strip().splitlines()
    return f"failed: {lines[-1] if lines else f'exit status {code}'}"


def run_process(program: Program, limit_s: float, work: Path) -> Ended:
    """Run `program` once through the launcher (`benchmarks/timed_child.py`), in its own process group, killed with
    everything it started after `limit_s` or as soon as it exits (so nothing it left behind runs into the next
    program's time)."""
    timed_out = threading.Event()
    stdout, stderr, report = work / "stdout.txt", work / "stderr.txt", work / "ended.json"
    report.unlink(missing_ok=True)
    cap = str(program.memory_bytes or 0)
    with stdout.open("wb") as out, stderr.open("wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen(
            (sys.executable, "-S", str(LAUNCHER), str(report), cap, *program.command),
            cwd=program.cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )

        def overdue() -> None:
            timed_out.set()
            _kill_group(process.pid)

        timer = threading.Timer(limit_s, overdue)
        timer.start()
        try:
            with UsageSampler(tree_memory(process.pid), interval_s=TREE_SAMPLE_S) as sampler:
                process.wait()
                tree_peak = int((sampler.take().memory_mib or 0) * 2**20)
            wall = time.perf_counter() - start
        finally:  # also when this benchmark is stopped: the program is in a session of its own, no signal reaches it
            timer.cancel()
            _kill_group(process.pid)
    ended = json.loads(report.read_text()) if report.exists() else {"seconds": wall, "code": process.returncode}
    outcome = _outcome(ended["code"], timed_out.is_set(), stderr.read_text(errors="replace"))
    output = stdout.read_text(errors="replace")
    return Ended(outcome, ended["seconds"], ended.get("peak_bytes", 0), tree_peak, output)


def race(programs: list[Program], repeats: int, limit_s: float, work: Path) -> dict[str, list[Ended]]:
    """Every program's runs, taking turns: a warm-up round, then `repeats` rounds; a program whose run does not end
    ok runs no more."""
    runs: dict[str, list[Ended]] = {program.label: [] for program in programs}
    for _ in range(1 + repeats):
        for program in programs:
            done = runs[program.label]
            if not done or done[-1].outcome == OK:
                done.append(run_process(program, limit_s, work))
    return runs


def summary(runs: list[Ended]) -> dict[str, Any]:
    """One program's row: warm-up and timed seconds (median, min, max only when every run ended ok), its peak memory
    over every run, and how it ended."""
    timed = [round(run.seconds, 4) for run in runs[1:]]
    failed = next((run for run in runs if run.outcome != OK), None)
    if failed is None:
        seconds = timing_fields(Timing(runs[0].seconds, tuple(timed)))
    else:
        seconds = {"first_s": round(runs[0].seconds, 4), "median_s": None, "min_s": None, "max_s": None}
    return {
        **seconds,
        "runs_s": timed,
        "peak_rss_mib": round(max(run.peak_bytes for run in runs) / 2**20),
        "peak_tree_pss_mib": round(max(run.tree_peak_bytes for run in runs) / 2**20),
        "outcome": OK if failed is None else f"{failed.outcome} after {failed.seconds:.1f} s",
    }


def save_table(rows: int, path: Path) -> None:
    """The `mixed` table of `rows` rows, saved as Parquet."""
    generate(SyntheticSpec("mixed", rows=rows), get_engine(CPU))[""].to_parquet(path)


def write_table(rows: int, path: Path) -> None:
    """`save_table` in a process of its own: this one would keep about a gigabyte of a 1e7-row table's memory (its
    allocators hold on to it) while the programs run."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(save_table, rows, path).result()


def checkout_label(commit: str) -> str:
    return f"{OURS} full ({commit})"


def pipeline_profile(label: str, checkout: Path, table: Path, preset: str, work: Path) -> Program:
    """`python -m pipeline.profile` run in `checkout`, writing its JSON into `work`."""
    out = work / (re.sub(r"\W+", "_", label).strip("_") + ".json")
    command = ("-m", "pipeline.profile", str(table), "--engine", "cpu", "--preset", preset, "--out", str(out))
    return Program(label, (sys.executable, *command), checkout, preset, written=out)


def programs(
    table: Path, work: Path, presets: list[str], against: list[Path], peer: list[str] | None, peer_bytes: int | None
) -> list[Program]:
    """This tree at each preset, each other checkout at the full preset, and the peer, in the order they take turns."""
    line_up = [pipeline_profile(f"{OURS} {preset} (this tree)", ROOT, table, preset, work) for preset in presets]
    line_up += [pipeline_profile(checkout_label(git_commit(path)), path, table, "full", work) for path in against]
    if peer is not None:
        line_up.append(Program(PEER, (*peer, str(table), "--whole"), ROOT, "minimal", peer_bytes))
    return line_up


def last_line(ended: Ended) -> dict[str, Any]:
    """The JSON line a program printed last ({} when it printed none)."""
    lines = ended.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def phases(program: Program, last: Ended) -> dict[str, float] | None:
    """What the last run said its parts took: our profile's read and phases (from its JSON), the peer's
    `get_description()`; None when it did not end ok or said nothing."""
    if last.outcome != OK:
        return None
    if program.written is not None:
        profile = json.loads(program.written.read_text())
        parts = {"read": profile["read_seconds"], **profile["seconds"]}
    else:
        parts = {"get_description": last_line(last)["describe_s"]} if "describe_s" in last_line(last) else {}
    return {name: round(seconds, 3) for name, seconds in parts.items()} or None


def peer_versions(runs: list[Ended]) -> dict[str, str] | None:
    """The versions the peer printed as its last line of output, from its first run that ended ok."""
    for run in runs:
        if run.outcome == OK and run.stdout.strip():
            return last_line(run).get("versions")
    return None


def run(
    sizes: list[int],
    repeats: int,
    presets: list[str],
    against: list[Path],
    peer: list[str] | None,
    peer_memory_gb: float | None,
    limit_s: float,
    folder: Path,
) -> dict[str, Any]:
    """The report: every size's table written to `folder`, then its programs' race, with ratios within this run."""
    peer_bytes = None if peer_memory_gb is None else int(peer_memory_gb * 2**30)
    checkouts = [{"path": str(path), "commit": git_commit(path)} for path in against]
    results: list[dict[str, Any]] = []
    versions = None
    for rows in sizes:
        table = folder / f"mixed_{rows}.parquet"
        print(f"{rows:,} rows: writing {table}…", file=sys.stderr)
        write_table(rows, table)
        line_up = programs(table, folder, presets, against, peer, peer_bytes)
        print(f"{rows:,} rows: {', '.join(p.label for p in line_up)}, 1 + {repeats} rounds…", file=sys.stderr)
        runs = race(line_up, repeats, limit_s, folder)
        versions = peer_versions(runs.get(PEER, [])) or versions
        for program in line_up:
            done = runs[program.label]
            row = {"rows": rows, "program": program.label, "preset": program.preset, **summary(done)}
            results.append({**row, "phases_last_run_s": phases(program, done[-1])})
    add_ratios(results, "ydata_minimal_over_this", lambda r: r["rows"], lambda r: r["program"] == PEER)
    for checkout in checkouts:
        field, label = f"{checkout['commit']}_over_this", checkout_label(checkout["commit"])
        add_ratios(results, field, lambda r: (r["rows"], r["preset"]), lambda r, label=label: r["program"] == label)
    return {
        **run_facts(),
        "method": "whole process, spawn to exit; round-robin after one warm-up round",
        "repeats": repeats,
        "columns": 20,
        "time_limit_s": limit_s,
        "environment": {WORK_LIMIT_ENV: os.environ.get(WORK_LIMIT_ENV)},
        "peer": {"tool": PEER, "versions": versions, "memory_cap_gb": peer_memory_gb} if peer else None,
        "against": checkouts,
        "results": results,
    }


def markdown(report: dict[str, Any]) -> str:
    ratios = {"ydata_minimal_over_this": "ydata minimal ÷ this"}
    ratios |= {f"{c['commit']}_over_this": f"{c['commit']} ÷ this" for c in report["against"]}
    lines = [
        "| rows × 20 columns | program | warm-up (s) | median (s) | min (s) | max (s) | peak RSS (MiB) "
        "| tree peak PSS (MiB) | " + " | ".join(ratios.values()) + " |",
        "|---|---|---|---|---|---|---|---|" + "---|" * len(ratios),
    ]
    for r in report["results"]:
        timing = f"{r['median_s']} | {r['min_s']} | {r['max_s']}" if r["outcome"] == OK else f"{r['outcome']} | | "
        memory = f"{r['peak_rss_mib']:,} | {r['peak_tree_pss_mib']:,}"
        ratio_cells = " | ".join(times(r.get(field)) for field in ratios)
        lines.append(f"| {r['rows']:,} | {r['program']} | {r['first_s']} | {timing} | {memory} | {ratio_cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000], help="rows of each table")
    parser.add_argument("--presets", nargs="+", choices=list(PRESETS), default=list(PRESETS), help="this tree's")
    parser.add_argument("--against", type=Path, action="append", default=[], help="another checkout (repeatable)")
    parser.add_argument("--peer-venv", type=Path, default=ROOT / "benchmarks" / ".venv-ydata")
    parser.add_argument("--no-peer", action="store_true", help="skip ydata-profiling")
    parser.add_argument("--peer-memory-gb", type=float, help="cap ydata-profiling's address space (RLIMIT_AS)")
    parser.add_argument("--time-limit", type=float, default=3600, help="seconds one run may take before it is killed")
    parser.add_argument("--folder", type=Path, help="where the tables and results go (default: a temporary folder)")
    args = parser.parse_args()
    peer = None if args.no_peer else [str(peer_python(args.peer_venv)), str(PEER_SCRIPT)]
    against = [path.resolve() for path in args.against]
    with stoppable(), tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        memory, limit = args.peer_memory_gb, args.time_limit
        report = run(args.sizes, args.repeats, args.presets, against, peer, memory, limit, folder)
    publish(report, args.out, markdown(report))


if __name__ == "__main__":
    main()
