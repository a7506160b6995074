"""Input built to crash the server or exhaust its memory: refused with a message, the process alive, nothing lost.

Crash cases run in a child process (a segfault there cannot take the test run down) that must exit
normally and print the message the user would see.
"""

from __future__ import annotations

import json
import re
import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.budget import MemoryBudget
from pipeline.data.bundled import bundled_frame
from pipeline.data.catalog import Catalog, SessionLimits
from pipeline.data.io import Source
from pipeline.data.loading import load_file
from pipeline.errors import DataError
from pipeline.steps.runner import check_recipe, run_recipe, run_side_by_side
from pipeline.steps.spec import Recipe, Step
from pipeline.tables import json_input
from pipeline.tables.binary_readers import read_parquet
from pipeline.tables.decoded_size import decoded_size
from pipeline.tables.formats import FileFormat
from pipeline.tables.json_input import MAX_JSON_DEPTH, nesting_depth
from pipeline.tables.visitor_json import parse_json
from tests.support import bombs
from tests.support.child import run_child
from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT


def nested_line(depth: int) -> bytes:
    return b'{"a": ' + b"[" * depth + b"]" * depth + b"}\n"


LOAD_IN_CHILD = """
    import sys
    from pathlib import Path
    from pipeline.data.catalog import Catalog
    from pipeline.engines import get_engine
    from pipeline.errors import DataError
    from pipeline.data.io import Source
    from pipeline.data.loading import load_file, load_bundled

    catalog = Catalog()
    load_bundled(catalog, "iris", [get_engine("cpu")])
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "{path}").read_bytes()
    try:
        load_file(catalog, Source.from_bytes("{name}", data), [get_engine("cpu")])
    except DataError as error:
        print("REFUSED:", error)
    print("KEPT:", [d.name for d in catalog], "ACTIVE:", catalog.active.name)
"""


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        ("deep_first.jsonl", [nested_line(20_000)]),
        ("deep_second.jsonl", [b'{"a": [1]}\n', nested_line(20_000)]),
        ("deep_5000.jsonl", [b'{"a": [1]}\n', nested_line(5_000)]),
        ("deep_1000_first.jsonl", [nested_line(1_000)]),
        ("deep_unclosed_lines.jsonl", [b'{"a": [1]}\n', *[b"[" * 60 + b"\n"] * 400]),
        ("deep_array.json", [b'[{"a": [1]},\n', nested_line(20_000), b"]"]),
        ("deep_array_on_one_line.json", [b'[{"a": [1]}, ', nested_line(20_000).strip(), b"]"]),
    ],
)
def test_deeply_nested_json_lines_are_refused_and_the_server_lives(tmp_path, name, lines):
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    done = run_child(LOAD_IN_CHILD.format(path=path, name=name))
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"REFUSED: {name} nests objects or arrays more than {MAX_JSON_DEPTH} levels deep" in done.stdout
    assert "KEPT: ['iris'] ACTIVE: iris" in done.stdout


def test_json_lines_of_ordinary_depth_load(tmp_path):
    path = tmp_path / "fine.jsonl"
    path.write_bytes(b'{"a": [[1]], "b": {"c": "[[[[ {{{ \\" ]]"}}\n' * 3)
    done = run_child(LOAD_IN_CHILD.format(path=path, name="fine.jsonl"))
    assert done.returncode == 0 and "REFUSED" not in done.stdout, done.stdout + done.stderr[-2000:]
    assert "KEPT: ['iris', 'fine']" in done.stdout


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b'{"a": 1}', 1),
        (b'{"a": [1, {"b": [2]}]}', 4),
        (b'{"a": "[[[[{{{{"}', 1),  # brackets inside strings do not nest
        (b'{"a": "\\"[[[["}', 1),  # an escaped quote does not end the string
        (b'{"a": "\\\\", "b": [[[1]]]}', 4),  # an escaped backslash does not escape the quote after it
        (b'{"a": "\\\\\\"[["}', 1),  # three backslashes: the quote is escaped
        (b'{"a": "open\n[[[[1]]]]', 5),  # a line end closes a string left open; the object stays open
        (b"]]]]]][[", 2),  # depth never goes below zero
        (b"[[[\n[[[\n", 6),  # a value left open continues on the next line
        (b"[]" * 1000, 1),
    ],
)
def test_nesting_depth_counts_brackets_outside_strings(text, depth):
    assert nesting_depth(text) == depth


def test_nesting_depth_is_the_same_read_in_pieces(tmp_path, monkeypatch):
    text = (b'{"k": "\\\\\\"]]", "v": [[{"w": [1]}]]}\n' * 50) + b"[" * 150 + b"\n"
    path = tmp_path / "pieces.jsonl"
    path.write_bytes(text)
    expected = nesting_depth(text, stop_past=10_000)
    for size in (7, 64, 1000):
        monkeypatch.setattr(json_input, "SCAN_BYTES", size)
        assert nesting_depth(path, stop_past=10_000) == expected == 150


