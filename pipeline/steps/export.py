"""A recipe as a standalone Python script for pandas or cuDF: readable code, the same results.

Each step kind holds a code template (`pipeline.steps.templates`) that mirrors its implementation. The script
reads its input as the app read the dataset's file (format, compression, delimiter, encoding, the columns read as
dates, the text columns read as numbers) and holds only what its steps use: a helper (time values in a column's
zone, the engine-identical random numbers, numbers written with separators) is copied from its one implementation
with `inspect` only when the code calls it, and a module is imported only when the code names it.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Mapping
from dataclasses import dataclass

import pipeline.steps.library  # noqa: F401  (registers every step kind)
from pipeline.errors import DataError
from pipeline.steps.params import scalar_for
from pipeline.steps.spec import STEP_KINDS, Recipe, Step
from pipeline.tables import random_streams
from pipeline.tables.formats import FileFormat, FileRead
from pipeline.tables.text_numbers import as_number

LIBRARIES = {"pandas": ("pandas", "numpy"), "cudf": ("cudf", "cupy")}
EXTENSIONS = {
    FileFormat.CSV: ".csv",
    FileFormat.PARQUET: ".parquet",
    FileFormat.ARROW: ".feather",
    FileFormat.JSONL: ".jsonl",
    FileFormat.JSON: ".json",
    FileFormat.EXCEL: ".xlsx",
}
SUFFIXES = {"gzip": ".gz", "bz2": ".bz2", "zip": ".zip", "xz": ".xz", "zstd": ".zst"}


def _comment(text: str) -> str:
    """`text` fit for a one-line comment: printable characters as they are (→, é), line breaks and every other
    control or format character escaped."""
    return "".join(character if character.isprintable() else ascii(character)[1:-1] for character in text)


@dataclass(frozen=True)
class Part:
    """A top-level piece of a script: an import or a definition, the name it binds, and the section it goes in."""

    name: str
    code: str
    section: int  # 0: standard library imports, 1: other imports, 2: aliases, 3: constants, 4: functions


HELPERS = {
    "to_host": '''def to_host(series):
    """A pandas copy (cuDF objects have to_pandas; pandas ones are already on the host)."""
    return series.to_pandas() if hasattr(series, "to_pandas") else series''',
    "float_values": '''def float_values(series):
    """float64 values with NaN for missing, on the library's own device."""
    if hasattr(series, "to_cupy"):
        return series.to_cupy(dtype="float64", na_value=np.nan)
    return series.to_numpy(dtype="float64", na_value=np.nan)''',
    "uniform": '''def uniform(seed, n):
    """n numbers in [0, 1) from the app's counter-based generator: the same rows on CPU and GPU."""
    return unit_floats(xp, stream_bits(xp, seed, 0, 0, n))''',
    "with_dates": '''def with_dates(df, columns):
    """The columns the app read as dates made dates (JSON has no date type: the app's reader told them by their
    text)."""
    df[columns] = df[columns].apply(pd.to_datetime)
    return df''',
    "with_numbers": '''def with_numbers(df, columns):
    """The columns the app read as numbers written with separators (e.g. '1.234,5') made numbers: each given as
    (column, decimal mark, thousands mark)."""
    for column, decimal, thousands in columns:
        df[column] = as_number(df[column], decimal, thousands)
    return df''',
}


def _parts(library: str) -> list[Part]:
    """Everything a script may need, each included only where the code names it."""
    imports = [
        Part("sys", "import sys", 0),
        Part("ModuleType", "from types import ModuleType", 0),
        Part("Any", "from typing import Any", 0),
    ]
    if library == "cudf":
        imports += [Part("cudf", "import cudf", 1), Part("xp", "import cupy as xp", 1)]
    imports += [Part("np", "import numpy as np", 1), Part("pd", "import pandas as pd", 1)]
    if library == "cudf":
        imports.append(Part("lib", "lib = cudf", 2))
    else:
        imports += [Part("xp", "xp = np", 2), Part("lib", "lib = pd", 2)]
    constants = [
        Part(name, f"{name} = {getattr(random_streams, name):#x}", 3) for name in ("GOLDEN", "MIX1", "MIX2", "MASK64")
    ]
    copied = [random_streams._mix_int, random_streams.stream_bits, random_streams.unit_floats, scalar_for, as_number]
    functions = [Part(function.__name__, inspect.getsource(function).strip(), 4) for function in copied]
    functions += [Part(name, code, 4) for name, code in HELPERS.items()]
    return imports + constants + functions


def _names(code: str) -> set[str]:
    """The names `code` reads (calls, arguments, annotations)."""
    return {node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)}


def _needed(code: str, library: str) -> list[Part]:
    """The parts `code` names, and the parts those name, in the order a script lists them."""
    available = {part.name: part for part in _parts(library)}
    needed: dict[str, Part] = {}
    pending = _names(code)
    while pending:
        name = pending.pop()
        if name in available and name not in needed:
            needed[name] = available[name]
            pending |= _names(available[name].code)
    order = list(available)
    return sorted(needed.values(), key=lambda part: (part.section, order.index(part.name)))


def _reader(read: FileRead, library: str, path: str) -> str:
    """An expression that reads the file at `path` (code) as the app read it, as a frame of the script's library
    (cuDF takes what pandas read where it has no reader of its own for the file), with a CSV's numbers written with
    separators converted as the app converted them."""
    read_as = _read_as(read, library, path)
    return f"with_numbers({read_as}, {[list(n) for n in read.numbers]!r})" if read.numbers else read_as


def _read_as(read: FileRead, library: str, path: str) -> str:
    """An expression that reads the file at `path` (code) with the reader and options the app used."""
    compression = f", compression={read.compression!r}" if read.compression else ""
    if read.format is FileFormat.PARQUET:
        return f"{'cudf' if library == 'cudf' else 'pd'}.read_parquet({path})"
    if read.format is FileFormat.CSV:
        options = "".join(
            (
                f", sep={read.delimiter!r}" if read.delimiter != "," else "",
                f", encoding={read.encoding!r}" if read.encoding != "utf-8" else "",
                compression,
                f", parse_dates={list(read.dates)!r}" if read.dates else "",
            )
        )
        if library == "cudf" and not compression and read.encoding == "utf-8":
            return f"cudf.read_csv({path}{options})"
        pandas = f"pd.read_csv({path}{options})"
    elif read.format in (FileFormat.JSON, FileFormat.JSONL):
        lines = ", lines=True" if read.format is FileFormat.JSONL else ""
        pandas = f"pd.read_json({path}{lines}{compression}, dtype=False)"
        pandas = f"with_dates({pandas}, {list(read.dates)!r})" if read.dates else pandas
    else:
        pandas = {FileFormat.ARROW: f"pd.read_feather({path})", FileFormat.EXCEL: f"pd.read_excel({path})"}[read.format]
    return f"cudf.from_pandas({pandas})" if library == "cudf" else pandas


def _file_name(read: FileRead, stem: str) -> str:
    return stem + EXTENSIONS[read.format] + SUFFIXES.get(read.compression or "", "")


def _described(read: FileRead) -> str:
    """How the input is read, in words."""
    said = [str(read.format)]
    if read.format is FileFormat.CSV:
        said += [f"delimiter {read.delimiter!r}", f"encoding {read.encoding}"]
    if read.compression:
        said.append(f"{read.compression}-compressed")
    if read.dates:
        said.append(", ".join(read.dates) + " read as dates")
    if read.numbers:
        said.append(f"{len(read.numbers)} column(s) of numbers written with separators read as numbers")
    return ", ".join(said)


def to_script(
    recipe: Recipe,
    library: str = "pandas",
    read_from: FileRead | None = None,
    joined: Mapping[str, FileRead | None] | None = None,
) -> str:
    """A runnable script, `python script.py INPUT OUTPUT.parquet [NAME=FILE ...]`, that reads INPUT as the app read
    the dataset's file (`read_from`; Parquet for a dataset that came from no file) and each dataset a join step
    names as the app read that one's (`joined`)."""
    if library not in LIBRARIES:
        raise DataError(f"Scripts are written for {' or '.join(LIBRARIES)}; got {library!r}.")
    if not recipe.steps:
        raise DataError("The pipeline has no steps yet: add one before exporting.")
    module, array_module = LIBRARIES[library]
    source = read_from or FileRead()
    body = []
    for number, step in enumerate(recipe.steps, start=1):
        body.append(f"    # {number}. {STEP_KINDS[step.kind].label}: {_comment(step.describe())}")
        body += [f"    {line}" for line in _code(step)]
    others = list(dict.fromkeys(step.params["dataset"] for step in recipe.steps if step.kind == "join"))
    main = ['if __name__ == "__main__":']
    if others:
        main.append('    others = dict(argument.split("=", 1) for argument in sys.argv[3:])')
        main.append("    datasets = {")
        for name in others:
            read = _reader((joined or {}).get(name) or FileRead(), library, f"others[{name!r}]")
            main.append(f"        {name!r}: {read},")
        main.append("    }")
    main.append(f"    table = {_reader(source, library, 'sys.argv[1]')}")
    main.append(f"    run(table{', datasets' if others else ''}).to_parquet(sys.argv[2])")
    run = [f"def run(df{', datasets' if others else ''}):", "    df = df.copy()", *body, "    return df"]
    code = "\n".join(run) + "\n\n\n" + "\n".join(main)
    parts = _needed(code, library)
    usage = f"python this_script.py {_file_name(source, 'INPUT')} OUTPUT.parquet"
    header = [
        f'"""{len(recipe.steps)}-step pipeline exported from GPU Pipeline Lab, for {module} ({array_module}).',
        "",
        f"Run: {usage}{' NAME=FILE ...' if others else ''}",
        f"INPUT is read as the app read the dataset's file: {_described(source)}.",
    ]
    if others:
        header.append("NAME=FILE gives the file of each dataset a join step names (`datasets` below).")
    groups = ("\n".join(part.code for part in parts if part.section == section) for section in (0, 1, 2))
    sections = [
        "\n".join(header) + '\n"""\n\n' + "\n\n".join(group for group in groups if group),
        "\n".join(part.code for part in parts if part.section == 3),
        *(part.code for part in parts if part.section == 4),
        code,
    ]
    return "\n\n\n".join(section for section in sections if section) + "\n"


def _code(step: Step) -> list[str]:
    template = STEP_KINDS[step.kind].code
    if template is None:
        raise DataError(f"Steps of kind {step.kind!r} cannot be exported to a script yet.")
    return template(dict(step.params))
