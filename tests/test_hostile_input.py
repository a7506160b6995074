"""Input built to crash the server or exhaust its memory: refused with a message, the process alive, nothing lost.

Crash cases run in a child process (a segfault there cannot take the test run down) that must exit
normally and print the message the user would see.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline import json_input
from pipeline.errors import DataError
from pipeline.json_input import MAX_JSON_DEPTH, nesting_depth, parse_json
from pipeline.steps import Recipe

ROOT = Path(__file__).resolve().parent.parent


def run_child(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`code` run by a fresh Python in the repository root."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def nested_line(depth: int) -> bytes:
    return b'{"a": ' + b"[" * depth + b"]" * depth + b"}\n"


LOAD_IN_CHILD = """
    import sys
    from pathlib import Path
    from pipeline.catalog import Catalog
    from pipeline.engines import get_engine
    from pipeline.errors import DataError
    from pipeline.io import Source
    from pipeline.loading import load_file, load_bundled

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
