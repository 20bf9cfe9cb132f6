"""The tree shows the architecture, and the import graph keeps to it (DESIGN.md, "Layout"):
two front ends (cli/, gui/) over the engine's public names; the engine grouped by concern, with
dependencies pointing one way and no cycles; short files; a public API that tools can follow."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 500
# engine subpackage -> the engine subpackages it must not import (at any depth)
FORBIDDEN = {"network": {"run", "io", "lab", "data"}, "data": {"network", "run", "io", "lab"},
             "run": {"lab"}, "io": {"lab"}}


def python_files(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py"))


def imports(path: Path, top_level_only: bool = False) -> list[tuple[str, list[str]]]:
    """(module, names) of each import in a file; relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            found.append((module, [a.name for a in node.names]))
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", python_files("engine", "cli", "gui"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_files_stay_short(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by concern"


def test_front_ends_use_only_the_engines_public_names():
    wrong = []
    for path in python_files("cli", "gui"):
        for module, names in imports(path):
            if module.split(".")[0] != "engine":
                continue
            if module != "engine":        # `from engine import lab`, then lab.run_experiment
                wrong.append(f"{path.relative_to(ROOT)}: imports {module}")
            wrong += [f"{path.relative_to(ROOT)}: engine.{n} is not public"
                      for n in names if n not in engine.__all__]
    assert not wrong, "\n".join(wrong)


def test_engine_subpackages_depend_one_way():
    wrong = []
    for path in python_files("engine"):
        parts = path.relative_to(ROOT).parts
        own = parts[1] if len(parts) > 2 else None
        for module, _ in imports(path):
            target = module.split(".")
            if target[0] == "engine" and len(target) > 1 and \
                    target[1] in FORBIDDEN.get(own, ()):
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_at_module_level():
    graph = defaultdict(set)
    known = {module_name(p): p for p in python_files("engine", "cli")}
    for name, path in known.items():
        for module, names in imports(path, top_level_only=True):
            submodules = [f"{module}.{n}" for n in names if f"{module}.{n}" in known]
            for target in submodules or [module]:    # `from pkg import submodule`: that one
                if target in known and target != name:
                    graph[name].add(target)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2
    for node in sorted(known):
        if node not in state:
            visit(node, [node])


def test_the_lazy_public_api_is_visible_to_tools_and_resolves():
    tree = ast.parse((ROOT / "engine" / "__init__.py").read_text(encoding="utf-8"))
    typed = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for sub in node.body:
                typed.update(a.asname or a.name for a in sub.names)
    lazy = set(engine._LAZY) | set(engine._MODULES)
    assert typed == lazy, f"only lazy: {lazy - typed}; only typed: {typed - lazy}"
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name
    assert engine.lab.run_experiment is not None      # a subpackage, after `import engine`
