"""Training throughput of the Deep learning page's networks: samples/s per model, batch size, device and AMP.

    python -m benchmarks.dl_throughput --batch-sizes 32,128,512 --repeats 3 --out docs/results/dl_throughput_cpu.json

Models: the CNN on scikit-learn's digits (1,437 training images) and the MLP on a generated
table (make_classification, 20,000 rows x 32 features, 4 classes, 16,000 for training). Each
figure is the median over `--repeats` measurements of `pipeline.dl.training.throughput`: two epochs,
the second timed (the first warms up), the device synchronised before each clock stops.
Mixed precision (AMP) is measured on CUDA only. `gpu ÷ cpu` compares the same model, batch
size and AMP setting measured in this one run. Device busy % (median of the timed epochs) is
NVML's utilisation on the GPU and this process's share of all CPU cores on the CPU, sampled
every 50 ms by `pipeline.engines.usage`.
"""

from __future__ import annotations

import statistics
import sys
from typing import Any

import pandas as pd
from sklearn.datasets import make_classification

from benchmarks.common import benchmark_parser, publish, run_facts
from pipeline.dl.training import CPU_DEVICE, CUDA_DEVICE, TrainSettings, devices, digits_data, table_data, throughput
from pipeline.timing import speedups

TABLE_ROWS, TABLE_FEATURES = 20_000, 32


def datasets() -> dict[str, Any]:
    x, y = make_classification(
        TABLE_ROWS, TABLE_FEATURES, n_informative=16, n_classes=4, random_state=0, n_clusters_per_class=1
    )
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(TABLE_FEATURES)]).assign(target=y)
    table = table_data(frame, "target", [f"x{i}" for i in range(TABLE_FEATURES)], "classification")
    return {"CNN (digits 8x8)": digits_data(), "MLP (20,000 x 32 table)": table}


def run(batch_sizes: list[int], repeats: int) -> dict[str, Any]:
    results = []
    for model, data in datasets().items():
        for device in devices():
            for amp in (False, True) if device == CUDA_DEVICE else (False,):
                settings = TrainSettings(amp=amp)
                print(f"{model} on {device}{' with AMP' if amp else ''}…", file=sys.stderr)
                measured = [throughput(data, settings, device, batch_sizes) for _ in range(repeats)]
                for index, size in enumerate(batch_sizes):
                    figures = [rows[index]["samples_per_s"] for rows in measured]
                    busy = [rows[index]["busy_percent"] for rows in measured if rows[index]["busy_percent"] is not None]
                    errors = {rows[index]["error"] for rows in measured if rows[index]["error"]}
                    usable = [figure for figure in figures if figure]
                    results.append(
                        {
                            "model": model,
                            "device": device,
                            "amp": amp,
                            "batch_size": size,
                            "samples_per_s": round(statistics.median(usable)) if usable else None,
                            "busy_percent": round(statistics.median(busy)) if busy else None,
                            "error": "; ".join(sorted(errors)) or None,
                        }
                    )
    for row in results:
        cpu = next(
            (
                r
                for r in results
                if r["device"] == CPU_DEVICE and r["model"] == row["model"] and r["batch_size"] == row["batch_size"]
            ),
            None,
        )
        seconds_per_sample = {
            "cpu": 1 / cpu["samples_per_s"] if cpu and cpu["samples_per_s"] else None,
            "row": 1 / row["samples_per_s"] if row["samples_per_s"] else None,
        }
        ratio = speedups(seconds_per_sample, "cpu")["row"]
        row["gpu_over_cpu"] = round(ratio, 2) if ratio else None
    return {**run_facts(), "repeats": repeats, "results": results}


def table(report: dict[str, Any]) -> str:
    lines = ["| model | device | AMP | batch | samples/s | ÷ CPU | device busy % |", "|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        figure = f"{r['samples_per_s']:,}" if r["samples_per_s"] else f"— ({r['error']})"
        ratio = f"{r['gpu_over_cpu']}×" if r["device"] != CPU_DEVICE and r["gpu_over_cpu"] else "—"
        busy = "—" if r.get("busy_percent") is None else r["busy_percent"]
        lines.append(
            f"| {r['model']} | {r['device']} | {'on' if r['amp'] else 'off'} | {r['batch_size']} | {figure} | {ratio} "
            f"| {busy} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--batch-sizes", default="32,128,512", help="comma-separated batch sizes")
    arguments = parser.parse_args()
    sizes = [int(value) for value in arguments.batch_sizes.split(",")]
    report = run(sizes, arguments.repeats)
    publish(report, arguments.out, table(report))


if __name__ == "__main__":
    main()
