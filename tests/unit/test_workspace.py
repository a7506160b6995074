"""A session's work saved as a zip (Parquet and JSON, never pickle), read back checked, and kept across a refresh."""

from __future__ import annotations

import io
import json
import logging
import multiprocessing
import os
import re
import resource
import signal
import stat
import tempfile
import time
import zipfile

import numpy as np
import pytest

from pipeline.bench.harness import BenchSettings, run_bench
from pipeline.data.catalog import Catalog
from pipeline.data.io import Source
from pipeline.data.loading import load_bundled, load_file
from pipeline.engines import CPU, get_engine
from pipeline.errors import DataError
from pipeline.models.algorithms import CLASSIFICATION
from pipeline.models.algorithms import algorithm as algorithm_named
from pipeline.models.features import FeatureSpec
from pipeline.models.training import compare_rows, train_everywhere
from pipeline.parity import compare_frames
from pipeline.steps.runner import run_side_by_side
from pipeline.steps.spec import Recipe, Step
from pipeline.tables.decode import ReadOptions
from pipeline.workspace import array_parquet, capture, from_zip, parquet_array, restore, to_zip
from pipeline.workspace_results import Comparison, DatasetResults, PipelineOutcome, Training
from pipeline.workspace_store import Taken, WorkspaceStore
from ui.workspace import xsrf_token

LIMIT = 64 * 2**20


def to_host(engine, frame):
    return engine.to_pandas(frame)


@pytest.fixture
def session():
    cpu = get_engine(CPU)
    catalog = Catalog()
    iris = load_bundled(catalog, "iris", [cpu])
    csv = b"city,when,amount\nOslo,2024-01-31,1.5\nLima,,2.25\nOslo,2024-03-01,\n"
    sales = load_file(catalog, Source.from_bytes("sales.csv", csv), [cpu])
    catalog.set_active(iris.id)
    recipe = Recipe((Step("drop", {"columns": ["target"]}),))
    return catalog, {iris.id: recipe}, sales.id


def test_a_workspace_round_trips_datasets_recipes_runs_and_the_active_one(session):
    catalog, recipes, _ = session
    runs = {"mine": run_bench(BenchSettings(("groupby",), (CPU,), (1_000,), repeats=1))}
    data = to_zip(capture(catalog, recipes, runs, LIMIT, to_host))
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["workspace.json", "datasets/0.parquet", "datasets/1.parquet"], "Parquet and JSON only"

    fresh = Catalog()
    restored = restore(from_zip(data, LIMIT), fresh, [get_engine(CPU)])
    assert not restored.problems
    assert [d.name for d in fresh] == ["iris", "sales"] and fresh.active.name == "iris"
    for before, after in zip(catalog, fresh, strict=True):
        parity = compare_frames(before.primary.frame, after.primary.frame)
        assert parity.ok, parity.mismatches
        assert after.source == before.source
    assert restored.recipes[fresh.active.id] == recipes[catalog.active.id]
    assert str(next(d for d in fresh if d.name == "sales").primary.frame["when"].dtype).startswith("datetime64")
    assert list(from_zip(data, LIMIT).bench_runs) == ["mine"]


def test_a_dataset_past_the_limit_is_left_out_and_named(session):
    catalog, recipes, _ = session
    workspace = capture(catalog, recipes, {}, 1, to_host)
    assert workspace.datasets == [] and len(workspace.left_out) == 2
    assert "would pass its limit" in workspace.left_out[0]


def zipped(members: dict[str, bytes]) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return sink.getvalue()


MANIFEST = json.dumps({"version": 1, "datasets": [], "bench_runs": {}}).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a zip", "not a workspace file"),
        (zipped({"workspace.json": MANIFEST, "../escape.txt": b"x"}), "datasets/N.parquet and arrays/N.parquet only"),
        (zipped({"workspace.json": MANIFEST, "run.pkl": b"x"}), "datasets/N.parquet and arrays/N.parquet only"),
        (zipped({"datasets/0.parquet": b"x"}), "datasets/N.parquet and arrays/N.parquet only"),
        (zipped({"workspace.json": b"{" * 5000}), "workspace.json"),
        (zipped({"workspace.json": json.dumps({"version": 9}).encode()}), "version 9"),
        (
            zipped(
                {
                    "workspace.json": json.dumps(
                        {"version": 1, "datasets": [{"name": "x", "member": "datasets/0.parquet"}]}
                    ).encode()
                }
            ),
            "does not hold",
        ),
        (zipped({"workspace.json": MANIFEST, "datasets/0.parquet": b"\0" * (2 * 2**20)}), "over the limit of 1 MB"),
    ],
    ids=["junk", "path", "pickle", "no-manifest", "deep-json", "version", "missing-member", "too-large"],
)
def test_a_bad_workspace_file_is_refused_with_the_reason(data, message):
    with pytest.raises(DataError, match=message):
        from_zip(data, 2**20)


