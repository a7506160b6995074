"""Exceptions whose message a page shows to the user as it is."""


class PipelineError(Exception):
    """Base class: the message names the problem and what to do about it."""


class DataError(PipelineError):
    """Input data (a file, a column choice, a parameter) cannot be used."""


class EngineUnavailableError(PipelineError):
    """The engine asked for is not available on this machine."""


class GpuMemoryError(PipelineError):
    """The GPU ran out of memory; the message says how to go on."""
