"""Cost per run and the break-even table size, from times measured at several sizes."""

from __future__ import annotations

import math

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
