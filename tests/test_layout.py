"""The package layout holds: every module imports, no import cycles, and the core imports no
torch, FiftyOne or Streamlit (docs/ARCHITECTURE.md, "Code map")."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("curation", "model", "app", "reports")
# The core: pure data handling, audit and review logic. Adapters (commands, pipelines,
# fiftyone, model, app, reports) import it, never the other way round.
CORE = ("curation.data", "curation.audit", "curation.review", "curation.schema", "curation.runs",
        "curation.errors", "curation.fileio", "curation.servers")
HEAVY = ("torch", "fiftyone", "streamlit", "model", "reports", "app")
ORCHESTRATORS = ("curation.commands", "curation.pipelines", "curation.cli")
MAX_LINES = 500
# Files that live outside this repository, and issue numbers, which go stale.
OUTSIDE_CITATION = re.compile(r"DESIGN\.md|ENVIRONMENT\.md|STYLE\.md|\b[Ii]ssue #?\d+")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imported_names(path: Path, name: str) -> set[str]:
    """Every module this file imports, at top level or inside functions."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def in_scope(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def project_graph() -> dict[str, set[str]]:
    mods = all_modules()
    return {name: {m for m in imported_names(path, name) if m in mods and m != name}
            for name, path in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (iterative DFS, white/grey/black)."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
    return None


def test_find_cycle_sees_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycles():
    # Package __init__ imports of their own submodules are not cycles of behaviour.
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in project_graph().items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_core_imports_no_heavy_or_adapter_modules():
    offenders = []
    for name, path in all_modules().items():
        if not in_scope(name, CORE):
            continue
        bad = sorted(m for m in imported_names(path, name)
                     if in_scope(m, HEAVY) or in_scope(m, ORCHESTRATORS) or in_scope(m, ("curation.fiftyone",)))
        if bad:
            offenders.append(f"{name}: {', '.join(bad)}")
    assert not offenders, "core modules import adapters:\n" + "\n".join(offenders)


def test_only_orchestrators_import_model_reports_and_app():
    offenders = []
    for name, path in all_modules().items():
        if in_scope(name, ORCHESTRATORS) or in_scope(name, ("model", "reports", "app")):
            continue
        bad = sorted(m for m in imported_names(path, name) if in_scope(m, ("model", "reports", "app")))
        if bad:
            offenders.append(f"{name}: {', '.join(bad)}")
    assert not offenders, "\n".join(offenders)


def test_no_source_file_over_the_limit():
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in all_modules().values()
            if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not long, "\n".join(long)


def test_docstrings_point_inside_the_repository():
    cites = []
    for path in all_modules().values():
        found = OUTSIDE_CITATION.search(path.read_text())
        if found:
            cites.append(f"{path.relative_to(ROOT)}: {found.group(0)!r}")
    assert not cites, "\n".join(cites)


@pytest.mark.slow
def test_every_module_imports():
    """Each module imports on its own, in a fresh interpreter (Streamlit pages excepted: they
    run their page when imported, as Streamlit expects)."""
    names = sorted(n for n in all_modules() if n not in ("app.main",) and not n.startswith("app.pages"))
    code = ("import importlib, sys\nbad = []\n"
            f"for n in {names!r}:\n"
            "    try:\n        importlib.import_module(n)\n"
            "    except Exception as e:\n        bad.append(f'{n}: {e!r}')\n"
            "print('\\n'.join(bad)); sys.exit(1 if bad else 0)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