def test_a_damaged_parquet_member_is_named_and_the_others_restored(session):
    catalog, recipes, _ = session
    workspace = from_zip(to_zip(capture(catalog, recipes, {}, LIMIT, to_host)), LIMIT)
    workspace.datasets[1].parquet = workspace.datasets[1].parquet[:200]
    fresh = Catalog()
    restored = restore(workspace, fresh, [get_engine(CPU)])
    assert [d.name for d in fresh] == ["iris"]
    assert restored.problems and restored.problems[0].startswith("sales:")


def test_what_the_workspace_could_not_keep_is_named_when_it_is_restored(session):
    """A refresh after reading files on a Dask cluster said only "Restored the work kept under this address": the
    dataset that lived on the cluster was gone without a word."""
    catalog, recipes, _ = session
    captured = capture(catalog, recipes, {}, LIMIT, to_host)
    captured.left_out.append("orders: it lives on the Dask cluster; its files stay where they are.")
    fresh = Catalog()
    restored = restore(from_zip(to_zip(captured), LIMIT), fresh, [get_engine(CPU)])
    assert [d.name for d in fresh] == ["iris", "sales"]
    assert restored.problems == ["orders: it lives on the Dask cluster; its files stay where they are."]


def store_in(folder, keep_s: float = 3600, total_bytes: int = 1000) -> WorkspaceStore:
    return WorkspaceStore.open(folder, keep_s=keep_s, total_bytes=total_bytes)


def kept(store: WorkspaceStore, token: str) -> bytes | None:
    """What `token` holds, read the one way the store reads: as a copy under a new token."""
    return store.copy(token, store.issue())


def test_the_store_keeps_a_workspace_under_a_token_it_issued_until_it_expires(tmp_path):
    store = store_in(tmp_path / "w", keep_s=60)
    token = store.issue()
    assert len(token) == 48 and store.issued(token) and store.save(token, b"abc") and kept(store, token) == b"abc"
    assert kept(store, store.issue()) is None, "issued, nothing kept under it"
    old = store.folder / f"{token}.workspace.zip"
    os.utime(old, (time.time() - 120, time.time() - 120))
    assert kept(store, token) is None and not old.exists(), "expired: gone"


def test_only_a_whole_token_the_store_issued_names_a_file(tmp_path):
    store = store_in(tmp_path / "w")
    token = store.issue()
    assert store.save(token, b"abc")
    other = store_in(tmp_path / "other").issue()  # issued by another folder's secret
    made_up = "attackerChoseThisToken0123456789" + "x" * 16  # the right letters and length, never issued
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (other, made_up, forged, token + "\n", "A" * 32 + "\n", "../../etc/passwd", token[:47], "", None):
        assert not store.issued(bad) and not store.save(bad, b"x") and store.copy(bad, store.issue()) is None, bad
    assert sorted(p.name for p in store.folder.glob("*.workspace.zip")) == [f"{token}.workspace.zip"]


def test_a_token_with_characters_added_names_nothing_and_raises_nothing(tmp_path):
    store = store_in(tmp_path / "w")
    token = store.issue()
    assert store.save(token, b"abc")
    for longer in (token + "A", token + "AA", token + "AAA", token + "AAAA", token + token):  # an address edited
        assert not store.issued(longer) and not store.owns(b"browser", longer), len(longer)
        assert store.save(longer, b"x") is None and store.load(longer) is None
        assert store.copy(longer, store.issue()) is None and store.copy(token, longer) is None
    assert store.load(token)[0] == b"abc"


def test_a_workspace_is_kept_the_hours_the_operator_set_then_dropped(tmp_path, monkeypatch):
    monkeypatch.setenv("GPL_WORKSPACE_DIR", str(tmp_path / "kept"))
    monkeypatch.setenv("GPL_WORKSPACE_HOURS", "2")
    store = WorkspaceStore.from_environment()
    token = store.issue()
    assert store.save(token, b"abc")
    path = store.folder / f"{token}.workspace.zip"
    saved = time.time() - (2 * 3600 - 60)  # saved a minute short of two hours ago
    os.utime(path, (saved, saved))
    assert store.load(token)[0] == b"abc"
    saved = time.time() - (2 * 3600 + 60)  # a minute past them
    os.utime(path, (saved, saved))
    assert store.load(token) is None and not path.exists()


