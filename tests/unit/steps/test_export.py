"""Exported scripts run in a separate Python process and give the runner's result."""

from __future__ import annotations

import ast
import gzip
import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pipeline.data.catalog import Catalog
from pipeline.data.io import ReadOptions, Source
from pipeline.data.loading import load_file
from pipeline.engines import get_engine
from pipeline.errors import DataError
from pipeline.parity import compare_results
from pipeline.steps.export import LIBRARIES, to_script
from pipeline.steps.runner import check_recipe, run_recipe
from pipeline.steps.spec import STEP_KINDS, Recipe, Step
from pipeline.tables.formats import FileFormat, FileRead
from tests.support.step_checks import applied

TABLE = pd.DataFrame(
    {
        "id": [1, 2, 3, 4, 5, 6, 7, 8],
        "x": [1.5, np.nan, -0.5, 4.0, 4.0, 10.0, 0.0, 2.5],
        "city": pd.Series(["Oslo", " Rome ", None, "oslo", "Rome", "Oslo", "Lima", "Rome"], dtype="str"),
        "when": pd.to_datetime(
            [
                "2024-01-01 08:00",
                "2024-02-15 13:30",
                None,
                "2024-12-31 23:00",
                "2024-06-01",
                "2024-06-02",
                "2023-03-03",
                "2025-01-01",
            ],
            format="ISO8601",
        ),
        "ok": [True, False, True, True, False, True, False, True],
    }
)
SCORES = pd.DataFrame({"id": [1, 3, 5, 7], "score": [10.0, 30.0, 50.0, 70.0]})

RECIPES = {
    "clean": [
        Step(
            "filter",
            {"conditions": [{"column": "x", "op": ">=", "value": -1}, {"column": "city", "op": "is not missing"}]},
        ),
        Step("fill_missing", {"columns": ["x"], "method": "median"}),
        Step("string", {"column": "city", "op": "strip"}),
        Step("string", {"column": "city", "op": "lower"}),
        Step("datetime_parts", {"column": "when", "parts": ["year", "month", "weekday"]}),
        Step("drop_missing", {}),
        Step("drop_duplicates", {"columns": ["city", "x"]}),
        Step("sort", {"columns": ["id"]}),
    ],
    "encode": [
        Step("fill_missing", {"columns": ["city"], "method": "constant", "value": "unknown"}),
        Step("one_hot", {"column": "city", "max_levels": 10}),
        Step("cast", {"column": "ok", "to": "str"}),
        Step("label_encode", {"column": "ok"}),
        Step("scale", {"columns": ["x"], "method": "standard"}),
        Step("clip", {"columns": ["id"], "lower": 0.1, "upper": 0.9}),
        Step("log1p", {"columns": ["id"]}),
        Step("quantile_bin", {"column": "x", "bins": 3}),
        Step("rolling_mean", {"column": "x", "window": 2}),
        Step("train_test_split", {"test_fraction": 0.3, "seed": 9}),
    ],
    "combine": [
        Step("join", {"dataset": "scores", "on": ["id"], "how": "left"}),
        Step("sample", {"fraction": 0.9, "seed": 3}),
        Step("rename", {"mapping": {"score": "points"}}),
        Step("select", {"columns": ["id", "ok", "points", "x"]}),
        Step("drop", {"columns": ["id"]}),
        Step("fill_missing", {"columns": ["points"], "method": "forward"}),
        Step(
            "group_aggregate",
            {
                "by": ["ok"],
                "aggregations": [{"column": "points", "function": "sum"}, {"column": "x", "function": "max"}],
            },
        ),
        Step("cast", {"column": "points_sum", "to": "int64"}),
    ],
}


def test_every_step_kind_has_code_and_is_exercised():
    assert all(kind.code is not None for kind in STEP_KINDS.values())
    assert {step.kind for steps in RECIPES.values() for step in steps} == set(STEP_KINDS)


