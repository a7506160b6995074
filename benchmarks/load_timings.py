"""Data-page load timings on every available engine: a generated G1 table and a large CSV.

    python -m benchmarks.load_timings --rows 10000000 --csv-gb 1 --out load_timings.json

Median of --repeats runs after one warm-up, device synchronised before each clock stops;
the first (cold) call is reported apart. Ratios are CPU time / engine time from this one run.

Against another checkout of the app (e.g. `git worktree add ../before 967635f`), side by side in one run:

    python -m benchmarks.load_timings --against ../before --file-rows 1000000 --repeats 7 --out compare.json

uploads the same CSV, Parquet and Arrow files of --file-rows rows (a G1 table) the way the Data page does
(`load_file` on the CPU engine), each tree in its own long-lived process, alternating between the two, one warm-up
each; the ratio is this tree's median over the other's.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

from benchmarks.common import add_ratios, benchmark_parser, publish, run_facts, times, timing_fields
from pipeline.data.io import Source, prepare, read_on_engine
from pipeline.engines import CPU, CpuEngine, available_engines
from pipeline.tables.synthetic import SyntheticSpec, generate
from pipeline.timing import measure


def write_csv(folder: Path, gigabytes: float) -> tuple[Path, int]:
    """A G1-shaped CSV of about `gigabytes`, written in chunks; returns its path and row count."""
    path = folder / "g1.csv"
    cpu = next(engine for engine in available_engines() if engine.name == CPU)
    chunk = generate(SyntheticSpec("groupby_g1", rows=1_000_000, seed=1), cpu)[""]
    table = pa.Table.from_pandas(chunk, preserve_index=False)
    rows = 0
    with pacsv.CSVWriter(str(path), table.schema) as writer:
        while path.stat().st_size < gigabytes * 1e9:
            writer.write_table(table)
            rows += table.num_rows
    return path, rows


def run(rows: int, csv_gb: float, repeats: int) -> dict:
    engines = available_engines()
    results = []
    spec = SyntheticSpec("groupby_g1", rows=rows, groups=100)
    for engine in engines:
        measured = measure(lambda e=engine: generate(spec, e), sync=engine.synchronize, warmup=1, repeats=repeats)
        results.append({"case": f"generate G1 {rows:,} rows", "engine": engine.label, **timing_fields(measured.timing)})
        del measured
        engine.release_memory()
    with tempfile.TemporaryDirectory() as folder:
        path, csv_rows = write_csv(Path(folder), csv_gb)
        size = path.stat().st_size
        for engine in engines:
            measured = measure(
                lambda e=engine: read_on_engine(prepare(Source.from_path(path)), e),
                sync=engine.synchronize,
                warmup=1,
                repeats=repeats,
            )
            case = f"read CSV {size / 1e9:.2f} GB ({csv_rows:,} rows)"
            results.append({"case": case, "engine": engine.label, **timing_fields(measured.timing)})
            del measured
            engine.release_memory()
    add_ratios(results, "speedup_vs_cpu", lambda r: r["case"], lambda r: r["engine"] == CpuEngine.label)
    return {**run_facts(), "repeats": repeats, "results": results}


UPLOADER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from pipeline.data.catalog import Catalog
from pipeline.data.io import Source
from pipeline.data.loading import load_file
from pipeline.engines import get_engine

cpu = get_engine("cpu")
for line in sys.stdin:
    path = Path(line.strip())
    data = path.read_bytes()
    started = time.perf_counter()
    load_file(Catalog(), Source.from_bytes(path.name, data), [cpu])
    print(time.perf_counter() - started, flush=True)
"""


def write_files(folder: Path, rows: int) -> dict[str, Path]:
    """The same G1 table as CSV, Parquet and Arrow IPC (Feather, uncompressed as pyarrow writes by default: lz4)."""
    cpu = next(engine for engine in available_engines() if engine.name == CPU)
    table = pa.Table.from_pandas(
        generate(SyntheticSpec("groupby_g1", rows=rows, seed=1), cpu)[""], preserve_index=False
    )
    paths = {"CSV": folder / "g1.csv", "Parquet": folder / "g1.parquet", "Arrow": folder / "g1.arrow"}
    pacsv.write_csv(table, paths["CSV"])
    pq.write_table(table, paths["Parquet"])
    feather.write_feather(table, paths["Arrow"])
    return paths


class Uploader:
    """A long-lived process of one checkout of the app that uploads files and says how long each took."""

    def __init__(self, tree: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", UPLOADER, str(tree)],
            cwd=tree,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def seconds(self, path: Path) -> float:
        self.process.stdin.write(f"{path}\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def compare(against: Path, rows: int, repeats: int) -> dict:
    """This tree's upload times against another checkout's, alternating, in one run."""
    ours, theirs = Path(__file__).resolve().parent.parent, against.resolve()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        paths = write_files(Path(folder), rows)
        uploaders = {"this tree": Uploader(ours), str(against): Uploader(theirs)}
        try:
            for fmt, path in paths.items():
                times_of: dict[str, list[float]] = {name: [] for name in uploaders}
                for uploader in uploaders.values():
                    uploader.seconds(path)  # warm-up: imports, the reader process, caches
                for _ in range(repeats):
                    for name, uploader in uploaders.items():
                        times_of[name].append(uploader.seconds(path))
                medians = {name: statistics.median(values) for name, values in times_of.items()}
                results.append(
                    {
                        "format": fmt,
                        "rows": rows,
                        "bytes": path.stat().st_size,
                        "median_s": {name: round(value, 4) for name, value in medians.items()},
                        "all_s": {name: [round(v, 4) for v in values] for name, values in times_of.items()},
                        "ratio": round(medians["this tree"] / medians[str(against)], 3),
                    }
                )
        finally:
            for uploader in uploaders.values():
                uploader.close()
    return {**run_facts(), "repeats": repeats, "against": str(against), "results": results}


def compare_markdown(report: dict) -> str:
    other = report["against"]
    lines = [
        f"| format | rows | file (MB) | this tree median (s) | {other} median (s) | ratio (this / other) |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['format']} | {r['rows']:,} | {r['bytes'] / 1e6:,.1f} | {r['median_s']['this tree']} "
            f"| {r['median_s'][other]} | {r['ratio']} |"
        )
    return "\n".join(lines)


def markdown(report: dict) -> str:
    lines = [
        "| case | engine | first (s) | median (s) | min (s) | max (s) | speed-up vs CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['case']} | {r['engine']} | {r['first_s']} | {r['median_s']} | {r['min_s']} | {r['max_s']} "
            f"| {times(r['speedup_vs_cpu'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the generated G1 table")
    parser.add_argument("--csv-gb", type=float, default=1.0, help="size of the CSV to read, in GB")
    parser.add_argument("--against", type=Path, help="another checkout of the app to time uploads against")
    parser.add_argument("--file-rows", type=int, default=1_000_000, help="rows of each file uploaded with --against")
    args = parser.parse_args()
    if args.against:
        report = compare(args.against, args.file_rows, args.repeats)
        publish(report, args.out, compare_markdown(report))
        return
    report = run(args.rows, args.csv_gb, args.repeats)
    publish(report, args.out, markdown(report))


if __name__ == "__main__":
    main()
