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


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        (InstancePrices(0, 1.0), "The CPU instance's price per hour must be a positive number; got 0."),
        (InstancePrices(1.0, -2.5), "The GPU instance's price per hour must be a positive number; got -2.5."),
    ],
)
def test_a_bad_price_is_refused_naming_the_instance(prices, message):
    with pytest.raises(DataError) as refused:
        prices.checked()
    assert str(refused.value) == message


def test_break_even_without_times_says_what_to_run():
    with pytest.raises(DataError) as refused:
        break_even(pd.DataFrame({"rows": [], "cpu_s": [], "gpu_s": []}), PRICES)
    assert str(refused.value) == "No size has a time on both engines: run both at the same sizes first."


def test_a_cost_ratio_of_two_either_side_of_the_crossing_is_found():
    """Cost ratio 0.5 then 2 (PRICES: ratio = cpu_s / 4): the curves cross half-way in log space, at 100,000 rows."""
    rising = break_even(pd.DataFrame({"rows": [1e4, 1e6], "cpu_s": [2.0, 8.0], "gpu_s": [1.0, 1.0]}), PRICES)
    assert rising.rows == pytest.approx(1e5, rel=1e-12)
    assert rising.verdict == (
        "The GPU costs less per run from about 100,000 rows (between the sizes 10,000 and 1,000,000 measured)."
    )
    falling = break_even(pd.DataFrame({"rows": [1e4, 1e6], "cpu_s": [8.0, 2.0], "gpu_s": [1.0, 1.0]}), PRICES)
    assert falling.rows is None
    assert falling.verdict == (
        "The GPU costs less per run up to about 100,000 rows and the CPU from there (between the sizes 10,000 and "
        "1,000,000 measured)."
    )


def test_a_tie_at_a_measured_size_is_where_the_cheaper_engine_changes():
    """Cost ratio 0.25, 1 (equal costs) and 4: the GPU is cheaper from the size of the tie, and one crossing is found
    however the sizes run."""
    times = pd.DataFrame({"rows": [1e3, 1e4, 1e5], "cpu_s": [1.0, 4.0, 16.0], "gpu_s": [1.0, 1.0, 1.0]})
    rising = break_even(times, PRICES)
    assert rising.rows == pytest.approx(1e4, rel=1e-12)
    assert rising.verdict == (
        "The GPU costs less per run from about 10,000 rows (between the sizes 10,000 and 100,000 measured)."
    )
    falling = break_even(times.assign(cpu_s=times["cpu_s"].to_numpy()[::-1]), PRICES)
    assert falling.rows is None
    assert falling.verdict == (
        "The GPU costs less per run up to about 10,000 rows and the CPU from there (between the sizes 1,000 and "
        "10,000 measured)."
    )


def test_the_verdicts_name_the_sizes_measured():
    """The GPU under twice as cheap at every size still wins everywhere, from the smallest size; the CPU everywhere
    up to the largest; a cheaper engine that changes twice is left to the table."""
    times = pd.DataFrame({"rows": [1000, 100, 10_000], "cpu_s": [6.0, 5.0, 8.0], "gpu_s": [1.0, 1.0, 1.0]})
    everywhere = break_even(times, PRICES)  # cost ratios 1.25, 1.5, 2
    assert everywhere.rows == 100
    assert everywhere.verdict == "The GPU costs less at every size measured, from 100 rows."
    nowhere = break_even(times.assign(cpu_s=[1.0, 2.0, 3.0]), PRICES)
    assert nowhere.rows is None
    assert nowhere.verdict == (
        "The CPU costs less at every size measured (up to 10,000 rows): the GPU must be 4× faster to pay off at these "
        "prices."
    )
    twice = break_even(times.assign(cpu_s=[16.0, 1.0, 1.0]), PRICES)  # 100 rows: 1, 1,000: 16, 10,000: 1
    assert twice.verdict == "The cheaper engine changes more than once across the sizes measured: see the table."
