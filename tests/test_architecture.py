"""The shape of the package (docs/architecture.md) holds: no import cycles, settings read in one place, no
oversized modules, the audit hash built in one place, and the documented lifecycle equal to the move table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "everymetre"
DOCS = Path(__file__).resolve().parents[1] / "docs"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        mods[name] = path
    return mods


def _import_graph() -> dict[str, set[str]]:
    mods = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("everymetre"):
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("everymetre")]
            for target in targets:
                resolved = resolve(target)
                if resolved and resolved != mod:
                    graph[mod].add(resolved)
    return graph


def test_no_import_cycles_between_modules():
    """Function-level imports count too: a cycle hidden inside a function is still a cycle."""
    graph = _import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

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
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []


def test_environment_is_read_only_in_config():
    """Every EVERYMETRE_* setting is read in config.Settings; elsewhere the environment is only written (for worker
    processes) or passed on whole to a child process."""
    readers = []
    for mod, path in _modules().items():
        if mod == "everymetre.config":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            key = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args and (
                    node.func.attr == "getenv" or (node.func.attr == "get" and getattr(node.func.value, "attr", None) == "environ")):
                key = node.args[0]
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and getattr(node.value, "attr", None) == "environ":
                key = node.slice
            if (isinstance(key, ast.Constant) and str(key.value).startswith("EVERYMETRE_")) or (
                    key is not None and not isinstance(key, ast.Constant)):
                readers.append(f"{mod}:{node.lineno}")
    assert readers == []


def test_no_module_over_600_lines():
    long = {mod: n for mod, path in _modules().items() if (n := len(path.read_text().splitlines())) > 600}
    assert long == {}


def test_audit_hash_bytes_built_in_one_function():
    """Only audit/chain.py's _hash_input knows the hashed format; everything else calls it."""
    chain = (PACKAGE / "audit" / "chain.py").read_text()
    assert chain.count("def _hash_input(") == 1
    assert len(re.findall(r"\bSEP\b", chain)) >= 2
    outside = [str(p.relative_to(SRC)) for p in PACKAGE.rglob("*.py")
               if "audit" not in p.parts and "migrations" not in p.parts
               and "sha256" in (text := p.read_text()) and ("GENESIS" in text or "prev_hash" in text)]
    assert outside == []


def test_documented_lifecycle_is_the_move_table():
    from everymetre.claims.lifecycle import MOVES

    doc = (DOCS / "architecture.md").read_text()
    block = doc.split("stateDiagram-v2", 1)[1].split("```", 1)[0]
    documented = {tuple(line.split(":")[0].split(" --> ")): sorted(r.strip() for r in line.split(":")[1].split(","))
                  for line in (raw.strip() for raw in block.splitlines()) if "-->" in line}
    actual = {(s.value, t.value): sorted(r.value for r in m.roles) for (s, t), m in MOVES.items()}
    assert documented == actual
