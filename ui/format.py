"""Human-readable numbers for the pages."""

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
