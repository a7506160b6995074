"""One small form per step kind; choices come from the columns the new step will see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from pipeline.steps.params import (
    AGGREGATIONS,
    FILL_METHODS,
    FILTER_OPERATORS,
    STRING_OPS,
)
from pipeline.steps.spec import STEP_KINDS, FormField, Schema
from pipeline.tables.column_kinds import BOOLEAN, DATETIME, NUMERIC, TEXT

Form = Callable[[Schema, str, list[str]], dict[str, Any]]  # schema, widget key, the other datasets


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


def rename_form(schema: Schema, key: str, _others: list[str]) -> dict[str, Any]:
    column = st.selectbox("Column", schema.columns, key=f"{key}_column")
    return {"mapping": {column: st.text_input("New name", value=column or "", key=f"{key}_name")}}


def filter_form(schema: Schema, key: str, _others: list[str]) -> dict[str, Any]:
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


def fill_form(schema: Schema, key: str, _others: list[str]) -> dict[str, Any]:
    method = st.selectbox("Fill with", FILL_METHODS, key=f"{key}_method")
    kinds = (NUMERIC,) if method in ("mean", "median") else ()
    columns = st.multiselect("Columns", of_kind(schema, *kinds) if kinds else schema.columns, key=f"{key}_columns")
    params: dict[str, Any] = {"columns": columns, "method": method}
    if method == "constant":
        kind = schema.kinds.get(columns[0], TEXT) if columns else TEXT
        params["value"] = typed_value("Value", kind, f"{key}_value")
    return params


def string_form(schema: Schema, key: str, _others: list[str]) -> dict[str, Any]:
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


def clip_form(schema: Schema, key: str, _others: list[str]) -> dict[str, Any]:
    low, high = st.slider("Keep between quantiles", 0.0, 1.0, (0.01, 0.99), key=f"{key}_range")
    columns = st.multiselect("Columns", of_kind(schema, NUMERIC), key=f"{key}_columns")
    return {"columns": columns, "lower": min(low, 0.5), "upper": max(high, 0.5)}


def group_form(schema: Schema, key: str, _others: list[str]) -> dict[str, Any]:
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


CUSTOM_FORMS: dict[str, Form] = {  # forms that need more than fields: conditions, a mapping, other datasets
    "rename": rename_form,
    "filter": filter_form,
    "fill_missing": fill_form,
    "string": string_form,
    "clip": clip_form,
    "group_aggregate": group_form,
    "join": join_form,
}


def field_widget(field: FormField, schema: Schema, key: str) -> Any:
    """The widget a described form field asks for, with its value."""
    widget_key = f"{key}_{field.key}"
    if field.widget == "columns":
        choices = of_kind(schema, *field.kinds) if field.kinds else schema.columns
        return st.multiselect(field.label, choices, key=widget_key)
    if field.widget == "column":
        choices = of_kind(schema, *field.kinds) if field.kinds else schema.columns
        return st.selectbox(field.label, choices, key=widget_key)
    if field.widget == "choice" and len(field.options) <= 3:
        return st.radio(field.label, list(field.options), horizontal=True, key=widget_key)
    if field.widget == "choice":
        return st.selectbox(field.label, list(field.options), key=widget_key)
    if field.widget == "several":
        return st.multiselect(field.label, list(field.options), default=list(field.default or ()), key=widget_key)
    if field.widget == "whole":
        bounds = {"min_value": int(field.low) if field.low is not None else None}
        bounds["max_value"] = int(field.high) if field.high is not None else None
        return int(st.number_input(field.label, value=int(field.default), step=1, key=widget_key, **bounds))
    if field.widget == "share":
        return st.slider(field.label, float(field.low), float(field.high), float(field.default), key=widget_key)
    if field.widget == "toggle":
        return st.toggle(field.label, value=bool(field.default), key=widget_key)
    if field.widget == "text":
        return st.text_input(field.label, value=field.default or "", key=widget_key)
    raise ValueError(f"Unknown form widget {field.widget!r} for {field.key!r}")


def step_form(kind: str, schema: Schema, key: str, others: list[str]) -> dict[str, Any]:
    """The parameters of a new step of `kind`, from its described fields (side by side when they are few and
    small) or from the page's own form for it."""
    fields = STEP_KINDS[kind].form
    if fields is None:
        return CUSTOM_FORMS[kind](schema, key, others)
    wide = any(field.widget in ("columns", "several") for field in fields)
    if wide or len(fields) == 1:
        return {field.key: field_widget(field, schema, key) for field in fields}
    params = {}
    for column, field in zip(st.columns(len(fields)), fields, strict=True):
        with column:
            params[field.key] = field_widget(field, schema, key)
    return params
