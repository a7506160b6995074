"""Data-page load timings on every available engine: a generated G1 table and a large CSV.

    python -m benchmarks.load_timings --rows 10000000 --csv-gb 1 --out load_timings.json

Median of --repeats runs after one warm-up, device synchronised before each clock stops;
the first (cold) call is reported apart. Ratios are CPU time / engine time from this one run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

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
    args = parser.parse_args()
    report = run(args.rows, args.csv_gb, args.repeats)
    publish(report, args.out, markdown(report))


if __name__ == "__main__":
    main()
