"""Session state and cached resources; the only place pages get engines and the catalog from."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from pipeline.countdown import Countdown, Part, Rates
from pipeline.data.bundled import SAMPLE_DATASET, bundled_frame
from pipeline.data.catalog import Catalog, Dataset, SessionLimits
from pipeline.data.loading import load_bundled
from pipeline.engines import (
    Engine,
    available_engines,
    is_gpu_out_of_memory,
    is_out_of_memory,
    out_of_memory_error,
)
from pipeline.engines.cluster import close_idle
from pipeline.engines.dask import (
    ClusterSettings,
    DaskEngine,
    cluster_lost_message,
    dask_engine,
    engine_work,
    leave_cluster,
    running_dask_engine,
)
from pipeline.errors import PipelineError
from pipeline.system import SystemReport, system_report
from pipeline.tables import sandbox
from ui import format as fmt
from ui.workspace import autosave, restored_catalog

log = logging.getLogger("gpu_pipeline_lab")


@st.cache_resource(show_spinner=False)
def engines() -> list[Engine]:
    """Engines of this machine, probed once per server process."""
    return available_engines()


@st.cache_resource(show_spinner=False)
def start_reader_process() -> None:
    """The reader of visitors' files started with the server's first session, so no upload waits for its imports
    (it is started again on demand whenever it has stopped)."""
    sandbox.warm()


cached_bundled_frame = st.cache_data(max_entries=16, show_spinner=False)(bundled_frame)


@st.cache_data(ttl=10, show_spinner=False)
def cached_system_report() -> SystemReport:
    return system_report()


def catalog() -> Catalog:
    """This session's datasets; a new session starts with the work kept under the address it was opened with (this
    browser's own after a refresh, a copy of it when the address is another's), or else with the sample dataset.
    Copies on a Dask cluster that has been shut down or lost meanwhile (idle, the operator, a scheduler restarted)
    are dropped, and the page says so at its top."""
    if "catalog" not in st.session_state:
        fresh = restored_catalog(engines())  # the work kept before a refresh, or a copy of a link's
        if fresh is None:
            fresh = Catalog(SessionLimits.from_environment())
            load_bundled(fresh, SAMPLE_DATASET, engines(), frames=cached_bundled_frame)
        st.session_state["catalog"] = fresh
    current = st.session_state["catalog"]
    emptied = current.drop_closed()
    if emptied is not None:
        removed = f" Removed with it: {', '.join(emptied)}." if emptied else " Your other copies are kept."
        st.warning(
            f"The Dask cluster was shut down or lost (idle, stopped or restarted by the operator), and what it held "
            f"with it.{removed}",
            icon=":material/cloud_off:",
        )
    return current


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
    lost = cluster_lost_message(error, session_dask_engines())
    if lost:
        return lost
    gpu = next((engine for engine in engines() if engine.device), None)
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
REAPER_EVERY_S = 60


def session_id() -> str:
    """This browser session, as counted among a shared cluster's users."""
    return st.session_state.setdefault("session_id", uuid.uuid4().hex)


def session_cluster_settings() -> ClusterSettings | None:
    """The settings of the Dask cluster this session started or connected to (System page) while it is listed here
    (running, or lost and not connected again yet); None once it was shut down or the session left it."""
    settings = st.session_state.get(CLUSTER_KEY)
    return settings if settings is not None and running_dask_engine(settings) is not None else None


def session_cluster() -> DaskEngine | None:
    """The Dask cluster this session started or connected to (System page), while it is listed: connected again (a
    local one started again) where it was lost, which raises EngineUnavailableError while that fails."""
    settings = session_cluster_settings()
    engine = running_dask_engine(settings) if settings else None
    if engine is not None and engine.lost:
        return use_cluster(engine.settings)
    return engine


def session_dask_engines() -> list[Engine]:
    """The engines of this session's datasets and its cluster, as they are (none started or connected here)."""
    held = st.session_state.get("catalog")
    engines = [copy.engine for dataset in held or () for copy in dataset.copies.values()]
    settings = session_cluster_settings()
    cluster = running_dask_engine(settings) if settings else None
    return [*engines, *([cluster] if cluster else [])]


