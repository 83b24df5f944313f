"""No import circles in `syndicator` and `workers`, including imports hidden inside functions.

A circle that Python tolerates today (because one side imports inside a function, or
only after the other has finished loading) still means neither module can be understood,
tested or moved without the other. The graph is read from the source with `ast`, so an
import inside a function counts as much as one at the top of the file.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("syndicator", "workers")


def project_modules(root: Path) -> dict[str, Path]:
    """Every module of the project's packages by dotted name (`pkg/__init__.py` is `pkg`)."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports anywhere in its source (functions included)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: `from . import x`, `from ..pkg import y`
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                found.add(submodule if submodule in modules else origin)
    return {m for m in found if m in modules and m != name}


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = project_modules(root)
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path `a → … → a`) per strongly connected component that has one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan; the graph is small, recursion is fine
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [cycle_in(graph, component) for component in components]


def cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, for the message."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for target in sorted(graph[node] & component):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start}")


def test_the_graph_sees_imports_inside_functions(tmp_path):
    package = tmp_path / "syndicator"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from syndicator.b import g\n    return g\n")
    (package / "b.py").write_text("from . import a\nimport syndicator.c as c\n")
    (package / "c.py").write_text("from syndicator import a\n")
    graph = import_graph(tmp_path)
    assert graph["syndicator.a"] == {"syndicator.b"}
    assert graph["syndicator.b"] == {"syndicator.a", "syndicator.c"}
    assert find_cycles(graph) == [["syndicator.a", "syndicator.b", "syndicator.a"]]


def test_workers_is_a_thin_entry_point():
    """`workers/` only names the worker that `syndicator.worker` builds; nothing imports it back."""
    graph = import_graph(REPO)
    assert graph["workers.main"] == {"syndicator.worker"}
    assert not [m for m, targets in graph.items() if m.startswith("syndicator") and "workers.main" in targets]


def test_find_cycles_names_the_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def collapse(graph: dict[str, set[str]], depth: int) -> dict[str, set[str]]:
    """The graph between packages: `syndicator.web.feeds` counts as `syndicator.web` at depth 2."""

    def package(module: str) -> str:
        return ".".join(module.split(".")[:depth])

    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        packages.setdefault(package(module), set()).update(
            package(t) for t in targets if package(t) != package(module)
        )
    return packages


def describe(cycles: list[list[str]]) -> str:
    return "import cycles:\n" + "\n".join(" → ".join(cycle) for cycle in cycles)


def test_no_import_cycles_between_modules():
    cycles = find_cycles(import_graph(REPO))
    assert not cycles, describe(cycles)


def test_no_import_cycles_between_packages():
    """`syndicator` never reaches back into `workers`; sub-packages form no circle either."""
    graph = import_graph(REPO)
    for depth in (1, 2):
        cycles = find_cycles(collapse(graph, depth))
        assert not cycles, describe(cycles)


def test_every_package_is_installed_by_pyproject():
    """`pip install .` installs only the packages pyproject.toml lists: a package missing
    there works in an editable checkout and is absent from a real install."""
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        ".".join(init.parent.relative_to(REPO).parts)
        for top in ("syndicator", "workers")
        for init in (REPO / top).rglob("__init__.py")
    }
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages"
