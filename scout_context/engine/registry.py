"""The engine backends, in one table: the names `EngineConfig.backend`, `--engine` and a job
file's `backend:` accept, the help the CLI shows for each, and how each one opens.

Adding a backend: a module whose class satisfies `base.Engine` (tests/test_engine_protocol.py
checks it), and one `Backend` entry below. A factory imports its module only when called,
so naming a backend starts nothing heavy (vLLM takes seconds to import).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scout_context.engine.base import Engine
from scout_context.engine.config import EngineConfig
from scout_context.errors import UsageError


@dataclass(frozen=True)
class Backend:
    name: str
    help: str
    """What it is, for `--engine`'s help (`name: help`)."""
    open: Callable[[EngineConfig], Engine]


def _vllm(config: EngineConfig) -> Engine:
    from scout_context.engine.vllm_local import VllmEngine

    return VllmEngine(config)


def _openai(config: EngineConfig) -> Engine:
    from scout_context.engine.openai_remote import OpenAIEngine

    return OpenAIEngine(config)


BACKENDS: dict[str, Backend] = {
    backend.name: backend
    for backend in (
        Backend("vllm", "embedded vLLM in this process", _vllm),
        Backend("openai", "a remote vLLM server (--base-url, SCOUT_BASE_URL)", _openai),
    )
}


def names() -> tuple[str, ...]:
    """The backends' names, in the order the help lists them."""
    return tuple(BACKENDS)


def either() -> str:
    """The names as a sentence ends a choice: "vllm or openai"."""
    *others, last = names()
    return f"{', '.join(others)} or {last}" if others else last


def help_text() -> str:
    """Every backend with what it is, for `--engine`'s help."""
    return "; ".join(f"{backend.name}: {backend.help}" for backend in BACKENDS.values()) + "."


def open_engine(config: EngineConfig) -> Engine:
    """The backend `config.backend` names; nothing heavy starts until it is first used."""
    backend = BACKENDS.get(config.backend)
    if backend is None:
        raise UsageError(f"unknown engine {config.backend!r}: use {either()}")
    return backend.open(config)