def test_deep_recipes_and_other_json_files_are_refused_with_a_message():
    deep = '{"version": 1, "steps": [{"kind": "drop", "params": {"columns": ' + "[" * 100_000 + "]" * 100_000 + "}}]}"
    with pytest.raises(DataError, match="The recipe nests objects or arrays more than 100 levels deep"):
        Recipe.from_json(deep)
    for depth in (1_000, 10_000):
        with pytest.raises(DataError, match="more than 100 levels deep"):
            parse_json("[" * depth + "]" * depth, "history.json", "a file saved from this page")
    assert parse_json(json.dumps({"a": [[{"b": 1}]]}), "x.json", "anything") == {"a": [[{"b": 1}]]}


PEAK_IN_CHILD = """
    import resource, sys
    from pathlib import Path
    from pipeline.data.catalog import Catalog
    from pipeline.engines import get_engine
    from pipeline.errors import DataError
    from pipeline.data.io import Source
    from pipeline.data.loading import load_bundled, load_file

    catalog = Catalog()
    load_bundled(catalog, "iris", [get_engine("cpu")])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    path = Path("{path}")
    try:
        load_file(catalog, Source.from_bytes(path.name, path.read_bytes()), [get_engine("cpu")])
    except DataError as error:
        print("REFUSED:", error)
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print("GREW_MB:", grew // 1024, "KEPT:", [d.name for d in catalog])
"""


