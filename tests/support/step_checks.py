"""One step checked, refused or applied on a small frame, as the step kinds' unit tests ask."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import pipeline.steps.library  # noqa: F401  (registers every step kind)
from pipeline.engines import CpuEngine, Engine
from pipeline.errors import DataError
from pipeline.steps.spec import Context, Schema, Step, apply_step, checked


def checked_params(kind: str, params: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """The parameters as the step's check leaves them (defaults filled in)."""
    return dict(checked(Step(kind, params), schema).params)


def refusal_of(kind: str, params: dict[str, Any], schema: Schema) -> str:
    """The message of the step's check refusing these parameters."""
    with pytest.raises(DataError) as raised:
        checked(Step(kind, params), schema)
    return str(raised.value)


def applied(kind: str, params: dict[str, Any], frame: pd.DataFrame, engine: Engine | None = None) -> pd.DataFrame:
    """The frame after the checked step, on `engine` (the CPU engine unless given)."""
    return apply_step(checked(Step(kind, params), Schema.of(frame)), frame, Context(engine or CpuEngine()))
