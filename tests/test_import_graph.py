"""The module graph: no import cycles between modules, and the core imports no skill.

Reads every `import` in assistant/ and skills/ with `ast` (`if TYPE_CHECKING:` blocks are
left out, they never run) and looks for strongly connected components of more than one
module: among module-level imports there must be none; counting the imports done inside
functions too, only the speech engine factory's is left (stt.py picks an engine module,
which imports stt's base class).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, name: str, known: set[str], lazy: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if not lazy and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if isinstance(child, ast.Import):
                out.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in child.names)  # `from pkg import mod`
            visit(child)

    visit(tree)
    resolved = set()
    for mod in out:
        while mod and mod not in known:
            mod = mod.rpartition(".")[0]
        if mod and mod != name:
            resolved.add(mod)
    return resolved


def import_graph(lazy: bool = False) -> dict[str, set[str]]:
    files = sorted((ROOT / "assistant").rglob("*.py")) + sorted((ROOT / "skills").rglob("*.py"))
    names = {_module_name(p): p for p in files}
    graph = {n: _imports(p, n, set(names), lazy) for n, p in names.items()}
    # a package's __init__ re-exporting its own modules is not a cycle worth refusing
    return {
        m: {d for d in deps if not (m.startswith(d + ".") and d in graph)}
        for m, deps in graph.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 60
    assert cycles(graph) == []
    # The speech factories (stt.make_recognizer, tts.make_speaker) import their engines
    # lazily, and the engines import the factory module's base class: the only cycles
    # allowed, and only through imports inside functions.
    for cycle in cycles(import_graph(lazy=True)):
        assert all(m.startswith("assistant.speech.") for m in cycle), cycle
        assert {"assistant.speech.stt", "assistant.speech.tts"} & set(cycle), cycle


def test_the_core_imports_no_skill() -> None:
    for module, deps in import_graph(lazy=True).items():
        if module.startswith("assistant"):
            assert not {d for d in deps if d == "skills" or d.startswith("skills.")}, module
