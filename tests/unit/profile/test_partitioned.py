"""The profile on the Dask engines: exact results equal the pandas engine's, estimates are close and said to be."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.engines import get_engine
from pipeline.profile import PRESETS, compare_profiles, profile_frame

dask_engine = pytest.importorskip("pipeline.engines.dask")
pytest.importorskip("distributed")
from pipeline.profile.partitioned import DISTINCT_NOTE, QUANTILES_NOTE, SPEARMAN_NOTE  # noqa: E402


def mixed_table(rows: int = 20_000) -> pd.DataFrame:
    """Every kind of column, with missing and infinite values, a constant, a categorical and repeated rows."""
    rng = np.random.default_rng(7)
    table = pd.DataFrame(
        {
            "x": rng.normal(size=rows),
            "count": rng.integers(0, 50, rows),
            "constant": np.full(rows, 3.0),
            "skewed": np.where(rng.random(rows) < 0.25, np.nan, rng.exponential(size=rows) ** 3),
            "word": pd.Series(rng.choice(["a", "bb", "ccc", "dddd", None], rows), dtype="str"),
            "flag": rng.random(rows) < 0.3,
            "when": pd.date_range("2020-01-01", periods=rows, freq="h", tz="Europe/Paris"),
            "level": pd.Categorical(rng.choice(["low", "high"], rows)),
            "empty": np.full(rows, np.nan),
        }
    )
    table["y"] = 2 * table["x"] + rng.normal(scale=0.1, size=rows)
    table.loc[5, "x"] = np.inf
    return pd.concat([table, table.iloc[:10]], ignore_index=True)


def test_the_dask_profile_equals_the_pandas_profile_where_exact_and_says_what_is_estimated(dask_cpu):
    table = mixed_table()
    cpu = profile_frame(get_engine("cpu"), table)
    dask = profile_frame(dask_cpu, dask_cpu.frames.from_pandas(table, npartitions=5))
    parity = compare_profiles(cpu, dask)
    assert parity.ok, parity.mismatches[:5]
    assert dask.table.duplicate_rows == cpu.table.duplicate_rows == 10
    assert dask.approximate == (QUANTILES_NOTE, DISTINCT_NOTE)
    assert list(dask.correlations) == ["pearson"] and SPEARMAN_NOTE in dask.correlation_note
    assert dask.correlations["pearson"].loc["x", "y"] > 0.99
    assert {a.code for a in dask.alerts} == {a.code for a in cpu.alerts} >= {"duplicates", "constant", "all_missing"}
    for name in ("x", "count", "skewed", "when"):
        exact, estimate = cpu.column(name).distinct, dask.column(name).distinct
        assert abs(estimate - exact) <= 0.03 * exact, (name, exact, estimate)
    assert dask.column("word").distinct == 4 and dask.column("constant").distinct == 1
    finite = table["skewed"].dropna().sort_values().to_numpy()
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        rank = np.searchsorted(finite, dask.column("skewed").stats[f"p{round(q * 100)}"]) / len(finite)
        assert abs(rank - q) <= 0.03, (q, rank)


def test_the_minimal_dask_profile_skips_the_table_wide_work(dask_cpu):
    table = mixed_table(2_000)
    profile = profile_frame(dask_cpu, dask_cpu.frames.from_pandas(table, npartitions=3), PRESETS["minimal"])
    assert profile.table.duplicate_rows is None
    assert profile.correlations == {} and profile.missing_together is None
    assert compare_profiles(profile_frame(get_engine("cpu"), table, PRESETS["minimal"]), profile).ok


def test_a_dask_profile_reads_lazy_files_and_handles_empty_partitions(dask_cpu, tmp_path):
    table = mixed_table(3_000).drop(columns=["level"])
    for part, rows in enumerate((table.iloc[:0], table.iloc[:1_000], table.iloc[1_000:])):
        rows.to_parquet(tmp_path / f"part{part}.parquet")
    lazy = dask_cpu.read_files(tmp_path / "*.parquet")
    assert lazy.npartitions == 3
    parity = compare_profiles(profile_frame(get_engine("cpu"), table), profile_frame(dask_cpu, lazy))
    assert parity.ok, parity.mismatches[:5]


@pytest.mark.gpu
@pytest.mark.device("dask-cuda workers, one per GPU")
def test_the_dask_gpu_profile_equals_the_cudf_profile_where_exact(gpu):
    engine = dask_engine.dask_engine(dask_engine.ClusterSettings(gpu=True))
    try:
        table = mixed_table().drop(columns=["level"])
        device = gpu.frames.from_pandas(table)
        dask = profile_frame(engine, engine.frames.from_pandas(device, npartitions=4))
        parity = compare_profiles(profile_frame(gpu, device), dask)
        assert parity.ok, parity.mismatches[:5]
    finally:
        dask_engine.close_dask_engines()
