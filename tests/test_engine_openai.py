"""The remote backend against a real HTTP server on 127.0.0.1 that speaks vLLM's API."""

from __future__ import annotations

import socket
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from fake_vllm import KEY, PIECES, SCOUT
from scout_context.engine.base import Events, Request
from scout_context.engine.chat_format import llama4_chat
from scout_context.engine.config import EngineConfig, SamplingConfig
from scout_context.engine.openai_remote import OpenAIEngine
from scout_context.engine.registry import open_engine
from scout_context.errors import AuthError, ContextTooLarge, EngineUnreachable, ModelMissing
from scout_context.tokens import scout_tokenizer


def connect(server: ThreadingHTTPServer, **knobs: Any) -> OpenAIEngine:
    settings: dict[str, Any] = {
        "backend": "openai",
        "base_url": f"http://127.0.0.1:{server.server_port}/v1",
        "api_key": KEY,
    }
    settings.update(knobs)
    engine = open_engine(EngineConfig(**settings))
    assert isinstance(engine, OpenAIEngine)
    return engine


def test_streams_the_answer_with_usage_and_sends_the_prompt_as_is(vllm_server: ThreadingHTTPServer) -> None:
    engine = connect(vllm_server)
    pieces: list[tuple[int, str]] = []
    prompt = llama4_chat("Answer briefly.", "What is the value?")
    done: list[tuple[int, object]] = []
    [answer] = engine.generate(
        [Request(prompt)],
        SamplingConfig(max_tokens=20, stop=("###",)),
        Events(
            on_text=lambda i, text: pieces.append((i, text)),
            on_done=lambda i, generation: done.append((i, generation)),
        ),
    )
    assert done == [(0, answer)]
    assert (answer.text, answer.finish_reason) == ("The value is 42.", "stop")
    assert (answer.prompt_tokens, answer.cached_tokens, answer.completion_tokens) == (1234, 1152, 4)
    assert pieces == [(0, piece) for piece in PIECES]
    assert 0 < answer.first_token_s <= answer.total_s
    path, body = vllm_server.requests[-1]  # type: ignore[attr-defined]
    assert path == "/v1/completions"
    assert body["prompt"] == prompt and body["add_special_tokens"] is False
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert (body["model"], body["max_tokens"], body["temperature"], body["stop"]) == (SCOUT, 20, 0.0, ["###"])
    engine.close()


def test_scout_is_counted_locally_and_rendered_in_llama4_format(vllm_server: ThreadingHTTPServer) -> None:
    engine = connect(vllm_server, model=SCOUT)
    before = len(vllm_server.requests)  # type: ignore[attr-defined]
    prompt = engine.render_chat("S", "U")
    assert prompt == llama4_chat("S", "U")
    assert engine.count_tokens(prompt) == scout_tokenizer().count(prompt)
    assert len(vllm_server.requests) == before  # type: ignore[attr-defined]
    assert (engine.model_name, engine.max_model_len) == (SCOUT, 65536)


def test_other_models_are_counted_and_rendered_by_the_server(vllm_server: ThreadingHTTPServer) -> None:
    engine = connect(vllm_server, model="smol", max_model_len=4096)
    assert engine.count_tokens("hello") == 5
    assert vllm_server.requests[-1] == ("/tokenize", {"model": "smol", "prompt": "hello", "add_special_tokens": False})  # type: ignore[attr-defined]
    assert engine.render_chat("S", "U", "A:") == "<system>S<user>U<assistant>A:"
    assert engine.max_model_len == 4096  # the smaller of the server's 8192 and the configured 4096


def test_from_env_reads_the_server_settings(monkeypatch: pytest.MonkeyPatch, vllm_server: ThreadingHTTPServer) -> None:
    monkeypatch.setenv("SCOUT_BASE_URL", f"http://127.0.0.1:{vllm_server.server_port}")
    monkeypatch.setenv("SCOUT_API_KEY", KEY)
    monkeypatch.setenv("SCOUT_MODEL", "smol")
    config = EngineConfig.from_env(backend="openai", model=None)
    assert KEY not in repr(config)
    assert open_engine(config).model_name == "smol"


def test_server_down_is_engine_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = OpenAIEngine(EngineConfig(backend="openai", base_url=f"http://127.0.0.1:{port}"))
    with pytest.raises(EngineUnreachable, match="cannot reach") as caught:
        engine.generate([Request("hi")], SamplingConfig())
    assert caught.value.exit_code == 3


def test_timeout_is_engine_unreachable(vllm_server: ThreadingHTTPServer) -> None:
    engine = connect(vllm_server, model=SCOUT, timeout_s=0.5)
    with pytest.raises(EngineUnreachable, match="did not answer in time"):
        engine.generate([Request("SLOW")], SamplingConfig())


def test_wrong_key_is_auth_error_without_the_key(vllm_server: ThreadingHTTPServer) -> None:
    engine = connect(vllm_server, api_key="sk-wrong-key")
    with pytest.raises(AuthError) as caught:
        engine.generate([Request("hi")], SamplingConfig())
    assert caught.value.exit_code == 6
    assert "sk-wrong-key" not in str(caught.value) and "\n" not in str(caught.value)


def test_missing_model_is_model_missing(vllm_server: ThreadingHTTPServer) -> None:
    with pytest.raises(ModelMissing, match="it serves: meta-llama") as caught:
        _ = connect(vllm_server, model="nope").model_name
    assert caught.value.exit_code == 7
    with pytest.raises(ModelMissing, match="does not exist"):
        connect(vllm_server, model="retired").generate([Request("hi")], SamplingConfig())


def test_context_overflow_is_context_too_large(vllm_server: ThreadingHTTPServer) -> None:
    with pytest.raises(ContextTooLarge, match="maximum context length") as caught:
        connect(vllm_server).generate([Request("TOO_LONG")], SamplingConfig())
    assert caught.value.exit_code == 4
