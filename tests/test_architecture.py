"""The house rules of DESIGN §3, read off the source: imports point one way (envs <- policies <- feedback <-
agent, and inside agent/ recipes <- runtime <- episodes <- bench <- cli), no module imports itself back
through others (every import counts, also those inside functions), and no file grows past 400 lines."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("envs", "policies", "feedback", "agent")  # each may import only those to its left
AGENT_ROOMS = ("recipes", "runtime", "episodes", "bench", "cli")  # likewise inside agent/
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports, anywhere in the file (``from a import b`` counts as a.b when
    that is a module, else a)."""
    is_pkg = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in modules:  # a name inside a module, or a third-party import
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, modules) for name, path in modules.items()}


def _level(module: str) -> tuple[int, int]:
    parts = module.split(".")
    room = AGENT_ROOMS.index(parts[1]) if parts[0] == "agent" and len(parts) > 1 and parts[1] in AGENT_ROOMS else -1
    return PACKAGES.index(parts[0]), room


def test_the_import_parser_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    modules = {"agent.cli.main": Path(), "agent.cli.sim": Path(), "envs.executor": Path(), "envs.executor.result": Path()}
    f = tmp_path / "x.py"
    f.write_text("def f():\n    from agent.cli.main import main\nfrom .main import x\nfrom envs.executor.result import A\n"
                 "import envs.executor\nimport numpy\n")
    assert _imports(f, "agent.cli.sim", modules) == {"agent.cli.main", "envs.executor.result", "envs.executor"}


def test_imports_point_one_way_between_packages_and_agent_rooms() -> None:
    wrong = []
    for mod, deps in _graph().items():
        pkg, room = _level(mod)
        for d in deps:
            dpkg, droom = _level(d)
            if dpkg > pkg or (pkg == dpkg == PACKAGES.index("agent") and room >= 0 and droom > room):
                wrong.append(f"{mod} -> {d}")
    assert not wrong, "imports against the room order (DESIGN §3): " + ", ".join(sorted(wrong))


def test_feedback_imports_nothing_from_agent() -> None:
    assert not [(m, d) for m, deps in _graph().items() if m.startswith("feedback") for d in deps if d.startswith("agent")]


def test_no_import_circles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import circles: {cycles}"


@pytest.mark.parametrize("folder", [*PACKAGES, "benchmarks", "tests"])
def test_no_file_past_400_lines(folder: str) -> None:
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / folder).rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these (DESIGN: a file past ~{MAX_LINES} lines does two jobs): {long}"


def test_every_agent_room_says_what_it_is_for() -> None:
    for room in AGENT_ROOMS:
        doc = ast.get_docstring(ast.parse((ROOT / "agent" / room / "__init__.py").read_text()))
        assert doc and len(doc.splitlines()) == 1, f"agent/{room}/__init__.py needs a one-line docstring"
    loose = sorted(p.name for p in (ROOT / "agent").glob("*.py") if p.name != "__init__.py")
    assert not loose, f"agent/ holds rooms, not loose modules: {loose}"
