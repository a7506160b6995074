"""Ready pipelines a new user can run in one click, fitted to the columns of the table at hand.

A preset leaves alone what a data scientist would: the likely targets (a label, a measure named like one), ids and free
text (`pipeline.tables.column_roles`) are neither encoded nor scaled, and it says which columns it left and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import DataError
from pipeline.steps.spec import Recipe, Schema, Step
from pipeline.tables.column_kinds import BOOLEAN, DATETIME, NUMERIC, TEXT
from pipeline.tables.column_roles import ColumnFacts, column_facts, free_text, left_out, likely_targets

ONE_HOT_LIMIT = 50


@dataclass(frozen=True)
class FittedPreset:
    """A preset's steps for one table, and the columns it left as they are, each with the reason."""

    recipe: Recipe
    left_alone: dict[str, str] = field(default_factory=dict)


def _distinct(frame: Any, column: str) -> int:
    return int(frame[column].nunique())


def _facts(frame: Any, schema: Schema) -> dict[str, ColumnFacts]:
    return column_facts(frame, [c for c, kind in schema.kinds.items() if kind in (NUMERIC, TEXT, BOOLEAN)])


def clean_and_encode(frame: Any, schema: Schema) -> FittedPreset:
    """Drop duplicates, fill gaps, encode categories (one-hot when few levels), scale numbers, split train/test;
    the likely targets, ids and free text are left as they are (a target keeps its values and its gaps)."""
    facts = _facts(frame, schema)
    alone = {**likely_targets(facts), **left_out(facts)}
    numeric = [c for c, kind in schema.kinds.items() if kind == NUMERIC and c not in alone]
    text = [c for c, kind in schema.kinds.items() if kind in (TEXT, BOOLEAN) and c not in alone]
    steps = [Step("drop_duplicates", {})]
    if numeric:
        steps.append(Step("fill_missing", {"columns": numeric, "method": "median"}))
    for column in text:
        if schema.kinds[column] == TEXT:
            steps.append(Step("fill_missing", {"columns": [column], "method": "constant", "value": "(missing)"}))
        if _distinct(frame, column) + 1 <= ONE_HOT_LIMIT:
            steps.append(Step("one_hot", {"columns": [column], "max_levels": ONE_HOT_LIMIT}))
        else:
            steps.append(Step("label_encode", {"column": column}))
    if numeric:
        steps.append(Step("scale", {"columns": numeric, "method": "standard"}))
    steps.append(Step("train_test_split", {"test_fraction": 0.2, "seed": 0, "column": _free(schema, "split")}))
    return FittedPreset(Recipe(tuple(steps)), alone)


def group_aggregate(frame: Any, schema: Schema) -> FittedPreset:
    """db-benchmark style: group by the text column with the fewest levels; sum, mean and count numbers."""
    keys = [c for c, kind in schema.kinds.items() if kind in (TEXT, BOOLEAN)]
    numeric = [c for c, kind in schema.kinds.items() if kind == NUMERIC]
    if not keys or not numeric:
        raise DataError("This preset needs a text column to group by and a numeric column to aggregate.")
    key = min(keys, key=lambda c: _distinct(frame, c))
    measures = [c for c in numeric if _distinct(frame, c) < len(frame)] or numeric  # not row ids
    measures = measures[-3:]  # measures usually follow the keys, as v1..v3 follow id1..id6 in G1
    aggregations = [{"column": measures[0], "function": "count"}]
    aggregations += [{"column": c, "function": f} for c in measures for f in ("sum", "mean")]
    return FittedPreset(
        Recipe(
            (
                Step("group_aggregate", {"by": [key], "aggregations": aggregations}),
                Step("sort", {"columns": [f"{measures[0]}_sum"], "ascending": False}),
            )
        )
    )


def time_and_text_features(frame: Any, schema: Schema) -> FittedPreset:
    """Calendar parts of every time column; cleaned lower-case text, and the length of free text (a category's
    length says nothing); the likely target's labels are left as they are."""
    times = [c for c, kind in schema.kinds.items() if kind == DATETIME]
    text = [c for c, kind in schema.kinds.items() if kind == TEXT]
    if not times and not text:
        raise DataError("This preset needs a date/time or text column; this table has neither.")
    facts = _facts(frame, schema)
    targets = {c: why for c, why in likely_targets(facts).items() if c in text}
    words = free_text(facts)
    steps = [Step("datetime_parts", {"column": c, "parts": ["year", "month", "weekday", "hour"]}) for c in times]
    for column in [c for c in text if c not in targets]:
        steps += [Step("string", {"column": column, "op": "strip"}), Step("string", {"column": column, "op": "lower"})]
        if column in words:
            steps.append(Step("string", {"column": column, "op": "length"}))
    return FittedPreset(Recipe(tuple(steps)), targets)


def _free(schema: Schema, wanted: str) -> str:
    name, counter = wanted, 2
    while name in schema.kinds:
        name, counter = f"{wanted}_{counter}", counter + 1
    return name


PRESETS: dict[str, tuple[str, Callable[[Any, Schema], FittedPreset]]] = {
    "clean_and_encode": ("Clean and encode for modelling", clean_and_encode),
    "group_aggregate": ("db-benchmark style aggregation", group_aggregate),
    "time_and_text": ("Date and text features", time_and_text_features),
}


def fit_preset(name: str, frame: Any) -> FittedPreset:
    """The named preset fitted to `frame`'s columns; DataError when it does not apply to this table."""
    if name not in PRESETS:
        raise DataError(f"No preset called {name!r}: choose one of {', '.join(PRESETS)}.")
    return PRESETS[name][1](frame, Schema.of(frame))


def preset_recipe(name: str, frame: Any) -> Recipe:
    """The named preset's steps for `frame` (`fit_preset`)."""
    return fit_preset(name, frame).recipe
