"""Every engine, the backends and the in-process test doubles alike, has each member of the
`Engine` protocol, and each method with the protocol's parameters (names, kinds, defaults):
a double that drifts from the protocol would test code against an engine that cannot exist."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from scout_context.engine.base import Engine
from scout_context.engine.chat_format import LLAMA4_IMAGE_TOKENS
from scout_context.engine.config import EngineConfig
from scout_context.engine.openai_remote import OpenAIEngine
from scout_context.engine.vllm_local import VllmEngine
from scout_context.sources.images import ImageInput
from test_batch import FakeEngine
from test_pr_context import StubEngine

MEMBERS = [name for name in vars(Engine) if not name.startswith("_")]


def engines() -> list[Engine]:
    """One of each, opened without starting anything (no model, no server is touched); typed
    as engines, so mypy checks each against the protocol too (scripts/lint)."""
    return [
        VllmEngine(EngineConfig()),
        OpenAIEngine(EngineConfig(backend="openai", base_url="http://127.0.0.1:9/v1")),
        FakeEngine(),
        StubEngine(),
    ]


def _parameters(function: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize("engine", engines(), ids=lambda engine: type(engine).__name__)
def test_each_engine_has_the_protocols_members_and_signatures(engine: Any) -> None:
    assert {"is_llama4", "image_tokens", "concurrent_calls", "generate"} <= set(MEMBERS)
    for name in MEMBERS:  # read statically: a property would start a model or call a server
        declared, present = vars(Engine)[name], inspect.getattr_static(engine, name)
        if inspect.isfunction(declared):
            assert _parameters(present) == _parameters(declared), name


def test_each_backend_tells_llama4_and_its_image_cost_from_the_model(tmp_path: Path) -> None:
    """The embedded engine reads the model's config.json; the remote one the served id or,
    behind another served name, the model the server loaded (`root`)."""
    image = ImageInput("cat.png", "image/png", b"")
    for model_type, llama4 in (("llama4", True), ("llama", False)):
        (tmp_path / model_type).mkdir()
        (tmp_path / model_type / "config.json").write_text(json.dumps({"model_type": model_type}))
        embedded = VllmEngine(EngineConfig(model=str(tmp_path / model_type), gpus=0))
        assert embedded.is_llama4 is llama4 and embedded.concurrent_calls == 1
    for card, llama4 in (
        ({"id": "scout", "root": "/models/Llama-4-Scout-17B-16E-Instruct"}, True),
        ({"id": "meta-llama/Llama-4-Maverick-17B-128E-Instruct"}, True),
        ({"id": "smol", "root": "/models/SmolLM2-135M-Instruct"}, False),
    ):
        remote = OpenAIEngine(EngineConfig(backend="openai", base_url="http://127.0.0.1:9/v1"))
        remote.__dict__["_card"] = card  # as if read from /v1/models
        assert remote.is_llama4 is llama4 and remote.concurrent_calls is None
    assert embedded.image_tokens([image, image]) == remote.image_tokens([image, image]) == 2 * LLAMA4_IMAGE_TOKENS
    assert remote.image_tokens([]) == 0
