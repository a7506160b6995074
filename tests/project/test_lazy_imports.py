"""The command lines and the pages import the heavy libraries (scikit-learn, SciPy, PyTorch, Dask, the peers, Altair
for a report) only when they use them: each one costs a command a second or more before it starts."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tests.support.child import run_child
from tests.support.paths import REPO_ROOT

LIBRARIES = {"dask", "distributed", "sklearn", "scipy", "torch", "polars", "duckdb", "ydata_profiling"}
NOT_FOR_A_LOCAL_PROFILE = LIBRARIES | {"streamlit", "altair"}  # Altair draws the --html report's charts

COMMAND = """
import json, runpy, sys
sys.argv = [{module!r}, *{arguments!r}]
try:
    runpy.run_module({module!r}, run_name="__main__", alter_sys=True)
    status = 0
except SystemExit as stop:
    status = stop.code
modules = sorted({{name.split(".")[0] for name in sys.modules}})
open({record!r}, "w").write(json.dumps({{"status": status, "modules": modules}}))
"""

PAGE_IMPORTS = """
import ast, json, sys
before, found = set(sys.modules), {{}}
for page in {pages!r}:
    tree = ast.parse(open(page, encoding="utf-8").read())
    imports = ast.Module([node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))], [])
    exec(compile(imports, page, "exec"), {{"__name__": "page"}})
    found[page] = sorted({{name.split(".")[0] for name in set(sys.modules) - before}})
    before = set(sys.modules)
open({record!r}, "w").write(json.dumps(found))
"""


def command_imports(tmp_path: Path, module: str, *arguments: str) -> tuple[int, set[str]]:
    """`python -m module arguments` run in a fresh Python: its exit status and the top-level modules it imported."""
    record = tmp_path / "imported.json"
    done = run_child(COMMAND.format(module=module, arguments=list(arguments), record=str(record)))
    assert done.returncode == 0 and record.exists(), done.stderr
    said = json.loads(record.read_text())
    return said["status"], set(said["modules"])


def test_a_local_profile_imports_no_cluster_model_or_report_library(tmp_path):
    table, out = tmp_path / "small.parquet", tmp_path / "profile.json"
    pd.DataFrame({"n": range(100), "city": ["Oslo", "Lima"] * 50}).to_parquet(table)
    status, modules = command_imports(tmp_path, "pipeline.profile", str(table), "--engine", "cpu", "--out", str(out))
    assert status == 0 and json.loads(out.read_text())["table"]["rows"] == 100
    assert modules & NOT_FOR_A_LOCAL_PROFILE == set()


def test_the_profile_help_imports_no_cluster_model_or_report_library(tmp_path):
    status, modules = command_imports(tmp_path, "pipeline.profile", "--help")
    assert status == 0 and "pipeline" in modules
    assert modules & NOT_FOR_A_LOCAL_PROFILE == set()


def test_the_benchmark_help_imports_no_cluster_model_or_peer_library(tmp_path):
    status, modules = command_imports(tmp_path, "pipeline.bench", "--help")
    assert status == 0 and "pipeline" in modules
    assert modules & NOT_FOR_A_LOCAL_PROFILE == set()


def test_the_pages_imports_bring_no_model_cluster_or_peer_library(tmp_path):
    """What each page's own imports bring (its widgets not run: a session loads the sample table with scikit-learn,
    and each page imports what its buttons use when they are pressed)."""
    record = tmp_path / "imported.json"
    pages = ["app.py", *sorted(str(page.relative_to(REPO_ROOT)) for page in (REPO_ROOT / "pages").glob("*.py"))]
    done = run_child(PAGE_IMPORTS.format(pages=pages, record=str(record)))
    assert done.returncode == 0, done.stderr
    found = json.loads(record.read_text())
    assert len(found) == len(pages) >= 9 and "streamlit" in found["app.py"]
    assert {page: sorted(set(modules) & LIBRARIES) for page, modules in found.items() if set(modules) & LIBRARIES} == {}