@st.cache_resource(show_spinner=False)
def idle_cluster_reaper() -> threading.Thread:
    """One thread per server process that shuts down clusters idle past the operator's limit."""

    def loop() -> None:
        while True:
            time.sleep(REAPER_EVERY_S)
            try:
                for label in close_idle():
                    log.info("shut down the idle %s cluster", label)
            except Exception:  # the loop must outlive a cluster that fails to close
                log.exception("closing idle Dask clusters failed")

    thread = threading.Thread(target=loop, name="dask-idle-reaper", daemon=True)
    thread.start()
    return thread


def use_cluster(settings: ClusterSettings) -> DaskEngine:
    """Start (or reach) an offered cluster and make it this session's, counted among its users."""
    idle_cluster_reaper()
    engine = dask_engine(settings, user=session_id())
    st.session_state[CLUSTER_KEY] = engine.settings
    return engine


def working_on(dataset: Dataset) -> AbstractContextManager[None]:
    """This session's work counted on the Dask clusters holding the dataset's copies while the block runs (also when
    it fails or is stopped), so that neither another session nor the idle reaper shuts one down under it."""
    return engine_work([copy.engine for copy in dataset.copies.values()], session_id())


def leave_session_cluster() -> str:
    """This session stops using its cluster and drops its datasets there; what happened, in words. Works whatever
    state the cluster is in (lost, unreachable, shut down meanwhile)."""
    settings = st.session_state.pop(CLUSTER_KEY)
    engine = running_dask_engine(settings)
    emptied = catalog().drop_engine(engine.name) if engine is not None else []
    closed = leave_cluster(settings, session_id())
    gone = "Disconnected from the cluster." if settings.address else "Shut the cluster down."
    said = gone if closed else "Left the cluster; it keeps running for the other sessions using it."
    return said + (f" Removed with it: {', '.join(emptied)}." if emptied else "")


def save_workspace() -> None:
    """Keep this session's work on the server under its own token when it changed; a failure is logged, never shown as
    a traceback (the work itself is still in the session)."""
    try:
        autosave(catalog())
    except Exception:  # a full disk or an unwritable folder must not break the page
        logging.getLogger(__name__).exception("could not save the workspace")


TICK_S = 1.0  # how often the time left counts down between reports


@contextmanager
def eta_bar(
    container: Any, label: str, parts: list[Part] | None = None, rates: Rates | None = None
) -> Iterator[Callable[[float, str], None]]:
    """A progress bar in `container` while the block runs, and the callback that moves it. The time left counts down
    every `TICK_S` between reports and never rises (`pipeline.countdown`): for work in `parts`, from the `rates`
    measured for them (and measured into them as parts finish), else from the pace so far. The bar goes when the block
    ends; a block stopped part-way (Stop, another click) stops the countdown with it."""
    bar = container.progress(0.0, text=label)
    countdown = Countdown(time.monotonic(), list(parts or []), rates if rates is not None else Rates())
    state = {"done": 0.0, "text": label}
    lock = threading.Lock()

    def draw() -> None:
        with lock:
            left = fmt.time_left(countdown.left(time.monotonic())) if state["done"] < 1 else ""
            bar.progress(state["done"], text=f"{state['text']}{left}")

    def report(done: float, text: str) -> None:
        with lock:
            state["done"], state["text"] = min(max(done, 0.0), 1.0), text
            countdown.report(done, time.monotonic())
        draw()

    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(TICK_S):
            draw()

    ticker = threading.Thread(target=tick, name="eta-bar", daemon=True)
    context = get_script_run_ctx(suppress_warning=True)
    if context is not None:  # the page's run: the ticker draws into it (outside Streamlit there is none)
        add_script_run_ctx(ticker, context)
    ticker.start()
    try:
        yield report
    finally:
        stop.set()
        ticker.join()
    bar.empty()
