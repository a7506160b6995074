"""What a run costs on a CPU and on a GPU instance, and the table size from which the GPU is the cheaper one.

Prices are per instance-hour and belong to the user: the defaults are examples to replace with a provider's
own. A run's cost is its seconds times the hourly price; the break-even row count is where the two engines'
cost-per-run curves (measured at several sizes) cross, interpolated on log-log scales between sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import pandas as pd

from pipeline.errors import DataError


@dataclass(frozen=True)
class InstancePrices:
    """Hourly prices of the two instances compared (any one currency)."""

    cpu_per_hour: float
    gpu_per_hour: float

    def checked(self) -> InstancePrices:
        for name, price in (("CPU", self.cpu_per_hour), ("GPU", self.gpu_per_hour)):
            if not (isinstance(price, int | float) and math.isfinite(price) and price > 0):
                raise DataError(f"The {name} instance's price per hour must be a positive number; got {price!r}.")
        return self

    @property
    def paying_speedup(self) -> float:
        """How many times faster the GPU must be for a run to cost less on it."""
        return self.gpu_per_hour / self.cpu_per_hour


EXAMPLE_PRICES = InstancePrices(cpu_per_hour=1.50, gpu_per_hour=4.00)
EXAMPLE_NOTE = (
    "Example prices, not a quote: replace them with your provider's hourly prices for the instances you would rent."
)


def cost_per_run(seconds: float, per_hour: float) -> float:
    return seconds / 3600.0 * per_hour


def costs(times: pd.DataFrame, prices: InstancePrices) -> pd.DataFrame:
    """`times` (rows, cpu_s, gpu_s) with each run's cost on the CPU and the GPU instance and which is cheaper."""
    prices = prices.checked()
    table = times.copy()
    table["cpu_cost"] = [cost_per_run(s, prices.cpu_per_hour) for s in table["cpu_s"]]
    table["gpu_cost"] = [cost_per_run(s, prices.gpu_per_hour) for s in table["gpu_s"]]
    table["cheaper"] = ["GPU" if g < c else "CPU" for c, g in zip(table["cpu_cost"], table["gpu_cost"], strict=True)]
    return table


@dataclass(frozen=True)
class Crossing:
    """A size between two measured ones where the cheaper engine changes, interpolated on log-log scales."""

    rows: float
    below: float  # the measured sizes either side
    above: float
    gpu_cheaper_above: bool


def cost_ratios(times: pd.DataFrame, prices: InstancePrices) -> tuple[list[float], list[float]]:
    """The sizes of `times` (rows, cpu_s, gpu_s) in order and, at each, the CPU's cost over the GPU's (above 1: the
    GPU is cheaper)."""
    table = costs(times.sort_values("rows"), prices)
    return table["rows"].tolist(), (table["cpu_cost"] / table["gpu_cost"]).tolist()


def crossings(times: pd.DataFrame, prices: InstancePrices) -> list[Crossing]:
    """Every place between two measured sizes where the cost-per-run curves cross."""
    sizes, ratio = cost_ratios(times, prices)
    found = []
    for (n0, r0), (n1, r1) in pairwise(zip(sizes, ratio, strict=True)):
        if (r0 > 1) != (r1 > 1):
            share = -math.log(r0) / (math.log(r1) - math.log(r0))
            found.append(Crossing(math.exp(math.log(n0) + share * (math.log(n1) - math.log(n0))), n0, n1, r1 > 1))
    return found


@dataclass(frozen=True)
class BreakEven:
    """Where the GPU starts to cost less per run, with the sentence that says it."""

    rows: float | None
    verdict: str


def break_even(times: pd.DataFrame, prices: InstancePrices) -> BreakEven:
    """The row count from which a run costs less on the GPU instance, from times measured at several sizes."""
    if times.empty:
        raise DataError("No size has a time on both engines: run both at the same sizes first.")
    sizes, ratio = cost_ratios(times, prices)
    if all(r > 1 for r in ratio):
        return BreakEven(sizes[0], f"The GPU costs less at every size measured, from {sizes[0]:,.0f} rows.")
    if all(r <= 1 for r in ratio):
        return BreakEven(
            None,
            f"The CPU costs less at every size measured (up to {sizes[-1]:,.0f} rows): the GPU must be "
            f"{prices.paying_speedup:.2g}× faster to pay off at these prices.",
        )
    found = crossings(times, prices)
    if len(found) > 1:
        return BreakEven(None, "The cheaper engine changes more than once across the sizes measured: see the table.")
    (cross,) = found
    between = f"between the sizes {cross.below:,.0f} and {cross.above:,.0f} measured"
    if cross.gpu_cheaper_above:
        return BreakEven(cross.rows, f"The GPU costs less per run from about {cross.rows:,.0f} rows ({between}).")
    return BreakEven(
        None, f"The GPU costs less per run up to about {cross.rows:,.0f} rows and the CPU from there ({between})."
    )
