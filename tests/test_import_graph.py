"""The package's modules import one another without a circle: every import counts, at the
top, inside a function (a lazy import) or for type checking only, since each is a place
where two modules would need each other."""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"scout_context": ROOT / "scout_context", "scout_context_cli": ROOT / "cli"}


def modules() -> dict[str, Path]:
    """Every module of the packages, by its dotted name (a package by its own name)."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that module `name` imports anywhere in its text."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            # `from a import b` imports module a.b when there is one, else a
            targets.update(
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module for alias in node.names
            )
    return {target for target in targets if target in known and target != name}


def test_no_module_of_the_package_imports_itself_back() -> None:
    known = modules()
    graph = {name: imported(name, path, known) for name, path in known.items()}
    assert graph["scout_context.engine.registry"] >= {
        "scout_context.engine.vllm_local",
        "scout_context.engine.openai_remote",
    }
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise AssertionError(f"an import circle: {' imports '.join(reversed(error.args[1]))}") from None
    assert set(order) == set(known)


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    """In the order of their names, with nothing the tests imported before to hide a name
    that moved away."""
    names = [name for name in modules() if name.startswith("scout_context.")]
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    subprocess.run([sys.executable, "-c", script, *names], check=True, cwd=ROOT, timeout=300)
