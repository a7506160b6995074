"""Step kinds that change or add values: fill, date parts, text, log, scale, clip, bins, rolling means."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.budget import gib
from pipeline.engines import Engine
from pipeline.errors import DataError
from pipeline.steps import templates
from pipeline.steps.host_memory import HostCost
from pipeline.steps.params import (
    DATETIME_PARTS,
    FILL_METHODS,
    SCALE_METHODS,
    STRING_OPS,
    bounded_text,
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

EPSILON = float(np.finfo(np.float64).eps)


def check_fill(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    method = choice(params, "method", FILL_METHODS, "constant")
    kinds = (NUMERIC,) if method in ("mean", "median") else ()
    columns = schema.need_all(params.get("columns"), *kinds)
    checked: dict[str, Any] = {"columns": columns, "method": method}
    if method == "constant":
        if len({schema.kinds[c] for c in columns}) > 1:
            raise DataError("A constant fills columns of one kind at a time; split this step by column kind.")
        checked["value"] = value_for(schema.kinds[columns[0]], params.get("value"), columns[0])
    return checked


def fill_size(frame: Any, p: dict[str, Any], context: Context) -> tuple[int, str]:
    """A constant text written into every missing cell; the other fills keep the table's size."""
    engine, value = context.engine, p.get("value")
    size = engine.frame_nbytes(frame)
    if p["method"] != "constant" or not isinstance(value, str):
        return size, "the same table"
    missing = int(engine.compute(frame[p["columns"]].isna().sum().sum()))
    return size + missing * len(value.encode()), f"{missing:,} cells of {len(value):,} characters"


def apply_fill(frame: Any, p: dict[str, Any], context: Context) -> Any:
    columns: dict[str, Any] = {}
    for column in p["columns"]:
        series = frame[column]
        method = p["method"]
        if method == "forward":
            columns[column] = series.ffill()
            continue
        if method == "constant":
            value = scalar_for(series, p["value"])
        elif method == "mode":
            modes = context.engine.compute(series.mode())
            if len(modes) == 0:
                continue  # an all-missing column has no mode; it stays as it is
            value = modes.iloc[0]  # the smallest of tied modes on both libraries
        else:  # the median as the 0.5 quantile: equal on pandas and cuDF, and Dask's estimate of it
            value = series.mean() if method == "mean" else series.quantile(0.5)
        columns[column] = series.fillna(context.engine.compute(value))
    return with_columns(frame, columns)


register(
    StepKind(
        "fill_missing",
        "Fill missing values",
        "values",
        check_fill,
        apply_fill,
        lambda p: (
            f"fill missing {column_list(p)} with "
            + (repr(p.get("value")) if p.get("method") == "constant" else str(p.get("method")))
        ),
        estimated_on_dask=lambda p: p.get("method") == "median",
        output_size=fill_size,
        code=templates.fill,
        host_cost=HostCost(number=2.0, text=2.0),  # each filled column anew; a median's sorted copy, a mode's counts
    )
)