def test_a_workspace_of_exactly_the_space_is_kept_and_one_byte_more_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("GPL_WORKSPACE_DIR", str(tmp_path / "kept"))
    monkeypatch.setenv("GPL_WORKSPACE_TOTAL_MB", "1")
    store = WorkspaceStore.from_environment()
    token, other = store.issue(), store.issue()
    assert store.save(token, b"x" * 2**20) is not None and store.load(token)[0] == b"x" * 2**20
    assert store.save(other, b"y" * (2**20 + 1)) is None and store.load(other) is None
    assert store.load(token)[0] == b"x" * 2**20, "the one refused dropped nothing"
    halves = [store.issue(), store.issue()]
    for half in halves:
        assert store.save(half, b"z" * 2**19)
    assert [store.load(half)[0] for half in halves] == [b"z" * 2**19] * 2, "two halves fill the space and fit"


def test_a_copy_parts_ways_with_its_original_at_the_first_save(tmp_path):
    store = store_in(tmp_path, total_bytes=250)
    first, second = store.issue(), store.issue()
    assert store.save(first, b"a" * 100) and store.copy(first, second) == b"a" * 100
    assert store.save(second, b"b" * 100)
    assert kept(store, first) == b"a" * 100 and kept(store, second) == b"b" * 100
    third = store.issue()
    assert store.copy(first, third) == b"a" * 100 and store.save(store.issue(), b"c" * 100)
    assert kept(store, second) == b"b" * 100, "a copy not yet changed takes no room of its own"


def test_the_store_drops_the_oldest_workspaces_past_its_space(tmp_path):
    store = store_in(tmp_path, total_bytes=250)
    tokens = [store.issue() for _ in range(3)]
    for age, token in zip((30, 20, 10), tokens, strict=True):
        assert store.save(token, b"x" * 100)
        path = tmp_path / f"{token}.workspace.zip"
        os.utime(path, (time.time() - age, time.time() - age))
    store.save(tokens[2], b"y" * 100)
    assert kept(store, tokens[0]) is None and kept(store, tokens[1]) == b"x" * 100
    assert not store.save(store.issue(), b"z" * 251), "one workspace larger than all the space"


def taken(folder) -> int:
    """Bytes the workspaces and files being written take in `folder` now (hard links once)."""
    sizes = {}
    for entry in os.scandir(folder):
        if entry.name.endswith((".workspace.zip", ".partial")):
            try:
                info = entry.stat()
            except FileNotFoundError:
                continue
            sizes[info.st_ino] = info.st_size
    return sum(sizes.values())


def save_three_times(folder, barrier) -> None:
    store = store_in(folder, total_bytes=2**20)
    token = store.issue()
    barrier.wait()
    for _ in range(3):
        assert store.save(token, os.urandom(300_000))


def test_saves_at_once_from_several_processes_stay_within_the_space(tmp_path):
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(9)
    store_in(tmp_path, total_bytes=2**20)  # the folder and its secret, before the processes race for them
    savers = [context.Process(target=save_three_times, args=(tmp_path, barrier)) for _ in range(8)]
    for saver in savers:
        saver.start()
    barrier.wait()
    peak = 0
    while any(saver.is_alive() for saver in savers):
        peak = max(peak, taken(tmp_path))
    for saver in savers:
        saver.join()
    assert [saver.exitcode for saver in savers] == [0] * 8
    assert peak <= 2**20 and taken(tmp_path) <= 2**20, f"{peak:,} bytes at the most"


def test_files_left_half_written_are_removed(tmp_path):
    store = store_in(tmp_path)
    leftover, fresh = tmp_path / "crashed.partial", tmp_path / "being-written.partial"
    leftover.write_bytes(b"x" * 10)
    fresh.write_bytes(b"y" * 10)
    os.utime(leftover, (time.time() - 120, time.time() - 120))
    assert store.save(store.issue(), b"abc")
    assert not leftover.exists(), "left by a crash over a minute ago"
    assert fresh.exists(), "maybe still being written by another server process"
    assert [p.name for p in tmp_path.glob("*.partial")] == ["being-written.partial"], "the save left none"


def test_the_folder_and_every_file_in_it_are_the_server_user_s_alone(tmp_path):
    store = store_in(tmp_path / "new" / "kept")
    token = store.issue()
    assert store.save(token, b"abc") and store.copy(token, store.issue()) == b"abc"
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in store.folder.iterdir()}
    assert set(modes.values()) == {0o600} and len(modes) == 4, modes  # secret, lock, the workspace and its copy

    for mode in (0o755, 0o701):  # readable by others; others may open a file they can name
        loose = tmp_path / f"loose-{mode:o}"
        loose.mkdir()
        loose.chmod(mode)
        store_in(loose)
        assert stat.S_IMODE(loose.stat().st_mode) == 0o700, f"an existing folder of mode {mode:o} is tightened"


