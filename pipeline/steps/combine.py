"""Step kinds that combine rows or tables: group-and-aggregate and join."""

from __future__ import annotations

from typing import Any

from pipeline.errors import DataError
from pipeline.steps import templates
from pipeline.steps.host_memory import HostCost
from pipeline.steps.params import (
    AGGREGATIONS,
    choice,
)
from pipeline.steps.spec import Context, Schema, StepKind, register
from pipeline.tables.column_kinds import NUMERIC


def check_group(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    keys = schema.need_all(params.get("by"))
    aggregations = params.get("aggregations")
    if not isinstance(aggregations, list) or not aggregations:
        raise DataError("Add at least one aggregation (column and function).")
    checked = []
    for item in aggregations:
        if not isinstance(item, dict):
            raise DataError("Each aggregation needs a column and a function.")
        function = choice(item, "function", AGGREGATIONS)
        numeric_only = function in ("sum", "mean", "std")
        column = schema.need(item.get("column"), *((NUMERIC,) if numeric_only else ()))
        if column in keys:
            raise DataError(f"{column!r} is a group key; aggregate another column.")
        checked.append({"column": column, "function": function})
    return {"by": keys, "aggregations": checked}


def apply_group(frame: Any, p: dict[str, Any], _: Context) -> Any:
    spec: dict[str, list[str]] = {}
    for item in p["aggregations"]:
        spec.setdefault(item["column"], []).append(item["function"])
    grouped = frame.groupby(p["by"], sort=True).agg(spec)
    grouped.columns = [f"{column}_{function}" for column, function in grouped.columns]
    return grouped.reset_index()


register(
    StepKind(
        "group_aggregate",
        "Group and aggregate",
        "combine",
        check_group,
        apply_group,
        lambda p: (
            f"by {', '.join(p.get('by', []))}: "
            + ", ".join(f"{a.get('function')}({a.get('column')})" for a in p.get("aggregations", []))
        ),
        keeps_row_order=False,
        code=templates.group,
        host_cost=HostCost(number=2.0, text=2.0, row_bytes=8),  # the keys' codes, the groups' order, distinct counts
        memory_factor=3.0,
    )
)


def check_join(params: dict[str, Any], schema: Schema, dataset_schemas: dict[str, Schema]) -> dict[str, Any]:
    other = params.get("dataset")
    if other not in dataset_schemas:
        names = ", ".join(sorted(dataset_schemas)) or "none loaded"
        raise DataError(f"No loaded dataset called {other!r} to join with; loaded: {names}.")
    keys = schema.need_all(params.get("on"))
    right = dataset_schemas[other]
    for key in keys:
        right.need(key)
        if schema.kinds[key] != right.kinds[key]:
            raise DataError(
                f"Join key {key!r} is {schema.kinds[key]} here but {right.kinds[key]} in {other!r}: "
                "cast one side so both match."
            )
    return {"dataset": other, "on": keys, "how": choice(params, "how", ("inner", "left"), "inner")}


def join_size(frame: Any, p: dict[str, Any], context: Context) -> tuple[int, str]:
    """The join's rows counted from both tables' key counts (each key's rows here times its rows there; a left join
    keeps unmatched rows too), times a row of this table and the other's columns besides the keys."""
    other = context.datasets.get(p["dataset"])
    if other is None:
        return 0, "nothing"
    engine, keys = context.engine, p["on"]
    here = frame.groupby(keys, dropna=False).size().rename("here").to_frame()
    there = other.groupby(keys, dropna=False).size().rename("there").to_frame()
    counts = engine.to_pandas(engine.compute(here.join(there, how="left")))
    matched = counts["there"].fillna(0)
    rows = int((counts["here"] * matched).sum())
    if p["how"] == "left":
        rows += int(counts["here"][matched == 0].sum())
    added = engine.frame_nbytes(other.drop(columns=keys)) / max(len(other), 1)
    width = engine.frame_nbytes(frame) / max(len(frame), 1) + added
    return int(rows * width), f"{rows:,} rows"


def apply_join(frame: Any, p: dict[str, Any], context: Context) -> Any:
    other = context.datasets.get(p["dataset"])
    if other is None:
        raise DataError(f"The dataset {p['dataset']!r} is not on {context.engine.label}; load it there first.")
    return frame.merge(other, on=p["on"], how=p["how"], suffixes=("", "_right"))


register(
    StepKind(
        "join",
        "Join another dataset",
        "combine",
        check_join,
        apply_join,
        lambda p: f"{p.get('how', 'inner')} join {p.get('dataset')} on {', '.join(p.get('on', []))}",
        keeps_row_order=False,
        output_size=join_size,
        code=templates.join,
        # both sides' keys hashed, the rows' indexers, this side gathered again; the rest of the output is output_size
        host_cost=HostCost(table=1.0, number=1.0, text=1.0, row_bytes=2 * 8),
        memory_factor=4.0,
        needs_other_dataset=True,
    )
)
