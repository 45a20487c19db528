"""Imports point down, and the package has no import circle.

Layers, bottom up: ``errors`` and ``params`` (the vocabulary of mistakes and parameters), ``stats``
(statistics on small summaries), ``findings`` (the result contract), ``engine`` (the only code that
knows polars, duckdb and Spark), ``telemetry`` (spans read into tables, on the engine: the foundation
of the checks that start from traces), the checks side by side (each imports the layers below, never another
check), and the presentation (``present`` < ``widgets`` < ``reports`` < ``server`` < ``cli``; the
curated API in ``workbench/__init__`` sits between the checks and the reports). Every
import counts, also one inside a function; only ``if TYPE_CHECKING:`` imports are left out, as they
never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "workbench"
CHECKS = ("leakage", "drift", "performance", "shadow", "llm", "service")
BELOW_CHECKS = ("metadata", "errors", "params", "progress", "stats", "findings", "engine", "telemetry", "localize")
BELOW_TELEMETRY = ("metadata", "errors", "params", "stats", "findings", "engine")
# what each part of the package may import from the package (besides itself)
ALLOWED: dict[str, tuple[str, ...]] = {
    "metadata": (),
    "errors": (),
    "progress": (),  # the progress line of long work
    "params": ("errors",),
    "stats": ("errors",),
    "findings": ("metadata", "errors", "params", "stats"),
    "engine": ("metadata", "errors", "params", "stats", "findings"),
    "telemetry": BELOW_TELEMETRY,
    "localize": ("errors", "params", "stats", "findings", "engine"),
    **{check: BELOW_CHECKS for check in CHECKS},
    "present": (*BELOW_CHECKS, *CHECKS),
    "widgets": (*BELOW_CHECKS, *CHECKS, "present"),
    "outputs": ("metadata", "errors"),
    "reports": (*BELOW_CHECKS, *CHECKS, "present", "widgets", "outputs", ""),
    "server": (*BELOW_CHECKS, *CHECKS, "present", "reports", "outputs", ""),
    "cli": (*BELOW_CHECKS, *CHECKS, "present", "reports", "outputs", ""),
    "": (*BELOW_CHECKS, *CHECKS, "present", "widgets"),  # workbench/__init__: the curated API
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PKG.rglob("*.py")}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    return {id(node) for block in ast.walk(tree) if isinstance(block, ast.If) and "TYPE_CHECKING" in
            ast.unparse(block.test) for stmt in block.body for node in ast.walk(stmt)}


def _imports(module: str) -> set[str]:
    """The package's modules that ``module`` imports (``from pkg import sub`` imports ``pkg.sub``)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    skip = _type_checking_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            origin = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module or ""
            subs = {f"{origin}.{a.name}" for a in node.names if f"{origin}.{a.name}" in MODULES}
            found |= subs
            if len(subs) < len(node.names):
                found.add(origin)
    return {m for m in found if m in MODULES and m != module}


GRAPH = {m: _imports(m) for m in MODULES}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_part_of_the_package_has_a_layer():
    assert {_part(m) for m in MODULES} <= set(ALLOWED)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    part = _part(module)
    wrong = sorted(m for m in GRAPH[module] if _part(m) != part and _part(m) not in ALLOWED[part])
    assert not wrong, f"{module} ({part or 'workbench'}) may import only {ALLOWED[part]}, imports {wrong}"


def test_no_check_imports_another_check_and_the_engine_imports_none():
    for module, imported in GRAPH.items():
        if _part(module) in (*CHECKS, *BELOW_CHECKS):
            others = {_part(m) for m in imported} & set(CHECKS) - {_part(module)}
            assert not others, f"{module} imports the check(s) {sorted(others)}"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_package_has_no_import_circle():
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_compute_layers_do_not_import_notebook_packages():
    for module, path in MODULES.items():
        if _part(module) in (*CHECKS, *BELOW_CHECKS):
            tree = ast.parse(path.read_text())
            names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
            bad = {m for m in names if m.split(".")[0] in ("plotly", "ipywidgets", "anywidget")}
            assert not bad, f"{module} imports {bad}"


def test_importing_the_library_does_not_load_notebook_or_heavy_packages():
    code = ("import sys, workbench, workbench.leakage, workbench.drift, workbench.cli; "
            "print(sorted(m for m in ('plotly', 'ipywidgets', 'pandas', 'sklearn', 'duckdb') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