def test_a_folder_of_another_user_is_refused_with_the_reason(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("GPL_WORKSPACE_DIR", str(tmp_path))
    monkeypatch.setattr(os, "geteuid", lambda: tmp_path.stat().st_uid + 1)  # the server runs as someone else
    assert WorkspaceStore.from_environment() is None
    owner = tmp_path.stat().st_uid
    assert caplog.record_tuples == [
        (
            "pipeline.workspace_store",
            logging.ERROR,
            f"Workspaces are not kept across a refresh: the workspace folder {tmp_path} belongs to user {owner}, not "
            f"to this server's user {owner + 1}: set GPL_WORKSPACE_DIR to a folder of the server's own",
        )
    ]


def test_the_operator_can_turn_keeping_off_and_the_folder_is_the_server_s_own(tmp_path, monkeypatch):
    monkeypatch.setenv("GPL_WORKSPACE_DIR", str(tmp_path / "kept"))
    monkeypatch.setenv("GPL_WORKSPACE_OFF", "1")
    assert WorkspaceStore.from_environment() is None
    monkeypatch.delenv("GPL_WORKSPACE_OFF")
    store = WorkspaceStore.from_environment()
    assert store.save(store.issue(), b"x")
    assert (tmp_path / "kept").stat().st_mode & 0o077 == 0, "no other user of the machine can read it"


def test_each_dataset_is_encoded_once_however_often_the_workspace_is_saved(session):
    catalog, recipes, _ = session
    calls = []

    def counted(engine, frame):
        calls.append(1)
        return engine.to_pandas(frame)

    first = to_zip(capture(catalog, recipes, {}, LIMIT, counted))
    recipes[catalog.active.id] = Recipe((Step("sort", {"columns": ["target"]}),))  # the recipe changes
    second = to_zip(capture(catalog, recipes, {}, LIMIT, counted))
    assert len(calls) == 2, "two datasets, each encoded once"
    assert first != second and from_zip(second, LIMIT).datasets[0].recipe.steps[0].kind == "sort"


def pipeline_run_on(dataset, steps):
    cpu = get_engine(CPU)
    return run_side_by_side(steps, {CPU: dataset.primary.frame}, {CPU: cpu})


def training_on(dataset, target="target"):
    spec = FeatureSpec(CLASSIFICATION, tuple(c for c in dataset.primary.frame.columns if c != target), target)
    algorithm = algorithm_named("logistic_regression")
    runs = train_everywhere({CPU: (get_engine(CPU), dataset.primary.frame)}, spec, algorithm, {"C": 0.5})
    return Training(spec, algorithm.key, {"C": 0.5}, runs)


@pytest.fixture
def results(session):
    """The iris dataset of `session` with a pipeline run, a training, a leaderboard and chosen features on it."""
    catalog, recipes, _ = session
    iris = catalog.active
    steps = list(recipes[iris.id].steps)
    training = training_on(iris)
    rows = list(compare_rows({CPU: (get_engine(CPU), iris.primary.frame)}, training.spec))
    found = DatasetResults(
        pipeline=PipelineOutcome(Recipe(tuple(steps)).to_json(), pipeline_run_on(iris, steps)),
        training=training,
        comparison=Comparison(training.spec, rows),
        features={"target": ["sepal length (cm)"], None: ["petal width (cm)"]},
    )
    return {iris.id: found}


def test_the_pages_results_and_choices_round_trip_as_json_and_parquet(session, results):
    catalog, recipes, _ = session
    choices = {"model_task": "classification", "model_algorithm_classification": "logistic_regression", "n": 0.3}
    data = to_zip(capture(catalog, recipes, {}, LIMIT, to_host, results, choices))
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names[:3] == ["workspace.json", "datasets/0.parquet", "datasets/1.parquet"]
    assert names[3:] and all(re.fullmatch(r"arrays/\d+\.parquet", name) for name in names[3:]), names

    workspace = from_zip(data, LIMIT)
    fresh = Catalog()
    restored = restore(workspace, fresh, [get_engine(CPU)])
    assert not restored.problems and workspace.choices == choices
    before, after = next(iter(results.values())), restored.results[fresh.active.id]
    assert after.pipeline.recipe == before.pipeline.recipe
    for old, new in zip(before.pipeline.result.runs.values(), after.pipeline.result.runs.values(), strict=True):
        assert new.steps == old.steps and new.engine is old.engine and new.ok and new.frame is None
    assert after.pipeline.result.parity == before.pipeline.result.parity
    assert (after.training.spec, after.training.algorithm, after.training.settings) == (
        before.training.spec,
        before.training.algorithm,
        before.training.settings,
    )
    old, new = before.training.runs[CPU], after.training.runs[CPU]
    for name in ("predictions", "scores", "y_test", "importances"):
        assert np.array_equal(getattr(new, name), getattr(old, name)), name
    assert (new.metrics, new.seconds, new.classes, new.settings) == (
        old.metrics,
        old.seconds,
        old.classes,
        old.settings,
    )
    assert after.comparison.spec == before.comparison.spec
    assert [row["algorithm"] for row in after.comparison.rows] == [row["algorithm"] for row in before.comparison.rows]
    assert after.features == before.features


def test_results_past_the_workspace_s_limit_are_left_out_and_named(session, results):
    catalog, recipes, _ = session
    datasets_only = capture(catalog, recipes, {}, LIMIT, to_host).nbytes
    workspace = capture(catalog, recipes, {}, datasets_only + 100, to_host, results)
    assert len(workspace.datasets) == 2 and not workspace.arrays and not workspace.datasets[0].results
    assert workspace.left_out == ["iris: its last results would pass the workspace's limit of 0 MB."]


def manifest_edited(data: bytes, change) -> bytes:
    """The workspace file `data` with its manifest changed by `change(manifest, members)` (a visitor's own edit)."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["workspace.json"])
    change(manifest, members)
    members["workspace.json"] = json.dumps(manifest).encode()
    return zipped(members)


def edited(data: bytes, change) -> bytes:
    """The workspace file `data` with its first dataset's results changed by `change(results, members)`."""
    return manifest_edited(data, lambda manifest, members: change(manifest["datasets"][0]["results"], members))


def set_dataset_field(number: int, field: str, value):
    """A manifest edit that sets one field of the `number`th dataset."""
    return lambda manifest, _members: manifest["datasets"][number].__setitem__(field, value)


def swap_array(number: int, array):
    def change(_results, members):
        members[f"arrays/{number}.parquet"] = array_parquet(array)

    return change


def set_in(path: tuple, value):
    def change(results, _members):
        target = results
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (set_in(("training", "runs", "cpu", "classes"), ["only one"]), "a class code names no class"),
        (set_in(("training", "algorithm"), "rm -rf"), "Unknown algorithm"),
        (set_in(("training", "settings"), {"C": "1; import os"}), "must be a number"),
        (set_in(("training", "spec", "task"), "hacking"), "the task should be one of"),
        (set_in(("training", "runs", "cpu", "arrays"), {"model": 0}), "a training's arrays are"),
        (set_in(("training", "runs", "cpu", "arrays", "scores"), 999), "does not hold"),
        (set_in(("pipeline", "runs", "cpu", 0, "rows"), "many"), "a step's rows should be a"),
        (set_in(("pipeline", "runs", "cpu", 0, "step"), {"kind": "exec", "params": {}}), "exec"),
        (set_in(("comparison", "rows"), [{"algorithm": {"nested": []}}]), "should be a number or a text"),
        (swap_array(0, np.array([0.5, 1.5])), "one row per scored row"),
    ],
    ids=["codes", "algorithm", "setting", "task", "array-name", "array-number", "rows", "step", "row", "shape"],
)
def test_results_a_visitor_edited_are_refused_with_the_reason_and_the_dataset_kept(session, results, change, message):
    catalog, recipes, _ = session
    data = edited(to_zip(capture(catalog, recipes, {}, LIMIT, to_host, results)), change)
    fresh = Catalog()
    restored = restore(from_zip(data, LIMIT), fresh, [get_engine(CPU)])
    assert [d.name for d in fresh] == ["iris", "sales"] and not restored.results
    assert len(restored.problems) == 1 and restored.problems[0].startswith("iris: its last results could not be")
    assert re.search(message, restored.problems[0]), restored.problems[0]


