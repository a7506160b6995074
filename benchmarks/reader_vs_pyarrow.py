"""A Parquet load through the sandboxed reader against pyarrow reading the same file in its own process, in one run.

    python -m benchmarks.reader_vs_pyarrow --rows 1000000 --repeats 7 --out reader_vs_pyarrow.json

The file is the `mixed` generator's table (20 columns: numbers, categoricals, times, text, a flag, an id, missing
values) written as Parquet. Warm: `pyarrow.parquet.read_table(path).to_pandas()` and our load of the same file on
the CPU engine (`prepare` + `read_on_engine`: the reader process's worker decodes it, the table comes back as
mapped Arrow IPC), alternating, one warm-up each, median of --repeats; the ratio is ours over pyarrow's, in
seconds and in CPU seconds (ours: this process's, the reader process's and its workers'; steadier than seconds on a
machine shared with other work). Cold:
`python -m pipeline.profile FILE --engine cpu --preset minimal` in a fresh process, the seconds its one load took as
it reports them (`read_seconds`: the reader process starting, if it has not yet, the decoding and the hand-over),
--cold-runs times. Peak memory: one load in a fresh process for each, its own peak resident memory before and
after, and for ours the reader worker's peak.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import pyarrow.parquet as pq

from benchmarks.common import benchmark_parser, publish, run_facts
from pipeline.data.io import Source, prepare, read_on_engine
from pipeline.engines import CPU, get_engine
from pipeline.tables import sandbox
from pipeline.tables.synthetic import SyntheticSpec, generate

ROOT = Path(__file__).resolve().parent.parent
PEAK = """
import json, sys
from pathlib import Path
import pyarrow.parquet as pq
from pipeline.data.io import Source, prepare, read_on_engine
from pipeline.engines import get_engine

def peak():  # VmHWM: this process's own peak (ru_maxrss keeps the forking parent's from before exec)
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024

engine, path = get_engine("cpu"), Path(sys.argv[2])
before = peak()
if sys.argv[1] == "pyarrow":
    frame, worker = pq.read_table(path).to_pandas(), 0
else:
    prepared = prepare(Source.from_path(path))
    frame, worker = read_on_engine(prepared, engine).frame, prepared.peak_bytes
print(json.dumps({"before": before, "after": peak(), "worker": worker}))
"""


def write_table(folder: Path, rows: int) -> Path:
    path = folder / "mixed.parquet"
    generate(SyntheticSpec("mixed", rows=rows), get_engine(CPU))[""].to_parquet(path)
    return path


def reader_cpu_s() -> float:
    """CPU seconds the reader process and its workers have used (each ended worker's counted in its parent)."""
    total = 0.0
    for child in psutil.Process().children():
        if "sandbox import serve" not in " ".join(child.cmdline()):
            continue
        for process in [child, *child.children(recursive=True)]:
            used = process.cpu_times()
            total += used.user + used.system + used.children_user + used.children_system
    return total


def warm_times(path: Path, repeats: int) -> dict[str, dict[str, list[float]]]:
    """Seconds and CPU seconds of each way of loading, alternating in this process after one warm-up each. The
    reader's CPU seconds are read after pyarrow's load, which follows ours: its worker's tidying up after it has
    replied counts as ours."""
    cpu = get_engine(CPU)
    sandbox.warm()
    loads = {
        "ours": lambda: read_on_engine(prepare(Source.from_path(path)), cpu).frame,
        "pyarrow": lambda: pq.read_table(path).to_pandas(),
    }
    for load in loads.values():
        load()
    measured: dict[str, dict[str, list[float]]] = {name: {"s": [], "cpu_s": []} for name in loads}
    for _ in range(repeats):
        reader_before = reader_cpu_s()
        for name, load in loads.items():
            started, used = time.perf_counter(), time.process_time()
            frame = load()
            measured[name]["s"].append(time.perf_counter() - started)
            measured[name]["cpu_s"].append(time.process_time() - used)
            del frame
        measured["ours"]["cpu_s"][-1] += reader_cpu_s() - reader_before
    return measured


def cold_times(path: Path, runs: int) -> list[float]:
    """The one load of `python -m pipeline.profile` in a fresh process, as it reports it, `runs` times."""
    seconds = []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "profile.json"
        for _ in range(runs):
            command = [sys.executable, "-m", "pipeline.profile", str(path), "--engine", CPU, "--preset", "minimal"]
            subprocess.run([*command, "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
            seconds.append(json.loads(out.read_text())["read_seconds"])
    return seconds


def peaks(path: Path) -> dict[str, dict[str, int]]:
    """One load in a fresh process for each way: its peak resident memory before and after, and the worker's."""
    found = {}
    for name in ("pyarrow", "ours"):
        done = subprocess.run(
            [sys.executable, "-c", PEAK, name, str(path)], cwd=ROOT, check=True, capture_output=True, text=True
        )
        found[name] = json.loads(done.stdout)
    return found


def run(rows: int, repeats: int, cold_runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = write_table(Path(folder), rows)
        warm = warm_times(path, repeats)
        cold = cold_times(path, cold_runs)
        memory = peaks(path)
        size = path.stat().st_size
    medians = {
        name: {unit: statistics.median(values) for unit, values in units.items()} for name, units in warm.items()
    }
    return {
        **run_facts(),
        "rows": rows,
        "bytes": size,
        "repeats": repeats,
        "warm_median_s": {name: round(units["s"], 4) for name, units in medians.items()},
        "warm_median_cpu_s": {name: round(units["cpu_s"], 4) for name, units in medians.items()},
        "warm_all_s": {name: [round(value, 4) for value in units["s"]] for name, units in warm.items()},
        "ratio": round(medians["ours"]["s"] / medians["pyarrow"]["s"], 3),
        "cpu_ratio": round(medians["ours"]["cpu_s"] / medians["pyarrow"]["cpu_s"], 3),
        "cold_read_s": [round(value, 4) for value in cold],
        "cold_ratio": round(statistics.median(cold) / medians["pyarrow"]["s"], 3),
        "peak_bytes": memory,
    }


def markdown(report: dict[str, Any]) -> str:
    warm, cpu, memory = report["warm_median_s"], report["warm_median_cpu_s"], report["peak_bytes"]
    mib = 2**20

    def grew(name: str) -> str:
        return f"{(memory[name]['after'] - memory[name]['before']) / mib:,.0f}"

    return "\n".join(
        [
            "| Parquet rows × 20 | pyarrow read + to_pandas (s) | ours, warm (s) | ours ÷ pyarrow "
            "| CPU s, pyarrow / ours | CPU ÷ | ours, cold CLI (s) | cold ÷ pyarrow "
            "| peak growth pyarrow / ours (MiB) | reader worker peak (MiB) |",
            "|---|---|---|---|---|---|---|---|---|---|",
            f"| {report['rows']:,} | {warm['pyarrow']} | {warm['ours']} | {report['ratio']} "
            f"| {cpu['pyarrow']} / {cpu['ours']} | {report['cpu_ratio']} "
            f"| {statistics.median(report['cold_read_s']):.4f} | {report['cold_ratio']} "
            f"| {grew('pyarrow')} / {grew('ours')} | {memory['ours']['worker'] / mib:,.0f} |",
        ]
    )


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the Parquet file")
    parser.add_argument("--cold-runs", type=int, default=3, help="fresh `python -m pipeline.profile` runs")
    args = parser.parse_args()
    report = run(args.rows, args.repeats, args.cold_runs)
    publish(report, args.out, markdown(report))


if __name__ == "__main__":
    main()
