"""The one way a page names a Dask cluster: a choice among those the operator offers, never a typed address."""

from __future__ import annotations

import streamlit as st

from pipeline.engines.cluster import SCHEDULERS_ENV, local_choice, offered_clusters
from pipeline.errors import DataError


def cluster_choice_field(key: str) -> str:
    """A select box of the offered clusters (the local one first); the chosen name. Where the operator's list of
    schedulers cannot be read, the page says why and offers the local cluster alone."""
    try:
        choices = offered_clusters()
    except DataError as error:
        st.warning(f"{error} Only the local cluster is offered until then.", icon=":material/warning:")
        choices = [local_choice()]
    labels = {choice.name: choice.label for choice in choices}
    help_text = (
        f"Other schedulers are added by the operator ({SCHEDULERS_ENV}=name=tcp://host:port,…); "
        "an address cannot be typed here, since a Dask scheduler can run code in this server."
    )
    return st.selectbox("Cluster", list(labels), format_func=labels.get, key=key, help=help_text)
