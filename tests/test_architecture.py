"""The layers of docs/ARCHITECTURE.md, checked on the source: which app may import which,
no module over 700 lines, no import cycle between modules at module level."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

APPS = Path(__file__).resolve().parent.parent / "apps"
MAX_LINES = 700
# The apps on top: they read across domains and no domain app imports them.
TOP = {"dashboard", "api"}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(APPS.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(APPS.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def _imports(path: Path, *, module_level_only: bool) -> set[str]:
    """The `apps.…` modules a file imports (`from apps.x import y` counts as apps.x.y when
    that is a module, else apps.x)."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.If) and module_level_only:
            continue  # `if TYPE_CHECKING:` blocks are not run
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("apps."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("apps"):
                continue
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
    return found


MODULES = {name for name, _path in _modules()}


def _app(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else ""


def _violations(importer_apps: set[str] | None, forbidden: set[str]) -> list[str]:
    out = []
    for name, path in _modules():
        app = _app(name)
        if importer_apps is not None and app not in importer_apps:
            continue
        for target in _imports(path, module_level_only=False):
            if _app(target) in forbidden and _app(target) != app:
                out.append(f"{name} imports {target}")
    return out


def test_core_imports_no_other_app() -> None:
    others = {_app(name) for name in MODULES} - {"core"}
    assert _violations({"core"}, others) == []


def test_no_domain_app_imports_the_dashboard() -> None:
    domain = {_app(name) for name in MODULES} - TOP
    assert _violations(domain, {"dashboard"}) == []


def _long_modules() -> set[str]:
    return {
        str(path.relative_to(APPS.parent))
        for _name, path in _modules()
        if len(path.read_text().splitlines()) > MAX_LINES
    }


def test_no_module_is_over_700_lines() -> None:
    assert _long_modules() == set()


def test_no_import_cycle_between_modules_at_module_level() -> None:
    graph = {
        name: {t for t in _imports(path, module_level_only=True) if t in MODULES and t != name}
        for name, path in _modules()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []


def test_the_checks_see_an_import() -> None:
    """The parser finds what it must: the dashboard imports the metrics selectors."""
    path = APPS / "dashboard" / "selectors" / "overview.py"
    assert "apps.metrics.selectors" in _imports(path, module_level_only=True)
