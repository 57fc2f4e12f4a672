"""The layers of DESIGN.md, checked on the source: arrows point one way
(edges -> actions -> services / worker -> deploy), no import cycle, short modules.
Top-level imports only: an import inside a function is a deliberate late binding."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rxpanel"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if ".web" not in p.parts}


def top_level_imports(name: str) -> set[str]:
    """rxpanel modules `name` imports at module level (not in functions)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def add(target: str) -> None:
        while target and target not in MODULES:  # a name imported from a module
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    def statements(nodes):
        """Module-level statements, inside `if` and `try` too, but not the
        `except ImportError:` fallbacks kept until the branches are merged."""
        for node in nodes:
            if isinstance(node, ast.If):
                yield from statements(node.body + node.orelse)
            elif isinstance(node, ast.Try):
                yield from statements(node.body + node.orelse + node.finalbody)
            else:
                yield node

    for sub in statements(tree.body):
        if isinstance(sub, ast.Import):
            for alias in sub.names:
                add(alias.name)
        elif isinstance(sub, ast.ImportFrom):
            base = sub.module or ""
            if sub.level:  # relative: from the package, up level-1 steps
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - sub.level + 1])
                base = f"{base}.{sub.module}" if sub.module else base
            for alias in sub.names:
                add(f"{base}.{alias.name}")
    return found


GRAPH = {name: top_level_imports(name) for name in MODULES}


def cycles() -> list[list[str]]:
    """Each import cycle once (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def importers(prefix: str, of: tuple[str, ...]) -> list[tuple[str, str]]:
    return sorted(
        (name, target)
        for name, targets in GRAPH.items()
        if name == prefix or name.startswith(prefix + ".")
        for target in targets
        if any(target == o or target.startswith(o + ".") for o in of)
    )


def test_the_graph_sees_imports():
    assert "rxpanel.services.apps" in GRAPH["rxpanel.actions.apps"]
    assert "rxpanel.state.auth" in GRAPH["rxpanel.state.live"]


def test_there_is_no_import_cycle():
    assert cycles() == []


def test_states_do_not_import_the_app_root():
    assert importers("rxpanel.state", ("rxpanel.rxpanel",)) == []


def test_services_do_not_import_the_edges_or_the_engine():
    edges = ("rxpanel.actions", "rxpanel.state", "rxpanel.pages", "rxpanel.cli", "rxpanel.deploy")
    assert importers("rxpanel.services", (*edges, "rxpanel.apiv1", "rxpanel.rxpanel")) == []


def test_actions_do_not_import_the_edges():
    edges = ("rxpanel.state", "rxpanel.pages", "rxpanel.cli", "rxpanel.apiv1", "rxpanel.webhooks")
    assert importers("rxpanel.actions", edges) == []


def test_the_engine_imports_no_services_and_no_database():
    assert importers("rxpanel.deploy", ("rxpanel.services", "rxpanel.db")) == []


def long_modules() -> dict[str, int]:
    return {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }


def test_no_module_is_longer_than_400_lines():
    assert long_modules() == {}
