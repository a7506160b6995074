"""Every step kind: its parameter checks and one implementation for pandas and cuDF.

Implementations use the API the two libraries share; where they differ the code says why.
Randomness (sample, train/test split) comes from `CounterRandom`, so both engines pick the
same rows. Importing this module registers the kinds in `pipeline.steps.spec.STEP_KINDS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipeline.data.column_kinds import BOOLEAN, DATETIME, NUMERIC, TEXT
from pipeline.data.random_streams import CounterRandom
from pipeline.duplicates import duplicated
from pipeline.engines import Engine
from pipeline.engines.dask import is_dask_frame
from pipeline.errors import DataError
from pipeline.steps.memory import gib
from pipeline.steps.spec import Context, Schema, StepKind, register

MAX_ONE_HOT_LEVELS = 1_000
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
FILTER_OPERATORS = (*COMPARISONS, "in", "contains", "is missing", "is not missing")


def choice(params: dict[str, Any], key: str, options: tuple[str, ...], default: str | None = None) -> str:
    value = params.get(key, default)
    if value not in options:
        raise DataError(f"{key} must be one of {', '.join(options)}; got {value!r}.")
    return value


def number(
    params: dict[str, Any], key: str, low: float, high: float, default: float | None = None, *, whole: bool = False
) -> float | int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not float(value).is_integer()):
        raise DataError(f"{key} must be a {'whole ' if whole else ''}number; got {value!r}.")
    if not low <= value <= high:
        raise DataError(f"{key} must be between {low:g} and {high:g}; got {value:g}.")
    return int(value) if whole else float(value)


MAX_TEXT_LENGTH = 1_000  # characters of any text a step is given: a name, a value, a pattern


def bounded_text(value: str, key: str) -> str:
    if len(value) > MAX_TEXT_LENGTH:
        raise DataError(f"{key} is {len(value):,} characters long; a step takes at most {MAX_TEXT_LENGTH:,}.")
    return value


def name_text(params: dict[str, Any], key: str, default: str | None = None) -> str:
    value = params.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{key} must be a non-empty name; got {value!r}.")
    return bounded_text(value.strip(), key)


def with_columns(frame: Any, columns: dict[str, Any]) -> Any:
    """The frame with these columns replaced or added; the others are shared, not copied."""
    return frame.assign(**columns)


def new_column(params: dict[str, Any], schema: Schema, default: str, key: str = "output") -> str:
    """The name of a column a step adds; DataError when the table has one of that name already."""
    name = name_text(params, key, default)
    if name in schema.kinds:
        raise DataError(f"A column called {name!r} exists already; choose another name for the new one.")
    return name


def value_for(kind: str, value: Any, column: str) -> Any:
    """A filter or fill value checked against the column's kind (JSON carries times as ISO text)."""
    if kind == NUMERIC and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if kind == BOOLEAN and isinstance(value, bool):
        return value
    if kind == TEXT and isinstance(value, str):
        return bounded_text(value, f"The value for {column!r}")
    if kind == DATETIME and isinstance(value, str):
        try:
            return pd.Timestamp(value).isoformat()
        except ValueError as error:
            raise DataError(
                f"{value!r} is not a date or time for {column!r} (use e.g. 2024-01-31 or 2024-01-31T08:00)."
            ) from error
    raise DataError(f"{value!r} does not fit {column!r}, a {kind} column: give a {_example(kind)}.")


def _example(kind: str) -> str:
    return {NUMERIC: "number", BOOLEAN: "true or false", TEXT: "text value", DATETIME: "date such as 2024-01-31"}.get(
        kind, "value of its type"
    )


def scalar_for(series: Any, value: Any) -> Any:
    """A checked value as the column needs it at run time (times in the column's time zone)."""
    if isinstance(value, str) and pd.api.types.is_datetime64_any_dtype(series.dtype):
        moment = pd.Timestamp(value)
        tz = getattr(series.dtype, "tz", None)
        if tz is not None:
            return moment.tz_localize(tz) if moment.tzinfo is None else moment.tz_convert(tz)
        return moment.tz_convert(None) if moment.tzinfo is not None else moment
    return value


def _columns(params: dict[str, Any], key: str = "columns") -> str:
    return ", ".join(params.get(key, []))


# --- columns -------------------------------------------------------------------------------


def check_select(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    return {"columns": schema.need_all(params.get("columns"))}


register(
    StepKind(
        "select",
        "Keep columns",
        "columns",
        check_select,
        lambda frame, p, _: frame[p["columns"]],
        lambda p: f"keep {_columns(p)}",
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
        lambda p: f"drop {_columns(p)}",
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
    )
)


CAST_TARGETS = ("float64", "int64", "str", "category", "datetime", "bool")


def check_cast(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    return {"column": schema.need(params.get("column")), "to": choice(params, "to", CAST_TARGETS)}


def apply_cast(frame: Any, p: dict[str, Any], context: Context) -> Any:
    column, target = p["column"], p["to"]
    series = frame[column]
    try:
        if target == "datetime":
            converted = context.engine.frames.to_datetime(series)
        elif target in ("int64", "bool") and bool(series.isna().any()):
            raise DataError(f"{column!r} has missing values, which {target} cannot hold: fill or drop them first.")
        elif target == "int64" and pd.api.types.is_float_dtype(series.dtype):
            if not bool((series % 1 == 0).all()):
                raise DataError(f"{column!r} has fractional values; round them or cast to float64 instead.")
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
        "cast", "Change type", "columns", check_cast, apply_cast, lambda p: f"cast {p.get('column')} to {p.get('to')}"
    )
)


