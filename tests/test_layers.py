"""The layers hold what the README promises, checked on every run by walking the imports (tests excluded):

- only `bot/cli/` (the command line and the wiring) and `bot/__main__.py` in `bot/` import `adapters/` or
  `bot/cli/`; nothing in `adapters/` imports `bot/cli/`, and adapters never import `storage/`;
- `storage/` imports only its own modules and the leaf modules, which import only each other;
- no import cycle between files (imports under TYPE_CHECKING count too);
- no SQL outside `storage/` (`select(`, `session.execute`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "adapters", "storage")
LEAF_MODULES = frozenset({"bot.errors", "bot.papers", "bot.scope", "bot.compounds", "bot.destination",
                          "bot.redaction"})
OUTER_RING = ("bot.cli", "bot.__main__")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))
            if "migrations" not in p.parts}


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an import refers to (a name inside a module belongs to the module)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{name}: use absolute imports"
            base = node.module or ""
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
            # `from package import submodule` depends on the submodule, not on the package's own code
            targets = submodules if len(submodules) == len(node.names) else [base, *submodules]
        else:
            continue
        for target in targets:
            owner = _owner(target, modules)
            if owner is not None and owner != name:
                found.add(owner)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def _inside(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_only_the_outer_ring_imports_adapters_or_the_cli():
    graph = import_graph()
    offenders = [f"{m} -> {d}" for m, deps in graph.items() for d in deps
                 if _inside(m, "bot") and not any(_inside(m, ring) for ring in OUTER_RING)
                 and (_inside(d, "adapters") or _inside(d, "bot.cli"))]
    offenders += [f"{m} -> {d}" for m, deps in graph.items() for d in deps
                  if _inside(m, "adapters") and (_inside(d, "bot.cli") or _inside(d, "storage"))]
    assert offenders == []


def test_storage_is_sealed_and_leaf_modules_are_leaves():
    graph = import_graph()
    assert LEAF_MODULES <= set(graph)
    offenders = [f"{m} -> {d}" for m, deps in graph.items() for d in deps
                 if _inside(m, "storage") and not _inside(d, "storage") and d not in LEAF_MODULES]
    offenders += [f"{m} -> {d}" for m in LEAF_MODULES for d in graph[m] if d not in LEAF_MODULES]
    assert offenders == []


def test_no_import_cycles_between_files():
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph[node]):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert cycles == []


def test_no_sql_outside_storage():
    sql = re.compile(r"\bselect\(|session\.execute|session\.get\(")
    offenders = [f"{name}:{n}" for name, path in project_modules().items() if not _inside(name, "storage")
                 for n, line in enumerate(path.read_text().splitlines(), start=1) if sql.search(line)]
    assert offenders == []


def test_the_walker_sees_a_violation():
    """The rules above can fail: the graph reports the imports this very check relies on."""
    graph = import_graph()
    assert "adapters.slack.slack_runtime" in graph["bot.cli.connectors"]
    assert "storage.models" in graph["storage.schema"]
