"""What a column is likely for: an id, free text, a column a Pipeline step made, a train/test marker, or a target.

Decided from the first rows of the table (`SAMPLE_ROWS`), so that a large table costs no more than a small one.
An id is a text column with a different value in every row, or a whole-number one whose values are also
packed closely (a span of at most twice the rows, as counters and row numbers are); free text has more distinct values
than `max(HIGH_CARDINALITY_MIN, HIGH_CARDINALITY_SHARE × rows)`, or values of more than `LONG_TEXT_CHARS` characters
on average. A column made by a Pipeline step is named after another column of the table: a one-hot indicator
`column=level`, date parts, lengths, bins and rolling means `column_part`. A train/test marker holds only `train` and
`test`.

The likely target, as a data scientist reads a table: a column named like one (`LABEL_WORDS` for a label,
`MEASURE_WORDS` for a measure, matched against the words of the name, so `Miles_per_Gallon` is a rate); else, for a
label, the last text or true/false column of 2 to `MAX_LABEL_LEVELS` values before any numeric one; for a measure,
the last numeric column of more than `MIN_MEASURE_LEVELS` values. Ids, free text, markers and columns made by a step
come last.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.tables.column_kinds import BOOLEAN, NUMERIC, TEXT, column_kind

SAMPLE_ROWS = 20_000
MIN_ROWS_FOR_ID = 20
HIGH_CARDINALITY_MIN = 50  # free text, as the profile's alerts count it by default
HIGH_CARDINALITY_SHARE = 0.5
LONG_TEXT_CHARS = 40
MAX_LABEL_LEVELS = 50
MIN_MEASURE_LEVELS = MAX_LABEL_LEVELS // 5
LABEL_WORDS = ("target", "label", "class", "y", "species", "outcome", "category", "survived", "diagnosis")
MEASURE_WORDS = ("target", "y", "price", "value", "sales", "revenue", "income", "salary", "cost", "score", "per")
SPLIT_VALUES = frozenset({"train", "test"})


@dataclass(frozen=True)
class ColumnFacts:
    kind: str
    whole: bool  # integers (or text): a candidate id
    distinct: int
    present: int
    packed: bool = True  # whole numbers spanning at most twice the rows (text: always)
    mean_length: float = 0.0  # text: characters per value
    marker: bool = False  # text holding only train and test
    made: bool = False  # made by a Pipeline step from another column of the table


def column_facts(frame: Any, columns: list[str]) -> dict[str, ColumnFacts]:
    head = frame.head(SAMPLE_ROWS)
    every = [str(c) for c in frame.columns]
    facts = {}
    for name in columns:
        values = head[name]
        kind = column_kind(values)
        whole = kind == TEXT or (kind == NUMERIC and str(values.dtype).lower().startswith(("int", "uint")))
        present = int(values.count())
        packed = kind != NUMERIC or not whole or present == 0 or int(values.max()) - int(values.min()) < 2 * present
        distinct = int(values.nunique())
        mean_length, marker = 0.0, False
        if kind == TEXT and present:
            text = values.astype("str")
            mean_length = float(text.str.len().mean())
            marker = distinct <= len(SPLIT_VALUES) and set(text.dropna().unique().tolist()) <= SPLIT_VALUES
        made = made_by_a_step(name, every)
        facts[name] = ColumnFacts(kind, whole, distinct, present, packed, mean_length, marker, made)
    return facts


def _unfit_reason(fact: ColumnFacts) -> str | None:
    """Why a column is an id, free text or a train/test marker; None when it is none of them."""
    if fact.whole and fact.packed and fact.present >= MIN_ROWS_FOR_ID and fact.distinct == fact.present:
        return f"a different value in every row: {'likely an id or free text' if fact.kind == TEXT else 'likely an id'}"
    if fact.kind == TEXT and fact.distinct > max(HIGH_CARDINALITY_MIN, HIGH_CARDINALITY_SHARE * fact.present):
        return f"free text ({fact.distinct:,} distinct values in the first rows)"
    if fact.kind == TEXT and fact.mean_length > LONG_TEXT_CHARS:
        return f"free text ({fact.mean_length:,.0f} characters a value on average)"
    return "a train/test marker" if fact.marker else None


def left_out(facts: dict[str, ColumnFacts]) -> dict[str, str]:
    """The columns a model should not learn from, nor a preset encode, by default, each with the reason."""
    return {name: reason for name, fact in facts.items() if (reason := _unfit_reason(fact)) is not None}


def free_text(facts: dict[str, ColumnFacts]) -> list[str]:
    """The text columns among `left_out` that hold words (ids of text and free text), not markers."""
    return [name for name in left_out(facts) if facts[name].kind == TEXT and not facts[name].marker]


def made_by_a_step(name: str, columns: list[str]) -> bool:
    """A one-hot indicator, or a column named after another column of the table (date parts, lengths, bins)."""
    return "=" in name or any(name.startswith(f"{other}_") for other in columns if other != name)


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [word.lower() for word in re.split(r"[^A-Za-z0-9]+", spaced) if word]


def _named(name: str, words: tuple[str, ...]) -> int | None:
    """How early in `words` the first word of `name` that is one of them comes; None when none is."""
    found = [words.index(word) for word in _words(name) if word in words]
    return min(found) if found else None


def _first(
    facts: dict[str, ColumnFacts], choices: list[str], fits: Callable[[ColumnFacts], bool], words: tuple[str, ...]
) -> str | None:
    """The best of `choices` that `fits`: named by the earliest of `words`, else the last, text and true/false
    columns before numeric ones; ids, free text and columns made by a step only when nothing else fits."""
    excluded = left_out(facts)
    candidates = [name for name in choices if name in facts and fits(facts[name])]
    plain = [name for name in candidates if name not in excluded and not facts[name].made]
    named = [(rank, -i, name) for i, name in enumerate(plain) if (rank := _named(name, words)) is not None]
    if named:
        return min(named)[2]
    ordered = sorted(plain, key=lambda name: (facts[name].kind == NUMERIC, -plain.index(name)))
    rest = [name for name in candidates if name not in plain and name not in excluded]
    return next(iter([*ordered, *reversed(rest)]), None)


def first_label(facts: dict[str, ColumnFacts], choices: list[str]) -> str | None:
    """The column of `choices` most likely to be a label to predict (a class), or None."""
    return _first(facts, choices, lambda f: 2 <= f.distinct <= MAX_LABEL_LEVELS, LABEL_WORDS)


def first_measure(facts: dict[str, ColumnFacts], choices: list[str]) -> str | None:
    """The numeric column of `choices` most likely to be the measure to predict, or None."""
    return _first(facts, choices, lambda f: f.kind == NUMERIC and f.distinct > MIN_MEASURE_LEVELS, MEASURE_WORDS)


def likely_targets(facts: dict[str, ColumnFacts]) -> dict[str, str]:
    """The columns a preset leaves as they are because a model is likely to predict them, with the reason: the label
    where it is text, true/false or named like one, and the measure where it is named like one."""
    columns = list(facts)
    targets = {}
    label = first_label(facts, columns)
    if label is not None and (facts[label].kind in (TEXT, BOOLEAN) or _named(label, LABEL_WORDS) is not None):
        targets[label] = "the likely target (a label)"
    measure = first_measure(facts, columns)
    if measure is not None and measure not in targets and _named(measure, MEASURE_WORDS) is not None:
        targets[measure] = "the likely target (a measure)"
    return targets
