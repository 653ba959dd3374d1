"""The engine backends, in one table: the names `EngineConfig.backend`, `--engine` and a job
file's `backend:` accept, the help the CLI shows for each, and how each one opens.

`auto` (the commands' default) is no backend of its own: `choose` resolves it, in this one
place, to a running `scout-context serve` for the model (`openai` at its address) or else
to `vllm`.

Adding a backend: a module whose class satisfies `base.Engine` (tests/test_engine_protocol.py
checks it), and one `Backend` entry below. A factory imports its module only when called,
so naming a backend starts nothing heavy (vLLM takes seconds to import).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from scout_context.engine.base import Engine
from scout_context.engine.config import AUTO, EngineConfig
from scout_context.errors import UsageError

AUTO_HELP = "openai when a server address is given (--base-url, SCOUT_BASE_URL), else a running `scout-context serve` for the model, else vllm"


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


def option_help() -> str:
    """`--engine`'s help: `auto`, then every backend."""
    return f"{AUTO}: {AUTO_HELP}; {help_text()}"


def choose(config: EngineConfig, announce: Callable[[str], None] | None = None) -> EngineConfig:
    """`config` with `auto` resolved: the server at the address given, else a running local
    server for the model (`serve_state.find_server`; `announce` is told which), else the
    embedded engine. Other backends as named."""
    if config.backend != AUTO:
        return config
    if config.base_url:
        return replace(config, backend="openai")
    from scout_context.engine.server_state import find_server

    server = find_server(config.model, config.api_key)
    if server is None:
        return replace(config, backend="vllm")
    if announce is not None:
        announce(f"using the local server at {server.url} (scout-context serve)")
    return replace(config, backend="openai", base_url=server.url, model=server.served_model)


def open_engine(config: EngineConfig, announce: Callable[[str], None] | None = None) -> Engine:
    """The backend `config.backend` names (`auto`: see `choose`); nothing heavy starts until it is first used."""
    config = choose(config, announce)
    backend = BACKENDS.get(config.backend)
    if backend is None:
        raise UsageError(f"unknown engine {config.backend!r}: use {either()}")
    return backend.open(config)
