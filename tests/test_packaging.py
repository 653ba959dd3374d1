"""A non-editable install works: the wheel carries the CLI under its own name and the prompts."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.network  # pip fetches the build requirements (setuptools) for its isolated build


def test_wheel_ships_cli_prompts_and_every_package(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("scout_context-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "scout_context/prompts/ask_system.txt" in names
    assert "scout_context_cli/main.py" in names and not any(n.startswith("cli/") for n in names)
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "scout_context").rglob("__init__.py")}
    for package in packages:
        assert f"{package}/__init__.py" in names, package
    assert "scout_context_cli/__main__.py" in names  # python -m scout_context_cli
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata and "Requires-Dist: typer>=0.28" in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "scout-context = scout_context_cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
