"""The registry is the one list of backends: `--engine` and a job file's `engine:` key take its
names or `auto` (the config's default), and it opens each without starting anything."""

from __future__ import annotations

import pytest

from scout_context.engine.config import EngineConfig
from scout_context.engine.openai_remote import OpenAIEngine
from scout_context.engine.registry import BACKENDS, either, help_text, open_engine
from scout_context.engine.vllm_local import VllmEngine
from scout_context.errors import UsageError


def test_the_registry_opens_each_backend_and_refuses_an_unknown_one() -> None:
    assert list(BACKENDS) == ["vllm", "openai"] and EngineConfig().backend == "auto"
    assert isinstance(open_engine(EngineConfig()), VllmEngine)  # auto with no server running
    assert isinstance(open_engine(EngineConfig(backend="vllm")), VllmEngine)
    assert isinstance(open_engine(EngineConfig(backend="openai", base_url="http://127.0.0.1:9")), OpenAIEngine)
    with pytest.raises(UsageError, match="unknown engine 'tgi': use vllm or openai"):
        open_engine(EngineConfig(backend="tgi"))


def test_the_cli_help_names_every_backend() -> None:
    assert either() == "vllm or openai"
    assert (
        help_text() == "vllm: embedded vLLM in this process; openai: a remote vLLM server (--base-url, SCOUT_BASE_URL)."
    )
