import os
import time

import pytest

from pipeline.budget import WORK_LIMIT_ENV
from pipeline.data.catalog import Catalog, SessionLimits
from pipeline.data.io import ReadOptions, Source
from pipeline.data.loading import load_bundled, load_file, load_synthetic
from pipeline.engines import CpuEngine
from pipeline.errors import DataError
from pipeline.tables.synthetic import SyntheticSpec
from tests.support import files
from tests.support.engines import HostBackedGpu
from tests.support.peaks import measure_peaks

G1 = SyntheticSpec("groupby_g1", rows=2_000_000)  # about 0.2 GiB made, 0.5 GiB at its peak
SMALL_ROOM = 64 * 2**20
LIMITS = {  # a 64 MiB limit set by the server's cap on one piece of work, or by what the session has left
    "server": ({WORK_LIMIT_ENV: "64"}, SessionLimits(), "this server allows one load or step"),
    "session": ({}, SessionLimits(bytes=SMALL_ROOM), "this session has left of its memory limit (remove datasets"),
}


def refused_generation(limit: str):
    """A case for `measure_peaks`: generating G1 with the `limit` in place (its rows are G1's, whatever asked)."""

    def prepare(_rows: int):
        settings, limits, _why = LIMITS[limit]
        os.environ.update(settings)

        def work() -> str:
            try:
                load_synthetic(Catalog(limits), G1, [CpuEngine()])
            except DataError as error:
                return str(error)
            return "generated"

        return work, 0

    return prepare


PEAK_CASES = {f"generate past the {limit}'s limit": refused_generation(limit) for limit in LIMITS}


@pytest.fixture
def catalog_with_iris(cpu):
    catalog = Catalog()
    load_bundled(catalog, "iris", [cpu])
    return catalog


def test_loading_adds_an_active_dataset_with_timings(catalog_with_iris):
    dataset = catalog_with_iris.active
    assert dataset.name == "iris" and dataset.shape == (150, 5)
    timings = dataset.timings()
    assert list(timings["engine"]) == ["CPU (pandas)"] and (timings["seconds"] > 0).all()
    assert dataset.primary.nbytes > 0


def test_schema_counts_nulls_and_distinct_values(cpu):
    catalog = Catalog()
    dataset = load_file(catalog, Source.from_bytes("t.csv", files.csv_bytes()), [cpu])
    schema = dataset.schema().set_index("column")
    assert schema.loc["price", "nulls"] == 1 and schema.loc["city", "nulls"] == 1
    assert schema.loc["id", "unique"] == 4 and schema.loc["ok", "unique"] == 2
    assert schema.loc["id", "dtype (CPU)"] == "int64"
    assert len(dataset.preview(2)) == 2


def test_file_notes_say_how_it_was_read(cpu):
    catalog = Catalog()
    dataset = load_file(
        catalog, Source.from_bytes("t.csv.gz", files.COMPRESSORS["gz"](files.csv_bytes(sep=";"))), [cpu]
    )
    assert "Decompressed (gzip) as it was read." in dataset.notes
    assert "CSV delimiter ';', encoding utf-8." in dataset.notes
    assert dataset.name == "t"


def test_names_are_made_unique_and_renaming_is_checked(catalog_with_iris, cpu):
    second = load_bundled(catalog_with_iris, "iris", [cpu])
    assert second.name == "iris (2)"
    with pytest.raises(DataError, match="already loaded"):
        catalog_with_iris.rename(second.id, "iris")
    with pytest.raises(DataError, match="cannot be blank"):
        catalog_with_iris.rename(second.id, "   ")
    with pytest.raises(DataError, match="at most 80 characters"):
        catalog_with_iris.rename(second.id, "x" * 81)
    assert catalog_with_iris.rename(second.id, "  my   flowers ").name == "my flowers"


def test_failed_load_keeps_everything_loaded(catalog_with_iris, cpu):
    before = [(d.id, d.name) for d in catalog_with_iris]
    active = catalog_with_iris.active_id
    with pytest.raises(DataError):
        load_file(catalog_with_iris, Source.from_bytes("bad.csv", b""), [cpu])
    with pytest.raises(DataError):
        load_synthetic(catalog_with_iris, SyntheticSpec("blobs", rows=0), [cpu])
    assert [(d.id, d.name) for d in catalog_with_iris] == before
    assert catalog_with_iris.active_id == active


def test_remove_makes_the_latest_remaining_active(catalog_with_iris, cpu):
    wine = load_bundled(catalog_with_iris, "wine", [cpu])
    digits = load_bundled(catalog_with_iris, "digits", [cpu])
    catalog_with_iris.remove(digits.id)
    assert catalog_with_iris.active_id == wine.id
    catalog_with_iris.set_active(wine.id)
    iris_id = next(d.id for d in catalog_with_iris if d.name == "iris")
    catalog_with_iris.remove(iris_id)
    assert catalog_with_iris.active_id == wine.id and len(catalog_with_iris) == 1
    catalog_with_iris.remove(wine.id)
    assert catalog_with_iris.active is None
    with pytest.raises(DataError, match="No dataset with id"):
        catalog_with_iris.remove(wine.id)