def test_a_run_on_an_engine_this_server_lacks_is_left_out_and_named(session, results):
    catalog, recipes, _ = session

    def elsewhere(plain, _members):
        plain["training"]["runs"]["dask-gpu"] = plain["training"]["runs"]["cpu"]

    data = edited(to_zip(capture(catalog, recipes, {}, LIMIT, to_host, results)), elsewhere)
    fresh = Catalog()
    restored = restore(from_zip(data, LIMIT), fresh, [get_engine(CPU)])
    assert list(restored.results[fresh.active.id].training.runs) == [CPU]
    assert restored.problems == [
        "iris: The last training of Logistic regression on dask-gpu is left out: that engine does not hold the "
        "dataset now"
    ]


def test_arrays_are_read_through_the_sandboxed_reader_and_must_be_numbers():
    assert np.array_equal(parquet_array(array_parquet(np.arange(6).reshape(3, 2)), "a"), np.arange(6).reshape(3, 2))
    assert np.array_equal(parquet_array(array_parquet(np.array([1.5, 2.5])), "a"), [1.5, 2.5])
    with pytest.raises(DataError, match="should hold numbers only"):
        parquet_array(array_parquet(np.array(["a", "b"], dtype=object)), "arrays/0.parquet")
    with pytest.raises(DataError):
        parquet_array(b"PAR1 not really", "arrays/0.parquet")


