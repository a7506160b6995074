"""The Models page's first target: a label for classification, a measure for regression (`pipeline.tables.column_roles`
says how each is recognised)."""

from __future__ import annotations

from pipeline.models.algorithms import CLASSIFICATION
from pipeline.tables.column_roles import ColumnFacts, first_label, first_measure


def default_target(facts: dict[str, ColumnFacts], task: str, choices: list[str]) -> str | None:
    """The target to offer first among `choices`: the likely label or measure, else the last choice."""
    found = first_label(facts, choices) if task == CLASSIFICATION else first_measure(facts, choices)
    return found or (choices[-1] if choices else None)
