"""One small form per step kind; choices come from the columns the new step will see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from pipeline.data.column_kinds import BOOLEAN, DATETIME, NUMERIC, TEXT
from pipeline.steps.library import (
    AGGREGATIONS,
    CAST_TARGETS,
    DATETIME_PARTS,
    FILL_METHODS,
    FILTER_OPERATORS,
    STRING_OPS,
)
from pipeline.steps.spec import Schema

Form = Callable[[Schema, str], dict[str, Any]]


def of_kind(schema: Schema, *kinds: str) -> list[str]:
    return [name for name, kind in schema.kinds.items() if kind in kinds]


def typed_value(label: str, kind: str, key: str) -> Any:
    """A value widget that fits the column's kind (numbers, flags, dates as ISO text, text)."""
    if kind == NUMERIC:
        return st.number_input(label, value=0.0, key=key, format="%g")
    if kind == BOOLEAN:
        return st.selectbox(label, [True, False], key=key)
    if kind == DATETIME:
        return st.text_input(label, value="2024-01-01", key=key, help="ISO date or time, e.g. 2024-01-31T08:00")
    return st.text_input(label, key=key)


def columns_form(*kinds: str) -> Form:
    def form(schema: Schema, key: str) -> dict[str, Any]:
        choices = of_kind(schema, *kinds) if kinds else schema.columns
        return {"columns": st.multiselect("Columns", choices, key=f"{key}_columns")}

    return form


def one_column_form(*kinds: str) -> Form:
    def form(schema: Schema, key: str) -> dict[str, Any]:
        return {"column": st.selectbox("Column", of_kind(schema, *kinds), key=f"{key}_column")}

    return form


def rename_form(schema: Schema, key: str) -> dict[str, Any]:
    column = st.selectbox("Column", schema.columns, key=f"{key}_column")
    return {"mapping": {column: st.text_input("New name", value=column or "", key=f"{key}_name")}}


def cast_form(schema: Schema, key: str) -> dict[str, Any]:
    left, right = st.columns(2)
    return {
        "column": left.selectbox("Column", schema.columns, key=f"{key}_column"),
        "to": right.selectbox("To", CAST_TARGETS, key=f"{key}_to"),
    }


def filter_form(schema: Schema, key: str) -> dict[str, Any]:
    count = st.number_input("Conditions", min_value=1, max_value=5, value=1, key=f"{key}_count")
    combine = st.radio("Combine with", ["and", "or"], horizontal=True, key=f"{key}_combine")
    conditions = []
    for i in range(int(count)):
        left, middle, right = st.columns(3)
        column = left.selectbox("Column", schema.columns, key=f"{key}_c{i}")
        op = middle.selectbox("Operator", FILTER_OPERATORS, key=f"{key}_op{i}")
        condition = {"column": column, "op": op}
        kind = schema.kinds.get(column, TEXT)
        with right:
            if op == "in":
                raw = st.text_input("Values, comma-separated", key=f"{key}_v{i}")
                parsed = [v.strip() for v in raw.split(",") if v.strip()]
                condition["value"] = [float(v) for v in parsed if _is_number(v)] if kind == NUMERIC else parsed
            elif op == "contains":
                condition["value"] = st.text_input("Text", key=f"{key}_v{i}")
            elif op not in ("is missing", "is not missing"):
                condition["value"] = typed_value("Value", kind, f"{key}_v{i}")
        conditions.append(condition)
    return {"conditions": conditions, "combine": combine}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def drop_missing_form(schema: Schema, key: str) -> dict[str, Any]:
    columns = st.multiselect("Columns (none: all)", schema.columns, key=f"{key}_columns")
    return {"columns": columns, "how": st.radio("Drop a row when", ["any", "all"], horizontal=True, key=f"{key}_how")}


def drop_duplicates_form(schema: Schema, key: str) -> dict[str, Any]:
    columns = st.multiselect("Compare columns (none: all)", schema.columns, key=f"{key}_columns")
    return {"columns": columns, "keep": st.radio("Keep", ["first", "last"], horizontal=True, key=f"{key}_keep")}


def sort_form(schema: Schema, key: str) -> dict[str, Any]:
    return {
        "columns": st.multiselect("Sort by", schema.columns, key=f"{key}_columns"),
        "ascending": st.toggle("Ascending", value=True, key=f"{key}_asc"),
    }


def sample_form(_schema: Schema, key: str) -> dict[str, Any]:
    left, right = st.columns(2)
    return {
        "fraction": left.slider("Share of rows", 0.01, 1.0, 0.1, key=f"{key}_fraction"),
        "seed": int(right.number_input("Seed", min_value=0, value=0, key=f"{key}_seed")),
    }


def split_form(_schema: Schema, key: str) -> dict[str, Any]:
    left, middle, right = st.columns(3)
    return {
        "test_fraction": left.slider("Test share", 0.05, 0.5, 0.2, key=f"{key}_fraction"),
        "seed": int(middle.number_input("Seed", min_value=0, value=0, key=f"{key}_seed")),
        "column": right.text_input("Column", value="split", key=f"{key}_name"),
    }


