"""The session's work kept across a refresh (on the server, under the session's own token) and as a file.

The pages keep their recipes, results, benchmark runs and choices under the session keys named here (and in
`ui.choices`); this module reads and writes them to save or restore a workspace. A workspace is saved again
whenever what it holds changes.

The token is the session's: kept in the session and put back into the address on every run of every page (a page
change drops it). It is issued to the browser: bound to a secret only that browser holds (the token in Streamlit's
XSRF cookie), so that when the same browser opens the address again (a refresh) its new session goes on under the
same token and finds everything. Opened anywhere else the address is a link: the work kept under it is copied under
a token of the new session's own, and that session never writes under the link's. Two tabs of one browser on one
address part ways at the first save that finds the other's there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import streamlit as st

from pipeline.bench.results import BenchResults
from pipeline.data.catalog import Catalog, SessionLimits
from pipeline.engines import Engine
from pipeline.errors import DataError
from pipeline.steps.runner import SideBySide
from pipeline.steps.spec import Recipe, Step
from pipeline.workspace import Restored, Workspace, capture, from_zip, max_workspace_bytes, restore, to_zip
from pipeline.workspace_results import Comparison, DatasetResults, PipelineOutcome, Training, to_plain
from pipeline.workspace_store import Taken, WorkspaceStore
from ui.choices import choices

STEPS_KEY = "pipeline_steps"  # the steps on the Pipeline page, of the dataset in OWNER_KEY
RECIPES_KEY = "pipeline_recipes"  # the steps of the datasets not active now, by dataset id
OWNER_KEY = "pipeline_owner"  # the dataset the steps on the page belong to
PIPELINE_RESULT_KEY = "pipeline_result"  # each dataset's last run: {dataset id: (recipe JSON, SideBySide)}
TRAINING_KEY = "model_result"  # the last training: (dataset id, FeatureSpec, algorithm key, settings, runs)
COMPARISON_KEY = "model_compare"  # the last leaderboard: ((dataset id, FeatureSpec), rows)
FEATURES_KEY = "model_features_chosen"  # the Models page's features: {(dataset id, target): [column, …]}
RUNS_KEY = "bench_runs"  # the Benchmark page's runs, by name
TOKEN_PARAM = "w"
TOKEN_KEY = "workspace_token"  # this session's own token, issued by the store
LINK_KEY = "workspace_link"  # the token in the address the session was opened with, until its work is copied
RESUME_KEY = "workspace_resume"  # that token, when this browser owns it (a refresh), until its work is loaded
VERSION_KEY = "workspace_version"  # the version of the kept file this session last read or wrote
SAVED_KEY = "workspace_saved"  # what the last save held, so that an unchanged workspace is not written again
LEFT_OUT_KEY = "workspace_left_out"
XSRF_COOKIE = "_streamlit_xsrf"
MIN_SECRET_BYTES = 16


def store() -> WorkspaceStore | None:
    return WorkspaceStore.from_environment()


def xsrf_token(cookie: object) -> bytes | None:
    """The token inside an XSRF cookie as Streamlit (and Tornado) write it: "2|mask|masked token|time", in hex, the
    token XORed with the 4-byte mask repeated; or the token alone in hex (version 1). None for anything else."""
    if not isinstance(cookie, str):
        return None
    try:
        if cookie.startswith("2|") and cookie.count("|") == 3:
            _, mask, masked, _ = cookie.split("|")
            key, hidden = bytes.fromhex(mask), bytes.fromhex(masked)
            token = bytes(b ^ key[i % 4] for i, b in enumerate(hidden)) if len(key) == 4 else b""
        else:
            token = bytes.fromhex(cookie)
    except ValueError:
        return None
    return token if len(token) >= MIN_SECRET_BYTES else None


def browser_secret() -> bytes | None:
    """A secret only this browser holds: the token of Streamlit's XSRF cookie (made by the server once per browser,
    sent with every connection, never part of an address); None without one (XSRF protection off, or AppTest)."""
    return xsrf_token(st.context.cookies.get(XSRF_COOKIE))


def session_recipes() -> dict[int, Recipe]:
    recipes = {i: Recipe(tuple(steps)) for i, steps in st.session_state.get(RECIPES_KEY, {}).items()}
    owner, steps = st.session_state.get(OWNER_KEY), st.session_state.get(STEPS_KEY, [])
    if owner is not None and steps:
        recipes[owner] = Recipe(tuple(steps))
    return recipes


def bench_runs() -> dict[str, BenchResults]:
    return st.session_state.setdefault(RUNS_KEY, {})


def pipeline_results() -> dict[int, tuple[str, SideBySide]]:
    """Each dataset's last pipeline run, with the recipe it ran; only the dataset in view keeps its result frames."""
    return st.session_state.setdefault(PIPELINE_RESULT_KEY, {})