@pytest.mark.parametrize("name", list(RECIPES))
def test_exported_pandas_script_reproduces_the_run(cpu, tmp_path, name):
    recipe = Recipe(tuple(RECIPES[name]))
    steps = check_recipe(recipe, TABLE, cpu, {"scores": SCORES})
    expected = run_recipe(steps, TABLE, cpu, {"scores": SCORES})
    assert expected.ok, expected.error
    script = tmp_path / "pipeline.py"
    script.write_text(to_script(Recipe(tuple(steps)), "pandas"))
    TABLE.to_parquet(tmp_path / "in.parquet")
    SCORES.to_parquet(tmp_path / "scores.parquet")
    done = subprocess.run(
        [sys.executable, str(script), "in.parquet", "out.parquet", "scores=scores.parquet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    produced = pd.read_parquet(tmp_path / "out.parquet")
    ordered = all(STEP_KINDS[s.kind].keeps_row_order for s in steps)
    parity = compare_results(expected.frame.reset_index(drop=True), produced.reset_index(drop=True), ordered=ordered)
    assert parity.ok, parity.mismatches


GAPS = pd.DataFrame(  # missing values in columns of every kind, and two values tied for the mode in each
    {
        "id": [1, 2, 3, 4, 5, 6],
        "x": [3.0, 1.0, np.nan, 3.0, 1.0, 2.0],
        "n": pd.array([2, None, 1, 2, 1, 5], dtype="Int64"),
        "city": pd.Series(["Rome", None, "Lima", "Rome", "Lima", "Oslo"], dtype="str"),
        "when": pd.to_datetime(["2024-01-02", "2024-01-01", None, "2024-01-02", "2024-01-01", "2024-01-03"]),
    }
)


def exported_run(steps: tuple[Step, ...]):
    """The `run` function of the pandas script exported for these (checked) steps, loaded in this process."""
    namespace: dict = {"__name__": "exported"}
    exec(compile(to_script(Recipe(steps), "pandas"), "pipeline.py", "exec"), namespace)
    return namespace["run"]


def script_and_run(cpu, frame: pd.DataFrame, *steps: Step) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The exported pandas script's `run` applied to `frame` in this process, and the runner's result."""
    checked = check_recipe(Recipe(steps), frame, cpu)
    expected = run_recipe(checked, frame, cpu)
    assert expected.ok, expected.error
    return exported_run(tuple(checked))(frame), expected.frame


@pytest.mark.parametrize(
    ("values", "to", "problem"),
    [
        ([1.0, 1e19], "int64", "has values beyond the range of int64"),
        ([-1e19, 1.0], "int64", "has values beyond the range of int64"),
        ([1.0, 2.0**63], "int64", "has values beyond the range of int64"),
        ([1.0, np.inf], "int64", "has values beyond the range of int64"),
        ([1.0, 2.5], "int64", "has fractional values"),
        ([1.0, np.nan], "int64", "has missing values, which int64"),
        ([1.0, np.nan], "bool", "has missing values, which bool"),
        (pd.array([1, None], dtype="Int64"), "int64", "has missing values, which int64"),
    ],
    ids=["past-the-top", "past-the-bottom", "2**63", "infinite", "fraction", "missing", "missing-bool", "Int64"],
)
def test_the_script_refuses_a_cast_that_would_change_values_with_the_runs_message(values, to, problem):
    frame = pd.DataFrame({"f": values})
    step = Step("cast", {"column": "f", "to": to})
    with pytest.raises(DataError) as refused:
        applied("cast", step.params, frame)
    with pytest.raises(ValueError) as raised:
        exported_run((step,))(frame)
    assert str(raised.value) == str(refused.value)
    assert str(raised.value).startswith(f"'f' {problem}")


@pytest.mark.parametrize(
    ("values", "to"),
    [
        ([-(2.0**63), 2.0**62, 0.0], "int64"),
        ([3, 0, -2], "int64"),
        ([1.0, 0.0, 2.5], "bool"),
        ([1.5, np.nan, 1e19], "float64"),
        ([1.5, np.nan, 1.5], "category"),
    ],
    ids=["the-ends-of-int64", "whole-numbers", "flags", "floats-with-gaps", "categories-with-gaps"],
)
def test_the_script_casts_what_the_run_casts(cpu, values, to):
    produced, expected = script_and_run(cpu, pd.DataFrame({"f": values}), Step("cast", {"column": "f", "to": to}))
    assert expected["f"].dtype == to
    pd.testing.assert_frame_equal(produced, expected)


@pytest.mark.parametrize(
    ("condition", "kept"),
    [
        ({"column": "x", "op": "!=", "value": 2.0}, [1, 2, 4, 5]),
        ({"column": "n", "op": "!=", "value": 5}, [1, 3, 4, 5]),
        ({"column": "city", "op": "!=", "value": "Oslo"}, [1, 3, 4, 5]),
        ({"column": "when", "op": "!=", "value": "2024-01-03"}, [1, 2, 4, 5]),
        ({"column": "x", "op": "in", "value": [3.0, 2.0]}, [1, 4, 6]),
        ({"column": "x", "op": "<=", "value": 2.0}, [2, 5, 6]),
    ],
    ids=["float", "Int64", "text", "time", "in", "float<="],
)
def test_the_script_keeps_no_missing_value_in_a_filter_as_the_run(cpu, condition, kept):
    produced, expected = script_and_run(cpu, GAPS, Step("filter", {"conditions": [condition]}))
    assert expected["id"].tolist() == kept
    pd.testing.assert_frame_equal(produced, expected)


def test_the_script_fills_with_the_first_of_tied_modes_as_the_run(cpu):
    produced, expected = script_and_run(
        cpu, GAPS, Step("fill_missing", {"columns": ["x", "n", "city"], "method": "mode"})
    )
    assert (expected["x"][2], expected["n"][1], expected["city"][1]) == (1.0, 1, "Lima")  # pandas' mode() is sorted
    pd.testing.assert_frame_equal(produced, expected)


@pytest.mark.parametrize("method", ["standard", "minmax", "robust"])
def test_the_script_scales_a_constant_column_to_zeros_as_the_run(cpu, method):
    constant = pd.DataFrame({"v": [7.0, 7.0, np.nan, 7.0]})
    produced, expected = script_and_run(cpu, constant, Step("scale", {"columns": ["v"], "method": method}))
    np.testing.assert_array_equal(expected["v"].to_numpy(), [0.0, 0.0, np.nan, 0.0])
    pd.testing.assert_frame_equal(produced, expected)


@pytest.mark.parametrize("constant", [123456.789, -123456.789])
def test_the_script_centres_a_constant_whose_mean_rounds_off_as_the_run(cpu, constant):
    frame = pd.DataFrame({"v": [constant] * 5, "w": [1.0, 2.0, 4.0, 8.0, 16.0]})
    produced, expected = script_and_run(cpu, frame, Step("scale", {"columns": ["v", "w"]}))
    assert expected["v"].abs().max() < 1e-10 and expected["w"].std(ddof=0) == pytest.approx(1.0)
    pd.testing.assert_frame_equal(produced, expected)


def test_the_script_puts_a_value_on_a_quantile_edge_in_the_bin_the_run_does(cpu):
    frame = pd.DataFrame({"v": [float(i) for i in range(1, 10)] + [np.nan]})  # the quartiles 3, 5 and 7 are values
    produced, expected = script_and_run(cpu, frame, Step("quantile_bin", {"column": "v", "bins": 4}))
    assert expected["v_bin"].tolist()[:9] == [0, 0, 0, 1, 1, 2, 2, 3, 3]
    pd.testing.assert_frame_equal(produced, expected)


def test_cudf_script_uses_cudf_and_cupy():
    text = to_script(Recipe((Step("sample", {"fraction": 0.5, "seed": 1}),)), "cudf")
    assert "import cudf" in text and "import cupy as xp" in text
    compile(text, "pipeline.py", "exec")


def text_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as a text file writes it: date-times as ISO text with no fraction (what JSON readers take)."""
    return frame.assign(when=frame["when"].dt.strftime("%Y-%m-%d %H:%M:%S"))


def json_array(frame: pd.DataFrame) -> bytes:
    return text_of(frame).to_json(orient="records", indent=1).encode()


def json_lines(frame: pd.DataFrame) -> bytes:
    return text_of(frame).to_json(orient="records", lines=True).encode()


def excel(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    return buffer.getvalue()


UPLOADS = {  # a file name, how a table is written to it, the reader its script must call, and the options given
    "csv": ("in.csv", lambda f: f.to_csv(index=False, sep=";").encode("latin-1"), "pd.read_csv(", "latin-1"),
    "csv.gz": ("in.csv.gz", lambda f: gzip.compress(f.to_csv(index=False).encode()), "pd.read_csv(", "utf-8"),
    "json": ("in.json", json_array, "pd.read_json(", "utf-8"),
    "jsonl": ("in.jsonl", json_lines, "pd.read_json(", "utf-8"),
    "xlsx": ("in.xlsx", excel, "pd.read_excel(", "utf-8"),
    "parquet": ("in.parquet", lambda f: f.to_parquet(), "pd.read_parquet(", "utf-8"),
}
TABLE_WITH_DATES = TABLE.assign(when=TABLE["when"].fillna(pd.Timestamp("2020-02-02")))


def uploaded(tmp_path, kind: str, frame: pd.DataFrame, stem: str):
    """`frame` written as an upload of `kind` and loaded as the Data page loads it."""
    name, write, _reader, encoding = UPLOADS[kind]
    path = tmp_path / name.replace("in", stem, 1)
    path.write_bytes(write(frame))
    catalog = Catalog()
    return path, load_file(catalog, Source.from_path(path), [get_engine("cpu")], ReadOptions(encoding=encoding))


@pytest.mark.parametrize("recipe", ["clean", "combine"])
@pytest.mark.parametrize("kind", list(UPLOADS))
def test_the_script_reads_the_format_the_data_came_in_and_reproduces_the_run(cpu, tmp_path, kind, recipe):
    path, dataset = uploaded(tmp_path, kind, TABLE_WITH_DATES, "in")
    scores_path, scores = uploaded(tmp_path, kind, SCORES.assign(when=TABLE_WITH_DATES["when"].head(4)), "scores")
    frame, others = dataset.primary.frame, {"scores": scores.primary.frame}
    steps = check_recipe(Recipe(tuple(RECIPES[recipe])), frame, cpu, others)
    expected = run_recipe(steps, frame, cpu, others)
    assert expected.ok, expected.error
    text = to_script(Recipe(tuple(steps)), "pandas", dataset.read_from, {"scores": scores.read_from})
    reader = UPLOADS[kind][2]
    assert f"{reader}sys.argv[1]" in text
    assert (f"{reader}others['scores']" in text) == (recipe == "combine")
    (tmp_path / "pipeline.py").write_text(text)
    done = subprocess.run(
        [sys.executable, "pipeline.py", path.name, "out.parquet", f"scores={scores_path.name}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    produced = pd.read_parquet(tmp_path / "out.parquet")
    ordered = all(STEP_KINDS[s.kind].keeps_row_order for s in steps)
    parity = compare_results(expected.frame.reset_index(drop=True), produced.reset_index(drop=True), ordered=ordered)
    assert parity.ok, parity.mismatches


def test_a_csv_upload_is_read_with_its_delimiter_encoding_and_dates():
    read = FileRead(FileFormat.CSV, "gzip", ";", "latin-1", ("when",))
    for library in LIBRARIES:
        text = to_script(Recipe((Step("drop", {"columns": ["x"]}),)), library, read)
        assert "pd.read_csv(sys.argv[1], sep=';', encoding='latin-1', compression='gzip', parse_dates=['when'])" in text
        assert "gzip-compressed, when read as dates." in text, "the docstring names the date columns"
        assert "read_parquet" not in text
        assert "INPUT.csv.gz OUTPUT.parquet" in text
    plain = to_script(Recipe((Step("drop", {"columns": ["x"]}),)), "cudf", FileRead(FileFormat.CSV))
    assert "table = cudf.read_csv(sys.argv[1])" in plain  # cuDF reads a plain UTF-8 CSV itself


def unused_names(script: str) -> set[str]:
    """Imports, top-level names and function parameters the script never reads."""
    tree = ast.parse(script)
    read = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    bound = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Assign):
            bound |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            used_inside = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            bound |= {arg.arg for arg in node.args.args if arg.arg not in used_inside}
    return bound - read


@pytest.mark.parametrize("library", list(LIBRARIES))
@pytest.mark.parametrize("steps", [*RECIPES.values(), [Step("drop", {"columns": ["x"]})]], ids=[*RECIPES, "drop"])
def test_a_script_holds_only_the_code_its_steps_use(cpu, library, steps):
    steps = check_recipe(Recipe(tuple(steps)), TABLE, cpu, {"scores": SCORES})
    script = to_script(Recipe(tuple(steps)), library)
    assert not unused_names(script)
    uses_random = any(step.kind in ("sample", "train_test_split") for step in steps)
    assert ("stream_bits" in script) == uses_random


DECIMAL_COMMA_CSV = "Artikel;Preis;Menge\nÄpfel;1,5;1.234,5\nBirnen;;2\nKäse;1.234,5;\nMöhren;0,25;7,75\n"


@pytest.mark.parametrize("library", list(LIBRARIES))
def test_the_script_converts_the_decimal_comma_columns_the_app_converted(cpu, tmp_path, library):
    path = tmp_path / "preise.csv"
    path.write_bytes(DECIMAL_COMMA_CSV.encode("latin-1"))
    dataset = load_file(Catalog(), Source.from_path(path), [cpu], ReadOptions(encoding="latin-1"))
    frame = dataset.primary.frame
    assert str(frame["Preis"].dtype) == "float64" and str(frame["Menge"].dtype) == "float64"
    assert set(dataset.read_from.numbers) == {("Preis", ",", "."), ("Menge", ",", ".")}
    recipe = Recipe((Step("fill_missing", {"columns": ["Preis", "Menge"], "method": "median"}),))
    steps = check_recipe(recipe, frame, cpu)
    expected = run_recipe(steps, frame, cpu)
    assert expected.ok, expected.error
    text = to_script(Recipe(tuple(steps)), library, dataset.read_from)
    assert not unused_names(text)
    if library == "cudf":  # no GPU here: the cuDF script is checked for what it calls
        assert "with_numbers(cudf.from_pandas(pd.read_csv(sys.argv[1], sep=';', encoding='latin-1'))" in text
        compile(text, "pipeline.py", "exec")
        return
    (tmp_path / "pipeline.py").write_text(text)
    done = subprocess.run(
        [sys.executable, "pipeline.py", path.name, "out.parquet"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    produced = pd.read_parquet(tmp_path / "out.parquet")
    parity = compare_results(expected.frame.reset_index(drop=True), produced.reset_index(drop=True), ordered=True)
    assert parity.ok, parity.mismatches
    assert produced["Preis"].tolist() == [1.5, 1.5, 1234.5, 0.25]


def test_a_script_converts_no_numbers_where_the_app_converted_none():
    text = to_script(Recipe((Step("drop", {"columns": ["x"]}),)), "pandas", FileRead(FileFormat.CSV, None, ";"))
    assert "with_numbers" not in text and "as_number" not in text


def test_a_one_step_script_is_short_and_reads_as_written():
    script = to_script(Recipe((Step("rename", {"mapping": {"a": "b"}}),)), "pandas")
    assert "# 1. Rename columns: rename a → b" in script and "\\u2192" not in script
    assert len(script.splitlines()) < 25, script


def test_export_refuses_empty_pipelines_and_unknown_libraries():
    with pytest.raises(DataError, match="no steps"):
        to_script(Recipe(()), "pandas")
    with pytest.raises(DataError, match="pandas or cudf"):
        to_script(Recipe((Step("drop", {"columns": ["x"]}),)), "polars")


PAYLOAD = "__import__('os').system('touch PWNED')"
HOSTILE_NAMES = [
    f"x\n    {PAYLOAD}\n    #",
    f"x\r    {PAYLOAD}\r    #",
    f"x\u2028{PAYLOAD}",
    f"x'); {PAYLOAD}; ('",
    f'x"); {PAYLOAD}; ("',
    f"x'''\n{PAYLOAD}\n'''",
    f'x"""\n{PAYLOAD}\n"""',
    f"x\\\n{PAYLOAD}",
    f"x\\' + {PAYLOAD} + '",
    f"x\x00{PAYLOAD}",
    f"x\x0c\x1b[2J{PAYLOAD}",
    "x" * 5000 + f"\n{PAYLOAD}",
]


def hostile_recipe(name: str) -> Recipe:
    """Every place a user's string reaches a script: a new column name, a rename, a filter value, a fill value,
    a text pattern, an output name, a one-hot column, a join key and dataset name."""
    return Recipe(
        (
            Step("rename", {"mapping": {"city": name}}),
            Step("filter", {"conditions": [{"column": name, "op": "contains", "value": name}], "combine": "or"}),
            Step("fill_missing", {"columns": [name], "method": "constant", "value": name}),
            Step(
                "string",
                {"column": name, "op": "replace", "pattern": name, "replacement": name, "output": name + "2"},
            ),
            Step("one_hot", {"column": name, "max_levels": 10}),
            Step("join", {"dataset": name, "on": ["id"], "how": "left"}),
        )
    )


def shape_of(script: str) -> str:
    """The script's syntax tree with every string constant blanked: what code it holds, whatever the names."""
    tree = ast.parse(script)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.dump(tree)


@pytest.mark.parametrize("library", list(LIBRARIES))
@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_user_strings_in_exported_scripts_are_data_not_code(name, library):
    assert shape_of(to_script(hostile_recipe(name), library)) == shape_of(to_script(hostile_recipe("c"), library))


@pytest.mark.parametrize("name", [HOSTILE_NAMES[0], HOSTILE_NAMES[3], HOSTILE_NAMES[7]], ids=["newline", "quote", "bs"])
def test_a_script_exported_for_hostile_names_runs_and_creates_no_file(cpu, tmp_path, name):
    scores = SCORES.assign(extra=1.0)
    steps = check_recipe(hostile_recipe(name), TABLE, cpu, {name: scores})
    expected = run_recipe(steps, TABLE, cpu, {name: scores})
    assert expected.ok, expected.error
    (tmp_path / "pipeline.py").write_text(to_script(Recipe(tuple(steps)), "pandas"))
    TABLE.to_parquet(tmp_path / "in.parquet")
    scores.to_parquet(tmp_path / "scores.parquet")
    before = set(tmp_path.iterdir())
    done = subprocess.run(
        [sys.executable, "pipeline.py", "in.parquet", "out.parquet", f"{name}=scores.parquet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert set(tmp_path.iterdir()) - before == {tmp_path / "out.parquet"}
    produced = pd.read_parquet(tmp_path / "out.parquet")
    assert compare_results(expected.frame.reset_index(drop=True), produced.reset_index(drop=True), ordered=False).ok


def test_export_refuses_code_where_a_fixed_word_belongs():
    for step in (
        Step("filter", {"conditions": [{"column": "x", "op": "== 1 or os", "value": 1}], "combine": "and"}),
        Step("string", {"column": "x", "op": "lower(); import os; x.upper", "output": "y"}),
        Step("datetime_parts", {"column": "x", "parts": ["year; import os"]}),
        Step("fill_missing", {"columns": ["x"], "method": "mean(); import os; x.mean"}),
        Step("scale", {"columns": ["x"], "method": "x"}),
    ):
        with pytest.raises(DataError, match="Cannot export"):
            to_script(Recipe((step,)), "pandas")


def test_a_parquet_scripts_text_is_its_header_imports_run_and_main_and_nothing_else():
    recipe = Recipe((Step("drop", {"columns": ["x"]}), Step("rename", {"mapping": {"a": "b"}})))
    assert to_script(recipe, "pandas") == (
        '"""2-step pipeline exported from GPU Pipeline Lab, for pandas (numpy).\n'
        "\n"
        "Run: python this_script.py INPUT.parquet OUTPUT.parquet\n"
        "INPUT is read as the app read the dataset's file: Parquet.\n"
        '"""\n'
        "\n"
        "import sys\n"
        "\n"
        "import pandas as pd\n"
        "\n"
        "\n"
        "def run(df):\n"
        "    df = df.copy()\n"
        "    # 1. Drop columns: drop x\n"
        "    df = df.drop(columns=['x'])\n"
        "    # 2. Rename columns: rename a → b\n"
        "    df = df.rename(columns={'a': 'b'})\n"
        "    return df\n"
        "\n"
        "\n"
        'if __name__ == "__main__":\n'
        "    table = pd.read_parquet(sys.argv[1])\n"
        "    run(table).to_parquet(sys.argv[2])\n"
    )


def test_a_cudf_script_with_a_join_reads_each_dataset_as_the_app_read_it():
    read = FileRead(FileFormat.JSONL, "gzip", dates=("when",))
    recipe = Recipe((Step("join", {"dataset": "scores", "on": ["id"], "how": "left"}),))
    script = to_script(recipe, "cudf", read, {"scores": FileRead(FileFormat.EXCEL)})
    assert script.startswith(
        '"""1-step pipeline exported from GPU Pipeline Lab, for cudf (cupy).\n'
        "\n"
        "Run: python this_script.py INPUT.jsonl.gz OUTPUT.parquet NAME=FILE ...\n"
        "INPUT is read as the app read the dataset's file: JSON lines, gzip-compressed, when read as dates.\n"
        "NAME=FILE gives the file of each dataset a join step names (`datasets` below).\n"
        '"""\n'
        "\n"
        "import sys\n"
        "\n"
        "import cudf\n"
        "import pandas as pd\n"
        "\n"
        "\n"
        "def with_dates(df, columns):\n"
    )
    assert script.endswith(
        "def run(df, datasets):\n"
        "    df = df.copy()\n"
        "    # 1. Join another dataset: left join scores on id\n"
        "    df = df.merge(datasets['scores'], on=['id'], how='left', suffixes=('', '_right'))\n"
        "    return df\n"
        "\n"
        "\n"
        'if __name__ == "__main__":\n'
        '    others = dict(argument.split("=", 1) for argument in sys.argv[3:])\n'
        "    datasets = {\n"
        "        'scores': cudf.from_pandas(pd.read_excel(others['scores'])),\n"
        "    }\n"
        "    table = cudf.from_pandas(with_dates(pd.read_json(sys.argv[1], lines=True, compression='gzip', "
        "dtype=False), ['when']))\n"
        "    run(table, datasets).to_parquet(sys.argv[2])\n"
    )


def test_a_script_lists_its_imports_constants_and_helpers_in_sections_in_a_fixed_order():
    steps = (
        Step("sample", {"fraction": 0.5, "seed": 1}),
        Step("filter", {"conditions": [{"column": "x", "op": ">", "value": 1}], "combine": "and"}),
        Step("quantile_bin", {"column": "x", "bins": 3, "output": "b"}),
        Step("one_hot", {"columns": ["c"], "max_levels": 5}),
    )
    read = FileRead(FileFormat.CSV, numbers=(("p", ",", "."),))
    helpers = ["_mix_int", "stream_bits", "unit_floats", "scalar_for", "as_number", "to_host", "float_values"]
    helpers += ["uniform", "with_numbers", "run"]
    constants = ["GOLDEN = 0x9e3779b97f4a7c15", "MIX1 = 0xbf58476d1ce4e5b9", "MIX2 = 0x94d049bb133111eb"]
    constants.append("MASK64 = 0xffffffffffffffff")
    for library, imports in (
        ("pandas", "import numpy as np\nimport pandas as pd\n\nxp = np\nlib = pd\n"),
        ("cudf", "import cudf\nimport cupy as xp\nimport numpy as np\nimport pandas as pd\n\nlib = cudf\n"),
    ):
        script = to_script(Recipe(steps), library, read)
        standard = "import sys\nfrom types import ModuleType\nfrom typing import Any\n\n"
        assert f'"""\n\n{standard}{imports}\n\n' + "\n".join(constants) + "\n\n\ndef _mix_int(" in script
        tree = ast.parse(script)
        assert [node.name for node in tree.body if isinstance(node, ast.FunctionDef)] == helpers
        assert script.count("\n\n\ndef ") == len(helpers)


def test_a_scripts_usage_and_reader_follow_the_files_format_and_compression():
    cases = {
        FileRead(FileFormat.ARROW): ("INPUT.feather", "Arrow IPC / Feather.", "pd.read_feather(sys.argv[1])"),
        FileRead(FileFormat.EXCEL): ("INPUT.xlsx", "Excel.", "pd.read_excel(sys.argv[1])"),
        FileRead(FileFormat.JSON, "bz2"): (
            "INPUT.json.bz2",
            "JSON, bz2-compressed.",
            "pd.read_json(sys.argv[1], compression='bz2', dtype=False)",
        ),
        FileRead(FileFormat.JSONL): (
            "INPUT.jsonl",
            "JSON lines.",
            "pd.read_json(sys.argv[1], lines=True, dtype=False)",
        ),
        FileRead(FileFormat.CSV, "zip"): (
            "INPUT.csv.zip",
            "CSV, delimiter ',', encoding utf-8, zip-compressed.",
            "pd.read_csv(sys.argv[1], compression='zip')",
        ),
        FileRead(FileFormat.CSV, "xz", "\t"): (
            "INPUT.csv.xz",
            "CSV, delimiter '\\t', encoding utf-8, xz-compressed.",
            "pd.read_csv(sys.argv[1], sep='\\t', compression='xz')",
        ),
        FileRead(FileFormat.CSV, "zstd", dates=("a", "b")): (
            "INPUT.csv.zst",
            "CSV, delimiter ',', encoding utf-8, zstd-compressed, a, b read as dates.",
            "pd.read_csv(sys.argv[1], compression='zstd', parse_dates=['a', 'b'])",
        ),
        FileRead(FileFormat.CSV, numbers=(("p", ",", "."), ("q", ",", " "))): (
            "INPUT.csv",
            "CSV, delimiter ',', encoding utf-8, 2 column(s) of numbers written with separators read as numbers.",
            "with_numbers(pd.read_csv(sys.argv[1]), [['p', ',', '.'], ['q', ',', ' ']])",
        ),
    }
    for read, (name, described, reader) in cases.items():
        script = to_script(Recipe((Step("drop", {"columns": ["x"]}),)), "pandas", read)
        assert f"Run: python this_script.py {name} OUTPUT.parquet\n" in script
        assert f"INPUT is read as the app read the dataset's file: {described}\n" in script
        assert f"    table = {reader}\n" in script
    parquet = to_script(Recipe((Step("drop", {"columns": ["x"]}),)), "cudf")
    assert "    table = cudf.read_parquet(sys.argv[1])\n" in parquet
    latin = to_script(Recipe((Step("drop", {"columns": ["x"]}),)), "cudf", FileRead(FileFormat.CSV, encoding="cp1252"))
    assert "    table = cudf.from_pandas(pd.read_csv(sys.argv[1], encoding='cp1252'))\n" in latin


def test_a_step_comment_escapes_line_breaks_and_control_characters_and_keeps_the_rest():
    script = to_script(Recipe((Step("rename", {"mapping": {"a\nb\u2028c\x1b": "é"}}),)), "pandas")
    assert "    # 1. Rename columns: rename a\\nb\\u2028c\\x1b → é\n" in script


def test_export_names_what_it_cannot_export():
    with pytest.raises(DataError) as raised:
        to_script(Recipe((Step("drop", {"columns": ["x"]}),)), "polars")
    assert str(raised.value) == "Scripts are written for pandas or cudf; got 'polars'."
    with pytest.raises(DataError) as raised:
        to_script(Recipe(()), "pandas")
    assert str(raised.value) == "The pipeline has no steps yet: add one before exporting."
    with pytest.raises(DataError) as raised:
        to_script(Recipe((Step("scale", {"columns": ["x"], "method": "x"}),)), "pandas")
    assert str(raised.value) == "Cannot export the scaling method 'x': it must be one of standard, minmax, robust."


@pytest.mark.parametrize("method", ["standard", "minmax", "robust"])
def test_the_script_scales_as_the_run_does(cpu, method):
    frame = pd.DataFrame({"v": [1.0, 2.0, 4.0, 8.0, np.nan, 16.0]})
    produced, expected = script_and_run(cpu, frame, Step("scale", {"columns": ["v"], "method": method}))
    pd.testing.assert_frame_equal(produced, expected)


def test_the_script_reads_text_as_dates_and_finds_text_as_the_run_does(cpu):
    frame = pd.DataFrame({"d": pd.Series(["2024-01-02", "2023-05-06", None], dtype="str")})
    steps = (
        Step("string", {"column": "d", "op": "contains", "pattern": "-0", "output": "has"}),
        Step("string", {"column": "d", "op": "length", "output": "n"}),
        Step("cast", {"column": "d", "to": "datetime"}),
    )
    produced, expected = script_and_run(cpu, frame, *steps)
    assert expected["has"].tolist() == [True, True, False] and str(expected["d"].dtype).startswith("datetime64")
    assert expected["n"].tolist()[:2] == [10, 10]
    pd.testing.assert_frame_equal(produced, expected)


def test_the_script_keeps_the_rows_that_pass_either_condition_as_the_run(cpu):
    conditions = [{"column": "x", "op": "is missing"}, {"column": "x", "op": ">", "value": 2.0}]
    produced, expected = script_and_run(cpu, GAPS, Step("filter", {"conditions": conditions, "combine": "or"}))
    assert expected["id"].tolist() == [1, 3, 4]
    pd.testing.assert_frame_equal(produced, expected)


def test_export_names_the_fixed_words_a_text_operation_and_a_date_part_take():
    with pytest.raises(DataError) as raised:
        to_script(Recipe((Step("string", {"column": "x", "op": "title", "output": "y"}),)), "pandas")
    assert str(raised.value) == (
        "Cannot export the text operation 'title': it must be one of lower, upper, strip, length, contains, replace."
    )
    with pytest.raises(DataError) as raised:
        to_script(Recipe((Step("fill_missing", {"columns": ["x"], "method": "zero"}),)), "pandas")
    assert str(raised.value) == (
        "Cannot export the fill method 'zero': it must be one of constant, mean, median, mode, forward."
    )
    with pytest.raises(DataError) as raised:
        to_script(Recipe((Step("filter", {"conditions": [{"column": "x", "op": "~"}], "combine": "and"}),)))
    assert str(raised.value) == (
        "Cannot export the filter operator '~': it must be one of "
        "==, !=, <, <=, >, >=, in, contains, is missing, is not missing."
    )
    with pytest.raises(DataError) as raised:
        to_script(Recipe((Step("datetime_parts", {"column": "x", "parts": ["week"]}),)), "pandas")
    assert str(raised.value) == (
        "Cannot export the date part 'week': it must be one of year, month, day, weekday, hour, minute."
    )
