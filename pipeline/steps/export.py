"""A recipe as a standalone Python script for pandas or cuDF: readable code, the same results.

Each step kind holds a code template (`pipeline.steps.templates`) that mirrors its implementation; the
helpers a template needs (time values in a column's zone, the engine-identical random
numbers) are copied into the script from their one implementation with `inspect`.
"""

from __future__ import annotations

import inspect

import pipeline.steps.library  # noqa: F401  (registers every step kind)
from pipeline.errors import DataError
from pipeline.steps.params import scalar_for
from pipeline.steps.spec import STEP_KINDS, Recipe, Step
from pipeline.tables import random_streams

LIBRARIES = {"pandas": ("pandas", "numpy"), "cudf": ("cudf", "cupy")}


def _comment(text: str) -> str:
    """`text` fit for a one-line comment: ASCII, with line breaks and every other control character escaped."""
    return ascii(text)[1:-1]


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
    template = STEP_KINDS[step.kind].code
    if template is None:
        raise DataError(f"Steps of kind {step.kind!r} cannot be exported to a script yet.")
    return template(dict(step.params))