def test_a_version_1_workspace_still_opens(session):
    catalog, recipes, _ = session
    archive = zipfile.ZipFile(io.BytesIO(to_zip(capture(catalog, recipes, {}, LIMIT, to_host))))
    members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["workspace.json"])
    manifest["version"] = 1
    for entry in manifest["datasets"]:
        del entry["results"], entry["notes"]
        if entry["read_from"]:
            del entry["read_from"]["numbers"]
    del manifest["choices"]
    members["workspace.json"] = json.dumps(manifest).encode()
    fresh = Catalog()
    restored = restore(from_zip(zipped(members), LIMIT), fresh, [get_engine(CPU)])
    assert [d.name for d in fresh] == ["iris", "sales"] and not restored.problems and not restored.results
    assert {d.name: d for d in fresh}["sales"].read_from.dates == ("when",)


OWNER, STRANGER = b"o" * 16, b"s" * 16


def test_a_token_is_owned_by_the_browser_it_was_issued_to_and_by_no_other(tmp_path):
    store = store_in(tmp_path)
    mine = store.issue(OWNER)
    assert len(mine) == 48 and store.issued(mine) and store.owns(OWNER, mine)
    assert not store.owns(STRANGER, mine) and not store.owns(None, mine) and not store.owns(b"", mine)
    nobodys = store.issue()
    assert store.issued(nobodys) and not any(store.owns(owner, nobodys) for owner in (OWNER, STRANGER, None))
    other_folder = store_in(tmp_path / "other").issue(OWNER)
    assert not store.owns(OWNER, other_folder), "issued under another secret"
    assert not store.owns(OWNER, mine + "\n") and not store.owns(OWNER, mine[:-1] + "A")


def test_the_owner_loads_its_workspace_as_it_is_and_a_save_over_another_tab_s_is_refused(tmp_path):
    store = store_in(tmp_path)
    token = store.issue(OWNER)
    assert store.load(token) is None and store.version(token) is None
    assert store.version("../../etc/passwd") is None and store.version(None) is None, "not issued: no version"
    first = store.save(token, b"first", over=None)
    assert store.load(token) == (b"first", first) and store.version(token) == first
    second = store.save(token, b"second", over=first)  # the tab that read `first` saves
    assert second != first and store.load(token) == (b"second", second)
    with pytest.raises(Taken) as refused:
        store.save(token, b"stale", over=first)  # another tab that also read `first`
    assert refused.value.args == (token,), "it names the token refused"
    assert store.load(token) == (b"second", second), "nothing was written"
    assert store.load(store.issue(STRANGER)) is None and store.load("../../etc/passwd") is None
    os.utime(tmp_path / f"{token}.workspace.zip", (time.time() - 7200, time.time() - 7200))
    assert store.load(token) is None, "expired"


def test_the_browser_secret_is_the_token_inside_streamlit_s_xsrf_cookie():
    from streamlit.web.server.starlette.starlette_app_utils import generate_xsrf_token_string

    secret = os.urandom(16)
    one, two = generate_xsrf_token_string(secret), generate_xsrf_token_string(secret)
    assert one != two, "each response masks the token afresh"
    assert xsrf_token(one) == xsrf_token(two) == secret
    assert xsrf_token(secret.hex()) == secret, "version 1: the token in hex"
    for bad in (None, "", "2|zz|00|1", "2|0000|" + "00" * 16 + "|1", "00" * 8, 42):
        assert xsrf_token(bad) is None, bad


def test_an_array_named_twice_is_read_once_and_arrays_stay_within_the_work_budget(session, results, monkeypatch):
    catalog, recipes, _ = session
    data = to_zip(capture(catalog, recipes, {}, LIMIT, to_host, results))
    twice = edited(data, set_in(("training", "runs", "cpu", "arrays", "scores"), 0))  # 0 is the predictions
    restored = restore(from_zip(twice, LIMIT), Catalog(), [get_engine(CPU)])
    assert not restored.results and "arrays/0.parquet more than once" in restored.problems[0]

    monkeypatch.setenv("GPL_MAX_LOAD_MB", "1")
    large = edited(data, swap_array(0, np.zeros(400_000)))  # 3.2 MB of predictions in a small file
    restored = restore(from_zip(large, LIMIT), Catalog(), [get_engine(CPU)])
    assert not restored.results and "this server allows one load or step" in restored.problems[0], restored.problems


def test_how_each_file_was_read_round_trips_so_a_restored_dataset_exports_the_same_reader(session):
    catalog, recipes, sales_id = session
    csv = "ville;quand;montant\nNîmes;2024-01-31;1,5\n".encode("latin-1")
    french = load_file(
        catalog, Source.from_bytes("ventes.csv", csv), [get_engine(CPU)], ReadOptions(encoding="latin-1")
    )
    data = to_zip(capture(catalog, recipes, {}, LIMIT, to_host))

    fresh = Catalog()
    restore(from_zip(data, LIMIT), fresh, [get_engine(CPU)])
    by_name = {d.name: d for d in fresh}
    assert by_name["ventes"].read_from == french.read_from
    assert by_name["ventes"].read_from.delimiter == ";" and by_name["ventes"].read_from.encoding == "latin-1"
    assert by_name["ventes"].read_from.numbers == (("montant", ",", "."),)
    assert by_name["sales"].read_from == catalog.get(sales_id).read_from
    assert by_name["sales"].read_from.dates == ("when",)
    assert by_name["iris"].read_from is None  # bundled: not read from a file, so its script reads Parquet


