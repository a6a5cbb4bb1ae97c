"""The package's floors (docs/architecture.md): the verl-free core, the rewards, the tool executors
(tools/), data_prep and eval import without verl, torch or ray, and never import the verl glue; each
floor imports only floors below it; there is no import cycle between modules."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# floor -> the floors it may import (itself included); testing/ may import anything and is not imported.
ALLOWED = {
    "toolzero_verl.core": {"toolzero_verl.core"},
    "toolzero_verl.rewards": {"toolzero_verl.core", "toolzero_verl.rewards"},
    "toolzero_verl.tools": {"toolzero_verl.core", "toolzero_verl.tools"},
    "toolzero_verl.eval": {"toolzero_verl.core", "toolzero_verl.rewards", "toolzero_verl.tools", "toolzero_verl.eval"},
    "data_prep": {"toolzero_verl.core", "toolzero_verl.rewards", "toolzero_verl.tools", "data_prep"},
    "toolzero_verl.plugin": {"toolzero_verl.core", "toolzero_verl.rewards", "toolzero_verl.tools",
                             "toolzero_verl.plugin"},
}
# The one way up: ``toolzero-eval generate`` runs episode rows in the training agent loop, so it imports that
# verl glue inside the function that needs it (as it imports vLLM), never at module level (docs/architecture.md).
LAZY_UP = {("toolzero_verl.eval.episode_generate", "toolzero_verl.plugin.episode_rollout")}
VERL_FREE = ("toolzero_verl.core", "toolzero_verl.rewards", "toolzero_verl.tools", "toolzero_verl.eval", "data_prep")
PUBLIC_TOP = {"toolzero_verl"}  # the package __init__ re-exports compute_score & co. from core/rewards


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    files = list((REPO / "toolzero_verl").rglob("*.py")) + list((REPO / "data_prep").rglob("*.py"))
    return {module_name(p): p for p in files if "__pycache__" not in p.parts}


def imports_of(path: Path, name: str, top_level_only: bool = False) -> set[str]:
    """Project modules imported by one file (resolving relative imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {m for m in found if m.split(".")[0] in ("toolzero_verl", "data_prep")}


def floor_of(module: str) -> str | None:
    for floor in sorted(ALLOWED, key=len, reverse=True):
        if module == floor or module.startswith(floor + "."):
            return floor
    return None


def test_each_floor_imports_only_the_floors_below_it():
    modules = project_modules()
    bad = []
    for name, path in modules.items():
        floor = floor_of(name)
        if floor is None:
            continue
        top_level = imports_of(path, name, top_level_only=True)
        for target in imports_of(path, name):
            target_floor = floor_of(target)
            if (name, target) in LAZY_UP and target not in top_level:
                continue
            if target in PUBLIC_TOP or target_floor is None and target not in modules:
                continue
            if target_floor not in ALLOWED[floor]:
                bad.append(f"{name} -> {target}")
    assert not bad, "imports that go up or sideways:\n" + "\n".join(sorted(bad))


def test_no_import_cycle_between_modules():
    modules = project_modules()
    graph = {name: {t for t in imports_of(path, name, top_level_only=True) if t in modules and t != name}
             for name, path in modules.items()}
    # a package __init__ re-exporting its children is not a cycle with them
    for name in graph:
        graph[name] = {t for t in graph[name] if not (name.startswith(t + ".") and modules[t].name == "__init__.py")}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join(trail[trail.index(nxt):] + [nxt]) if nxt in trail
                            else f"import cycle through {nxt}")
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_verl_free_floors_import_with_verl_torch_and_ray_blocked():
    names = sorted(n for n in project_modules() if n.startswith(VERL_FREE) and not n.endswith("__main__"))
    code = (
        "import json, sys\n"
        "from toolzero_verl.testing.import_blocker import HEAVY, install\n"
        "install(HEAVY | {'bfcl_eval'})\n"  # bfcl-eval is optional too: imported inside functions only
        f"for name in {names!r}:\n"
        "    __import__(name)\n"
        "glue = sorted(m for m in sys.modules if m.startswith(('toolzero_verl.plugin', 'toolzero_verl.testing'))"
        " and m != 'toolzero_verl.testing' and not m.startswith('toolzero_verl.testing.import_blocker'))\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('verl', 'torch', 'ray', 'bfcl_eval'))\n"
        "print(json.dumps({'glue': glue, 'heavy': heavy}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"glue": [], "heavy": []}
    assert len(names) > 40  # every module was tried, not an empty list
