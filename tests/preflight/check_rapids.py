"""`make preflight`, second half: the real cuDF, CuPy and cuML 26.10, imported without a GPU
(RAPIDS_NO_INITIALIZE=1), against what the first half recorded.

- every cuDF / CuPy / cuML function, method and attribute the `gpu` tier called through the stand-ins is found
  on the real modules and classes, with every keyword it was given bound to the real signature;
- every cuML estimator the app builds (single-GPU and Dask) takes the app's keywords;
- the type table (`pipeline/tables/type_map.py`) gives, for every Arrow type, the dtype cuDF's own mapping gives, and
  that dtype has the table's kind.

Usage: python tests/preflight/check_rapids.py CALLS.json [MORE.json ...]   (exit 1 on any mismatch)
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("RAPIDS_NO_INITIALIZE", "1")

import cudf
import cudf.core.accessors.categorical as categorical
import cudf.core.accessors.lists as lists
import cudf.core.accessors.string as string
import cudf.core.groupby.groupby as groupby
import cudf.core.series as series
import cupy
from cudf.utils.dtypes import cudf_dtype_from_pa_type

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from pipeline.tables.column_kinds import column_kind
from pipeline.tables.type_map import TYPE_TABLE

CUDF_OWNERS: dict[str, tuple[Any, ...]] = {
    "DataFrameGroupBy": (groupby.DataFrameGroupBy,),
    "SeriesGroupBy": (groupby.SeriesGroupBy,),
    "Series.str": (string.StringMethods,),
    "Series.dt": (series.DatetimeProperties, series.TimedeltaProperties),
    "Series.cat": (categorical.CategoricalAccessor,),
    "Series.list": (lists.ListMethods,),
}


def _owners(library: str, name: str) -> tuple[tuple[Any, ...], str]:
    """The real objects that should hold the last part of `name`, and that part."""
    owner, _, attribute = name.rpartition(".")
    if library == "cudf" and owner in CUDF_OWNERS:
        return CUDF_OWNERS[owner], attribute
    root = {"cudf": cudf, "cupy": cupy}.get(library)
    if root is None:  # cuML: a dotted path from the package, a class and perhaps a method
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            try:
                target = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for part in parts[cut:-1]:
                target = getattr(target, part)
            return (target,), parts[-1]
        raise ImportError(name)
    target = root
    for part in owner.split(".") if owner else []:
        target = getattr(target, part)
    return (target,), attribute


def unbound_keywords(target: Any, keywords: list[str]) -> list[str] | None:
    """Keywords the signature does not take; None where it has no readable signature (compiled code)."""
    if inspect.isclass(target):
        target = target.__init__
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    parameters = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return []
    names = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return sorted(set(keywords) - names)


def check_call(library: str, name: str, keywords: list[str]) -> tuple[str, str | None]:
    """('bound' | 'found' | 'compiled', None), or ('missing', why); 'compiled': keywords given to a function whose
    signature cannot be read (Cython), so only its name was checked."""
    try:
        owners, attribute = _owners(library, name)
    except (AttributeError, ImportError) as error:
        return "missing", f"{library} has no {name} ({type(error).__name__}: {error})"
    found = [inspect.getattr_static(owner, attribute, None) for owner in owners]
    found = [getattr(owner, attribute) for owner, f in zip(owners, found, strict=True) if f is not None]
    if not any(f is not None for f in found):
        return "missing", f"{library} has no {name}"
    if not keywords:
        return "found", None
    for target in found:
        unbound = unbound_keywords(target, keywords) if callable(target) else None
        if unbound is None:
            return "compiled", None
        if not unbound:
            return "bound", None
    return "missing", f"{library}.{name} takes no keyword {', '.join(unbound)}"


def check_types() -> list[str]:
    problems = []
    for row in TYPE_TABLE:
        try:
            real = cudf_dtype_from_pa_type(row.arrow)
        except TypeError:  # dictionaries: cuDF's from_arrow makes categories, whose dtype holds them on the device,
            real = "category"  # so without one the dtype is checked by name
        if str(real) != row.gpu:
            problems.append(f"type table: {row.arrow} → cuDF {real}, the table says {row.gpu}")
        if column_kind(real) != row.kind:
            problems.append(f"type table: {row.arrow} → cuDF {real} is {column_kind(real)}, the table says {row.kind}")
    return problems


def merged(files: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The calls and estimators of several runs (the test tier, each benchmark), each distinct one once."""
    calls: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}
    estimators: dict[tuple[str, str], dict[str, Any]] = {}
    for file in files:
        report = json.loads(Path(file).read_text(encoding="utf-8"))
        for call in report["calls"]:
            calls.setdefault((call["library"], call["name"], tuple(call["keywords"])), call)
        for estimator in report["estimators"]:
            estimators.setdefault((estimator["algorithm"], estimator["path"]), estimator)
    return {"calls": list(calls.values()), "estimators": list(estimators.values())}


def main(files: list[str]) -> int:
    report = merged(files)
    problems: list[str] = []
    counts = {"bound": 0, "found": 0, "compiled": 0}
    for call in report["calls"]:
        outcome, why = check_call(call["library"], call["name"], call["keywords"])
        if why:
            problems.append(why)
        else:
            counts[outcome] += 1
    estimators = 0
    for estimator in report["estimators"]:
        outcome, why = check_call("cuml", estimator["path"], estimator["keywords"])
        estimators += why is None
        if why:
            problems.append(f"{estimator['algorithm']}: {why}")
    problems += check_types()
    names = {(call["library"], call["name"]) for call in report["calls"]}
    print(
        f"RAPIDS: cudf {cudf.__version__}, cupy {cupy.__version__}, cuml {importlib.import_module('cuml').__version__}"
    )
    print(
        f"calls checked on the real packages: {len(report['calls'])} (name + keywords; {len(names)} distinct names): "
        f"{counts['bound']} with their keywords bound, {counts['found']} found (called without keywords), "
        f"{counts['compiled']} found whose compiled signature cannot be read (keywords unchecked)"
    )
    print(f"cuML estimators built with the app's keywords: {estimators} of {len(report['estimators'])}")
    print(f"type table rows checked against cuDF's mapping: {len(TYPE_TABLE)}")
    print(f"mismatches: {len(problems)}")
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
