"""A recipe as a standalone Python script for pandas or cuDF: readable code, the same results.

Each step kind has a code template that mirrors its implementation in `step_library`; the
helpers a template needs (time values in a column's zone, the engine-identical random
numbers) are copied into the script from their one implementation with `inspect`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from pipeline.data import random_streams
from pipeline.errors import DataError
from pipeline.steps.library import (
    DATETIME_PARTS,
    FILL_METHODS,
    FILTER_OPERATORS,
    SCALE_METHODS,
    STRING_OPS,
    scalar_for,
)
from pipeline.steps.spec import STEP_KINDS, Recipe, Step

LIBRARIES = {"pandas": ("pandas", "numpy"), "cudf": ("cudf", "cupy")}


def _one_of(value: Any, options: tuple[str, ...], what: str) -> str:
    """`value` when it is one of the fixed `options` (it is written into the script as code, not as a literal)."""
    if value not in options:
        raise DataError(f"Cannot export {what} {value!r}: it must be one of {', '.join(options)}.")
    return value


def _comment(text: str) -> str:
    """`text` fit for a one-line comment: ASCII, with line breaks and every other control character escaped."""
    return ascii(text)[1:-1]


def _cast(p: dict[str, Any]) -> list[str]:
    column, target = p["column"], p["to"]
    if target == "datetime":
        return [f"df[{column!r}] = lib.to_datetime(df[{column!r}])"]
    return [f"df[{column!r}] = df[{column!r}].astype({target!r})"]


def _condition(c: dict[str, Any]) -> str:
    column, op = repr(c["column"]), _one_of(c["op"], FILTER_OPERATORS, "the filter operator")
    if op == "is missing":
        return f"df[{column}].isna()"
    if op == "is not missing":
        return f"df[{column}].notna()"
    if op == "contains":
        return f"df[{column}].str.contains({c['value']!r}, regex=False)"
    if op == "in":
        return f"df[{column}].isin([scalar_for(df[{column}], v) for v in {c['value']!r}])"
    return f"(df[{column}] {op} scalar_for(df[{column}], {c['value']!r}))"


def _filter(p: dict[str, Any]) -> list[str]:
    joiner = " & " if p["combine"] == "and" else " | "
    mask = joiner.join(f"{_condition(c)}.fillna(False)" for c in p["conditions"])
    return [f"df = df[{mask}]"]


def _fill(p: dict[str, Any]) -> list[str]:
    lines = []
    for column in p["columns"]:
        c = repr(column)
        method = _one_of(p["method"], FILL_METHODS, "the fill method")
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


def _string(p: dict[str, Any]) -> list[str]:
    c, out, op = repr(p["column"]), repr(p["output"]), _one_of(p["op"], STRING_OPS, "the text operation")
    text = f"df[{c}].astype('str')"
    call = {
        "contains": f".str.contains({p.get('pattern')!r}, regex=False)",
        "replace": f".str.replace({p.get('pattern')!r}, {p.get('replacement')!r}, regex=False)",
        "length": ".str.len()",
    }.get(op, f".str.{op}()")
    return [f"df[{out}] = {text}{call}"]


def _scale(p: dict[str, Any]) -> list[str]:
    method = _one_of(p["method"], SCALE_METHODS, "the scaling method")
    lines = []
    for column in p["columns"]:
        c = repr(column)
        lines.append(f"values = df[{c}].astype('float64')")
        if method == "standard":
            lines.append("centre, spread = values.mean(), values.std(ddof=0)")
        elif method == "minmax":
            lines.append("centre, spread = values.min(), values.max() - values.min()")
        else:
            lines.append("centre, spread = values.median(), values.quantile(0.75) - values.quantile(0.25)")
        lines.append(f"df[{c}] = (values - centre) / (spread if spread else 1.0)")
    return lines


def _quantile_bin(p: dict[str, Any]) -> list[str]:
    c, bins = repr(p["column"]), int(p["bins"])
    nullable = '"Int64" if lib.__name__ == "pandas" else "int64"'
    return [
        f"edges = xp.asarray(df[{c}].quantile([i / {bins} for i in range(1, {bins})]).to_numpy(dtype='float64'))",
        f"codes = xp.searchsorted(edges, float_values(df[{c}]), side='right')",
        f"df[{p['output']!r}] = lib.Series(codes, index=df.index).astype({nullable}).mask(df[{c}].isna())",
    ]


def _one_hot(p: dict[str, Any]) -> list[str]:
    c = repr(p["column"])
    return [
        f"levels = sorted(to_host(df[{c}].dropna().drop_duplicates()).tolist())",
        f"assert len(levels) <= {int(p['max_levels'])}, 'more levels than the recipe allows'",
        f"column = df[{c}]",
        f"df = df.drop(columns=[{c}])",
        "for level in levels:",
        f"    df[{c} + '=' + str(level)] = (column == level).fillna(False).astype('int8')",
    ]


def _group(p: dict[str, Any]) -> list[str]:
    spec: dict[str, list[str]] = {}
    for item in p["aggregations"]:
        spec.setdefault(item["column"], []).append(item["function"])
    return [
        f"df = df.groupby({p['by']!r}, sort=True).agg({spec!r})",
        "df.columns = [f'{column}_{function}' for column, function in df.columns]",
        "df = df.reset_index()",
    ]


CODE: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "select": lambda p: [f"df = df[{p['columns']!r}]"],
    "drop": lambda p: [f"df = df.drop(columns={p['columns']!r})"],
    "rename": lambda p: [f"df = df.rename(columns={p['mapping']!r})"],
    "cast": _cast,
    "filter": _filter,
    "drop_missing": lambda p: [f"df = df.dropna(subset={p['columns']!r}, how={p['how']!r})"],
    "drop_duplicates": lambda p: [f"df = df.drop_duplicates(subset={p['columns']!r}, keep={p['keep']!r})"],
    "sort": lambda p: [f"df = df.sort_values({p['columns']!r}, ascending={p['ascending']!r})"],
    "sample": lambda p: [
        f"df = df[lib.Series(uniform({int(p['seed'])}, len(df)) < {float(p['fraction'])!r}, index=df.index)]"
    ],
    "train_test_split": lambda p: [
        f"test = lib.Series(uniform({int(p['seed'])}, len(df)) < {float(p['test_fraction'])!r}, index=df.index)",
        f"df[{p['column']!r}] = test.map({{True: 'test', False: 'train'}})",
    ],
    "fill_missing": _fill,
    "datetime_parts": lambda p: [
        f"df[{p['column'] + '_' + part!r}] = df[{p['column']!r}].dt.{_one_of(part, DATETIME_PARTS, 'the date part')}"
        for part in p["parts"]
    ],
    "string": _string,
    "log1p": lambda p: [f"df[{c!r}] = np.log1p(df[{c!r}].astype('float64'))" for c in p["columns"]],
    "scale": _scale,
    "clip": lambda p: [
        f"df[{c!r}] = df[{c!r}].clip(df[{c!r}].quantile({p['lower']!r}), df[{c!r}].quantile({p['upper']!r}))"
        for c in p["columns"]
    ],
    "quantile_bin": _quantile_bin,
    "rolling_mean": lambda p: [
        f"df[{p['output']!r}] = df[{p['column']!r}].astype('float64').rolling({int(p['window'])}, min_periods=1).mean()"
    ],
    "one_hot": _one_hot,
    "label_encode": lambda p: [
        f"df[{p['column']!r}] = df[{p['column']!r}].astype('category').cat.codes.fillna(-1).astype('int32')"
    ],
    "group_aggregate": _group,
    "join": lambda p: [
        f"df = df.merge(datasets[{p['dataset']!r}], on={p['on']!r}, how={p['how']!r}, suffixes=('', '_right'))"
    ],
}

HELPERS = '''
def to_host(series):
    """A pandas copy (cuDF objects have to_pandas; pandas ones are already on the host)."""
    return series.to_pandas() if hasattr(series, "to_pandas") else series


def float_values(series):
    """float64 values with NaN for missing, on the library's own device."""
    if hasattr(series, "to_cupy"):
        return series.to_cupy(dtype="float64", na_value=np.nan)
    return series.to_numpy(dtype="float64", na_value=np.nan)


