"""No import circle in the Python code.

The graph is built from the source with `ast`: every import statement counts, at the top,
inside functions and under TYPE_CHECKING, since any of them can close a circle that only
shows when that code runs. An import of a module is an edge to it; the package __init__
Python also runs on the way is not, so `from package import submodule` inside the package
stays legal.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from socksort.paths import ROOT

# Circles known and accepted: none. A new one fails the test below, naming it.
KNOWN_CIRCLES: set[frozenset] = set()


def source_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the distribution by import name, from pyproject's package-dir."""
    config = tomllib.loads((root / "pyproject.toml").read_text())
    modules = {}
    for package, folder in config["tool"]["setuptools"]["package-dir"].items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = list(path.relative_to(root / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


def _nearest(modules: dict[str, Path], dotted: str) -> str | None:
    """The module ``dotted`` names, or the nearest package above it in the project."""
    while dotted and dotted not in modules:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def imports_of(name: str, modules: dict[str, Path]) -> set[str]:
    """The project modules that module ``name`` imports, wherever the statement stands."""
    path = modules[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {_nearest(modules, alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            found |= {_nearest(modules, f"{base}.{alias.name}") or _nearest(modules, base)
                      for alias in node.names}
    return found - {None, name}


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    return {name: imports_of(name, modules) for name in modules}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle through each group of modules that import each other (Tarjan's strongly
    connected components), as the path from its first module round to itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = {stack.pop()}
            while v not in group:
                group.add(stack.pop())
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_round_trip(graph, group) for group in groups]


def _round_trip(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    start = min(group)
    paths = {start: [start]}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph[v] & group):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                todo.append(w)
    raise AssertionError(f"no circle through {sorted(group)}")


def _project(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools.package-dir]\n"demo" = "demo"\n')
    for name, text in {"__init__.py": "", **files}.items():
        (tmp_path / "demo" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "demo" / name).write_text(text)
    return source_modules(tmp_path)


def test_imports_inside_functions_and_under_type_checking_close_a_circle(tmp_path):
    modules = _project(tmp_path, {
        "a.py": "def late():\n    from demo import b\n",
        "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import C\n",
        "c.py": "import demo.a\n"})
    assert circles(import_graph(modules)) == [["demo.a", "demo.b", "demo.c", "demo.a"]]


def test_a_package_importing_its_submodules_is_no_circle(tmp_path):
    modules = _project(tmp_path, {
        "pkg/__init__.py": "from demo.pkg.core import Thing\n",
        "pkg/core.py": "from demo.pkg import helpers\n",
        "pkg/helpers.py": "import json\n"})
    assert import_graph(modules)["demo.pkg.core"] == {"demo.pkg.helpers"}
    assert circles(import_graph(modules)) == []


def test_the_project_has_no_import_circle():
    found = circles(import_graph(source_modules()))
    in_ksql = [c for c in found if any(m.startswith("socksort.ksql") for m in c)]
    assert in_ksql == [], "import circles: " + "; ".join(" -> ".join(c) for c in in_ksql)
    elsewhere = {frozenset(c) for c in found} - {frozenset(c) for c in in_ksql}
    assert elsewhere == KNOWN_CIRCLES, "import circles: " + "; ".join(
        " -> ".join(c) for c in found if frozenset(c) not in KNOWN_CIRCLES) + (
        "; gone, remove from KNOWN_CIRCLES: " + ", ".join(
            " <-> ".join(sorted(k)) for k in KNOWN_CIRCLES - elsewhere))
