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
