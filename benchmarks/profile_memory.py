"""Profiles of large tables, the whole `python -m pipeline.profile` process timed and its peak memory read, as JSON.

    python -m benchmarks.profile_memory --rows 50000000 --out docs/results/profile_memory_cpu.json

Cases: one int64 column of zeros (a 180 KB Arrow file that decodes to 400 MB at 5e7 rows) and one of random int64
(its sort meets many distinct values), each with the full and the minimal preset; and a dictionary-encoded text
column of --text-rows rows drawn from 20 labels of 5,000 characters (2 GB at 400,000 rows were it written out).
Each run (--repeats, default 1: the median seconds and the largest peak are kept) is a fresh process from start to
exit; its peak is the resident memory `wait4` reports for it, the interpreter and the reader process it starts
included (as `/usr/bin/time -v` reports it; see LAUNCHER). A profile past the server's memory budget is refused
before it starts: set GPL_MAX_LOAD_MB to measure one anyway.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather

from benchmarks.common import benchmark_parser, publish, run_facts

REPO = Path(__file__).resolve().parents[1]
LABELS, LABEL_CHARS = 20, 5_000


def number_file(folder: Path, name: str, values: np.ndarray) -> Path:
    path = folder / f"{name}.arrow"
    feather.write_feather(pa.table({"x": pa.array(values)}), path, compression="zstd")
    return path


def text_file(folder: Path, rows: int) -> Path:
    labels = pa.array([chr(ord("A") + i) * LABEL_CHARS for i in range(LABELS)])
    codes = pa.array(np.random.default_rng(0).integers(0, LABELS, rows).astype(np.int32))
    path = folder / "dictionary_text.arrow"
    feather.write_feather(pa.table({"text": pa.DictionaryArray.from_arrays(codes, labels)}), path, compression="zstd")
    return path


def profiled(path: Path, preset: str, engine: str, repeats: int) -> dict[str, Any]:
    """`repeats` runs of the command line on `path`: the median of their seconds, the largest of their peaks."""
    runs = [one_run(path, preset, engine) for _ in range(repeats)]
    failed = next((run for run in runs if "error" in run), None)
    if failed:
        return failed
    middle = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
    peak = max(run["peak_rss_bytes"] for run in runs)
    return {**middle, "peak_rss_bytes": peak, "peak_over_table": round(peak / middle["table_bytes"], 2)}


LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(json.dumps([time.perf_counter() - start, os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024]))
"""
"""Runs a command and reports its seconds, exit code and peak resident bytes. A process that forks another and
execs counts the forking one's resident memory in its peak, so the command is started by this small launcher,
never by the benchmark itself, which holds the tables it wrote."""


def one_run(path: Path, preset: str, engine: str) -> dict[str, Any]:
    """One run of the command line on `path`: wall seconds, peak resident bytes and what the profile reported."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "profile.json"
        command = [sys.executable, "-m", "pipeline.profile", str(path), "--engine", engine, "--preset", preset]
        launched = [sys.executable, "-S", "-c", LAUNCHER, *command, "--out", str(out)]
        done = subprocess.run(launched, cwd=REPO, capture_output=True, text=True, check=True)
        seconds, code, peak = json.loads(done.stdout)
        result: dict[str, Any] = {"seconds": round(seconds, 2), "peak_rss_bytes": peak}
        if code != 0:
            return {**result, "error": done.stderr.strip().splitlines()[-1]}
        profile = json.loads(out.read_text())
    table_bytes = profile["table"]["memory_bytes"]
    return {
        **result,
        "read_s": round(profile["read_seconds"], 2),
        "profile_s": round(profile["seconds"]["total"], 2),
        "table_bytes": table_bytes,
        "peak_over_table": round(result["peak_rss_bytes"] / table_bytes, 2),
    }


def run(rows: int, text_rows: int, engine: str, repeats: int) -> dict[str, Any]:
    results = []
    with tempfile.TemporaryDirectory() as folder:
        files = {
            "int64 zeros": number_file(Path(folder), "zeros", np.zeros(rows, dtype=np.int64)),
            "int64 random": number_file(Path(folder), "random", np.random.default_rng(0).integers(0, 2**40, rows)),
            "dictionary text": text_file(Path(folder), text_rows),
        }
        for case, path in files.items():
            for preset in ("full", "minimal"):
                print(f"{case}, {preset}…", file=sys.stderr)
                size = text_rows if case == "dictionary text" else rows
                results.append(
                    {"case": case, "rows": size, "preset": preset, "file_bytes": path.stat().st_size}
                    | profiled(path, preset, engine, repeats)
                )
    return {**run_facts(), "engine": engine, "repeats": repeats, "results": results}


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| case | rows | preset | seconds (process) | profile (s) | peak RSS (GiB) | table (GiB) | peak ÷ table |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        if "error" in r:
            lines.append(f"| {r['case']} | {r['rows']:,} | {r['preset']} | {r['seconds']} | {r['error']} | | | |")
            continue
        lines.append(
            f"| {r['case']} | {r['rows']:,} | {r['preset']} | {r['seconds']} | {r['profile_s']} "
            f"| {r['peak_rss_bytes'] / 2**30:.2f} | {r['table_bytes'] / 2**30:.2f} | {r['peak_over_table']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--rows", type=int, default=50_000_000, help="rows of the number columns")
    parser.add_argument("--text-rows", type=int, default=400_000, help="rows of the dictionary-encoded text column")
    parser.add_argument("--engine", default="cpu", help="the engine the command line profiles on (default: cpu)")
    parser.set_defaults(repeats=1)
    args = parser.parse_args()
    report = run(args.rows, args.text_rows, args.engine, args.repeats)
    publish(report, args.out, markdown(report))


if __name__ == "__main__":
    main()