def uniform(seed, n):
    """n numbers in [0, 1) from the app's counter-based generator: the same rows on CPU and GPU."""
    return CounterRandom(xp, seed, n).uniform(0)
'''


def _random_source() -> str:
    names = ("GOLDEN", "MIX1", "MIX2", "MASK64")
    constants = "\n".join(f"{name} = {getattr(random_streams, name):#x}" for name in names)
    functions = inspect.getsource(random_streams._mix_int) + "\n\n" + inspect.getsource(random_streams.CounterRandom)
    return f"{constants}\n\n\n{functions}"


def to_script(recipe: Recipe, library: str = "pandas") -> str:
    """A runnable script: `python script.py INPUT.parquet OUTPUT.parquet [NAME=OTHER.parquet ...]`."""
    if library not in LIBRARIES:
        raise DataError(f"Scripts are written for {' or '.join(LIBRARIES)}; got {library!r}.")
    if not recipe.steps:
        raise DataError("The pipeline has no steps yet: add one before exporting.")
    module, array_module = LIBRARIES[library]
    imports = ["from __future__ import annotations", "", "import math", "import sys", "from types import ModuleType"]
    imports += ["from typing import Any", "", "import numpy as np", "import pandas as pd"]
    if library == "cudf":
        imports += ["import cudf", "import cupy as xp", "", "lib = cudf"]
    else:
        imports += ["", "xp = np", "lib = pd"]
    body = []
    for number, step in enumerate(recipe.steps, start=1):
        body.append(f"    # {number}. {STEP_KINDS[step.kind].label}: {_comment(step.describe())}")
        body += [f"    {line}" for line in _code(step)]
    header = f'"""{len(recipe.steps)}-step pipeline exported from GPU Pipeline Lab, for {module} ({array_module}).\n\n'
    header += "Run: python this_script.py INPUT.parquet OUTPUT.parquet [NAME=OTHER.parquet ...]\n"
    header += "(NAME=OTHER.parquet supplies a dataset a join step names.)\n" + '"""'
    main = f"""
def run(df, datasets):
    df = df.copy()
{chr(10).join(body)}
    return df


if __name__ == "__main__":
    table = lib.read_parquet(sys.argv[1])
    others = dict(argument.split("=", 1) for argument in sys.argv[3:])
    run(table, {{name: lib.read_parquet(path) for name, path in others.items()}}).to_parquet(sys.argv[2])
"""
    helpers = HELPERS + "\n\n" + inspect.getsource(scalar_for)
    parts = [header, "\n".join(imports), _random_source(), helpers, main]
    return "\n\n\n".join(part.strip("\n") for part in parts) + "\n"


def _code(step: Step) -> list[str]:
    return CODE[step.kind](dict(step.params))