# --- rows ----------------------------------------------------------------------------------


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
        return series.notna()
    if op == "contains":
        return series.str.contains(condition["value"], regex=False)
    if op == "in":
        return series.isin([scalar_for(series, v) for v in condition["value"]])
    value = scalar_for(series, condition["value"])
    return {
        "==": series == value,
        "!=": series != value,
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


register(StepKind("filter", "Filter rows", "rows", check_filter, apply_filter, describe_filter))


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
        lambda p: f"drop rows missing {p.get('how', 'any')} of {_columns(p) or 'all columns'}",
    )
)


def check_drop_duplicates(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    columns = params.get("columns") or schema.columns
    return {"columns": schema.need_all(columns), "keep": choice(params, "keep", ("first", "last"), "first")}


def apply_drop_duplicates(frame: Any, p: dict[str, Any], context: Context) -> Any:
    if is_dask_frame(frame):  # Dask has no `duplicated`: its drop_duplicates finds the repeats across partitions
        # It sends rows to partitions by a hash of their values, and -0.0 hashes apart from 0.0, which pandas
        # calls equal: float keys are compared as x + 0.0 (which turns -0.0 into 0.0) in columns of their own.
        floats = {f"__key {c}": frame[c] + 0.0 for c in p["columns"] if pd.api.types.is_float_dtype(frame[c].dtype)}
        keys = [f"__key {c}" if f"__key {c}" in floats else c for c in p["columns"]]
        unique = frame.assign(**floats).drop_duplicates(subset=keys, keep=p["keep"])
        return unique.drop(columns=list(floats))
    return frame[~duplicated(context.engine, frame, p["columns"], p["keep"])]


register(
    StepKind(
        "drop_duplicates",
        "Drop duplicate rows",
        "rows",
        check_drop_duplicates,
        apply_drop_duplicates,
        lambda p: f"drop duplicates of {_columns(p)} (keep {p.get('keep', 'first')})",
        row_order_on_dask=False,  # Dask's drop_duplicates shuffles rows by their values
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
        lambda p: f"sort by {_columns(p)} {'ascending' if p.get('ascending', True) else 'descending'}",
        keeps_row_order=False,  # rows tied on the sort keys may come in any order
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
    )
)


# --- values --------------------------------------------------------------------------------

FILL_METHODS = ("constant", "mean", "median", "mode", "forward")


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
    missing = int(engine.finish(frame[p["columns"]].isna().sum().sum()))
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
            modes = context.engine.finish(series.mode())
            if len(modes) == 0:
                continue  # an all-missing column has no mode; it stays as it is
            value = modes.iloc[0]  # the smallest of tied modes on both libraries
        else:  # the median as the 0.5 quantile: equal on pandas and cuDF, and Dask's estimate of it
            value = series.mean() if method == "mean" else series.quantile(0.5)
        columns[column] = series.fillna(context.engine.finish(value))
    return with_columns(frame, columns)


register(
    StepKind(
        "fill_missing",
        "Fill missing values",
        "values",
        check_fill,
        apply_fill,
        lambda p: (
            f"fill missing {_columns(p)} with "
            + (repr(p.get("value")) if p.get("method") == "constant" else str(p.get("method")))
        ),
        estimated_on_dask=lambda p: p.get("method") == "median",
        output_size=fill_size,
    )
)


DATETIME_PARTS = ("year", "month", "day", "weekday", "hour", "minute")


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
    )
)


STRING_OPS = ("lower", "upper", "strip", "length", "contains", "replace")


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
    )
)


