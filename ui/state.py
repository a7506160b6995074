"""Session state and cached resources; the only place pages get engines and the catalog from."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from pipeline.catalog import Catalog, Dataset, SessionLimits
from pipeline.dask_engine import ClusterSettings, DaskEngine, dask_engine, running_dask_engine
from pipeline.datasets import SAMPLE_DATASET, bundled_frame
from pipeline.engines import (
    GPU,
    Engine,
    available_engines,
    is_gpu_out_of_memory,
    is_out_of_memory,
    out_of_memory_error,
)
from pipeline.errors import PipelineError
from pipeline.loading import load_bundled
from pipeline.system import SystemReport, system_report

log = logging.getLogger("gpu_pipeline_lab")


@st.cache_resource(show_spinner=False)
def engines() -> list[Engine]:
    """Engines of this machine, probed once per server process."""
    return available_engines()


cached_bundled_frame = st.cache_data(max_entries=16, show_spinner=False)(bundled_frame)


@st.cache_data(ttl=10, show_spinner=False)
def cached_system_report() -> SystemReport:
    return system_report()


def catalog() -> Catalog:
    """This session's datasets; a new session starts with the sample dataset loaded."""
    if "catalog" not in st.session_state:
        fresh = Catalog(SessionLimits.from_environment())
        load_bundled(fresh, SAMPLE_DATASET, engines(), frames=cached_bundled_frame)
        st.session_state["catalog"] = fresh
    return st.session_state["catalog"]


def upload_limit_bytes() -> int:
    return int(st.get_option("server.maxUploadSize")) * 2**20


@contextmanager
def shown_errors(action: str) -> Iterator[None]:
    """Show a failure of `action` as a short message and keep the page (and everything loaded) usable.

    Our own errors say what to do; running out of memory says how to go on; anything else is
    logged with its traceback under a reference the user can quote, and shown only by type.
    """
    try:
        yield
    except PipelineError as error:
        st.error(str(error), icon=":material/error:")
    except Exception as error:  # an unexpected failure still must not take the page down
        st.error(unexpected_failure_message(action, error), icon=":material/error:")


def unexpected_failure_message(action: str, error: Exception) -> str:
    gpu = next((engine for engine in engines() if engine.name == GPU), None)
    if gpu is not None and is_gpu_out_of_memory(error):
        return str(out_of_memory_error(gpu, action))  # hands the GPU's cached memory back first
    if is_out_of_memory(error):
        return (
            f"The server ran out of memory while {action}. What was loaded before is kept: remove datasets you "
            "no longer need, or use fewer rows."
        )
    reference = uuid.uuid4().hex[:8]
    log.error("unexpected failure while %s (reference %s)", action, reference, exc_info=error)
    return (
        f"Something went wrong while {action} ({type(error).__name__}). What was loaded before is kept. "
        f"The server log has the details under reference {reference}."
    )


@contextmanager
def progress(label: str, action: str) -> Iterator[Any]:
    """A status box for long work; on failure it turns red and the message is shown below it."""
    with shown_errors(action), st.status(label) as status:
        try:
            yield status
        except Exception:
            status.update(label=f"Failed {action}", state="error", expanded=False)
            raise


def active_dataset_or_stop() -> Dataset:
    """The active dataset; without one, a pointer to the Data page and the page stops there."""
    dataset = catalog().active
    if dataset is None:
        st.info("No dataset loaded. Load one on the Data page first.", icon=":material/info:")
        st.page_link("pages/data.py", label="Go to Data", icon=":material/table:")
        st.stop()
    return dataset


CLUSTER_KEY = "dask_cluster"


def session_cluster() -> DaskEngine | None:
    """The Dask cluster this session started or connected to (System page), while it runs."""
    settings = st.session_state.get(CLUSTER_KEY)
    return running_dask_engine(settings) if settings else None


def use_cluster(settings: ClusterSettings) -> DaskEngine:
    """Start (or reach) the cluster of these settings and make it this session's."""
    engine = dask_engine(settings)
    st.session_state[CLUSTER_KEY] = engine.settings
    return engine
