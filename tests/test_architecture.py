"""The import graph follows the data, and the code stays in small pieces.

Layers from the bottom (README "Architecture"): schema, config, errors → data.tables →
timeline → data → features → models, evaluation, treeshap → explain → serving → training,
scoring → tracking and reports side by side → jobs → cli and console.  A module imports only modules of its own layer or below, with no cycles, and a few
pairs are ruled out although the layers would allow them.
"""

from __future__ import annotations

import ast
import statistics
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src"
PACKAGE = "predictive_scoring"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 70
MAX_MEDIAN_FUNCTION_LINES = 9

LAYERS: tuple[tuple[str, ...], ...] = (
    ("", "schema", "errors", "config", "sql", "stopwatch", "compiled"),
    ("data.tables",),
    ("timeline",),
    ("data",),
    ("features",),
    ("models", "evaluation", "treeshap"),
    ("explain",),
    ("serving",),
    ("training", "scoring", "rules_scoring", "performance", "spark"),
    ("tracking", "reports"),
    ("jobs",),
    ("cli", "cli_history", "console"),
    ("__main__",),
)
"""Each layer's modules by name below the package (a name covers its submodules); the most
specific name decides."""

FORBIDDEN: tuple[tuple[str, str], ...] = (
    ("training", "scoring"),
    ("tracking", "reports"),
    ("reports", "tracking"),
    ("reports", "training"),
    ("features", "data.sources"),
    ("features", "data.load"),
    ("features", "models"),
)
"""(importer, imported) pairs that must not occur, whatever the layers say."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _resolved(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


@cache
def _imports() -> dict[str, frozenset[str]]:
    """Every package module each module imports (at the top, in functions, for typing alike)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                target = _resolved(name, node, path.name == "__init__.py")
                found.add(target)
                found.update(f"{target}.{a.name}" for a in node.names)
        graph[name] = frozenset(m for m in found if m in modules and m != name)
    return graph


def _relative(module: str) -> str:
    return module.removeprefix(PACKAGE).removeprefix(".")


def _covers(prefix: str, module: str) -> bool:
    name = _relative(module)
    return prefix == name or (prefix != "" and name.startswith(prefix + "."))


def _layer(module: str) -> int:
    matches = [
        (len(prefix), level)
        for level, names in enumerate(LAYERS)
        for prefix in names
        if _covers(prefix, module)
    ]
    assert matches, f"{module} has no layer: add it to LAYERS"
    return max(matches)[1]


def test_every_module_has_a_layer() -> None:
    for module in _modules():
        _layer(module)


def test_no_module_imports_one_from_a_later_layer() -> None:
    upward = [
        f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
        for a, targets in _imports().items()
        for b in sorted(targets)
        if _layer(b) > _layer(a)
    ]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize(("importer", "imported"), FORBIDDEN)
def test_ruled_out_imports_do_not_occur(importer: str, imported: str) -> None:
    found = [
        f"{a} imports {b}"
        for a, targets in _imports().items()
        if _covers(importer, a)
        for b in targets
        if _covers(imported, b)
    ]
    assert not found, "\n".join(found)


def test_the_import_graph_has_no_cycles() -> None:
    graph = _imports()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def _functions() -> list[tuple[str, int]]:
    found = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                found.append((f"{name}.{node.name}", lines))
    return found


def test_no_module_is_over_the_limit() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, long


def test_functions_are_short() -> None:
    functions = _functions()
    long = {name: n for name, n in functions if n > MAX_FUNCTION_LINES}
    assert not long, long
    median = statistics.median(n for _, n in functions)
    assert median <= MAX_MEDIAN_FUNCTION_LINES, f"median function length {median} lines"


def test_the_architecture_test_sees_the_graph() -> None:
    """The checks above would pass vacuously on an empty graph: they do not."""
    graph = _imports()
    assert len(graph) > 40
    assert f"{PACKAGE}.jobs" in graph[f"{PACKAGE}.cli"]
    assert f"{PACKAGE}.timeline" in graph[f"{PACKAGE}.features.snapshots"]
    assert _layer(f"{PACKAGE}.data.tables") < _layer(f"{PACKAGE}.timeline")
    assert _layer(f"{PACKAGE}.data.outputs") == 3


def _defined_names(tree: ast.Module) -> set[str]:
    """Names the module defines at its top level (inside ``try``/``if`` blocks too)."""
    names: set[str] = set()
    body = list(tree.body)
    while body:
        node = body.pop()
        if isinstance(node, ast.Try | ast.If):
            body += [*node.body, *node.orelse, *getattr(node, "handlers", [])]
        elif isinstance(node, ast.ExceptHandler):
            body += node.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _public_names(tree: ast.Module) -> set[str]:
    return {n for n in _defined_names(tree) if not n.startswith("_")}


def test_modules_with_public_names_say_which_in_all() -> None:
    missing, unknown = [], []
    for name, path in _modules().items():
        tree = ast.parse(path.read_text())
        declared = next(
            (
                {ast.literal_eval(e) for e in node.value.elts}
                for node in tree.body
                if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
                and isinstance(node.value, ast.List)
            ),
            None,
        )
        defined = _public_names(tree)
        if declared is None:
            if defined and not name.endswith("__main__"):
                missing.append(name)
            continue
        imported = {
            a.asname or a.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for a in node.names
        }
        unknown += [f"{name}.{n}" for n in declared - _defined_names(tree) - imported]
    assert not missing, f"no __all__: {missing}"
    assert not unknown, f"__all__ names what the module does not have: {unknown}"


def test_the_command_line_is_options_and_rendering_only() -> None:
    cli = _modules()[f"{PACKAGE}.cli"]
    assert len(cli.read_text().splitlines()) <= 300
    assert (
        not {
            f"{PACKAGE}.training",
            f"{PACKAGE}.scoring",
            f"{PACKAGE}.tracking",
            f"{PACKAGE}.data.outputs",
        }
        & _imports()[f"{PACKAGE}.cli"]
    ), "the command line calls jobs"
