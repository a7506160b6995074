"""GPU memory that a load, a pipeline step or a model fit needs, estimated before it runs.

The estimates are deliberately rough upper bounds (input, output and the temporaries cuDF and
cuML are known to make), so that work which cannot fit is refused with a way forward instead of
failing half way; work that slips past them and runs out anyway is caught as before
(`engines.out_of_memory_error`), and the memory it held is handed back.
"""

from __future__ import annotations

from pipeline.budget import gib
from pipeline.engines import Engine
from pipeline.errors import GpuMemoryError
from pipeline.tables.formats import FileFormat

HEADROOM = 0.9  # leave a tenth of the free memory for the CUDA context, RMM and fragmentation
LOAD_FACTOR = {  # of the decoded table's bytes
    FileFormat.CSV: 3.0,  # the raw text on the device, the parsed columns, string offsets
    FileFormat.JSONL: 4.0,
    FileFormat.JSON: 1.5,  # parsed on the host (no device reader): the table copied over, as for Excel
    FileFormat.PARQUET: 2.0,  # the pages read and the columns decoded from them
    FileFormat.ARROW: 1.5,
    FileFormat.EXCEL: 1.5,
}
MODEL_FACTOR = {"knn_classifier": 4, "knn_regressor": 4, "dbscan": 6, "hdbscan": 8, "tsne": 8, "umap": 6}
DEFAULT_MODEL_FACTOR = 3  # features, labels, and the fitted model's working arrays
MODEL_EXTRA = {"svc": 1 << 30}  # cuML SVC keeps a kernel cache of 1 GiB
WAY_FORWARD = {
    "load": "It stays loaded on the CPU. To have it on the GPU too, load a sample or fewer columns, "
    "or remove datasets you no longer need.",
    "step": "Add a “Sample rows” step first, drop columns you do not need, or run this pipeline on the CPU.",
    "model": "Train on a sample (Pipeline: “Sample rows”), use fewer features, or train on the CPU.",
}


def check_fits(engine: Engine, need: int, doing: str, kind: str) -> None:
    """GpuMemoryError when `need` bytes would not fit in the engine's free device memory (no-op on the CPU)."""
    memory = engine.memory_info()
    if memory is None or engine.spills_to_disk or need <= memory.free * HEADROOM:
        return
    engine.release_memory()  # cached blocks count as used until handed back
    memory = engine.memory_info()
    if need <= memory.free * HEADROOM:
        return
    raise GpuMemoryError(
        f"{doing} needs about {gib(need)} of GPU memory, but only {gib(memory.free)} of "
        f"{gib(memory.total)} is free. {WAY_FORWARD[kind]}"
    )


def load_need(fmt: FileFormat, table_bytes: int) -> int:
    """Device bytes to read a file of this format onto the GPU, its decoded table taking `table_bytes` (known from
    the sandboxed read that comes first)."""
    return int(table_bytes * LOAD_FACTOR[fmt])


def step_need(factor: float, frame_bytes: int, other_bytes: int = 0) -> int:
    """Bytes a step with memory factor `factor` (its kind's) needs for an input of `frame_bytes` (and a joined
    table of `other_bytes`)."""
    return int((frame_bytes + other_bytes) * factor)


def model_need(algorithm: str, rows: int, features: int) -> int:
    """Device bytes to fit `algorithm` on rows x features float32 values."""
    values = rows * max(features, 1) * 4
    return values * MODEL_FACTOR.get(algorithm, DEFAULT_MODEL_FACTOR) + MODEL_EXTRA.get(algorithm, 0)
