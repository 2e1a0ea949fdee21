"""No import cycle in gui/ or rnnviz/: the imports of every module, read from its AST
(at the top and inside functions alike; a module's own `__main__` preview block aside),
form a graph without cycles (issue 14: gui/lm_mode.py imported the window back)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gui", "rnnviz")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_main_block(node: ast.AST) -> bool:
    """`if __name__ == "__main__":` (a panel's preview, run only as a script)."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    names = [node.test.left, *node.test.comparators]
    return any(isinstance(n, ast.Constant) and n.value == "__main__" for n in names)


def _imports(tree: ast.AST, here: str, is_package: bool):
    """Yield the dotted names a module imports (relative imports resolved)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if _is_main_block(child):
                continue
            if isinstance(child, ast.Import):
                yield from (alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = here.split(".") if is_package else here.split(".")[:-1]
                    package = package[: len(package) - (child.level - 1)]
                    base = ".".join([*package, base] if base else package)
                for alias in child.names:  # `from gui import exports`: the module, if one
                    yield f"{base}.{alias.name}"
                yield base
            stack.append(child)


def import_graph(root: Path, packages=PACKAGES) -> dict[str, set[str]]:
    """{module: modules of `packages` it imports} for every module under `root`."""
    files = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            files[module_name(path, root)] = path
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        targets = set()
        for target in _imports(tree, name, is_package):
            if target in files and target != name:
                targets.add(target)
        # `from gui import exports` yields both "gui.exports" and "gui": keep the module.
        graph[name] = {t for t in targets if not any(o.startswith(t + ".") for o in targets)}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle as [a, b, ..., a], or [] when the graph has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_no_import_cycle_in_gui_or_core():
    graph = import_graph(ROOT)
    assert "gui.window" in graph and "rnnviz.trainer" in graph  # the walk found the code
    assert "gui.panels.prediction" in graph["gui.window"]
    cycle = find_cycle(graph)
    assert cycle == [], "import cycle: " + " -> ".join(cycle)


def test_the_walk_finds_a_cycle_through_an_import_inside_a_function(tmp_path):
    pkg = tmp_path / "gui"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "window.py").write_text("from gui.mode import Mode\n")
    (pkg / "mode.py").write_text(
        "def f():\n    from gui.window import X\n\n"
        "if __name__ == '__main__':\n    import gui.preview\n"
    )
    (pkg / "preview.py").write_text("import gui.mode\n")
    graph = import_graph(tmp_path, ("gui",))
    assert graph["gui.mode"] == {"gui.window"}  # the preview block is not an import
    assert find_cycle(graph) == ["gui.mode", "gui.window", "gui.mode"]
    (pkg / "mode.py").write_text("from . import preview\n")
    assert import_graph(tmp_path, ("gui",))["gui.mode"] == {"gui.preview"}
    assert find_cycle(import_graph(tmp_path, ("gui",))) == ["gui.mode", "gui.preview", "gui.mode"]
