"""Size-aware GPU estimates beside the user's own CPU times, and what a run costs: labelled as estimates throughout."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from pipeline.cost import EXAMPLE_NOTE, EXAMPLE_PRICES, InstancePrices, cost_per_run
from pipeline.engines import device_status
from pipeline.errors import DataError
from pipeline.published import ESTIMATE_NOTE, published_figures
from pipeline.published.size_model import (
    NOT_HELPING_AT_SIZE,
    Estimate,
    FixedCost,
    TimedWork,
    cheaper,
    estimate,
    fixed_cost_measurements,
)
from ui import format as fmt

PRICES_KEY = "instance_prices"
NO_ESTIMATE = "no estimate: nothing published is like this work"
IN_CURRENCY = "in the currency of the prices per hour"
CPU_COST = f"CPU cost per run, {IN_CURRENCY} (measured time)"
GPU_COST = f"GPU cost per run, {IN_CURRENCY} (estimate)"
CHEAPER_WORDS = {"either": "either: the estimate's range spans the CPU's cost"}
shipped_figures = st.cache_data(show_spinner=False)(published_figures)  # files of this installation: read once
shipped_fixed_costs = st.cache_data(show_spinner=False)(fixed_cost_measurements)


def instance_prices(key: str) -> InstancePrices | None:
    """The editable table of hourly prices (kept for the session, shared by every page); None while one is invalid."""
    saved: InstancePrices = st.session_state.get(PRICES_KEY, EXAMPLE_PRICES)
    table = pd.DataFrame(
        {"instance": ["CPU instance", "GPU instance"], "price per hour": [saved.cpu_per_hour, saved.gpu_per_hour]}
    )
    edited = st.data_editor(
        table,
        key=key,
        disabled=["instance"],
        hide_index=True,
        column_config={"price per hour": st.column_config.NumberColumn(min_value=0.0, format="%.2f", required=True)},
    )
    st.caption(EXAMPLE_NOTE if saved == EXAMPLE_PRICES else "Your prices (kept while this session lasts).")
    try:
        prices = InstancePrices(*(float(v) for v in edited["price per hour"])).checked()
    except (DataError, TypeError, ValueError) as error:
        st.error(f"{error} Fix the price to see costs.", icon=":material/error:")
        return None
    st.session_state[PRICES_KEY] = prices
    return prices


def _span(low: float, high: float, show: Callable[[float], str]) -> str:
    return show(low) if show(low) == show(high) else f"{show(low)} – {show(high)}"


def estimates_table(found: list[Estimate], prices: InstancePrices | None) -> pd.DataFrame:
    """One row per piece of work, every cell in words or numbers for people: the estimate's range beside the CPU
    time measured here, or why there is none."""
    rows = []
    for item in found:
        timed, priced = item.timed, item.fastest is not None and item.slowest is not None
        row = {
            "work": timed.name,
            "rows": f"{timed.rows:,}",
            "measured CPU time": fmt.seconds(timed.cpu_s),
            "similar published work": item.work or "none published",
            "published speed-up": item.speedup_text,
            "estimated GPU time": _span(item.fastest, item.slowest, fmt.seconds) if priced else NO_ESTIMATE,
        }
        if prices is not None:
            row[CPU_COST] = fmt.amount(cost_per_run(timed.cpu_s, prices.cpu_per_hour))
            row[GPU_COST] = (
                _span(
                    cost_per_run(item.fastest, prices.gpu_per_hour),
                    cost_per_run(item.slowest, prices.gpu_per_hour),
                    fmt.amount,
                )
                if priced
                else NO_ESTIMATE
            )
        row["GPU verdict (estimate)"] = item.verdict
        row["sizes the sources measured"] = item.size_note or "no published figure to compare sizes with"
        row["sources"] = "; ".join(item.sources) or "none"
        rows.append(row)
    return pd.DataFrame(rows)


def estimated_costs(times: pd.DataFrame, fixed: FixedCost, prices: InstancePrices) -> pd.DataFrame:
    """Per size, the measured CPU time and cost beside the GPU's estimated ones, in words and numbers for people."""
    rows = []
    for size in times.itertuples():
        gpu = [cost_per_run(seconds, prices.gpu_per_hour) for seconds in (size.fastest, size.slowest)]
        verdict = cheaper(size.rows, size.cpu_s, size.fastest, size.slowest, fixed, prices)
        rows.append(
            {
                "rows": f"{size.rows:,.0f}",
                "CPU time (measured)": fmt.seconds(size.cpu_s),
                "GPU time (estimate)": _span(size.fastest, size.slowest, fmt.seconds),
                CPU_COST: fmt.amount(cost_per_run(size.cpu_s, prices.cpu_per_hour)),
                GPU_COST: _span(*gpu, fmt.amount),
                "cheaper (estimate)": CHEAPER_WORDS.get(verdict, verdict),
            }
        )
    return pd.DataFrame(rows)


def size_verdict_line(found: list[Estimate]) -> str | None:
    """One line for the work the GPU is not expected to help at its size (seen without opening the estimates)."""
    small = [item for item in found if item.verdict.startswith(NOT_HELPING_AT_SIZE)]
    if not small:
        return None
    which = "every piece of work" if len(small) == len(found) else f"{len(small)} of {len(found)} pieces of work"
    verdicts = "; ".join(dict.fromkeys(item.verdict for item in small))
    rows = ", ".join(f"{r:,}" for r in sorted({item.timed.rows for item in small}))
    return f"GPU (estimate) for {which} here ({rows} rows): {verdicts}."


def published_estimates(timed: list[TimedWork], key: str) -> None:
    """On a machine without a GPU: the GPU time the size-aware model gives for each piece of work timed here."""
    if device_status().available or not timed:
        return
    found = [estimate(shipped_figures(), shipped_fixed_costs(), item) for item in timed]
    line = size_verdict_line(found)
    if line:
        st.info(line, icon=":material/speed:")
    with st.expander(
        "Published GPU speed-ups for similar work: an estimate, not a measurement", icon=":material/book:"
    ):
        st.caption(
            ESTIMATE_NOTE + " No GPU time is estimated below that fixed cost. The sources, their hardware and dates "
            "are on the Benchmark page (Published figures) and in docs/benchmarks.md."
        )
        prices = instance_prices(f"{key}_prices")
        if prices is not None:
            st.caption(
                f"At these prices the GPU instance costs {prices.paying_speedup:.2g}× the CPU one per hour: a run "
                f"is cheaper on it only where the GPU is more than {prices.paying_speedup:.2g}× faster."
            )
        st.dataframe(estimates_table(found, prices), hide_index=True, width="stretch", height="content")
