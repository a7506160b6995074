"""Each step kind's code for an exported script: lines of pandas/cuDF code that mirror its implementation.

A template gets the step's checked parameters and returns the lines; names it writes as code (not as a
literal) are checked against the fixed choices first."""

from __future__ import annotations

from typing import Any

from pipeline.errors import DataError
from pipeline.steps.params import (
    CAST_REFUSALS,
    DATETIME_PARTS,
    FILL_METHODS,
    FILTER_OPERATORS,
    INT64_LIMIT,
    SCALE_METHODS,
    STRING_OPS,
)


def one_of(value: Any, options: tuple[str, ...], what: str) -> str:
    """`value` when it is one of the fixed `options` (it is written into the script as code, not as a literal)."""
    if value not in options:
        raise DataError(f"Cannot export {what} {value!r}: it must be one of {', '.join(options)}.")
    return value


def cast(p: dict[str, Any]) -> list[str]:
    column, target = p["column"], p["to"]
    c = repr(column)
    if target == "datetime":
        return [f"df[{c}] = lib.to_datetime(df[{c}])"]

    def refuse(test: str, problem: str) -> list[str]:
        return [f"if {test}:", f"    raise ValueError({CAST_REFUSALS[problem].format(column=column, target=target)!r})"]

    lines = refuse(f"df[{c}].isna().any()", "missing") if target in ("int64", "bool") else []
    if target == "int64":
        floats, limit = f"df[{c}].dtype.kind == 'f'", repr(INT64_LIMIT)
        lines += refuse(f"{floats} and not ((df[{c}] >= -{limit}) & (df[{c}] < {limit})).all()", "range")
        lines += refuse(f"{floats} and not (df[{c}] % 1 == 0).all()", "fraction")
    return [*lines, f"df[{c}] = df[{c}].astype({target!r})"]


def condition(c: dict[str, Any]) -> str:
    column, op = repr(c["column"]), one_of(c["op"], FILTER_OPERATORS, "the filter operator")
    if op == "is missing":
        return f"df[{column}].isna()"
    if op == "is not missing":
        return f"df[{column}].notna()"
    if op == "contains":
        return f"df[{column}].str.contains({c['value']!r}, regex=False)"
    if op == "in":
        return f"df[{column}].isin([scalar_for(df[{column}], v) for v in {c['value']!r}])"
    if op == "!=":
        return f"((df[{column}] != scalar_for(df[{column}], {c['value']!r})) & df[{column}].notna())"
    return f"(df[{column}] {op} scalar_for(df[{column}], {c['value']!r}))"


def filter(p: dict[str, Any]) -> list[str]:
    joiner = " & " if p["combine"] == "and" else " | "
    mask = joiner.join(f"{condition(c)}.fillna(False)" for c in p["conditions"])
    return [f"df = df[{mask}]"]


def fill(p: dict[str, Any]) -> list[str]:
    lines = []
    for column in p["columns"]:
        c = repr(column)
        method = one_of(p["method"], FILL_METHODS, "the fill method")
        if method == "forward":
            lines.append(f"df[{c}] = df[{c}].ffill()")
        elif method == "constant":
            lines.append(f"df[{c}] = df[{c}].fillna(scalar_for(df[{c}], {p['value']!r}))")
        elif method == "mode":
            lines.append(f"if len(df[{c}].mode()):")
            lines.append(f"    df[{c}] = df[{c}].fillna(df[{c}].mode().iloc[0])")
        else:
            lines.append(f"df[{c}] = df[{c}].fillna(df[{c}].{method}())")
    return lines


def string(p: dict[str, Any]) -> list[str]:
    c, out, op = repr(p["column"]), repr(p["output"]), one_of(p["op"], STRING_OPS, "the text operation")
    text = f"df[{c}].astype('str')"
    call = {
        "contains": f".str.contains({p.get('pattern')!r}, regex=False)",
        "replace": f".str.replace({p.get('pattern')!r}, {p.get('replacement')!r}, regex=False)",
        "length": ".str.len()",
    }.get(op, f".str.{op}()")
    return [f"df[{out}] = {text}{call}"]


def scale(p: dict[str, Any]) -> list[str]:
    method = one_of(p["method"], SCALE_METHODS, "the scaling method")
    lines = []
    for column in p["columns"]:
        c = repr(column)
        lines.append(f"values = df[{c}].astype('float64')")
        if method == "standard":
            lines.append("centre, spread, count = values.mean(), values.std(ddof=0), values.count()")
            lines.append(
                "if spread <= count * abs(centre) * np.finfo(np.float64).eps:  # what rounding leaves of a constant"
            )
            lines.append("    spread = 1.0")
        elif method == "minmax":
            lines.append("centre, spread = values.min(), values.max() - values.min()")
        else:
            lines.append("centre, spread = values.median(), values.quantile(0.75) - values.quantile(0.25)")
        lines.append(f"df[{c}] = (values - centre) / (spread if spread else 1.0)")
    return lines


