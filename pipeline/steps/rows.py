"""Step kinds that keep, drop, order or mark rows: filters, missing and duplicate rows, sort, samples, splits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.engines import Engine
from pipeline.errors import DataError
from pipeline.steps import templates
from pipeline.steps.host_memory import HostCost
from pipeline.steps.params import (
    COMPARISONS,
    FILTER_OPERATORS,
    MAX_TEXT_LENGTH,
    choice,
    column_list,
    name_text,
    new_column,
    number,
    scalar_for,
    value_for,
    with_columns,
)
from pipeline.steps.spec import Context, FormField, Schema, StepKind, register
from pipeline.tables.column_kinds import DATETIME, NUMERIC, TEXT
from pipeline.tables.random_streams import CounterRandom


def check_filter(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    conditions = params.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        raise DataError("Add at least one condition (column, operator, value).")
    checked = []
    for condition in conditions:
        if not isinstance(condition, dict):
            raise DataError("Each condition needs a column, an operator and a value.")
        column = schema.need(condition.get("column"))
        kind = schema.kinds[column]
        op = choice(condition, "op", FILTER_OPERATORS)
        entry: dict[str, Any] = {"column": column, "op": op}
        if op in COMPARISONS[2:] and kind not in (NUMERIC, DATETIME):
            raise DataError(f"{op} compares numbers or times; {column!r} is {kind}.")
        if op == "contains":
            schema.need(column, TEXT)
            entry["value"] = name_text(condition, "value")
        elif op == "in":
            values = condition.get("value")
            if not isinstance(values, list) or not values:
                raise DataError(f"'in' needs a list of values for {column!r}.")
            if len(values) > MAX_TEXT_LENGTH:
                raise DataError(f"'in' takes at most {MAX_TEXT_LENGTH:,} values; {column!r} has {len(values):,}.")
            entry["value"] = [value_for(kind, v, column) for v in values]
        elif op in COMPARISONS:
            entry["value"] = value_for(kind, condition.get("value"), column)
        checked.append(entry)
    return {"conditions": checked, "combine": choice(params, "combine", ("and", "or"), "and")}


def condition_mask(frame: Any, condition: dict[str, Any]) -> Any:
    series = frame[condition["column"]]
    op = condition["op"]
    if op == "is missing":
        return series.isna()
    if op == "is not missing":
        return series.notnull()  # Dask's Series has no notna
    if op == "contains":
        return series.str.contains(condition["value"], regex=False)
    if op == "in":
        return series.isin([scalar_for(series, v) for v in condition["value"]])
    value = scalar_for(series, condition["value"])
    return {
        "==": series == value,
        "!=": (series != value) & series.notnull(),  # NaN, NaT and None are unequal to every value
        "<": series < value,
        "<=": series <= value,
        ">": series > value,
        ">=": series >= value,
    }[op]


def apply_filter(frame: Any, p: dict[str, Any], _: Context) -> Any:
    mask = None
    for condition in p["conditions"]:
        keep = condition_mask(frame, condition).fillna(False)  # a missing value never passes a comparison
        mask = keep if mask is None else (mask & keep if p["combine"] == "and" else mask | keep)
    return frame[mask]


def describe_filter(p: Mapping[str, Any]) -> str:
    parts = [f"{c.get('column')} {c.get('op')} {c.get('value', '')}".strip() for c in p.get("conditions", [])]
    return "keep rows where " + f" {p.get('combine', 'and')} ".join(parts)


register(
    StepKind(
        "filter",
        "Filter rows",
        "rows",
        check_filter,
        apply_filter,
        describe_filter,
        code=templates.filter,
        # the kept rows gathered (all of them at most), a mask per condition; text conditions make Arrow masks
        host_cost=HostCost(table=1.0, number=1.0, text=1.5, row_bytes=2),
    )
)


def check_drop_missing(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    columns = params.get("columns") or schema.columns
    return {"columns": schema.need_all(columns), "how": choice(params, "how", ("any", "all"), "any")}


register(
    StepKind(
        "drop_missing",
        "Drop rows with missing values",
        "rows",
        check_drop_missing,
        lambda frame, p, _: frame.dropna(subset=p["columns"], how=p["how"]),
        lambda p: f"drop rows missing {p.get('how', 'any')} of {column_list(p) or 'all columns'}",
        code=templates.drop_missing,
        host_cost=HostCost(table=1.0, number=0.25, text=0.25),  # the kept rows gathered; a flag a cell
        form=(
            FormField("columns", "columns", "Columns (none: all)"),
            FormField("how", "choice", "Drop a row when", options=("any", "all")),
        ),
    )
)


def check_drop_duplicates(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    columns = params.get("columns") or schema.columns
    return {"columns": schema.need_all(columns), "keep": choice(params, "keep", ("first", "last"), "first")}


def apply_drop_duplicates(frame: Any, p: dict[str, Any], context: Context) -> Any:
    return context.engine.drop_duplicates(frame, p["columns"], p["keep"])


register(
    StepKind(
        "drop_duplicates",
        "Drop duplicate rows",
        "rows",
        check_drop_duplicates,
        apply_drop_duplicates,
        lambda p: f"drop duplicates of {column_list(p)} (keep {p.get('keep', 'first')})",
        row_order_on_dask=False,  # Dask's drop_duplicates shuffles rows by their values
        code=templates.drop_duplicates,
        # the kept rows gathered; each compared column hashed (text through its codes); the rows' hashes and order
        host_cost=HostCost(table=1.0, number=1.5, text=1.5, row_bytes=5 * 8),
        memory_factor=3.0,
        form=(
            FormField("columns", "columns", "Compare columns (none: all)"),
            FormField("keep", "choice", "Keep", options=("first", "last")),
        ),
    )
)


def check_sort(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    ascending = params.get("ascending", True)
    if not isinstance(ascending, bool):
        raise DataError(f"ascending must be true or false; got {ascending!r}.")
    return {"columns": schema.need_all(params.get("columns")), "ascending": ascending}


register(
    StepKind(
        "sort",
        "Sort rows",
        "rows",
        check_sort,
        lambda frame, p, _: frame.sort_values(p["columns"], ascending=p["ascending"]),
        lambda p: f"sort by {column_list(p)} {'ascending' if p.get('ascending', True) else 'descending'}",
        keeps_row_order=False,  # rows tied on the sort keys may come in any order
        code=templates.sort,
        host_cost=HostCost(table=1.0, number=2.0, text=1.5, row_bytes=8),  # every row gathered; the keys' codes
        memory_factor=3.0,
        form=(FormField("columns", "columns", "Sort by"), FormField("ascending", "toggle", "Ascending", default=True)),
    )
)


def check_sample(params: dict[str, Any], _schema: Schema, __: dict[str, Schema]) -> dict[str, Any]:
    return {
        "fraction": number(params, "fraction", 1e-6, 1.0, 0.1),
        "seed": number(params, "seed", 0, 2**32 - 1, 0, whole=True),
    }


def random_share(engine: Engine, rows: int, seed: int, start: int) -> Any:
    """One uniform number in [0, 1) per row from row `start` on, identical on every engine (and in every
    partition) for a seed."""
    return CounterRandom(engine.xp, seed, rows, start).uniform(0)


def apply_sample(frame: Any, p: dict[str, Any], context: Context) -> Any:
    def kept(engine: Engine, part: Any, start: int) -> Any:
        keep = random_share(engine, len(part), p["seed"], start) < p["fraction"]
        return part[engine.frames.Series(keep, index=part.index)]

    return context.engine.per_partition(frame, kept)


register(
    StepKind(
        "sample",
        "Sample rows",
        "rows",
        check_sample,
        apply_sample,
        lambda p: f"sample {p.get('fraction', 0.1):.0%} of rows (seed {p.get('seed', 0)})",
        code=templates.sample,
        host_cost=HostCost(table=1.0, row_bytes=5 * 8),  # the kept rows gathered; the random numbers and their mixing
        form=(
            FormField("fraction", "share", "Share of rows", default=0.1, low=0.01, high=1.0),
            FormField("seed", "whole", "Seed", default=0, low=0),
        ),
    )
)


def check_split(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    column = new_column(params, schema, "split", key="column")
    return {
        "test_fraction": number(params, "test_fraction", 0.01, 0.99, 0.2),
        "seed": number(params, "seed", 0, 2**32 - 1, 0, whole=True),
        "column": column,
    }


def apply_split(frame: Any, p: dict[str, Any], context: Context) -> Any:
    def labelled(engine: Engine, part: Any, start: int) -> Any:
        test = random_share(engine, len(part), p["seed"], start) < p["test_fraction"]
        labels = engine.frames.Series(test, index=part.index).map({True: "test", False: "train"})
        return with_columns(part, {p["column"]: labels})

    return context.engine.per_partition(frame, labelled)


register(
    StepKind(
        "train_test_split",
        "Train/test split",
        "rows",
        check_split,
        apply_split,
        lambda p: f"mark {p.get('test_fraction', 0.2):.0%} of rows as test in {p.get('column', 'split')!r}",
        code=templates.train_test_split,
        host_cost=HostCost(row_bytes=6 * 8),  # the random numbers and their mixing, the labels column
        form=(
            FormField("test_fraction", "share", "Test share", default=0.2, low=0.05, high=0.5),
            FormField("seed", "whole", "Seed", default=0, low=0),
            FormField("column", "text", "Column", default="split"),
        ),
    )
)