def test_join_set_becomes_four_datasets(cpu):
    catalog = Catalog()
    added = load_synthetic(catalog, SyntheticSpec("join_j1", rows=10_000), [cpu])
    assert [d.name for d in added] == [f"J1_1e4_NA_0_0_{t}" for t in ("x", "small", "medium", "big")]
    assert catalog.active_id == added[-1].id


def test_progress_is_reported(cpu):
    messages = []
    load_file(Catalog(), Source.from_bytes("t.csv", files.csv_bytes()), [cpu], ReadOptions(), progress=messages.append)
    assert messages[0].startswith("Checking t.csv") and messages[-1].startswith("CPU (pandas): ")


@pytest.mark.gpu
def test_gpu_copy_sits_beside_the_cpu_copy(cpu, gpu):
    catalog = Catalog()
    dataset = load_file(catalog, Source.from_bytes("t.xlsx", files.excel_bytes()), [cpu, gpu])
    assert set(dataset.copies) == {"cpu", "gpu"}
    gpu_copy = dataset.copies["gpu"]
    assert gpu_copy.transfer_s is not None and "parsed on the host" in gpu_copy.route
    assert "dtype (GPU)" in dataset.schema().columns
    dataset_id = dataset.id
    used = gpu.memory_info().used
    catalog.remove(dataset_id)
    assert gpu.memory_info().used <= used


class OutOfMemoryEngine(HostBackedGpu):
    """A second engine whose device is full: every copy onto it fails as RMM reports it."""

    def from_arrow(self, table):
        raise MemoryError("std::bad_alloc: out_of_memory: CUDA error at: rmm/mr/device/cuda_memory_resource.hpp")


def test_a_full_gpu_keeps_the_cpu_copy_and_says_what_to_do(cpu):
    catalog = Catalog()
    messages = []
    dataset = load_bundled(catalog, "wine", [cpu, OutOfMemoryEngine()], progress=messages.append)
    assert set(dataset.copies) == {"cpu"}
    assert "GPU (cuDF) ran out of memory loading this dataset" in dataset.failures["gpu"]
    assert "use fewer rows" in dataset.failures["gpu"]
    assert any(message.startswith("GPU (cuDF): not loaded") for message in messages)
    file_dataset = load_file(catalog, Source.from_bytes("t.xlsx", files.excel_bytes()), [cpu, OutOfMemoryEngine()])
    assert "ran out of memory" in file_dataset.failures["gpu"] and file_dataset.shape == (4, 4)


def test_synthetic_source_describes_the_settings(cpu):
    dataset = load_synthetic(Catalog(), SyntheticSpec("groupby_g1", rows=2_000, groups=20, na_percent=5), [cpu])[0]
    assert dataset.source == (
        "synthetic db-benchmark groupby (G1): 2,000 rows, seed 0, K=20 groups, 5% missing, unsorted"
    )


def test_derived_results_are_computed_once_and_the_least_recently_used_go_first(catalog_with_iris, monkeypatch):
    monkeypatch.setattr("pipeline.data.catalog.MAX_DERIVED", 3)
    dataset = catalog_with_iris.active
    calls = []

    def compute(key):
        calls.append(key)
        return f"result {key}"

    assert dataset.remember("a", lambda: compute("a")) == "result a"
    assert dataset.remember("a", lambda: compute("a")) == "result a"
    assert calls == ["a"]
    dataset.remember("b", lambda: compute("b"))
    dataset.remember("c", lambda: compute("c"))
    dataset.remember("a", lambda: compute("a"))  # used again: b is now the oldest
    dataset.remember("d", lambda: compute("d"))
    assert dataset.recall("b") is None and dataset.recall("a") == "result a"
    dataset.release()
    assert dataset.recall("a") is None


@pytest.mark.parametrize("limit", list(LIMITS))
def test_generation_past_the_budget_is_refused_before_any_row_is_made(limit, cpu, monkeypatch):
    settings, limits, why = LIMITS[limit]
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    catalog = Catalog(limits)
    start = time.perf_counter()
    with pytest.raises(DataError) as refused:
        load_synthetic(catalog, G1, [cpu])
    assert time.perf_counter() - start < 1.0, "refused from the estimate, not after generating"
    assert str(refused.value).startswith("Generating 2,000,000 rows of db-benchmark groupby (G1) needs about 0.")
    assert f"GiB of memory at its peak, more than the 0.06 GiB {why}" in str(refused.value)
    assert "Generate fewer rows (or features), remove datasets you no longer need, or generate it on a Dask" in str(
        refused.value
    )
    assert len(catalog) == 0
    (peak,) = measure_peaks(__name__, [f"generate past the {limit}'s limit"], (G1.rows,))
    assert peak.peak < 16 * 2**20, f"memory grew while refusing: {peak}"
