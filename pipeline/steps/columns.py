"""Step kinds that choose, rename and retype columns."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.errors import DataError
from pipeline.steps import templates
from pipeline.steps.host_memory import UNMEASURED, HostCost
from pipeline.steps.params import (
    CAST_REFUSALS,
    CAST_TARGETS,
    INT64_LIMIT,
    choice,
    column_list,
    name_text,
    with_columns,
)
from pipeline.steps.spec import Context, FormField, Schema, StepKind, register


def check_select(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    return {"columns": schema.need_all(params.get("columns"))}


register(
    StepKind(
        "select",
        "Keep columns",
        "columns",
        check_select,
        lambda frame, p, _: frame[p["columns"]],
        lambda p: f"keep {column_list(p)}",
        code=templates.select,
        host_cost=HostCost(),  # the kept columns are the input's, shared, not copied
        form=(FormField("columns", "columns", "Columns"),),
    )
)


def check_drop(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    columns = schema.need_all(params.get("columns"))
    if len(columns) == len(schema.columns):
        raise DataError("Dropping every column leaves nothing; keep at least one.")
    return {"columns": columns}


register(
    StepKind(
        "drop",
        "Drop columns",
        "columns",
        check_drop,
        lambda frame, p, _: frame.drop(columns=p["columns"]),
        lambda p: f"drop {column_list(p)}",
        code=templates.drop,
        host_cost=HostCost(),  # the other columns are shared with the input
        form=(FormField("columns", "columns", "Columns"),),
    )
)


def check_rename(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    mapping = params.get("mapping")
    if not isinstance(mapping, dict) or not mapping:
        raise DataError("Give at least one column to rename, with its new name.")
    renamed = {schema.need(old): name_text(mapping, old) for old in mapping}
    names = [renamed.get(c, c) for c in schema.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(f"After renaming, names would repeat: {', '.join(repeated)}. Choose unique names.")
    return {"mapping": renamed}


register(
    StepKind(
        "rename",
        "Rename columns",
        "columns",
        check_rename,
        lambda frame, p, _: frame.rename(columns=p["mapping"]),
        lambda p: "rename " + ", ".join(f"{a} → {b}" for a, b in p.get("mapping", {}).items()),
        code=templates.rename,
        host_cost=HostCost(),  # new names on the same columns
    )
)


def check_cast(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    return {"column": schema.need(params.get("column")), "to": choice(params, "to", CAST_TARGETS)}


# A cast makes a new column of the target type next to the input; its peak depends on the target. To text, each
# number becomes a Python string first (about 60 bytes) and then an Arrow string: 16 times an 8-byte number. Text
# parsed into numbers, flags or times goes through Python objects too; categories hash every value.
CAST_COSTS = {
    "float64": HostCost(number=1.5, text=7.0),
    "int64": HostCost(number=1.5, text=7.0),  # from floats: the check for fractions makes a float and a mask
    "str": HostCost(number=16.0, text=2.0),
    "category": HostCost(number=4.0, text=4.0),
    "datetime": HostCost(number=8.0, text=5.0),
    "bool": HostCost(number=1.0, text=7.0),
}


def apply_cast(frame: Any, p: dict[str, Any], context: Context) -> Any:
    column, target = p["column"], p["to"]
    series = frame[column]

    def refusal(problem: str) -> DataError:
        return DataError(CAST_REFUSALS[problem].format(column=column, target=target))

    try:
        if target == "datetime":
            converted = context.engine.frames.to_datetime(series)
        elif target in ("int64", "bool") and bool(series.isna().any()):
            raise refusal("missing")
        elif target == "int64" and pd.api.types.is_float_dtype(series.dtype):
            if not bool(((series >= -INT64_LIMIT) & (series < INT64_LIMIT)).all()):  # astype would wrap them
                raise refusal("range")
            if not bool((series % 1 == 0).all()):
                raise refusal("fraction")
            converted = series.astype("int64")
        else:
            converted = series.astype(target)
    except DataError:
        raise
    except (ValueError, TypeError, OverflowError) as error:
        raise DataError(f"Cannot cast {column!r} to {target}: {error}") from error
    return with_columns(frame, {column: converted})


register(
    StepKind(
        "cast",
        "Change type",
        "columns",
        check_cast,
        apply_cast,
        lambda p: f"cast {p.get('column')} to {p.get('to')}",
        code=templates.cast,
        host_cost=lambda p: CAST_COSTS.get(p.get("to"), UNMEASURED),
        form=(FormField("column", "column", "Column"), FormField("to", "choice", "To", options=CAST_TARGETS)),
    )
)