READ = {"format": "CSV", "compression": None, "delimiter": ";", "encoding": "utf-8", "dates": []}


@pytest.mark.parametrize(
    "read_from",
    [
        {"format": "CSV", "compression": None, "delimiter": ",", "encoding": "utf-8'); import os; ('", "dates": []},
        {"format": "pickle", "compression": None, "delimiter": ",", "encoding": "utf-8", "dates": []},
        {"format": "CSV", "compression": "rot13", "delimiter": ",", "encoding": "utf-8", "dates": []},
        {"format": "CSV", "compression": None, "delimiter": ",,", "encoding": "utf-8", "dates": []},
        {"format": "CSV", "compression": None, "delimiter": "\n", "encoding": "utf-8", "dates": []},
        {"format": "CSV", "compression": None, "delimiter": ",", "encoding": "utf-8", "dates": [1]},
        {"format": "CSV", "compression": None, "delimiter": ",", "encoding": "utf-8", "dates": [], "code": "x"},
        {**READ, "numbers": [["x", ",", "."], ["y", "'); import os; ('", ""]]},
        {**READ, "numbers": [["x", ",", ","]]},
        {**READ, "numbers": [[1, ",", "."]]},
        {**READ, "numbers": [["x", ","]]},
        {**READ, "numbers": "x"},
    ],
    ids=[
        *("encoding", "format", "compression", "delimiter", "newline", "dates", "extra-key"),
        *("number-mark", "same-marks", "number-column", "number-parts", "numbers"),
    ],
)
def test_how_a_file_was_read_is_refused_unless_it_is_one_this_app_writes(session, read_from):
    catalog, recipes, _ = session
    data = to_zip(capture(catalog, recipes, {}, LIMIT, to_host))
    with pytest.raises(DataError, match="was read is not one this app writes"):
        from_zip(manifest_edited(data, set_dataset_field(1, "read_from", read_from)), LIMIT)


def test_the_load_notes_of_each_dataset_round_trip(session):
    catalog, recipes, _ = session
    csv = "ville;montant\nNîmes;1.234,5\nAlès;2,5\n".encode("latin-1")
    french = load_file(
        catalog, Source.from_bytes("ventes.csv", csv), [get_engine(CPU)], ReadOptions(encoding="latin-1")
    )
    assert "CSV delimiter ';', encoding latin-1." in french.notes
    assert any("'montant' holds numbers written like '1.234,5'" in note for note in french.notes)
    data = to_zip(capture(catalog, recipes, {}, LIMIT, to_host))

    fresh = Catalog()
    restore(from_zip(data, LIMIT), fresh, [get_engine(CPU)])
    assert [d.notes for d in fresh] == [d.notes for d in catalog]


@pytest.mark.parametrize(
    "notes", ["a note", [1], ["x" * 2_001], ["a note"] * 201], ids=["text", "number", "long", "many"]
)
def test_notes_a_visitor_edited_are_refused_with_the_reason(session, notes):
    catalog, recipes, _ = session
    data = to_zip(capture(catalog, recipes, {}, LIMIT, to_host))
    with pytest.raises(DataError, match="the notes of 'sales' should be at most 200 texts"):
        from_zip(manifest_edited(data, set_dataset_field(1, "notes", notes)), LIMIT)


