"""Out-of-memory on an engine: recognising it, and the message with the way forward."""

from __future__ import annotations

import logging

from pipeline.engines.base import Engine
from pipeline.errors import GpuMemoryError, PipelineError


def is_out_of_memory(error: BaseException) -> bool:
    """True for the ways RMM, cuDF and CuPy say the device is out of memory."""
    text = str(error).lower()
    return isinstance(error, MemoryError) or "out of memory" in text or "out_of_memory" in text


def is_gpu_out_of_memory(error: BaseException) -> bool:
    """True when the memory that ran out is the GPU's (RMM, CUDA, CuPy and cuDF say so in the text or type)."""
    text = f"{type(error).__module__} {error}".lower()
    return is_out_of_memory(error) and any(word in text for word in ("cuda", "rmm", "cupy", "cudf", "device"))


def out_of_memory_error(engine: Engine, doing: str) -> GpuMemoryError:
    """A message for an out-of-memory failure that says how much is free and what to do.

    The engine's cached memory is handed back first, so the engine is usable again and the
    free memory reported is what the next attempt will find.
    """
    engine.release_memory()
    memory = engine.memory_info()
    free = f" ({memory.free / 2**30:.1f} of {memory.total / 2**30:.1f} GiB free now)" if memory else ""
    return GpuMemoryError(
        f"{engine.label} ran out of memory {doing}{free}. Remove datasets you no longer need, "
        "use fewer rows, or keep this dataset on the CPU engine."
    )


def failure_message(engine: Engine, doing: str, error: BaseException) -> str:
    """What the user is told when work on an engine raised: our own messages as they are, GPU
    out-of-memory with the way forward, anything else by type and text (and logged with its traceback)."""
    if isinstance(error, PipelineError):
        return str(error)
    if is_out_of_memory(error):
        return str(out_of_memory_error(engine, doing))
    explained = engine.explain_failure(error)
    if explained:
        return explained
    logging.getLogger(__name__).warning("%s failed on %s", doing, engine.label, exc_info=error)
    return f"{type(error).__name__}: {error}"
