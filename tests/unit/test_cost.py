"""Cost per run and the break-even table size, from times measured at several sizes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipeline.cost import EXAMPLE_PRICES, InstancePrices, break_even, cost_per_run, costs
from pipeline.errors import DataError

PRICES = InstancePrices(cpu_per_hour=1.0, gpu_per_hour=4.0)  # the GPU must be 4× faster to pay off


def test_cost_per_run_is_seconds_times_the_hourly_price():
    assert cost_per_run(1800, 3.0) == pytest.approx(1.5)
    table = costs(pd.DataFrame({"rows": [10], "cpu_s": [3600.0], "gpu_s": [600.0]}), PRICES)
    assert table.loc[0, "cpu_cost"] == pytest.approx(1.0) and table.loc[0, "gpu_cost"] == pytest.approx(4 / 6)
    assert table.loc[0, "cheaper"] == "GPU"


def test_break_even_is_where_the_cost_curves_cross_on_log_scales():
    # speed-up 1× at 1e4 rows, 16× at 1e6: cost ratio 0.25 then 4; crossing (ratio 1) half-way in log space
    times = pd.DataFrame({"rows": [1e6, 1e4], "cpu_s": [16.0, 1.0], "gpu_s": [1.0, 1.0]})
    found = break_even(times, PRICES)
    assert found.rows == pytest.approx(1e5, rel=1e-9)
    assert "100,000 rows" in found.verdict


def test_break_even_of_a_lopsided_crossing_is_interpolated_on_log_log_scales():
    """Cost ratio 0.5 at 1e4 rows and 8 at 1e8: log ratio is a quarter of the way up from log 0.5 to log 8 at 0, so
    the curves cross a quarter of the way from log 1e4 to log 1e8, at 1e5 rows (and at 1e7 the other way round)."""
    rows, ratios = [1e4, 1e8], [0.5, 8.0]
    expected = float(np.exp(np.interp(0.0, np.log(ratios), np.log(rows))))
    assert expected == pytest.approx(1e5, rel=1e-12)
    rising = pd.DataFrame({"rows": rows, "cpu_s": [2.0, 32.0], "gpu_s": [1.0, 1.0]})  # PRICES: ratio = cpu_s / 4
    found = break_even(rising, PRICES)
    assert found.rows == pytest.approx(expected, rel=1e-12)
    assert found.verdict == (
        "The GPU costs less per run from about 100,000 rows (between the sizes 10,000 and 100,000,000 measured)."
    )
    falling = pd.DataFrame({"rows": rows, "cpu_s": [32.0, 2.0], "gpu_s": [1.0, 1.0]})
    assert break_even(falling, PRICES).verdict == (
        "The GPU costs less per run up to about 10,000,000 rows and the CPU from there (between the sizes 10,000 and "
        "100,000,000 measured)."
    )


def test_equal_costs_at_every_size_do_not_make_the_gpu_cheaper():
    """Same price, same seconds: a tie, so nothing is gained by renting the GPU; the table and the verdict say CPU."""
    prices = InstancePrices(cpu_per_hour=3.0, gpu_per_hour=3.0)
    times = pd.DataFrame({"rows": [100, 1000], "cpu_s": [2.0, 20.0], "gpu_s": [2.0, 20.0]})
    table = costs(times, prices)
    assert table["cpu_cost"].tolist() == table["gpu_cost"].tolist()
    assert table["cheaper"].tolist() == ["CPU", "CPU"]
    found = break_even(times, prices)
    assert found.rows is None and found.verdict.startswith(
        "The CPU costs less at every size measured (up to 1,000 rows)"
    )


def test_break_even_when_the_gpu_is_cheaper_on_small_tables_and_the_cpu_on_large_ones():
    times = pd.DataFrame({"rows": [1e4, 1e6], "cpu_s": [16.0, 1.0], "gpu_s": [1.0, 1.0]})
    found = break_even(times, PRICES)  # raised "zip() argument 2 is shorter than argument 1" before
    assert found.rows is None
    assert found.verdict == (
        "The GPU costs less per run up to about 100,000 rows and the CPU from there (between the sizes 10,000 and "
        "1,000,000 measured)."
    )


def test_break_even_when_the_cheaper_engine_changes_more_than_once():
    times = pd.DataFrame({"rows": [1e3, 1e4, 1e5], "cpu_s": [1.0, 16.0, 1.0], "gpu_s": [1.0, 1.0, 1.0]})
    found = break_even(times, PRICES)
    assert found.rows is None and "changes more than once" in found.verdict


def test_break_even_when_one_engine_is_cheaper_everywhere():
    always_gpu = break_even(pd.DataFrame({"rows": [100, 1000], "cpu_s": [10.0, 100.0], "gpu_s": [1.0, 2.0]}), PRICES)
    assert always_gpu.rows == 100 and "every size" in always_gpu.verdict
    never = break_even(pd.DataFrame({"rows": [100, 1000], "cpu_s": [1.0, 3.0], "gpu_s": [1.0, 1.0]}), PRICES)
    assert never.rows is None and "4× faster" in never.verdict


@pytest.mark.parametrize("price", [0, -1.0, math.nan, math.inf, "2"])
def test_prices_must_be_positive_numbers(price):
    with pytest.raises(DataError, match="price per hour"):
        costs(pd.DataFrame({"rows": [1], "cpu_s": [1.0], "gpu_s": [1.0]}), InstancePrices(price, 1.0))


def test_example_prices_ask_more_for_the_gpu():
    assert EXAMPLE_PRICES.paying_speedup > 1
