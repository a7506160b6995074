"""Switch the app's GPU engine on over the stand-ins (this folder on PYTHONPATH), without a driver."""

from __future__ import annotations


def activate() -> None:
    import pipeline.engines.gpu as gpu
    import pipeline.engines.registry as registry

    gpu.nvidia_driver_reason = lambda: None  # the stand-in device needs no driver
    registry.detect.cache_clear()
    registry.get_engine.cache_clear()
