"""GPU memory: work that cannot fit is refused before it runs, with a way forward; a real out-of-memory
on the GPU is reported the same way and leaves the engine usable (the `gpu` tests force one)."""

from __future__ import annotations

import pytest

from pipeline.data.catalog import Catalog
from pipeline.data.io import Source
from pipeline.data.loading import load_bundled, load_file
from pipeline.engines import CpuEngine
from pipeline.errors import GpuMemoryError
from pipeline.models.algorithms import ALGORITHMS
from pipeline.models.features import FeatureSpec
from pipeline.models.training import train
from pipeline.steps.memory import check_fits, load_need, model_need, step_need
from pipeline.steps.runner import run_side_by_side
from pipeline.steps.spec import STEP_KINDS, Step
from pipeline.tables.formats import FileFormat
from tests.support import files
from tests.support.engines import HostBackedGpu

GIB = 2**30


def test_load_estimates_follow_the_format_and_the_decoded_table():
    assert load_need(FileFormat.CSV, 1000) == 3000 and load_need(FileFormat.JSONL, 1000) == 4000
    assert load_need(FileFormat.PARQUET, 1000) == 2000 and load_need(FileFormat.PARQUET, 10) == 20


def test_step_and_model_estimates_grow_with_the_work():
    join, filter_rows = (STEP_KINDS[kind].memory_factor for kind in ("join", "filter"))
    assert step_need(join, 100) > step_need(filter_rows, 100) > step_need(filter_rows, 10)
    assert model_need("tsne", 1000, 8) > model_need("ridge", 1000, 8) > model_need("ridge", 100, 8)
    assert model_need("svc", 10, 1) >= GIB


