"""The cost tables beside the published estimates, as people read them."""

from __future__ import annotations

import pandas as pd

from pipeline.cost import EXAMPLE_PRICES
from pipeline.published.size_model import FixedCost
from ui.published_panel import estimated_costs


def test_estimated_costs_name_the_prices_currency_and_explain_either():
    """A GPU estimate from 1 to 10 s against 10 s on the CPU: at 1.50 and 4.00 per hour its cost range spans the
    CPU's, which the table says in words; the costs say they are in the prices' currency."""
    times = pd.DataFrame({"rows": [100_000], "cpu_s": [10.0], "fastest": [1.0], "slowest": [10.0]})
    fixed = FixedCost(low=0.001, high=0.01, smallest_rows=1_000, cpu_faster_up_to=None, sources=())
    row = estimated_costs(times, fixed, EXAMPLE_PRICES).iloc[0]
    assert row["cheaper (estimate)"] == "either: the estimate's range spans the CPU's cost"
    costs = {name: value for name, value in row.items() if "cost per run" in name}
    assert list(costs) == [
        "CPU cost per run, in the currency of the prices per hour (measured time)",
        "GPU cost per run, in the currency of the prices per hour (estimate)",
    ]
    assert costs[list(costs)[1]] == "0.0011 – 0.01"
