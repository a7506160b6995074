"""`pipeline/` has no import cycles: every import, at module level or inside a function, is an edge."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT
PACKAGE = ROOT / "pipeline"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each pipeline module → the pipeline modules it imports (`from a import b` is `a.b` where b is a module)."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [
                    f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                    for alias in node.names
                ]
            graph[name] |= {target for target in targets if target in modules and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_the_pipeline_package_has_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 40 and graph["pipeline.profile"] >= {"pipeline.profile.local", "pipeline.profile.partitioned"}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def unit_of(module: str) -> str:
    """The layer a module belongs to: its package under `pipeline` (`pipeline.data.io` → `pipeline.data`), or the
    module itself for one directly under `pipeline` (`pipeline.budget`)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else module


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Which packages (and top-level modules) import which others."""
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        packages.setdefault(unit_of(module), set()).update(unit_of(target) for target in targets)
    return {unit: targets - {unit} for unit, targets in packages.items()}


def test_packages_are_layered_none_imports_another_that_imports_it_back():
    packages = package_graph(import_graph())
    assert {"pipeline.tables", "pipeline.engines", "pipeline.data"} <= set(packages)
    assert cycles(packages) == [], "a lower package imports a higher one: move the shared part down a layer"
    assert "pipeline.engines" not in packages["pipeline.tables"], "formats, readers and types sit below the engines"
    assert "pipeline.data" not in packages["pipeline.engines"], "engines do not load tables, tables load onto them"


def test_the_package_graph_sees_a_two_way_import():
    two_way = {"pipeline.data.io": {"pipeline.engines.base"}, "pipeline.engines.base": {"pipeline.data.formats"}}
    assert cycles(package_graph(two_way)) == [["pipeline.data", "pipeline.engines"]]
