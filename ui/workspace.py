"""The session's work kept across a refresh (on the server, under the session's own token) and as a file.

The Pipeline and Benchmark pages keep their recipes and runs under the session keys named here; this module reads
and writes them to save or restore a workspace. A workspace is saved again whenever what it holds changes.

A session's token is issued by the store on its first run and kept in the session; the address only shows it, so
that a refresh finds the work. A token in the address a session is opened with is read once, as a link: the work
kept under it is copied under the session's own token, and the session never writes under the link's.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from pipeline.bench.results import BenchResults
from pipeline.data.catalog import Catalog, SessionLimits
from pipeline.engines import Engine
from pipeline.errors import DataError
from pipeline.steps.spec import Recipe, Step
from pipeline.workspace import Workspace, capture, from_zip, max_workspace_bytes, restore, to_zip
from pipeline.workspace_store import WorkspaceStore

STEPS_KEY = "pipeline_steps"  # the steps on the Pipeline page, of the dataset in OWNER_KEY
RECIPES_KEY = "pipeline_recipes"  # the steps of the datasets not active now, by dataset id
OWNER_KEY = "pipeline_owner"  # the dataset the steps on the page belong to
RUNS_KEY = "bench_runs"  # the Benchmark page's runs, by name
TOKEN_PARAM = "w"
TOKEN_KEY = "workspace_token"  # this session's own token, issued by the store
LINK_KEY = "workspace_link"  # the token in the address the session was opened with, until its work is copied
SAVED_KEY = "workspace_saved"  # what the last save held, so that an unchanged workspace is not written again
LEFT_OUT_KEY = "workspace_left_out"


def store() -> WorkspaceStore | None:
    return WorkspaceStore.from_environment()


def session_recipes() -> dict[int, Recipe]:
    recipes = {i: Recipe(tuple(steps)) for i, steps in st.session_state.get(RECIPES_KEY, {}).items()}
    owner, steps = st.session_state.get(OWNER_KEY), st.session_state.get(STEPS_KEY, [])
    if owner is not None and steps:
        recipes[owner] = Recipe(tuple(steps))
    return recipes


def bench_runs() -> dict[str, BenchResults]:
    return st.session_state.setdefault(RUNS_KEY, {})


def put_back(recipes: dict[int, Recipe], runs: dict[str, BenchResults], active_id: int | None) -> None:
    """Recipes and runs into the session, the active dataset's steps on the Pipeline page."""
    kept = st.session_state.setdefault(RECIPES_KEY, {})
    kept.update({i: list(r.steps) for i, r in recipes.items() if i != active_id})
    if active_id in recipes:
        st.session_state[STEPS_KEY] = list(recipes[active_id].steps)
        st.session_state[OWNER_KEY] = active_id
    bench_runs().update(runs)


def workspace_of(catalog: Catalog) -> Workspace:
    return capture(catalog, session_recipes(), bench_runs(), max_workspace_bytes(), lambda e, f: e.to_pandas(f))


def open_file(data: bytes, catalog: Catalog, engines: list[Engine]) -> list[str]:
    """A workspace file's datasets, recipes and runs added to this session; the problems with any part of it."""
    workspace = from_zip(data, max_workspace_bytes())
    restored = restore(workspace, catalog, engines)
    put_back(restored.recipes, workspace.bench_runs, catalog.active_id)
    return restored.problems


def own_token(kept: WorkspaceStore) -> str:
    """This session's token, issued on its first run (or again if the store no longer knows it); the address the
    session was opened with is kept aside then, as the link to copy the work from."""
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        st.session_state[LINK_KEY] = st.query_params.get(TOKEN_PARAM)
    if not kept.issued(token):
        token = st.session_state[TOKEN_KEY] = kept.issue()
    return token


def show_token() -> None:
    """Put this session's own token in the address, on every run of every page (a page change drops it), so that
    a refresh finds the work; nothing when the operator turned keeping off."""
    kept = store()
    if kept is None:
        return
    token = own_token(kept)
    if st.query_params.get(TOKEN_PARAM) != token:
        st.query_params[TOKEN_PARAM] = token


def restored_catalog(engines: list[Engine]) -> Catalog | None:
    """A new session's catalog rebuilt from the work kept under the address it was opened with, copied under the
    session's own token first; None when there is none (an unknown, never issued or expired token). What could not
    be restored is shown."""
    kept = store()
    if kept is None:
        return None
    own = own_token(kept)
    data = kept.copy(st.session_state.pop(LINK_KEY, None), own)
    if data is None:
        return None
    catalog = Catalog(SessionLimits.from_environment())
    try:
        problems = open_file(data, catalog, engines)
    except DataError as error:
        st.warning(f"The work kept under this address could not be restored: {error}", icon=":material/history:")
        return None
    st.session_state[SAVED_KEY] = fingerprint(catalog)
    restored = "Restored the work kept under this address" + (f", except: {'; '.join(problems)}." if problems else ".")
    own_copy = " From here on it is your own copy, under a new address: nobody else who opens the old one sees it."
    if problems:
        st.warning(restored + own_copy, icon=":material/history:")
    else:
        st.toast(restored + own_copy, icon=":material/history:")
    return catalog


def fingerprint(catalog: Catalog) -> Any:
    """What the saved workspace depends on: datasets (their data never changes), recipes and runs."""
    recipes = tuple(sorted((i, r.to_json()) for i, r in session_recipes().items()))
    return (tuple((d.id, d.name) for d in catalog), catalog.active_id, recipes, tuple(bench_runs()))


def autosave(catalog: Catalog) -> None:
    """Save the workspace under the session's token when it has changed since the last save."""
    kept = store()
    now = fingerprint(catalog)
    if kept is None or st.session_state.get(SAVED_KEY) == now:
        return
    workspace = workspace_of(catalog)
    kept.save(own_token(kept), to_zip(workspace))
    st.session_state[SAVED_KEY] = now
    st.session_state[LEFT_OUT_KEY] = workspace.left_out


def add_step_for(dataset_id: int, step: Step) -> None:
    """Append a step to a dataset's recipe, wherever the session keeps it (on the Pipeline page or aside)."""
    if st.session_state.get(OWNER_KEY, dataset_id) == dataset_id:
        st.session_state[OWNER_KEY] = dataset_id
        st.session_state[STEPS_KEY] = [*st.session_state.get(STEPS_KEY, []), step]
    else:
        kept = st.session_state.setdefault(RECIPES_KEY, {})
        kept[dataset_id] = [*kept.get(dataset_id, []), step]
