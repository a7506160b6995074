"""Explore-page profile speed: our profile on every engine, and ydata-profiling's minimal mode, in one run.

    python -m benchmarks.profile_speed --sizes 100000 1000000 10000000 --peer-sizes 100000 1000000 \\
        --repeats 3 --out docs/results/profile_speed_cpu.json

Tables come from the `mixed` generator (20 columns: numbers, categoricals of 10 to 10^4 levels,
times, text, a flag, an id, missing values), the same values on every engine. Our times are the
median of --repeats runs after one warm-up, device synchronised before each clock stops.
ydata-profiling needs pandas < 3, so it runs in its own virtual environment (created on first use
in --peer-venv) on the same table saved as Parquet; its time excludes reading the file.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Any

from benchmarks.common import add_ratios, benchmark_parser, publish, run_facts, times, timing_fields
from pipeline.engines import CPU, GPU, CpuEngine, available_engines, get_engine
from pipeline.profile import PRESETS, profile_frame
from pipeline.tables.synthetic import SyntheticSpec, generate
from pipeline.timing import measure

HERE = Path(__file__).resolve().parent
PEER_TOOL = "ydata-profiling minimal"
PEER_REQUIREMENTS = ["ydata-profiling==4.18.4", "pandas>=2.2,<3", "pyarrow"]


def peer_python(folder: Path) -> Path:
    """The peer environment's interpreter, creating the environment and installing ydata-profiling if needed."""
    python = folder / "bin" / "python"
    if not python.exists():
        print(f"creating {folder} for ydata-profiling (pandas < 3)…", file=sys.stderr)
        venv.create(folder, with_pip=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], check=True)
    return python


def time_peer(python: Path, table: Path, repeats: int) -> dict[str, Any]:
    done = subprocess.run(
        [python, HERE / "ydata_peer.py", table, "--repeats", str(repeats)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "ydata-profiling failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_ours(rows: int, repeats: int, engines: list[str]) -> list[dict[str, Any]]:
    results = []
    spec = SyntheticSpec("mixed", rows=rows)
    for engine in [e for e in available_engines() if e.name in engines]:
        frame = generate(spec, engine)[""]
        for preset in PRESETS:
            measured = measure(
                lambda e=engine, f=frame, p=preset: profile_frame(e, f, PRESETS[p]),
                sync=engine.synchronize,
                warmup=1,
                repeats=repeats,
            )
            phases = {name: round(s, 4) for name, s in measured.result.phases.items()}
            results.append(
                {
                    "rows": rows,
                    "tool": f"GPU Pipeline Lab {preset}",
                    "engine": engine.label,
                    **timing_fields(measured.timing),
                    "phases_last_run_s": phases,
                }
            )
        del frame
        engine.release_memory()
    return results


def run(
    sizes: list[int], peer_sizes: list[int], repeats: int, peer_venv: Path | None, engines: list[str]
) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    peer: dict[str, Any] = {"tool": "ydata-profiling minimal (get_description)", "versions": None, "note": None}
    python = None
    if peer_venv is not None and peer_sizes:
        try:
            python = peer_python(peer_venv)
        except (OSError, subprocess.CalledProcessError) as error:
            peer["note"] = f"not measured: could not set up ydata-profiling ({error})"
    for rows in sizes:
        print(f"{rows:,} rows…", file=sys.stderr)
        results += time_ours(rows, repeats, engines)
        if python is None or rows not in peer_sizes:
            continue
        with tempfile.TemporaryDirectory() as folder:
            table = Path(folder) / "mixed.parquet"
            generate(SyntheticSpec("mixed", rows=rows), get_engine(CPU))[""].to_parquet(table)
            try:
                timed = time_peer(python, table, repeats)
            except RuntimeError as error:
                peer["note"] = f"failed at {rows:,} rows: {error}"
                continue
        peer["versions"] = timed["versions"]
        runs = timed["runs_s"]
        results.append(
            {
                "rows": rows,
                "tool": PEER_TOOL,
                "engine": "CPU (pandas 2)",
                "first_s": round(timed["warmup_s"], 4),
                "median_s": round(statistics.median(runs), 4),
                "min_s": round(min(runs), 4),
                "max_s": round(max(runs), 4),
            }
        )
    add_ratios(results, "ydata_minimal_over_this", lambda r: r["rows"], lambda r: r["tool"] == PEER_TOOL)
    add_ratios(results, "cpu_over_this", lambda r: (r["rows"], r["tool"]), lambda r: r["engine"] == CpuEngine.label)
    return {**run_facts(), "repeats": repeats, "columns": 20, "peer": peer, "results": results}


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| rows × 20 columns | tool | engine | first (s) | median (s) | min (s) | max (s) | ydata minimal ÷ this "
        "| CPU ÷ this |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    for r in report["results"]:
        lines.append(
            f"| {r['rows']:,} | {r['tool']} | {r['engine']} | {r['first_s']} | {r['median_s']} | {r['min_s']} "
            f"| {r['max_s']} | {times(r['ydata_minimal_over_this'])} | {times(r.get('cpu_over_this'))} |"
        )
    if report["peer"]["note"]:
        lines.append(f"\nydata-profiling: {report['peer']['note']}")
    return "\n".join(lines)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--peer-sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--peer-venv", type=Path, default=HERE / ".venv-ydata", help="ydata-profiling's environment")
    parser.add_argument("--no-peer", action="store_true", help="skip ydata-profiling")
    parser.add_argument(
        "--engines", nargs="+", choices=[CPU, GPU], default=[CPU, GPU], help="engines to time (default: every one here)"
    )
    args = parser.parse_args()
    report = run(args.sizes, args.peer_sizes, args.repeats, None if args.no_peer else args.peer_venv, args.engines)
    publish(report, args.out, markdown(report))


if __name__ == "__main__":
    main()