def test_check_fits_refuses_with_the_figures_and_a_way_forward():
    engine = HostBackedGpu(free=GIB)
    check_fits(engine, GIB // 2, "Loading a.csv", "load")
    with pytest.raises(GpuMemoryError) as raised:
        check_fits(engine, 2 * GIB, "Loading a.csv", "load")
    assert str(raised.value).startswith("Loading a.csv needs about 2.00 GiB of GPU memory, but only 1.00 GiB")
    assert "of 16.00 GiB is free. It stays loaded on the CPU" in str(raised.value)
    assert engine.released == 1, "cached memory is handed back before refusing"
    check_fits(CpuEngine(), 10**15, "anything", "step")  # the CPU engine has no device to check


def test_a_file_too_big_for_the_gpu_loads_on_the_cpu_with_the_reason(cpu):
    data = files.csv_bytes() * 1000
    dataset = load_file(Catalog(), Source.from_bytes("big.csv", data), [cpu, HostBackedGpu(free=len(data))])
    assert set(dataset.copies) == {"cpu"}
    assert "Loading big.csv needs about" in dataset.failures["gpu"]
    assert "load a sample or fewer columns" in dataset.failures["gpu"]


def test_a_step_too_big_for_the_gpu_fails_there_and_the_cpu_goes_on(cpu):
    catalog = Catalog()
    frame = load_bundled(catalog, "wine", [cpu]).primary.frame
    small = HostBackedGpu(free=frame.memory_usage(deep=True).sum())
    steps = [Step("sort", {"columns": ["alcohol"], "ascending": True})]
    result = run_side_by_side(steps, {"cpu": frame, "gpu": frame}, {"cpu": cpu, "gpu": small})
    assert result.runs["cpu"].ok and len(result.runs["cpu"].frame) == len(frame)
    assert "Step 1 (" in result.runs["gpu"].error and "Add a “Sample rows” step first" in result.runs["gpu"].error


def test_a_model_too_big_for_the_gpu_is_refused_before_it_trains(cpu):
    frame = load_bundled(Catalog(), "wine", [cpu]).primary.frame
    spec = FeatureSpec("classification", tuple(c for c in frame.columns if c != "target"), "target")
    run = train(HostBackedGpu(free=10_000), frame, spec, ALGORITHMS["knn_classifier"])
    assert not run.ok
    assert run.error.startswith(f"Training {ALGORITHMS['knn_classifier'].label} on 178 rows needs about")
    assert "Train on a sample" in run.error


@pytest.mark.gpu
@pytest.mark.device("memory pressure on the device, measured with NVML")
def test_a_real_gpu_out_of_memory_is_reported_and_the_memory_comes_back(cpu, gpu, monkeypatch):
    """Fill the device, load a table that cannot fit (refused by the estimate, then for real with the
    estimate switched off), free the device, check with NVML that the memory came back, load again."""
    import cupy
    import pynvml

    from pipeline.parity import compare_frames

    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(cupy.cuda.Device().id)
    gpu.release_memory()
    baseline = pynvml.nvmlDeviceGetMemoryInfo(handle).used
    data = files.csv_bytes(files.SAMPLE.sample(400_000, replace=True, random_state=0))
    hog = cupy.empty(gpu.memory_info().free - 64 * 2**20, dtype=cupy.uint8)
    try:
        refused = load_file(Catalog(), Source.from_bytes("big.csv", data), [cpu, gpu])
        assert set(refused.copies) == {"cpu"} and "needs about" in refused.failures["gpu"]
        monkeypatch.setattr("pipeline.data.io.load_need", lambda *_: 0)
        failed = load_file(Catalog(), Source.from_bytes("big.csv", data), [cpu, gpu])
        assert set(failed.copies) == {"cpu"} and "ran out of memory" in failed.failures["gpu"]
        assert "Traceback" not in failed.failures["gpu"]
    finally:
        del hog
        gpu.release_memory()
    assert pynvml.nvmlDeviceGetMemoryInfo(handle).used <= baseline + 256 * 2**20, "the memory came back"
    pynvml.nvmlShutdown()
    loaded = load_file(Catalog(), Source.from_bytes("big.csv", data), [cpu, gpu])
    assert set(loaded.copies) == {"cpu", "gpu"}
    assert compare_frames(loaded.copies["cpu"].frame, gpu.to_pandas(loaded.copies["gpu"].frame)).ok


def test_each_formats_load_estimate_is_its_factor_times_the_decoded_table():
    factors = {fmt: load_need(fmt, 1000) / 1000 for fmt in FileFormat}
    assert factors == {
        FileFormat.CSV: 3.0,
        FileFormat.JSONL: 4.0,
        FileFormat.JSON: 1.5,
        FileFormat.PARQUET: 2.0,
        FileFormat.ARROW: 1.5,
        FileFormat.EXCEL: 1.5,
    }
    assert load_need(FileFormat.JSON, 3) == 4, "whole bytes, rounded down"


def test_a_steps_estimate_counts_its_input_and_a_joined_table_times_its_factor():
    assert step_need(2.5, 100) == 250 and step_need(4.0, 100, 60) == 640 and step_need(2.5, 3) == 7


@pytest.mark.parametrize(
    ("algorithm", "factor"),
    [("knn_classifier", 4), ("knn_regressor", 4), ("dbscan", 6), ("hdbscan", 8), ("tsne", 8), ("umap", 6)],
)
def test_a_models_estimate_is_its_float32_features_times_its_factor(algorithm, factor):
    assert model_need(algorithm, 10, 2) == 10 * 2 * 4 * factor


def test_other_models_take_three_times_their_features_and_svc_a_kernel_cache_besides():
    assert model_need("ridge", 10, 2) == 240
    assert model_need("ridge", 10, 0) == 120, "a model of no features still holds a column"
    assert model_need("svc", 10, 1) == 120 + GIB


class ReleasingGpu(HostBackedGpu):
    """A GPU whose cached blocks, once handed back, free `cached` bytes more."""

    def __init__(self, free: int, cached: int) -> None:
        super().__init__(free=free, total=16 * GIB)
        self.cached = cached

    def release_memory(self) -> None:
        super().release_memory()
        self.free, self.cached = self.free + self.cached, 0


def test_check_fits_allows_up_to_nine_tenths_of_the_free_memory_without_releasing_any():
    engine = HostBackedGpu(free=1000)
    check_fits(engine, 900, "Step 1 (sort)", "step")
    assert engine.released == 0
    with pytest.raises(GpuMemoryError) as raised:
        check_fits(engine, 901, "Step 1 (sort)", "step")
    assert str(raised.value) == (
        "Step 1 (sort) needs about 0.00 GiB of GPU memory, but only 0.00 GiB of 16.00 GiB is free. "
        "Add a “Sample rows” step first, drop columns you do not need, or run this pipeline on the CPU."
    )
    assert engine.released == 1


def test_check_fits_goes_on_when_handing_back_cached_memory_makes_room():
    engine = ReleasingGpu(free=1000, cached=1000)
    check_fits(engine, 1800, "Training SVC", "model")  # nine tenths of the 2000 bytes free once handed back
    assert engine.released == 1
    with pytest.raises(GpuMemoryError) as raised:
        check_fits(ReleasingGpu(free=GIB, cached=GIB), int(1.81 * GIB), "Training SVC", "model")
    assert str(raised.value) == (
        "Training SVC needs about 1.81 GiB of GPU memory, but only 2.00 GiB of 16.00 GiB is free. "
        "Train on a sample (Pipeline: “Sample rows”), use fewer features, or train on the CPU."
    )


def test_check_fits_never_refuses_an_engine_that_spills_to_disk():
    class SpillingGpu(HostBackedGpu):
        spills_to_disk = True

    engine = SpillingGpu(free=10)
    check_fits(engine, GIB, "Step 1 (sort)", "step")
    assert engine.released == 0
