"""Human-readable numbers for the pages."""

import math

import numpy as np


def size(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(nbytes) < 1024 or unit == "TiB":
            return f"{nbytes:,.0f} {unit}" if unit == "B" else f"{nbytes:,.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:,.1f} TiB"


def seconds(value: float) -> str:
    if value < 1e-3:
        return f"{value * 1e6:,.0f} µs"
    if value < 1:
        return f"{value * 1e3:,.1f} ms"
    return f"{value:,.2f} s"


def amount(value: float) -> str:
    """A price or cost in plain digits, two significant ones below a cent: `1.50`, `0.00000067`."""
    if value >= 0.01:
        return f"{value:,.2f}"
    return np.format_float_positional(value, precision=2, unique=False, fractional=False, trim="-")


def time_left(value: float | None) -> str:
    """The time left as a progress bar says it after its text: nothing before an estimate, whole seconds and
    minutes after, and no number once the estimate has run out."""
    if value is None:
        return ""
    if value <= 0:
        return " · taking longer than estimated"
    minutes, rest = divmod(math.ceil(value), 60)
    return f" · about {minutes} min {rest:02d} s left" if minutes else f" · about {rest} s left"
