"""Step kinds that encode categories as numbers: one-hot and label codes."""

from __future__ import annotations

from typing import Any

from pipeline.engines import Engine
from pipeline.errors import DataError
from pipeline.steps import templates
from pipeline.steps.host_memory import HostCost
from pipeline.steps.params import (
    MAX_ONE_HOT_LEVELS,
    number,
    with_columns,
)
from pipeline.steps.spec import Context, FormField, Schema, StepKind, register
from pipeline.tables.column_kinds import BOOLEAN, NUMERIC, TEXT


def check_one_hot(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    """One or more columns (`columns`; a recipe of one column may say `column`)."""
    names = params.get("columns") or ([params["column"]] if params.get("column") is not None else None)
    columns = schema.need_all(names, TEXT, BOOLEAN, NUMERIC)
    return {"columns": columns, "max_levels": number(params, "max_levels", 2, MAX_ONE_HOT_LEVELS, 50, whole=True)}


def sorted_levels(context: Context, series: Any, limit: int) -> list[Any]:
    """The column's distinct values, sorted; DataError when there are more than `limit`."""
    count = int(context.engine.compute(series.nunique()))  # counted on the engine: only the levels come here
    if count > limit:
        raise DataError(
            f"{series.name!r} has {count:,} distinct values, more than the {limit:,} allowed here: "
            "one-hot encoding it would add that many columns. Use label encoding, or group rare values first."
        )
    return sorted(context.engine.to_pandas(series.dropna().drop_duplicates()).tolist())


def one_hot_size(frame: Any, p: dict[str, Any], context: Context) -> tuple[int, str]:
    """A byte for every row and level, next to the input."""
    counted = (int(context.engine.compute(frame[column].nunique())) for column in p["columns"])
    levels = sum(min(count, p["max_levels"]) for count in counted)
    rows = len(frame)
    return context.engine.frame_nbytes(frame) + rows * levels, f"{levels:,} new columns of {rows:,} rows"


def apply_one_hot(frame: Any, p: dict[str, Any], context: Context) -> Any:
    """Every column's levels are counted (and refused past the limit) before any column changes."""
    levels = {column: sorted_levels(context, frame[column], p["max_levels"]) for column in p["columns"]}
    indicators = {
        f"{column}={level}": (frame[column] == level).fillna(False).astype("int8")
        for column, found in levels.items()
        for level in found
    }
    return with_columns(frame.drop(columns=list(p["columns"])), indicators)


def describe_one_hot(p: dict[str, Any]) -> str:
    columns = p.get("columns") or [p.get("column")]
    return f"one-hot {', '.join(map(str, columns))} (at most {p.get('max_levels', 50)} levels each)"


register(
    StepKind(
        "one_hot",
        "One-hot encode",
        "encoding",
        check_one_hot,
        apply_one_hot,
        describe_one_hot,
        output_size=one_hot_size,
        code=templates.one_hot,
        host_cost=HostCost(number=1.0, text=1.0),  # counting the levels; the new columns are output_size
        memory_factor=4.0,
        form=(
            FormField("columns", "columns", "Columns", kinds=(TEXT, BOOLEAN, NUMERIC)),
            FormField("max_levels", "whole", "At most levels each", default=50, low=2, high=MAX_ONE_HOT_LEVELS),
        ),
    )
)


def check_label_encode(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    return {"column": schema.need(params.get("column"), TEXT, BOOLEAN)}


def apply_label_encode(frame: Any, p: dict[str, Any], context: Context) -> Any:
    """Codes 0..k-1 in sorted order of the values; -1 for missing (pandas says -1, cuDF null: filled alike)."""
    levels = context.engine.category_levels(frame[p["column"]])

    def coded(engine: Engine, part: Any, _start: int) -> Any:
        kind = "category" if levels is None else engine.frames.CategoricalDtype(levels)
        codes = part[p["column"]].astype(kind).cat.codes.fillna(-1).astype("int32")
        return with_columns(part, {p["column"]: codes})

    return context.engine.per_partition(frame, coded)


register(
    StepKind(
        "label_encode",
        "Label encode",
        "encoding",
        check_label_encode,
        apply_label_encode,
        lambda p: f"codes for {p.get('column')}",
        code=templates.label_encode,
        host_cost=HostCost(number=2.0, text=4.0),  # the values hashed into categories, their codes
        form=(FormField("column", "column", "Column", kinds=(TEXT, BOOLEAN)),),
    )
)
