"""The Benchmark page's tables: which speed-up it shows first, and the times a cost is worked out from."""

from __future__ import annotations

import pandas as pd

from pipeline.bench.views import TOTAL, cpu_gpu_times, default_comparison, scaling


def table(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"run": run, "engine": engine, "series": series} for run, engine, series in rows])


def test_the_first_speed_up_is_the_gpu_over_the_cpu_of_the_same_run_never_one_engine_over_itself():
    runs = table(
        ("a.json", "cpu", "a.json · CPU (pandas)"),
        ("b.json", "cpu", "b.json · CPU (pandas)"),
        ("b.json", "gpu", "b.json · GPU (cuDF)"),
        ("a.json", "polars", "a.json · polars (CPU)"),
    )
    series = list(runs["series"])
    assert default_comparison(runs, series) == ("a.json · polars (CPU)", "a.json · CPU (pandas)")
    gpu_first = [series[1], series[2], series[0], series[3]]
    assert default_comparison(runs, gpu_first) == ("b.json · GPU (cuDF)", "b.json · CPU (pandas)")
    only_cpus = [series[0], series[1]]
    assert default_comparison(runs, only_cpus) == ("b.json · CPU (pandas)", "a.json · CPU (pandas)")


def test_cost_times_pair_the_cpu_and_gpu_of_one_run_at_each_size():
    runs = table(("b.json", "cpu", "b · CPU"), ("b.json", "gpu", "b · GPU"), ("b.json", "polars", "b · polars"))
    curve = pd.DataFrame(
        {
            "series": ["b · CPU", "b · GPU", "b · polars", "b · CPU"],
            "rows": [10, 10, 10, 100],
            "seconds": [4.0, 1.0, 2.0, 8.0],
        }
    )
    paired = cpu_gpu_times(curve, runs)
    assert paired[["rows", "cpu_s", "gpu_s"]].to_dict("records") == [{"rows": 10, "cpu_s": 4.0, "gpu_s": 1.0}]


def test_a_size_a_stopped_run_did_not_finish_has_no_total():
    records = [
        {
            "suite": "groupby",
            "question": f"q{q}",
            "series": "CPU (pandas)",
            "rows": rows,
            "status": status,
            "median_s": 0.01 * q * rows / 10_000,
        }
        for rows, asked in ((10_000, 10), (100_000, 10), (1_000_000, 3))  # stopped after q3 at 1,000,000 rows
        for q, status in ((q, "ok" if q != 7 else "skipped") for q in range(1, asked + 1))
    ]
    curve = scaling(pd.DataFrame(records), "groupby", TOTAL)
    assert curve["rows"].tolist() == [10_000, 100_000], "not a total of 3 questions beside totals of 10"
    assert curve["questions"].tolist() == [9, 9], "a question skipped at every size leaves the others' total"