def quantile_bin(p: dict[str, Any]) -> list[str]:
    c, bins = repr(p["column"]), int(p["bins"])
    nullable = '"Int64" if lib.__name__ == "pandas" else "int64"'
    return [
        f"edges = xp.asarray(df[{c}].quantile([i / {bins} for i in range(1, {bins})]).to_numpy(dtype='float64'))",
        f"codes = xp.searchsorted(edges, float_values(df[{c}]), side='left')",
        f"df[{p['output']!r}] = lib.Series(codes, index=df.index).astype({nullable}).mask(df[{c}].isna())",
    ]


def one_hot(p: dict[str, Any]) -> list[str]:
    names = repr(list(p.get("columns") or [p["column"]]))  # an unchecked recipe of one column may say `column`
    return [
        f"levels = {{c: sorted(to_host(df[c].dropna().drop_duplicates()).tolist()) for c in {names}}}",
        f"assert all(len(v) <= {int(p['max_levels'])} for v in levels.values()), 'more levels than the recipe allows'",
        f"columns = df[{names}]",
        f"df = df.drop(columns={names})",
        "for c, found in levels.items():",
        "    for level in found:",
        "        df[c + '=' + str(level)] = (columns[c] == level).fillna(False).astype('int8')",
    ]


def group(p: dict[str, Any]) -> list[str]:
    spec: dict[str, list[str]] = {}
    for item in p["aggregations"]:
        spec.setdefault(item["column"], []).append(item["function"])
    return [
        f"df = df.groupby({p['by']!r}, sort=True).agg({spec!r})",
        "df.columns = [f'{column}_{function}' for column, function in df.columns]",
        "df = df.reset_index()",
    ]


def select(p: dict[str, Any]) -> list[str]:
    return [f"df = df[{p['columns']!r}]"]


def drop(p: dict[str, Any]) -> list[str]:
    return [f"df = df.drop(columns={p['columns']!r})"]


def rename(p: dict[str, Any]) -> list[str]:
    return [f"df = df.rename(columns={p['mapping']!r})"]


def drop_missing(p: dict[str, Any]) -> list[str]:
    return [f"df = df.dropna(subset={p['columns']!r}, how={p['how']!r})"]


def drop_duplicates(p: dict[str, Any]) -> list[str]:
    return [f"df = df.drop_duplicates(subset={p['columns']!r}, keep={p['keep']!r})"]


def sort(p: dict[str, Any]) -> list[str]:
    return [f"df = df.sort_values({p['columns']!r}, ascending={p['ascending']!r})"]


def sample(p: dict[str, Any]) -> list[str]:
    return [f"df = df[lib.Series(uniform({int(p['seed'])}, len(df)) < {float(p['fraction'])!r}, index=df.index)]"]


def train_test_split(p: dict[str, Any]) -> list[str]:
    return [
        f"test = lib.Series(uniform({int(p['seed'])}, len(df)) < {float(p['test_fraction'])!r}, index=df.index)",
        f"df[{p['column']!r}] = test.map({{True: 'test', False: 'train'}})",
    ]


def datetime_parts(p: dict[str, Any]) -> list[str]:
    return [
        f"df[{p['column'] + '_' + part!r}] = df[{p['column']!r}].dt.{one_of(part, DATETIME_PARTS, 'the date part')}"
        for part in p["parts"]
    ]


def log1p(p: dict[str, Any]) -> list[str]:
    return [f"df[{c!r}] = np.log1p(df[{c!r}].astype('float64'))" for c in p["columns"]]


def clip(p: dict[str, Any]) -> list[str]:
    return [
        f"df[{c!r}] = df[{c!r}].clip(df[{c!r}].quantile({p['lower']!r}), df[{c!r}].quantile({p['upper']!r}))"
        for c in p["columns"]
    ]


def rolling_mean(p: dict[str, Any]) -> list[str]:
    return [
        f"df[{p['output']!r}] = df[{p['column']!r}].astype('float64').rolling({int(p['window'])}, min_periods=1).mean()"
    ]


def label_encode(p: dict[str, Any]) -> list[str]:
    return [f"df[{p['column']!r}] = df[{p['column']!r}].astype('category').cat.codes.fillna(-1).astype('int32')"]


def join(p: dict[str, Any]) -> list[str]:
    return [f"df = df.merge(datasets[{p['dataset']!r}], on={p['on']!r}, how={p['how']!r}, suffixes=('', '_right'))"]
