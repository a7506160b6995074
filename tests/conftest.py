"""Shared fixtures; tests marked `gpu` skip cleanly where the GPU engine is unavailable."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from pipeline.data.catalog import Catalog
from pipeline.engines import GPU, detect, get_engine
from tests.support.public_tables import load_public


def _gpu_reason() -> str | None:
    return next(status.reason for status in detect() if status.name == GPU)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _gpu_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"GPU engine unavailable: {reason}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def workspaces_apart(tmp_path_factory):
    """The workspaces the app keeps across a refresh go to this run's own folder (servers started here inherit it)."""
    os.environ["GPL_WORKSPACE_DIR"] = str(tmp_path_factory.mktemp("workspaces"))


@pytest.fixture
def cpu():
    return get_engine("cpu")


@pytest.fixture
def gpu():
    return get_engine("gpu")


def _no_dask_under_mutmut() -> None:
    """`make mutation` runs each mutant's tests in a process mutmut forks from its own, where a Dask cluster hangs
    until mutmut's timeout (which would count the mutant as caught): Dask tests are skipped there."""
    if "MUTANT_UNDER_TEST" in os.environ:
        pytest.skip("Dask clusters hang in the processes mutmut forks; make mutation leaves Dask tests out")


@pytest.fixture(scope="module")
def dask_cpu():
    """A local Dask CPU cluster of one worker (two threads, 1 GiB), shut down after the module's tests."""
    _no_dask_under_mutmut()
    dask_engine = pytest.importorskip("pipeline.engines.dask")
    pytest.importorskip("distributed")
    engine = dask_engine.dask_engine(dask_engine.ClusterSettings(workers=1, threads_per_worker=2, memory_limit="1GiB"))
    yield engine
    dask_engine.close_dask_engines()


@pytest.fixture(scope="module")
def operator_cluster(tmp_path_factory):
    """An operator's Dask cluster as docs/deploy.md starts one: a `dask scheduler` and two `dask worker` processes
    (1 GiB, one thread each, spilling to one folder) with the app's code on their PYTHONPATH, on loopback; every
    engine connected to it is closed and the processes killed after the module's tests."""
    _no_dask_under_mutmut()
    pytest.importorskip("distributed")
    from pipeline.engines.dask import close_dask_engines
    from tests.support.dask_processes import dask_processes

    with dask_processes(tmp_path_factory.mktemp("operator-cluster"), workers=2) as cluster:
        yield cluster
        close_dask_engines()


@pytest.fixture(scope="session")
def cars() -> pd.DataFrame:
    """vega_datasets' cars (406 rows), loaded from its JSON array as an upload is."""
    return load_public(Catalog(), "cars").primary.frame


@pytest.fixture(scope="session")
def weather() -> pd.DataFrame:
    """vega_datasets' seattle-weather (1,461 rows), loaded from its CSV as an upload is."""
    return load_public(Catalog(), "seattle-weather").primary.frame
