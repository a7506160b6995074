"""Settings an operator gives the server through the environment."""

from __future__ import annotations

import os


def positive_int_setting(name: str, default: int) -> int:
    """$name as a whole number above 0, or `default` when it is unset or anything else."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else default