def session_results() -> dict[int, DatasetResults]:
    """The pages' last results, by dataset id."""
    results: dict[int, DatasetResults] = {}

    def of(dataset_id: int) -> DatasetResults:
        return results.setdefault(dataset_id, DatasetResults())

    for dataset_id, (recipe, result) in st.session_state.get(PIPELINE_RESULT_KEY, {}).items():
        of(dataset_id).pipeline = PipelineOutcome(recipe, result)
    if st.session_state.get(TRAINING_KEY):
        dataset_id, spec, algorithm, settings, runs = st.session_state[TRAINING_KEY]
        of(dataset_id).training = Training(spec, algorithm, dict(settings), dict(runs))
    if st.session_state.get(COMPARISON_KEY):
        (dataset_id, spec), rows = st.session_state[COMPARISON_KEY]
        of(dataset_id).comparison = Comparison(spec, list(rows))  # a copy: a running comparison adds rows
    for (dataset_id, target), features in st.session_state.get(FEATURES_KEY, {}).items():
        of(dataset_id).features[target] = list(features)
    return results


def put_back(restored: Restored, runs: dict[str, BenchResults], chosen: dict[str, Any], active_id: int | None) -> None:
    """Recipes, results, runs and choices into the session, the active dataset's steps on the Pipeline page."""
    kept = st.session_state.setdefault(RECIPES_KEY, {})
    kept.update({i: list(r.steps) for i, r in restored.recipes.items() if i != active_id})
    if active_id in restored.recipes:
        st.session_state[STEPS_KEY] = list(restored.recipes[active_id].steps)
        st.session_state[OWNER_KEY] = active_id
    for dataset_id, found in restored.results.items():
        if found.pipeline is not None:
            pipeline_results()[dataset_id] = (found.pipeline.recipe, found.pipeline.result)
        if found.training is not None:
            training = found.training
            st.session_state[TRAINING_KEY] = (
                dataset_id,
                training.spec,
                training.algorithm,
                training.settings,
                training.runs,
            )
        if found.comparison is not None:
            st.session_state[COMPARISON_KEY] = ((dataset_id, found.comparison.spec), found.comparison.rows)
        features = st.session_state.setdefault(FEATURES_KEY, {})
        features.update({(dataset_id, target): names for target, names in found.features.items()})
    bench_runs().update(runs)
    choices().update(chosen)


def captured(catalog: Catalog) -> Callable[[], Workspace]:
    """The workspace of what this session holds now, made when called: the session's parts are taken here, in the
    session's own run, so that a download's callable (run later, outside the session) writes exactly this session."""
    recipes, runs, results, chosen = session_recipes(), dict(bench_runs()), session_results(), dict(choices())

    def make() -> Workspace:
        return capture(catalog, recipes, runs, max_workspace_bytes(), lambda e, f: e.to_pandas(f), results, chosen)

    return make


def workspace_of(catalog: Catalog) -> Workspace:
    return captured(catalog)()


def workspace_file(catalog: Catalog) -> Callable[[], bytes]:
    """The Save button's file: the zip of what this session holds at this run, written on the click."""
    make = captured(catalog)
    return lambda: to_zip(make())


