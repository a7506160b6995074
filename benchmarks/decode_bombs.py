"""Peak memory of loading small files built to decode to huge tables, on the server's default settings.

    python -m benchmarks.decode_bombs --out docs/results/decode_bombs.json

Each file (tests/support/bombs.py: the security report's cases) is loaded the way the Data page loads an upload,
in a fresh process that first loads the sample dataset; the report gives the file's size, what the app
said, how long it took and the process's peak resident memory (VmHWM) before and after. A JSON lines
file nested 20,000 deep (it crashed the server before) and an ordinary 2-million-row Parquet file (which
must still load) run the same way.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.common import benchmark_parser, publish, run_facts
from tests.support import bombs

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import json, sys, time
from pathlib import Path
from pipeline.data.catalog import Catalog
from pipeline.engines import get_engine
from pipeline.errors import DataError
from pipeline.data.io import Source
from pipeline.data.loading import load_bundled, load_file

def peak_kib():
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))

catalog = Catalog()
load_bundled(catalog, "iris", [get_engine("cpu")])
path = Path(sys.argv[1])
data = path.read_bytes()
before = peak_kib()
started = time.perf_counter()
try:
    dataset = load_file(catalog, Source.from_bytes(path.name, data), [get_engine("cpu")])
    outcome = f"loaded, {dataset.shape[0]:,} x {dataset.shape[1]:,}"
except DataError as error:
    outcome = f"refused: {error}"
seconds = time.perf_counter() - started
after = peak_kib()
print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_before_kib": before, "peak_after_kib": after}))
"""


def cases(folder: Path) -> dict[str, Path]:
    made = {name: make(folder / name) for name, make in bombs.MAKERS.items()}
    deep = folder / "deep.jsonl"
    deep.write_bytes(b'{"a": [1]}\n{"a": ' + b"[" * 20_000 + b"]" * 20_000 + b"}\n")
    ordinary = folder / "ordinary_2e6_rows.parquet"
    pd.DataFrame({"n": range(2_000_000), "x": 0.5, "tag": ["a", "b"] * 1_000_000}).to_parquet(ordinary)
    return {**made, "deep.jsonl": deep, "ordinary_2e6_rows.parquet": ordinary}


def measure(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        return {"outcome": f"the process died (exit {done.returncode})", "seconds": None}
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["peak_before_gib"] = round(row.pop("peak_before_kib") / 2**20, 3)
    row["peak_after_gib"] = round(row.pop("peak_after_kib") / 2**20, 3)
    row["seconds"] = round(row["seconds"], 3)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        results = []
        for name, path in cases(Path(folder)).items():
            results.append({"file": name, "file_bytes": path.stat().st_size, **measure(path)})
    lines = [
        "| file | size | outcome | time | peak memory before → after |",
        "|---|---|---|---|---|",
    ]
    for row in results:
        outcome = row["outcome"].split(". ")[0]
        peak = f"{row.get('peak_before_gib', '?')} → {row.get('peak_after_gib', '?')} GiB"
        size = f"{row['file_bytes'] / 1e6:,.2f} MB"
        lines.append(f"| `{row['file']}` | {size} | {outcome} | {row['seconds']} s | {peak} |")
    publish({"environment": run_facts(), "results": results}, arguments.out, "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
