"""A local HTTP server that speaks vLLM's OpenAI-compatible API, for the remote backend's tests."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

SCOUT = "meta-llama/Llama-4-Scout-17B-16E-Instruct"
KEY = "sk-secret-123"
PIECES = ["The value", " is", " 42."]
USAGE = {"prompt_tokens": 1234, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 1152}}


class FakeVllm(BaseHTTPRequestHandler):
    """/v1/models, /v1/completions (SSE), /tokenize and /detokenize; one char is one token.
    A prompt with DIES_MIDWAY gets two pieces, then the connection closes mid-body.
    A server's `served_model` is served too, and its `tokenizer_info` (else 404) at /tokenizer_info.
    Every completion streams the server's `pieces` (default PIECES), then its `usage`."""

    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self._authorized() and self.path == "/tokenizer_info":  # vLLM serves it only when enabled
            info = getattr(self.server, "tokenizer_info", None)
            self._json(200, info) if info else self._error(404, "Not Found")
        elif self.headers.get("Authorization") == f"Bearer {KEY}":
            served = [
                {"id": SCOUT, "max_model_len": 65536, "root": "/models/scout"},
                {"id": "smol", "max_model_len": 8192},
            ]
            served.append({"id": "retired", "max_model_len": 8192})  # listed, but completions answer 404
            if getattr(self.server, "served_model", None):
                served.append({"id": self.server.served_model, "max_model_len": 8192})
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
        elif body["model"] not in (SCOUT, "smol", getattr(self.server, "served_model", None)):
            self._error(404, f"The model `{body['model']}` does not exist.")
        elif "TOO_LONG" in body["prompt"]:
            self._error(
                400, "This model's maximum context length is 65536 tokens. However, you requested 70000 tokens."
            )
        elif "DIES_MIDWAY" in body["prompt"]:
            self._die_midway()
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
            {"choices": [{"index": 0, "text": piece, "finish_reason": None}]}
            for piece in getattr(self.server, "pieces", PIECES)
        ]
        events.append({"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]})
        events.append({"choices": [], "usage": getattr(self.server, "usage", USAGE)})
        for event in events:
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def _die_midway(self) -> None:
        """Stream the first pieces, then go away as a killed server does: the connection
        closes before the body it announced is complete."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        for piece in PIECES[:2]:
            self.wfile.write(f"data: {json.dumps({'choices': [{'index': 0, 'text': piece}]})}\n\n".encode())
        self.wfile.flush()
        self.close_connection = True

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": {"message": message, "type": "Error", "code": status}})

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