def fill_form(schema: Schema, key: str) -> dict[str, Any]:
    method = st.selectbox("Fill with", FILL_METHODS, key=f"{key}_method")
    kinds = (NUMERIC,) if method in ("mean", "median") else ()
    columns = st.multiselect("Columns", of_kind(schema, *kinds) if kinds else schema.columns, key=f"{key}_columns")
    params: dict[str, Any] = {"columns": columns, "method": method}
    if method == "constant":
        kind = schema.kinds.get(columns[0], TEXT) if columns else TEXT
        params["value"] = typed_value("Value", kind, f"{key}_value")
    return params


def datetime_parts_form(schema: Schema, key: str) -> dict[str, Any]:
    return {
        "column": st.selectbox("Column", of_kind(schema, DATETIME), key=f"{key}_column"),
        "parts": st.multiselect("Parts", DATETIME_PARTS, default=["year", "month", "weekday"], key=f"{key}_parts"),
    }


def string_form(schema: Schema, key: str) -> dict[str, Any]:
    left, right = st.columns(2)
    params: dict[str, Any] = {
        "column": left.selectbox("Column", of_kind(schema, TEXT), key=f"{key}_column"),
        "op": right.selectbox("Operation", STRING_OPS, key=f"{key}_op"),
    }
    if params["op"] in ("contains", "replace"):
        params["pattern"] = st.text_input("Text to find (literal)", key=f"{key}_pattern")
    if params["op"] == "replace":
        params["replacement"] = st.text_input("Replace with", key=f"{key}_replacement")
    return params


def scale_form(schema: Schema, key: str) -> dict[str, Any]:
    return {
        "columns": st.multiselect("Columns", of_kind(schema, NUMERIC), key=f"{key}_columns"),
        "method": st.radio("Method", ["standard", "minmax", "robust"], horizontal=True, key=f"{key}_method"),
    }


def clip_form(schema: Schema, key: str) -> dict[str, Any]:
    low, high = st.slider("Keep between quantiles", 0.0, 1.0, (0.01, 0.99), key=f"{key}_range")
    columns = st.multiselect("Columns", of_kind(schema, NUMERIC), key=f"{key}_columns")
    return {"columns": columns, "lower": min(low, 0.5), "upper": max(high, 0.5)}


def quantile_bin_form(schema: Schema, key: str) -> dict[str, Any]:
    left, right = st.columns(2)
    return {
        "column": left.selectbox("Column", of_kind(schema, NUMERIC), key=f"{key}_column"),
        "bins": int(right.number_input("Bins", min_value=2, max_value=100, value=4, key=f"{key}_bins")),
    }


def rolling_form(schema: Schema, key: str) -> dict[str, Any]:
    left, right = st.columns(2)
    return {
        "column": left.selectbox("Column", of_kind(schema, NUMERIC), key=f"{key}_column"),
        "window": int(right.number_input("Window (rows)", min_value=2, value=3, key=f"{key}_window")),
    }


def one_hot_form(schema: Schema, key: str) -> dict[str, Any]:
    left, right = st.columns(2)
    return {
        "column": left.selectbox("Column", of_kind(schema, TEXT, BOOLEAN, NUMERIC), key=f"{key}_column"),
        "max_levels": int(right.number_input("At most levels", 2, 1000, 50, key=f"{key}_levels")),
    }


def group_form(schema: Schema, key: str) -> dict[str, Any]:
    by = st.multiselect("Group by", schema.columns, key=f"{key}_by")
    left, right = st.columns(2)
    columns = left.multiselect("Aggregate", [c for c in schema.columns if c not in by], key=f"{key}_columns")
    functions = right.multiselect("Functions", AGGREGATIONS, default=["mean"], key=f"{key}_functions")
    return {"by": by, "aggregations": [{"column": c, "function": f} for c in columns for f in functions]}


def join_form(schema: Schema, key: str, others: list[str]) -> dict[str, Any]:
    left, middle, right = st.columns(3)
    return {
        "dataset": left.selectbox("With dataset", others, key=f"{key}_dataset"),
        "on": middle.multiselect("On keys", schema.columns, key=f"{key}_on"),
        "how": right.radio("How", ["inner", "left"], horizontal=True, key=f"{key}_how"),
    }


FORMS: dict[str, Form] = {
    "select": columns_form(),
    "drop": columns_form(),
    "rename": rename_form,
    "cast": cast_form,
    "filter": filter_form,
    "drop_missing": drop_missing_form,
    "drop_duplicates": drop_duplicates_form,
    "sort": sort_form,
    "sample": sample_form,
    "train_test_split": split_form,
    "fill_missing": fill_form,
    "datetime_parts": datetime_parts_form,
    "string": string_form,
    "log1p": columns_form(NUMERIC),
    "scale": scale_form,
    "clip": clip_form,
    "quantile_bin": quantile_bin_form,
    "rolling_mean": rolling_form,
    "one_hot": one_hot_form,
    "label_encode": one_column_form(TEXT, BOOLEAN),
    "group_aggregate": group_form,
}
