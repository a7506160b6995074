"""A session's work saved as a zip (Parquet and JSON, never pickle), read back checked, and kept across a refresh."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile

import pytest

from pipeline.bench.harness import BenchSettings, run_bench
from pipeline.data.catalog import Catalog
from pipeline.data.io import Source
from pipeline.data.loading import load_bundled, load_file
from pipeline.engines import CPU, get_engine
from pipeline.errors import DataError
from pipeline.parity import compare_frames
from pipeline.steps.spec import Recipe, Step
from pipeline.workspace import capture, from_zip, restore, to_zip
from pipeline.workspace_store import WorkspaceStore, new_token

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
        (zipped({"workspace.json": MANIFEST, "../escape.txt": b"x"}), "workspace.json and datasets/N.parquet only"),
        (zipped({"workspace.json": MANIFEST, "run.pkl": b"x"}), "workspace.json and datasets/N.parquet only"),
        (zipped({"datasets/0.parquet": b"x"}), "workspace.json and datasets/N.parquet only"),
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


def test_the_store_keeps_a_workspace_under_its_token_until_it_expires(tmp_path):
    store = WorkspaceStore(tmp_path / "w", keep_s=60, total_bytes=1000)
    token = new_token()
    assert len(token) == 32 and store.save(token, b"abc") and store.load(token) == b"abc"
    assert store.load(new_token()) is None
    for bad in ("../../etc/passwd", "a" * 31, "a" * 32 + "/", "", None):
        assert store.load(bad) is None and not store.save(bad, b"x")
    old = store.folder / f"{token}.workspace.zip"
    os.utime(old, (time.time() - 120, time.time() - 120))
    assert store.load(token) is None and not old.exists(), "expired: gone"


def test_the_store_drops_the_oldest_workspaces_past_its_space(tmp_path):
    store = WorkspaceStore(tmp_path, keep_s=3600, total_bytes=250)
    tokens = [new_token() for _ in range(3)]
    for age, token in zip((30, 20, 10), tokens, strict=True):
        assert store.save(token, b"x" * 100)
        path = tmp_path / f"{token}.workspace.zip"
        os.utime(path, (time.time() - age, time.time() - age))
    store.save(tokens[2], b"y" * 100)
    assert store.load(tokens[0]) is None and store.load(tokens[1]) == b"x" * 100
    assert not store.save(new_token(), b"z" * 251), "one workspace larger than all the space"


def test_the_operator_can_turn_keeping_off_and_the_folder_is_the_server_s_own(tmp_path, monkeypatch):
    monkeypatch.setenv("GPL_WORKSPACE_DIR", str(tmp_path / "kept"))
    monkeypatch.setenv("GPL_WORKSPACE_OFF", "1")
    assert WorkspaceStore.from_environment() is None
    monkeypatch.delenv("GPL_WORKSPACE_OFF")
    store = WorkspaceStore.from_environment()
    assert store.save(new_token(), b"x")
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