def open_file(data: bytes, catalog: Catalog, engines: list[Engine]) -> list[str]:
    """A workspace file's datasets, recipes, results, runs and choices added to this session; the problems with any
    part of it."""
    workspace = from_zip(data, max_workspace_bytes())
    restored = restore(workspace, catalog, engines)
    put_back(restored, workspace.bench_runs, workspace.choices, catalog.active_id)
    return restored.problems


def own_token(kept: WorkspaceStore) -> str:
    """This session's token. On its first run, the token in the address is this browser's own (a refresh: the
    session goes on under it) or a link (kept aside, to copy the work from, under a new token issued to this
    browser); a token the store no longer knows is replaced."""
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        given = st.query_params.get(TOKEN_PARAM)
        if kept.owns(browser_secret(), given):
            token = st.session_state[RESUME_KEY] = given
        else:
            st.session_state[LINK_KEY] = given
    if not kept.issued(token):
        token = kept.issue(browser_secret())
    st.session_state[TOKEN_KEY] = token
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
    """A new session's catalog rebuilt from the work kept under the address it was opened with: this browser's own
    (after a refresh, loaded as it is) or a link's (copied under the session's own token first); None when there is
    none (an unknown, never issued or expired token). What could not be restored is shown."""
    kept = store()
    if kept is None:
        return None
    own = own_token(kept)
    resumed = st.session_state.pop(RESUME_KEY, None) == own
    if resumed:
        data, version = kept.load(own) or (None, None)
    else:
        data = kept.copy(st.session_state.pop(LINK_KEY, None), own)
        version = kept.version(own)
    if data is None:
        return None
    st.session_state[VERSION_KEY] = version
    catalog = Catalog(SessionLimits.from_environment())
    try:
        problems = open_file(data, catalog, engines)
    except DataError as error:
        st.warning(f"The work kept under this address could not be restored: {error}", icon=":material/history:")
        return None
    st.session_state[SAVED_KEY] = fingerprint(catalog)
    restored = "Restored the work kept under this address" + (f", except: {'; '.join(problems)}." if problems else ".")
    own_copy = (
        ""
        if resumed
        else " From here on it is your own copy, under a new address: nobody else who opens the old one sees it."
    )
    if problems:
        st.warning(restored + own_copy, icon=":material/history:")
    else:
        st.toast(restored + own_copy, icon=":material/history:")
    return catalog


def fingerprint(catalog: Catalog) -> Any:
    """What the saved workspace depends on: datasets (their data never changes), recipes, results, runs, choices."""
    recipes = tuple(sorted((i, r.to_json()) for i, r in session_recipes().items()))
    results = {i: to_plain(r, lambda _array: 0) for i, r in session_results().items()}  # times change with each run
    plain = json.dumps([results, choices()], sort_keys=True, default=str)
    return (tuple((d.id, d.name) for d in catalog), catalog.active_id, recipes, tuple(bench_runs()), plain)


def autosave(catalog: Catalog) -> None:
    """Save the workspace under the session's token when it has changed since the last save; where another tab of
    this browser saved under the token meanwhile, this session goes on under a new token of its own."""
    kept = store()
    now = fingerprint(catalog)
    if kept is None or st.session_state.get(SAVED_KEY) == now:
        return
    workspace = workspace_of(catalog)
    data = to_zip(workspace)
    try:
        version = kept.save(own_token(kept), data, over=st.session_state.get(VERSION_KEY))
    except Taken:
        token = st.session_state[TOKEN_KEY] = kept.issue(browser_secret())
        version = kept.save(token, data, over=None)
        st.query_params[TOKEN_PARAM] = token
        st.toast(
            "Another tab open at this address changed the work kept under it: this tab goes on under an address of "
            "its own.",
            icon=":material/tab:",
        )
    if version is not None:  # None: refused (over the space all workspaces may take), the kept file unchanged
        st.session_state[VERSION_KEY] = version
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
