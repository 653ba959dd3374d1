"""Shared fixtures: every test gets its own store (SCOUT_CACHE_DIR) unless it asks otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from fake_vllm import FakeVllm
from helpers import git, serving, write

ROOT = Path(__file__).resolve().parents[1]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses `flask_corpus` is marked `network`, and every `network` test `engine`
    too, so that the fast subset (`-m "not engine"`) downloads nothing. Runs before `-m`
    deselects (tryfirst)."""
    for item in items:
        if "flask_corpus" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.network)
        if item.get_closest_marker("network"):
            item.add_marker(pytest.mark.engine)


@pytest.fixture(scope="session")
def flask_corpus() -> Path:
    """flask 3.1.3's source, a real repository: the benchmarks' corpus, downloaded (pip,
    sdist) and extracted under bench/.work the first time, as bench/corpora.py does."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench import corpora

    return corpora.ensure(corpora.CORPORA["flask"])


@pytest.fixture(scope="module")
def vllm_server() -> Iterator[ThreadingHTTPServer]:
    """A local server speaking vLLM's OpenAI-compatible API (`fake_vllm`); `requests` holds
    every POST as (path, body)."""
    with serving(FakeVllm) as httpd:
        yield httpd


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("SCOUT_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def make_repo(tmp_path: Path):
    """A real git repository in a temporary folder, with the given files committed."""

    def build(files: dict[str, str | bytes], *, commit: bool = True, name: str = "repo") -> Path:
        repo = tmp_path / name
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        write(repo, files)
        if commit:
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "initial")
        return repo

    return build


@pytest.fixture
def pr_repo(make_repo) -> Path:
    """A shop repository whose `feature` branch, one commit ahead of `main`, makes a threshold a setting."""
    repo = make_repo({
        "shop/__init__.py": "",
        "shop/cart.py": "def total(items):\n    subtotal = sum(items)\n    if subtotal > 100:\n        return subtotal\n    return subtotal + 5\n",
        "shop/config.py": "FEE = 5\n",
    })  # fmt: skip
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, {"shop/cart.py": "from shop.config import THRESHOLD\n\n\ndef total(items):\n    subtotal = sum(items)\n"
                 "    if subtotal > THRESHOLD:\n        return subtotal\n    return subtotal + 5\n",
                 "shop/config.py": "FEE = 5\nTHRESHOLD = 100\n"})  # fmt: skip
    git(repo, "commit", "-qam", "Threshold setting\n\nFixes #3")
    git(repo, "checkout", "-q", "main")
    write(repo, {"README.md": "# Shop\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "readme")
    return repo
