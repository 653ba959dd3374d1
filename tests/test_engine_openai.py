"""The remote backend against a real HTTP server on 127.0.0.1 that speaks vLLM's API."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from scout_context.engine.base import llama4_chat, open_engine
from scout_context.engine.config import EngineConfig, SamplingConfig
from scout_context.engine.openai_remote import OpenAIEngine
from scout_context.errors import AuthError, ContextTooLarge, EngineUnreachable, ModelMissing
from scout_context.tokens import scout_tokenizer

SCOUT = "meta-llama/Llama-4-Scout-17B-16E-Instruct"
KEY = "sk-secret-123"
PIECES = ["The value", " is", " 42."]


class FakeVllm(BaseHTTPRequestHandler):
    """/v1/models, /v1/completions (SSE), /tokenize and /detokenize; one char is one token."""

    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self._authorized():
            served = [
                {"id": SCOUT, "max_model_len": 65536, "root": "/models/scout"},
                {"id": "smol", "max_model_len": 8192},
            ]
            served.append({"id": "retired", "max_model_len": 8192})  # listed, but completions answer 404
            self._json(200, {"object": "list", "data": served})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, body))
        if not self._authorized():
            return
        if self.path == "/tokenize":
            text = (
                body.get("prompt") or "".join(f"<{m['role']}>{m['content']}" for m in body["messages"]) + "<assistant>"
            )
            self._json(200, {"count": len(text), "max_model_len": 8192, "tokens": [ord(c) for c in text]})
        elif self.path == "/detokenize":
            self._json(200, {"prompt": "".join(chr(t) for t in body["tokens"])})
        elif body["model"] not in (SCOUT, "smol"):
            self._error(404, f"The model `{body['model']}` does not exist.")
        elif "TOO_LONG" in body["prompt"]:
            self._error(
                400, "This model's maximum context length is 65536 tokens. However, you requested 70000 tokens."
            )
        elif "SLOW" in body["prompt"]:
            time.sleep(1.5)  # the client gives up first; answer nothing
        else:
            self._stream(body)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {KEY}":
            return True
        self._error(401, "Unauthorized")
        return False

    def _stream(self, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        events: list[dict[str, Any]] = [
            {"choices": [{"index": 0, "text": piece, "finish_reason": None}]} for piece in PIECES
        ]
        events.append({"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]})
        usage = {"prompt_tokens": 1234, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 1152}}
        events.append({"choices": [], "usage": usage})
        for event in events:
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": {"message": message, "type": "Error", "code": status}})

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeVllm)
    httpd.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


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


def test_streams_the_answer_with_usage_and_sends_the_prompt_as_is(server: ThreadingHTTPServer) -> None:
    engine = connect(server)
    pieces: list[tuple[int, str]] = []
    prompt = llama4_chat("Answer briefly.", "What is the value?")
    done: list[tuple[int, object]] = []
    [answer] = engine.generate(
        [prompt], SamplingConfig(max_tokens=20, stop=("###",)), lambda i, text: pieces.append((i, text)),
        on_done=lambda i, generation: done.append((i, generation)),
    )
    assert done == [(0, answer)]
    assert (answer.text, answer.finish_reason) == ("The value is 42.", "stop")
    assert (answer.prompt_tokens, answer.cached_tokens, answer.completion_tokens) == (1234, 1152, 4)
    assert pieces == [(0, piece) for piece in PIECES]
    assert 0 < answer.first_token_s <= answer.total_s
    path, body = server.requests[-1]  # type: ignore[attr-defined]
    assert path == "/v1/completions"
    assert body["prompt"] == prompt and body["add_special_tokens"] is False
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert (body["model"], body["max_tokens"], body["temperature"], body["stop"]) == (SCOUT, 20, 0.0, ["###"])
    engine.close()


def test_scout_is_counted_locally_and_rendered_in_llama4_format(server: ThreadingHTTPServer) -> None:
    engine = connect(server, model=SCOUT)
    before = len(server.requests)  # type: ignore[attr-defined]
    prompt = engine.render_chat("S", "U")
    assert prompt == llama4_chat("S", "U")
    assert engine.count_tokens(prompt) == scout_tokenizer().count(prompt)
    assert len(server.requests) == before  # type: ignore[attr-defined]
    assert (engine.model_name, engine.max_model_len) == (SCOUT, 65536)


def test_other_models_are_counted_and_rendered_by_the_server(server: ThreadingHTTPServer) -> None:
    engine = connect(server, model="smol", max_model_len=4096)
    assert engine.count_tokens("hello") == 5
    assert server.requests[-1] == ("/tokenize", {"model": "smol", "prompt": "hello", "add_special_tokens": False})  # type: ignore[attr-defined]
    assert engine.render_chat("S", "U", "A:") == "<system>S<user>U<assistant>A:"
    assert engine.max_model_len == 4096  # the smaller of the server's 8192 and the configured 4096


def test_from_env_reads_the_server_settings(monkeypatch: pytest.MonkeyPatch, server: ThreadingHTTPServer) -> None:
    monkeypatch.setenv("SCOUT_BASE_URL", f"http://127.0.0.1:{server.server_port}")
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
        engine.generate(["hi"], SamplingConfig())
    assert caught.value.exit_code == 3


def test_timeout_is_engine_unreachable(server: ThreadingHTTPServer) -> None:
    engine = connect(server, model=SCOUT, timeout_s=0.5)
    with pytest.raises(EngineUnreachable, match="did not answer in time"):
        engine.generate(["SLOW"], SamplingConfig())


def test_wrong_key_is_auth_error_without_the_key(server: ThreadingHTTPServer) -> None:
    engine = connect(server, api_key="sk-wrong-key")
    with pytest.raises(AuthError) as caught:
        engine.generate(["hi"], SamplingConfig())
    assert caught.value.exit_code == 6
    assert "sk-wrong-key" not in str(caught.value) and "\n" not in str(caught.value)


def test_missing_model_is_model_missing(server: ThreadingHTTPServer) -> None:
    with pytest.raises(ModelMissing, match="it serves: meta-llama") as caught:
        _ = connect(server, model="nope").model_name
    assert caught.value.exit_code == 7
    with pytest.raises(ModelMissing, match="does not exist"):
        connect(server, model="retired").generate(["hi"], SamplingConfig())


def test_context_overflow_is_context_too_large(server: ThreadingHTTPServer) -> None:
    with pytest.raises(ContextTooLarge, match="maximum context length") as caught:
        connect(server).generate(["TOO_LONG"], SamplingConfig())
    assert caught.value.exit_code == 4
