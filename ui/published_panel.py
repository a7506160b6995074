"""Published GPU speed-ups beside the user's own CPU times, and what a run costs: labelled as estimates throughout."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipeline.cost import EXAMPLE_NOTE, EXAMPLE_PRICES, InstancePrices, cost_per_run
from pipeline.engines import device_status
from pipeline.errors import DataError
from pipeline.published import ESTIMATE_NOTE, estimates, published_figures

PRICES_KEY = "instance_prices"
shipped_figures = st.cache_data(show_spinner=False)(published_figures)  # files of this installation: read once


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


def with_costs(table: pd.DataFrame, prices: InstancePrices) -> pd.DataFrame:
    """The estimates table with the cost of one run: measured on the CPU instance, estimated on the GPU one."""
    costed = table.copy()
    costed["CPU cost per run (measured time)"] = [cost_per_run(s, prices.cpu_per_hour) for s in table["measured CPU s"]]
    for end in ("fastest", "slowest"):
        costed[f"GPU cost per run (estimate, {end})"] = [
            None if pd.isna(s) else cost_per_run(s, prices.gpu_per_hour) for s in table[f"estimated GPU s ({end})"]
        ]
    return costed


def published_estimates(cpu_seconds: dict[str, float], kinds: dict[str, str], key: str) -> None:
    """On a machine without a GPU: the published speed-ups of similar work beside the CPU times measured here."""
    if device_status().available or not cpu_seconds:
        return
    with st.expander(
        "Published GPU speed-ups for similar work: an estimate, not a measurement", icon=":material/book:"
    ):
        st.caption(
            ESTIMATE_NOTE + " The sources, their hardware and dates are on the Benchmark page (Published figures)."
        )
        table = estimates(shipped_figures(), cpu_seconds, kinds)
        prices = instance_prices(f"{key}_prices")
        if prices is not None:
            table = with_costs(table, prices)
            st.caption(
                f"At these prices the GPU instance costs {prices.paying_speedup:.2g}× the CPU one per hour: a run "
                f"is cheaper on it only where the GPU is more than {prices.paying_speedup:.2g}× faster."
            )
        st.dataframe(table, hide_index=True, width="stretch")