def check_numeric_columns(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    return {"columns": schema.need_all(params.get("columns"), NUMERIC)}


def apply_log1p(frame: Any, p: dict[str, Any], context: Context) -> Any:
    columns: dict[str, Any] = {}
    for column in p["columns"]:
        series = frame[column].astype("float64")
        if bool(context.engine.finish((series <= -1).any())):
            raise DataError(f"log1p needs values above -1; {column!r} has smaller ones. Clip or shift it first.")
        columns[column] = np.log1p(series)
    return with_columns(frame, columns)


register(
    StepKind("log1p", "Log (1 + x)", "values", check_numeric_columns, apply_log1p, lambda p: f"log1p of {_columns(p)}")
)


SCALE_METHODS = ("standard", "minmax", "robust")


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
            centre, spread = series.mean(), series.std(ddof=0)
        elif p["method"] == "minmax":
            centre, spread = series.min(), series.max() - series.min()
        else:
            centre = series.quantile(0.5)
            spread = series.quantile(0.75) - series.quantile(0.25)
        found = context.engine.finish({"centre": centre, "spread": spread})
        centre, spread = found["centre"], found["spread"]
        columns[column] = (series - centre) / (spread if spread else 1.0)  # a constant column becomes 0
    return with_columns(frame, columns)


register(
    StepKind(
        "scale",
        "Scale numbers",
        "values",
        check_scale,
        apply_scale,
        lambda p: f"{p.get('method', 'standard')} scale {_columns(p)}",
        estimated_on_dask=lambda p: p.get("method") == "robust",
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
        bounds = context.engine.finish({"lower": series.quantile(p["lower"]), "upper": series.quantile(p["upper"])})
        columns[column] = series.clip(bounds["lower"], bounds["upper"])
    return with_columns(frame, columns)


register(
    StepKind(
        "clip",
        "Clip outliers",
        "values",
        check_clip,
        apply_clip,
        lambda p: f"clip {_columns(p)} to quantiles {p.get('lower', 0.01)}–{p.get('upper', 0.99)}",
        estimated_on_dask=lambda _p: True,
    )
)


def check_quantile_bin(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    column = schema.need(params.get("column"), NUMERIC)
    output = new_column(params, schema, f"{column}_bin")
    return {"column": column, "bins": number(params, "bins", 2, 100, 4, whole=True), "output": output}


def apply_quantile_bin(frame: Any, p: dict[str, Any], context: Context) -> Any:
    """Bin number 0..bins-1 by the column's quantiles (ties share a bin); missing stays missing."""
    series = frame[p["column"]]
    inner = series.quantile([i / p["bins"] for i in range(1, p["bins"])])
    edges = context.engine.to_pandas(inner).to_numpy(dtype="float64")

    def binned(engine: Engine, part: Any, _start: int) -> Any:
        xp = engine.xp
        values = engine.float_values(part[p["column"]])
        codes = engine.frames.Series(xp.searchsorted(xp.asarray(edges), values, side="right"), index=part.index)
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
    )
)


# --- encoding ------------------------------------------------------------------------------


def check_one_hot(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    column = schema.need(params.get("column"), TEXT, BOOLEAN, NUMERIC)
    return {"column": column, "max_levels": number(params, "max_levels", 2, MAX_ONE_HOT_LEVELS, 50, whole=True)}


def sorted_levels(context: Context, series: Any, limit: int) -> list[Any]:
    """The column's distinct values, sorted; DataError when there are more than `limit`."""
    count = int(context.engine.finish(series.nunique()))  # counted on the engine: only the levels come here
    if count > limit:
        raise DataError(
            f"{series.name!r} has {count:,} distinct values, more than the {limit:,} allowed here: "
            "one-hot encoding it would add that many columns. Use label encoding, or group rare values first."
        )
    return sorted(context.engine.to_pandas(series.dropna().drop_duplicates()).tolist())


def one_hot_size(frame: Any, p: dict[str, Any], context: Context) -> tuple[int, str]:
    """A byte for every row and level, next to the input."""
    levels = min(int(context.engine.finish(frame[p["column"]].nunique())), p["max_levels"])
    rows = len(frame)
    return context.engine.frame_nbytes(frame) + rows * levels, f"{levels:,} new columns of {rows:,} rows"


def apply_one_hot(frame: Any, p: dict[str, Any], context: Context) -> Any:
    series = frame[p["column"]]
    levels = sorted_levels(context, series, p["max_levels"])
    indicators = {f"{p['column']}={level}": (series == level).fillna(False).astype("int8") for level in levels}
    return with_columns(frame.drop(columns=[p["column"]]), indicators)


register(
    StepKind(
        "one_hot",
        "One-hot encode",
        "encoding",
        check_one_hot,
        apply_one_hot,
        lambda p: f"one-hot {p.get('column')} (at most {p.get('max_levels', 50)} levels)",
        output_size=one_hot_size,
    )
)


def check_label_encode(params: dict[str, Any], schema: Schema, _: dict[str, Schema]) -> dict[str, Any]:
    return {"column": schema.need(params.get("column"), TEXT, BOOLEAN)}


def apply_label_encode(frame: Any, p: dict[str, Any], context: Context) -> Any:
    """Codes 0..k-1 in sorted order of the values; -1 for missing (pandas says -1, cuDF null: filled alike)."""
    levels = None
    if is_dask_frame(frame):  # each partition must code with the whole column's levels
        levels = sorted(context.engine.to_pandas(frame[p["column"]].dropna().drop_duplicates()).tolist())

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
    )
)


# --- combine -------------------------------------------------------------------------------

AGGREGATIONS = ("count", "sum", "mean", "min", "max", "std", "nunique")


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
    counts = engine.to_pandas(engine.finish(here.join(there, how="left")))
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
    )
)
