"""Switch the app's GPU engine on over the stand-ins (this folder on PYTHONPATH), without a driver."""

from __future__ import annotations


def activate() -> None:
    import pipeline.engines as engines

    engines.nvidia_driver_reason = lambda: None  # the stand-in device needs no driver
    engines.detect.cache_clear()
    engines.get_engine.cache_clear()
