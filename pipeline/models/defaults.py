"""Sensible first choices on the Models page: a target that is a real label, features without ids or free text.

Decided from the first rows of the table (`SAMPLE_ROWS`), so that a large table costs no more than a small one.
An id is a text column with a different value in every row, or a whole-number one whose values are also
packed closely (a span of at most twice the rows, as counters and row numbers are); free text has more distinct values
than `max(HIGH_CARDINALITY_MIN, HIGH_CARDINALITY_SHARE × rows)`; a one-hot indicator made by the Pipeline is
named `column=level`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.models.algorithms import CLASSIFICATION, REGRESSION
from pipeline.profile.local import ProfileSettings
from pipeline.tables.column_kinds import BOOLEAN, NUMERIC, TEXT, column_kind

SAMPLE_ROWS = 20_000
MIN_ROWS_FOR_ID = 20
HIGH_CARDINALITY_MIN = ProfileSettings.high_cardinality_min  # free text as the profile's alerts count it
HIGH_CARDINALITY_SHARE = ProfileSettings.high_cardinality_share
MAX_LABEL_LEVELS = 50
LABEL_NAMES = ("target", "label", "class", "y", "species", "outcome", "category")


@dataclass(frozen=True)
class ColumnFacts:
    kind: str
    whole: bool  # integers (or text): a candidate id
    distinct: int
    present: int
    packed: bool = True  # whole numbers spanning at most twice the rows (text: always)


def column_facts(frame: Any, columns: list[str]) -> dict[str, ColumnFacts]:
    head = frame.head(SAMPLE_ROWS)
    facts = {}
    for name in columns:
        values = head[name]
        kind = column_kind(values)
        whole = kind == TEXT or (kind == NUMERIC and str(values.dtype).lower().startswith(("int", "uint")))
        present = int(values.count())
        packed = kind != NUMERIC or not whole or present == 0 or int(values.max()) - int(values.min()) < 2 * present
        facts[name] = ColumnFacts(kind, whole, int(values.nunique()), present, packed)
    return facts


def left_out(facts: dict[str, ColumnFacts]) -> dict[str, str]:
    """The columns a model should not learn from by default, each with the reason."""
    reasons = {}
    for name, fact in facts.items():
        if fact.whole and fact.packed and fact.present >= MIN_ROWS_FOR_ID and fact.distinct == fact.present:
            what = "likely an id or free text" if fact.kind == TEXT else "likely an id"
            reasons[name] = f"a different value in every row: {what}"
        elif fact.kind == TEXT and fact.distinct > max(HIGH_CARDINALITY_MIN, HIGH_CARDINALITY_SHARE * fact.present):
            reasons[name] = f"free text ({fact.distinct:,} distinct values in the first rows)"
    return reasons


def _is_indicator(name: str) -> bool:
    return "=" in name


def default_target(facts: dict[str, ColumnFacts], task: str, choices: list[str]) -> str | None:
    """The target to offer first: a column named like a label, else the last column that looks like one."""
    excluded = left_out(facts)

    def fits(name: str) -> bool:
        fact = facts[name]
        if name in excluded or _is_indicator(name):
            return False
        if task == CLASSIFICATION:
            return fact.kind in (TEXT, BOOLEAN, NUMERIC) and 2 <= fact.distinct <= MAX_LABEL_LEVELS
        return task == REGRESSION and fact.kind == NUMERIC and fact.distinct > MAX_LABEL_LEVELS // 5

    candidates = [name for name in choices if fits(name)]
    named = [name for name in candidates if name.lower() in LABEL_NAMES]
    if named:
        return named[0]
    if candidates:
        return candidates[-1]
    return choices[-1] if choices else None
