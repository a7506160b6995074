import importlib.util
import sys
import threading
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipeline import engines
from pipeline.engines import CPU, GPU, CpuEngine, detect, get_engine
from pipeline.errors import DataError, EngineUnavailableError, GpuMemoryError


def test_cpu_engine_is_always_available():
    statuses = {status.name: status for status in detect()}
    assert statuses[CPU].available and statuses[CPU].reason is None
    assert next(engine.name for engine in engines.available_engines()) == CPU


def test_gpu_status_has_a_reason_exactly_when_unavailable():
    gpu = next(status for status in detect() if status.name == GPU)
    assert gpu.available == (gpu.reason is None)
    if not gpu.available:
        with pytest.raises(EngineUnavailableError, match="not available"):
            get_engine(GPU)


def test_unknown_engine_is_refused():
    with pytest.raises(EngineUnavailableError, match="Unknown engine 'tpu'"):
        get_engine("tpu")


def test_cudf_missing_is_reported_where_the_driver_answers(monkeypatch):
    import pipeline.engines.gpu as gpu

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(gpu, "nvidia_driver_reason", lambda: None)
    assert "cuDF is not installed" in engines.cudf_missing_reason()
    assert "cuDF is not installed" in engines.gpu_unavailable_reason()


def test_without_a_driver_the_driver_is_the_reason_not_cudf(monkeypatch):
    """Installing cuDF would not help a machine without an NVIDIA driver: that is what the user is told."""
    import pipeline.engines.gpu as gpu

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(gpu, "nvidia_driver_reason", lambda: "No NVIDIA driver found (NVML: Driver Not Loaded).")
    assert engines.gpu_unavailable_reason() == "No NVIDIA driver found (NVML: Driver Not Loaded)."


def test_import_error_text_is_reported(tmp_path, monkeypatch):
    fake = tmp_path / "cudf"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('libcudf.so: cannot open shared object file')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "cudf", raising=False)
    assert engines.cudf_missing_reason() is None
    reason = engines.gpu_import_reason()
    assert "Importing cudf failed" in reason and "libcudf.so" in reason


def test_driver_probe_names_the_driver_when_nvml_fails():
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        assert engines.nvidia_driver_reason().startswith("No NVIDIA driver found")
    else:
        pynvml.nvmlShutdown()
        assert engines.nvidia_driver_reason() in (None, "The NVIDIA driver is loaded but reports no GPU device.")


def test_force_cpu_switch(monkeypatch):
    monkeypatch.setenv(engines.FORCE_CPU_ENV, "1")
    assert "switched off" in engines.gpu_unavailable_reason()
    monkeypatch.setenv(engines.FORCE_CPU_ENV, "0")
    assert "switched off" not in (engines.gpu_unavailable_reason() or "")


def test_cpu_engine_interface():
    cpu = CpuEngine()
    frame = cpu.from_arrow(pa.table({"a": [1, 2, 3], "s": ["x", "y", None]}))
    assert isinstance(frame, pd.DataFrame)
    assert cpu.to_pandas(frame) is frame
    assert cpu.frames is pd and cpu.xp is np
    assert cpu.memory_info() is None
    assert cpu.frame_nbytes(frame) > 0
    assert cpu.read_native(None, b"", ",", None) is None
    cpu.synchronize()
    cpu.release_memory()


def test_out_of_memory_is_recognised_and_explained():
    assert engines.is_out_of_memory(MemoryError("std::bad_alloc: out_of_memory: CUDA error"))
    assert engines.is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert not engines.is_out_of_memory(ValueError("bad value"))
    error = engines.out_of_memory_error(CpuEngine(), "reading big.csv")
    assert isinstance(error, GpuMemoryError)
    assert "reading big.csv" in str(error) and "Remove datasets" in str(error)


@pytest.mark.gpu
def test_gpu_engine_round_trip(gpu):
    table = pa.table({"a": [1, 2, 3], "s": ["x", "y", None]})
    frame = gpu.from_arrow(table)
    assert type(frame).__module__.startswith("cudf")
    pd.testing.assert_frame_equal(gpu.to_pandas(frame), table.to_pandas(), check_dtype=False)
    memory = gpu.memory_info()
    assert 0 < memory.used <= memory.total
    gpu.synchronize()
    assert gpu.device_name
    assert gpu.to_numpy(gpu.xp.arange(3)).tolist() == [0, 1, 2]


def test_the_cpu_engine_works_on_two_pieces_at_once_and_hands_them_back_in_order():
    engine = CpuEngine()
    assert engine.at_once == 2  # the test machines have 2 cores or more
    together = threading.Barrier(2, timeout=10)  # one piece at a time would wait here and fail

    def square(i: int) -> int:
        together.wait()
        time.sleep(0.01 * (i % 2))
        return i * i

    assert list(engine.each(square, range(6))) == [0, 1, 4, 9, 16, 25]


def test_a_failing_piece_is_raised_and_the_pieces_not_started_are_dropped():
    started = []

    def piece(i: int) -> int:
        started.append(i)
        if i == 1:
            raise DataError("piece 1 failed")
        time.sleep(0.05)
        return i

    with pytest.raises(DataError, match="piece 1 failed"):
        list(CpuEngine().each(piece, range(100)))
    assert len(started) < 10