def check_datetime_parts(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    column = schema.need(params.get("column"), DATETIME)
    parts = params.get("parts", ["year", "month", "weekday"])
    if not isinstance(parts, list) or not parts or any(part not in DATETIME_PARTS for part in parts):
        raise DataError(f"parts must be a list drawn from {', '.join(DATETIME_PARTS)}; got {parts!r}.")
    taken = [f"{column}_{part}" for part in parts if f"{column}_{part}" in schema.kinds]
    if taken:
        raise DataError(f"Columns {', '.join(taken)} exist already; rename or drop them first.")
    return {"column": column, "parts": list(dict.fromkeys(parts))}


def apply_datetime_parts(frame: Any, p: dict[str, Any], _: Context) -> Any:
    columns: dict[str, Any] = {}
    accessor = frame[p["column"]].dt
    for part in p["parts"]:
        columns[f"{p['column']}_{part}"] = getattr(accessor, part)
    return with_columns(frame, columns)


register(
    StepKind(
        "datetime_parts",
        "Date and time parts",
        "values",
        check_datetime_parts,
        apply_datetime_parts,
        lambda p: f"{', '.join(p.get('parts', []))} of {p.get('column')}",
        code=templates.datetime_parts,
        host_cost=HostCost(number=4.0),  # up to six 4-byte parts of every row, and the fields they are taken from
        form=(
            FormField("column", "column", "Column", kinds=(DATETIME,)),
            FormField("parts", "several", "Parts", options=DATETIME_PARTS, default=("year", "month", "weekday")),
        ),
    )
)


def check_string(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    column = schema.need(params.get("column"), TEXT)
    op = choice(params, "op", STRING_OPS)
    checked: dict[str, Any] = {"column": column, "op": op}
    if op in ("contains", "replace"):
        checked["pattern"] = name_text(params, "pattern")
    if op == "replace":
        replacement = params.get("replacement", "")
        if not isinstance(replacement, str):
            raise DataError(f"replacement must be text; got {replacement!r}.")
        checked["replacement"] = bounded_text(replacement, "replacement")
    default = column if op in ("lower", "upper", "strip", "replace") else f"{column}_{op}"
    output = name_text(params, "output", default)
    checked["output"] = output if output == column else new_column(params, schema, default)
    return checked


def string_size(frame: Any, p: dict[str, Any], context: Context) -> tuple[int, str]:
    """A new column about the size of the text it comes from; a replacement longer than its pattern grows it by
    their ratio at most."""
    engine = context.engine
    text = engine.frame_nbytes(frame[[p["column"]]])
    growth = max(1.0, len(p.get("replacement", "")) / len(p["pattern"])) if p["op"] == "replace" else 1.0
    return int(engine.frame_nbytes(frame) + text * growth), f"a text column of up to {gib(text * growth)}"


def apply_string(frame: Any, p: dict[str, Any], _: Context) -> Any:
    text = frame[p["column"]]
    if not pd.api.types.is_string_dtype(text.dtype) or text.dtype == object:
        text = text.astype("str")  # categoricals and mixed objects: work on their labels
    op = p["op"]
    if op == "contains":
        value = text.str.contains(p["pattern"], regex=False)  # literal text: no regex dialect differences
    elif op == "replace":
        value = text.str.replace(p["pattern"], p["replacement"], regex=False)
    elif op == "length":
        value = text.str.len()
    else:
        value = getattr(text.str, op)()
    return with_columns(frame, {p["output"]: value})


register(
    StepKind(
        "string",
        "Text operation",
        "values",
        check_string,
        apply_string,
        lambda p: f"{p.get('op')} of {p.get('column')}" + (f" → {p['output']}" if p.get("output") else ""),
        output_size=string_size,
        code=templates.string,
        host_cost=HostCost(text=1.0),  # the text as Arrow strings (categories written out); the output is output_size
    )
)


def check_numeric_columns(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    return {"columns": schema.need_all(params.get("columns"), NUMERIC)}


def apply_log1p(frame: Any, p: dict[str, Any], context: Context) -> Any:
    columns: dict[str, Any] = {}
    for column in p["columns"]:
        series = frame[column].astype("float64")
        if bool(context.engine.compute((series <= -1).any())):
            raise DataError(f"log1p needs values above -1; {column!r} has smaller ones. Clip or shift it first.")
        columns[column] = np.log1p(series)
    return with_columns(frame, columns)


register(
    StepKind(
        "log1p",
        "Log (1 + x)",
        "values",
        check_numeric_columns,
        apply_log1p,
        lambda p: f"log1p of {column_list(p)}",
        code=templates.log1p,
        host_cost=HostCost(number=2.5),  # each column as floats, its check mask, its logarithms
        form=(FormField("columns", "columns", "Columns", kinds=(NUMERIC,)),),
    )
)


def check_scale(params: dict[str, Any], schema: Schema, dataset_schemas: dict[str, Schema]) -> dict[str, Any]:
    checked = check_numeric_columns(params, schema, dataset_schemas)
    checked["method"] = choice(params, "method", SCALE_METHODS, "standard")
    return checked


def apply_scale(frame: Any, p: dict[str, Any], context: Context) -> Any:
    """Standard: (x - mean) / population std, as scikit-learn; min-max to [0, 1]; robust: (x - median) / IQR."""
    columns: dict[str, Any] = {}
    for column in p["columns"]:
        series = frame[column].astype("float64")
        if p["method"] == "standard":
            centre, spread, count = series.mean(), series.std(ddof=0), series.count()
        elif p["method"] == "minmax":
            centre, spread, count = series.min(), series.max() - series.min(), 0
        else:
            centre = series.quantile(0.5)
            spread, count = series.quantile(0.75) - series.quantile(0.25), 0
        found = context.engine.compute({"centre": centre, "spread": spread, "count": count})
        centre, spread = found["centre"], found["spread"]
        if not spread or rounding_of_a_constant(spread, centre, found["count"]):
            spread = 1.0  # a constant column is centred only: its values become 0
        columns[column] = (series - centre) / spread
    return with_columns(frame, columns)


def rounding_of_a_constant(std: float, mean: float, count: int) -> bool:
    """Whether a standard deviation is no more than rounding leaves of a constant column's mean (0.1 three times
    has a mean 1.4e-17 off and a deviation of as much): scikit-learn's test to first order, so such a column is
    centred, not scaled to ±1."""
    return std <= count * abs(mean) * EPSILON


register(
    StepKind(
        "scale",
        "Scale numbers",
        "values",
        check_scale,
        apply_scale,
        lambda p: f"{p.get('method', 'standard')} scale {column_list(p)}",
        estimated_on_dask=lambda p: p.get("method") == "robust",
        code=templates.scale,
        host_cost=HostCost(number=2.5),  # each column as floats, its quantiles' sorted copy, the scaled column
        form=(
            FormField("columns", "columns", "Columns", kinds=(NUMERIC,)),
            FormField("method", "choice", "Method", options=SCALE_METHODS),
        ),
    )
)


def check_clip(params: dict[str, Any], schema: Schema, dataset_schemas: dict[str, Schema]) -> dict[str, Any]:
    checked = check_numeric_columns(params, schema, dataset_schemas)
    checked["lower"] = number(params, "lower", 0.0, 0.5, 0.01)
    checked["upper"] = number(params, "upper", 0.5, 1.0, 0.99)
    return checked


def apply_clip(frame: Any, p: dict[str, Any], context: Context) -> Any:
    """Clip each column to its own lower and upper quantiles."""
    columns: dict[str, Any] = {}
    for column in p["columns"]:
        series = frame[column]
        bounds = context.engine.compute({"lower": series.quantile(p["lower"]), "upper": series.quantile(p["upper"])})
        columns[column] = series.clip(bounds["lower"], bounds["upper"])
    return with_columns(frame, columns)


register(
    StepKind(
        "clip",
        "Clip outliers",
        "values",
        check_clip,
        apply_clip,
        lambda p: f"clip {column_list(p)} to quantiles {p.get('lower', 0.01)}–{p.get('upper', 0.99)}",
        estimated_on_dask=lambda _p: True,
        code=templates.clip,
        host_cost=HostCost(number=3.0),  # each column's quantiles (a sorted copy) and its clipped copy
    )
)


def check_quantile_bin(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    column = schema.need(params.get("column"), NUMERIC)
    output = new_column(params, schema, f"{column}_bin")
    return {"column": column, "bins": number(params, "bins", 2, 100, 4, whole=True), "output": output}


def apply_quantile_bin(frame: Any, p: dict[str, Any], context: Context) -> Any:
    """Bin number 0..bins-1 by the column's quantiles, as pandas' qcut: bins are closed on the right, so a value on
    an edge is in the lower bin and ties share a bin; a repeated edge leaves its bin empty (qcut refuses it), so the
    smallest values are always in bin 0. Missing stays missing."""
    series = frame[p["column"]]
    inner = series.quantile([i / p["bins"] for i in range(1, p["bins"])])
    edges = context.engine.to_pandas(inner).to_numpy(dtype="float64")

    def binned(engine: Engine, part: Any, _start: int) -> Any:
        xp = engine.xp
        values = engine.float_values(part[p["column"]])
        codes = engine.frames.Series(xp.searchsorted(xp.asarray(edges), values, side="left"), index=part.index)
        return with_columns(part, {p["output"]: engine.with_missing(codes, part[p["column"]].isna())})

    return context.engine.per_partition(frame, binned)


register(
    StepKind(
        "quantile_bin",
        "Bin by quantiles",
        "values",
        check_quantile_bin,
        apply_quantile_bin,
        lambda p: f"{p.get('bins', 4)} quantile bins of {p.get('column')}",
        estimated_on_dask=lambda _p: True,
        code=templates.quantile_bin,
        host_cost=HostCost(number=3.0),  # the quantiles' sorted copy, the values as floats, the bins, their mask
        form=(
            FormField("column", "column", "Column", kinds=(NUMERIC,)),
            FormField("bins", "whole", "Bins", default=4, low=2, high=100),
        ),
    )
)


def check_rolling(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    column = schema.need(params.get("column"), NUMERIC)
    window = number(params, "window", 2, 100_000, 3, whole=True)
    return {"column": column, "window": window, "output": new_column(params, schema, f"{column}_rolling_{window}")}


def apply_rolling(frame: Any, p: dict[str, Any], _: Context) -> Any:
    return with_columns(
        frame, {p["output"]: frame[p["column"]].astype("float64").rolling(p["window"], min_periods=1).mean()}
    )


register(
    StepKind(
        "rolling_mean",
        "Rolling mean",
        "values",
        check_rolling,
        apply_rolling,
        lambda p: f"mean of {p.get('column')} over {p.get('window', 3)} rows",
        code=templates.rolling_mean,
        host_cost=HostCost(number=3.5),  # the column as floats, the window's sums and counts, the means
        form=(
            FormField("column", "column", "Column", kinds=(NUMERIC,)),
            FormField("window", "whole", "Window (rows)", default=3, low=2),
        ),
    )
)