def test_by_default_workspaces_are_kept_a_day_within_4_gib_in_the_system_s_temporary_folder(tmp_path, monkeypatch):
    for name in ("GPL_WORKSPACE_DIR", "GPL_WORKSPACE_OFF", "GPL_WORKSPACE_HOURS", "GPL_WORKSPACE_TOTAL_MB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the system's temporary folder
    store = WorkspaceStore.from_environment()
    assert store.folder == tmp_path / "gpu-pipeline-lab-workspaces"
    assert (store.keep_s, store.total_bytes) == (24 * 3600, 4096 * 2**20)
    monkeypatch.setenv("GPL_WORKSPACE_HOURS", "2")
    monkeypatch.setenv("GPL_WORKSPACE_TOTAL_MB", "3")
    store = WorkspaceStore.from_environment()
    assert (store.keep_s, store.total_bytes) == (2 * 3600, 3 * 2**20)


def test_a_damaged_secret_is_named_with_what_to_do(tmp_path):
    store_in(tmp_path)
    (tmp_path / "secret.key").write_bytes(b"short")
    with pytest.raises(OSError) as refused:
        store_in(tmp_path)
    assert str(refused.value) == (
        f"{tmp_path / 'secret.key'} is damaged (it should hold 32 bytes): delete it to make a new one"
    )


ISSUED_BEFORE = "95AKAuEUnM8l8KFTJ_LJq707jobLbl7_tv1WJrl0FGyoJoEx"  # issued to OWNER under the secret b"k" * 32


def test_an_address_issued_before_a_restart_or_an_upgrade_still_names_its_workspace_and_browser(tmp_path):
    """A token depends on the folder's secret alone: the server that issued it may have been restarted or upgraded."""
    (tmp_path / "secret.key").write_bytes(b"k" * 32)
    store = store_in(tmp_path)
    assert store.issued(ISSUED_BEFORE) and store.owns(OWNER, ISSUED_BEFORE) and not store.owns(STRANGER, ISSUED_BEFORE)


def test_the_store_writes_only_in_its_own_folder_whatever_the_system_s_temporary_one(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))  # the system's temporary folder unusable
    store = store_in(tmp_path / "kept")
    token = store.issue()
    assert store.save(token, b"abc") and store.load(token)[0] == b"abc"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]


def write_past_a_file_size_limit(folder, token: str, killed: bool) -> None:
    """Open the store in `folder` and save 1,000 bytes under `token` where a file may hold 16: the write fails
    (EFBIG), or, with SIGXFSZ's default action, the process dies part-way through it as in a crash."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))
    if killed:
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    store_in(folder).save(token, b"x" * 1000)


def run_apart(folder, token: str, killed: bool) -> int:
    process = multiprocessing.get_context("fork").Process(
        target=write_past_a_file_size_limit, args=(folder, token, killed)
    )
    process.start()
    process.join()
    return process.exitcode


def test_a_save_that_fails_part_way_leaves_nothing_behind(tmp_path):
    store = store_in(tmp_path)
    token = store.issue()
    assert run_apart(tmp_path, token, killed=False) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock", "secret.key"] and store.load(token) is None
    assert store.save(token, b"abc") and store.load(token)[0] == b"abc", "the token takes the next save"


@pytest.mark.parametrize("opened", [True, False], ids=["while saving", "while making the secret"])
def test_a_file_a_crash_left_half_written_is_removed_by_a_save_a_minute_later(tmp_path, opened):
    token = store_in(tmp_path).issue() if opened else "A" * 48
    assert run_apart(tmp_path, token, killed=True) == -signal.SIGXFSZ
    (leftover,) = (p for p in tmp_path.iterdir() if p.name not in ("lock", "secret.key"))
    assert leftover.name.endswith(".partial") and leftover.stat().st_size == 16
    store = store_in(tmp_path)
    os.utime(leftover, (time.time() - 120, time.time() - 120))
    kept = store.issue()
    assert store.save(kept, b"abc")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["lock", "secret.key", f"{kept}.workspace.zip"])


def test_a_save_drops_other_expired_workspaces(tmp_path):
    store = store_in(tmp_path, keep_s=60)
    old, new = store.issue(), store.issue()
    assert store.save(old, b"old")
    os.utime(tmp_path / f"{old}.workspace.zip", (time.time() - 120, time.time() - 120))
    assert store.save(new, b"new")
    assert not (tmp_path / f"{old}.workspace.zip").exists(), "dropped though there was room for both"


def test_files_being_written_take_their_room_and_are_left_alone(tmp_path):
    """Two files another server process is writing (300 bytes each) and a kept workspace (300) leave room for no
    more in 1,000 bytes: a save of 300 drops the workspace, not the files being written."""
    store = store_in(tmp_path)
    writing = [tmp_path / f"being-written-{i}.partial" for i in range(2)]
    for path in writing:
        path.write_bytes(b"w" * 300)
    kept = store.issue()
    assert store.save(kept, b"k" * 300)
    assert store.save(store.issue(), b"n" * 300)
    assert store.version(kept) is None and all(path.exists() for path in writing)


def test_the_oldest_workspaces_are_dropped_until_the_new_one_fits(tmp_path):
    """100, 500 and 300 bytes kept, oldest first, in 1,000: a save of 300 drops the two oldest, as dropping only the
    100 would leave 1,100 bytes."""
    store = store_in(tmp_path)
    tokens = [store.issue() for _ in range(3)]
    for age, token, size in zip((30, 20, 10), tokens, (100, 500, 300), strict=True):
        assert store.save(token, b"x" * size)
        os.utime(tmp_path / f"{token}.workspace.zip", (time.time() - age, time.time() - age))
    assert store.save(store.issue(), b"y" * 300)
    assert [store.version(token) is not None for token in tokens] == [False, False, True]