@pytest.mark.parametrize(
    ("name", "make", "said"),
    [
        (
            "long_strings.parquet",
            lambda p: bombs.parquet_long_strings(p),
            "1,000,000 rows × 1 columns, from its footer",
        ),
        ("ints.parquet", lambda p: bombs.parquet_many_integers(p, rows=300_000_000), "300,000,000 rows × 1 columns"),
        ("text_zstd.arrow", bombs.arrow_long_strings, "IPC messages, from their metadata"),
        ("cells.xlsx", bombs.xlsx_many_cells, "40,000,020 cells in 2,000,001 rows of its sheets"),
    ],
)
def test_small_files_that_decode_to_huge_tables_are_refused_before_decoding(tmp_path, name, make, said):
    path = make(tmp_path / name)
    assert path.stat().st_size < 5 * 2**20
    done = run_child(PEAK_IN_CHILD.format(path=path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"REFUSED: {name} would take about" in done.stdout and said in done.stdout, done.stdout
    assert "more than the 1.50 GiB this server allows one load" in done.stdout
    assert "KEPT: ['iris']" in done.stdout
    grew = int(done.stdout.split("GREW_MB:")[1].split()[0])
    assert grew < 100, f"refused before decoding, yet the process grew {grew} MB"


def test_parquet_text_without_statistics_is_sized_as_a_dictionary_and_stopped_before_expanding(tmp_path):
    table = pa.table({"text": pa.array([bombs.LONG_TEXT]).take(pa.array([0] * 300_000, pa.int32()))})
    path = tmp_path / "nostats.parquet"
    pq.write_table(table, path, write_statistics=False)
    assert decoded_size(FileFormat.PARQUET, path).nbytes < 10 * 2**20, "the footer alone cannot tell"
    with pytest.raises(
        DataError, match=r"Decoded, its table passes 0.28 GiB, more than the 0.10 GiB a loaded table may take"
    ):
        read_parquet(path, 100 * 2**20)
    assert read_parquet(path, 2**30).equals(table), "expanded to its own type where it fits"


def test_a_session_near_its_memory_limit_is_refused_before_decoding(cpu, tmp_path):
    catalog = Catalog(SessionLimits(bytes=50 * 2**20))
    frame = pd.DataFrame({"x": range(5_000_000)})
    path = tmp_path / "five_million.parquet"
    frame.to_parquet(path)
    with pytest.raises(DataError, match=r"more than the 0.05 GiB this session has left of its memory limit"):
        load_file(catalog, Source.from_path(path), [cpu])
    assert len(catalog) == 0


@pytest.mark.parametrize(("fmt", "write"), [("parquet", "to_parquet"), ("feather", "to_feather")])
def test_the_estimate_of_ordinary_files_is_close_to_what_they_decode_to(tmp_path, fmt, write):
    frame = pd.DataFrame({"n": range(50_000), "x": 0.5, "name": [f"row {i}" for i in range(50_000)]})
    path = tmp_path / f"table.{fmt}"
    getattr(frame, write)(path)
    decoded = pa.Table.from_pandas(frame, preserve_index=False).nbytes
    estimate = decoded_size(FileFormat.PARQUET if fmt == "parquet" else FileFormat.ARROW, path).nbytes
    assert decoded * 0.9 <= estimate <= decoded * 1.5


def four_joins() -> Recipe:
    step = {"kind": "join", "params": {"dataset": "keys", "on": ["target"], "how": "inner"}}
    return Recipe.from_json(json.dumps({"version": 1, "steps": [step] * 4}))


def test_a_recipe_that_multiplies_rows_is_checked_on_a_bounded_sample(cpu):
    import psutil

    iris = bundled_frame("iris")
    keys = iris[["target"]]  # 50 rows for each of 3 keys: every join multiplies the rows by 50
    before = psutil.Process().memory_info().rss
    steps = check_recipe(four_joins(), iris, cpu, {"keys": keys})
    assert len(steps) == 4
    assert psutil.Process().memory_info().rss - before < 200 * 2**20, "the check sample stays 500 rows"


def test_a_join_that_would_pass_the_budget_is_refused_before_it_runs_with_its_row_estimate(cpu):
    iris = bundled_frame("iris")
    keys = iris[["target"]]
    steps = check_recipe(four_joins(), iris, cpu, {"keys": keys})
    budget = MemoryBudget(100 * 2**20, "the test allows")
    result = run_side_by_side(steps, {"cpu": iris}, {"cpu": cpu}, {"cpu": {"keys": keys}}, budget=budget)
    run = result.runs["cpu"]
    assert [s.rows for s in run.steps[:2]] == [7_500, 375_000], "150 x 50, then x 50 again"
    said = "Step 3 (inner join keys on target) would make 18,750,000 rows and needs about 0.8"
    assert run.steps[2].error.startswith(said), run.steps[2].error
    assert "more than the 0.10 GiB the test allows" in run.steps[2].error and run.frame is None


@pytest.mark.parametrize(
    ("step", "said"),
    [
        (Step("one_hot", {"column": "code", "max_levels": 1000}), "1,000 new columns of 200,000 rows"),
        (
            Step("string", {"column": "text", "op": "replace", "pattern": "a", "replacement": "b" * 50, "output": "t"}),
            "a text column of up to",
        ),
        (
            Step("fill_missing", {"columns": ["text"], "method": "constant", "value": "z" * 1000}),
            "100,000 cells of 1,000 characters",
        ),
    ],
    ids=["one_hot", "replace", "fill"],
)
def test_steps_that_multiply_memory_are_refused_before_they_run(cpu, step, said):
    rows = 200_000
    frame = pd.DataFrame({"code": [f"c{i % 1000}" for i in range(rows)], "text": ["a" * 20, None] * (rows // 2)})
    steps = check_recipe(Recipe((step,)), frame, cpu)
    run = run_recipe(steps, frame, cpu)
    assert run.frame is not None, "fits the default budget"
    small = MemoryBudget(50 * 2**20, "the test allows")
    run = run_side_by_side(steps, {"cpu": frame}, {"cpu": cpu}, budget=small).runs["cpu"]
    assert run.frame is None and said in run.steps[0].error, run.steps[0].error


def test_text_a_step_is_given_is_bounded():
    frame = pd.DataFrame({"text": ["a", "b"]})
    from pipeline.engines import get_engine

    for step in (
        Step("filter", {"conditions": [{"column": "text", "op": "==", "value": "x" * 5000}]}),
        Step("fill_missing", {"columns": ["text"], "method": "constant", "value": "x" * 5000}),
        Step("rename", {"mapping": {"text": "x" * 5000}}),
        Step("filter", {"conditions": [{"column": "text", "op": "in", "value": ["a"] * 5000}]}),
    ):
        with pytest.raises(DataError, match=r"at most 1,000"):
            check_recipe(Recipe((step,)), frame, get_engine("cpu"))


def test_an_xlsx_whose_xml_expands_entities_is_refused(cpu, tmp_path):
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML, "requirements.txt installs defusedxml, which openpyxl uses when present"
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i + 1} "{f"&lol{i};" * 10}">' for i in range(9)).replace("&lol0;", "&lol;")
        + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row>'
        '<c t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
    )
    path = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in bombs.XLSX_PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", laughs)
    catalog = Catalog()
    with pytest.raises(DataError, match=r"Could not read laughs.xlsx: It is not a readable Excel workbook") as refused:
        load_file(catalog, Source.from_path(path), [cpu])
    assert "EntitiesForbidden" in str(refused.value), "defusedxml refused the entities in the reader process"
    assert len(catalog) == 0


CRASHES = ROOT / "tests" / "data" / "crash"


def test_a_parquet_file_that_aborts_pyarrow_is_a_message_and_the_server_lives():
    """Found by fuzzing: a footer whose column types disagree makes pyarrow 26 throw past its Python layer and abort
    the process ("ColumnMetaData type does not match ColumnDescriptor physical type")."""
    path = CRASHES / "footer_type_mismatch.parquet"
    done = run_child(LOAD_IN_CHILD.format(path=path, name=path.name))
    assert done.returncode == 0, done.stderr[-2000:]
    said = re.search(r"REFUSED: (.*)", done.stdout).group(1)
    assert said.startswith(  # the crash as pyarrow 26 has it, or its own error once a release catches it
        (f"{path.name} could not be read: the reader crashed on it (SIGABRT)", f"Could not read {path.name}")
    ), said
    assert "KEPT: ['iris'] ACTIVE: iris" in done.stdout
