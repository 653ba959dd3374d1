"""Hostile or broken servers: GitHub's API and a vLLM server that answer garbage, stall, or
point elsewhere. Each run is the installed `scout-context` command against local servers on
127.0.0.1; each failure is one `error:` line with its documented exit code (3 engine, 5
publishing, 7 model missing), never exit 1 and never a traceback. And the sticky PR comment
that `pr --comment` updates is only ever the bot's own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from fake_vllm import KEY, FakeVllm
from helpers import serving, write
from test_pr_cli import ANSWER, TOKEN, USAGE, FakeGitHub, actions_env, github_serving

EXE = shutil.which("scout-context", path=os.path.dirname(sys.executable)) or "scout-context"
MARKER = "<!-- scout-context:pr-summary -->"
STALL_S = 6  # how long a stalling server keeps the connection open, silent
Reply = Callable[[BaseHTTPRequestHandler], None]


# --- scripted replies ---------------------------------------------------------------------


def raw(
    status: int, content: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None
) -> Reply:
    def reply(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(content)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(content)

    return reply


def as_json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return raw(status, json.dumps(payload).encode(), headers=headers)


HTML = raw(200, b"<!DOCTYPE html><html><body><h1>Sign in to continue</h1></body></html>", "text/html")


def events(*lines: str) -> Reply:
    """A 200 event stream of these `data:` payloads, then `[DONE]`."""

    def reply(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        for line in [*lines, "[DONE]"]:
            handler.wfile.write(f"data: {line}\n\n".encode())

    return reply


def silent(handler: BaseHTTPRequestHandler) -> None:
    """Accept the request, then send nothing at all."""
    time.sleep(STALL_S)


def stalled_stream(handler: BaseHTTPRequestHandler) -> None:
    """Headers and the first token, then nothing."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()
    handler.wfile.write(b'data: {"choices": [{"index": 0, "text": "The", "finish_reason": null}]}\n\n')
    handler.wfile.flush()
    time.sleep(STALL_S)


class ScriptedVllm(FakeVllm):
    """The fake vLLM, except on the paths in the server's `replies`."""

    def do_GET(self) -> None:
        if reply := self.server.replies.get(urlparse(self.path).path):
            return reply(self)
        super().do_GET()
        return None

    def do_POST(self) -> None:
        if reply := self.server.replies.get(urlparse(self.path).path):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return reply(self)
        super().do_POST()
        return None


class ScriptedGitHub(FakeGitHub):
    """The fake GitHub of the pr tests, except on the paths in the server's `replies`; it also
    records every request as (Host, method, path)."""

    def _scripted(self) -> bool:
        self.server.seen.append((self.headers.get("Host"), self.command, urlparse(self.path).path))
        reply = self.server.replies.get((self.command, urlparse(self.path).path))
        if reply is None or not self._authorized():
            return reply is not None
        if self.command != "GET":
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply(self)
        return True

    def do_GET(self) -> None:
        if not self._scripted():
            super().do_GET()

    def do_POST(self) -> None:
        if not self._scripted():
            super().do_POST()

    def do_PATCH(self) -> None:
        if not self._scripted():
            super().do_PATCH()


class Elsewhere(BaseHTTPRequestHandler):
    """Another host: records every request, with its Authorization header."""

    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Authorization")))
        as_json(200, [])(self)


@pytest.fixture
def engine_server() -> Iterator[ThreadingHTTPServer]:
    with serving(ScriptedVllm, pieces=[ANSWER], usage=USAGE, replies={}) as httpd:
        yield httpd


@pytest.fixture
def hub() -> Iterator[ThreadingHTTPServer]:
    with github_serving(ScriptedGitHub, seen=[], replies={}) as httpd:
        yield httpd


# --- running the command ------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "SCOUT_BASE", "SCOUT_API", "SCOUT_MODEL", "SCOUT_TIMEOUT"))
    }
    return {**env, "SCOUT_API_KEY": KEY, **extra}


def ask(
    server: ThreadingHTTPServer, tmp_path: Path, *args: str, env: dict[str, str] | None = None, base_url: str = ""
) -> subprocess.CompletedProcess:
    source = tmp_path / "src"
    write(source, {"settings.py": "TIMEOUT = 5\n"})
    base_url = base_url or f"http://127.0.0.1:{server.server_port}/v1"
    command = [EXE, "ask", str(source), "What is TIMEOUT?", "--engine", "openai", "--base-url", base_url, *args]
    return subprocess.run(command, capture_output=True, text=True, env=env or clean_env(), timeout=120)


def pr(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [EXE, "pr", "--engine", "openai", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def error_line(proc: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """The run failed with `code` and one `error:` line (the last on stderr) holding `words`."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], proc.stderr
    for word in words:
        assert word in lines[-1], lines[-1]
    assert KEY not in proc.stderr + proc.stdout and TOKEN not in proc.stderr + proc.stdout
    return lines[-1]


def soft_warning(proc: subprocess.CompletedProcess, code: int) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("::warning title=scout-context pr::") and f"(exit {code}, ignored: --soft-fail)" in last
    return last


# --- the engine server --------------------------------------------------------------------

MODELS = "/v1/models"
BAD_MODEL_LISTS = {
    "an HTML page": (HTML, 3),
    "a JSON list": (as_json(200, ["meta-llama/Llama-4-Scout-17B-16E-Instruct"]), 3),
    "data that is an object": (as_json(200, {"data": {"id": "scout"}}), 3),
    "data of strings": (as_json(200, {"data": ["scout", "smol"]}), 7),
    "entries without an id": (as_json(200, {"data": [{"max_model_len": 8192}]}), 7),
    "no models": (as_json(200, {"object": "list", "data": []}), 7),
}


@pytest.mark.parametrize("case", list(BAD_MODEL_LISTS))
def test_a_bad_model_list_exits_3_or_7(engine_server, tmp_path: Path, case: str) -> None:
    reply, code = BAD_MODEL_LISTS[case]
    engine_server.replies[MODELS] = reply  # type: ignore[attr-defined]
    line = error_line(ask(engine_server, tmp_path), code, f"127.0.0.1:{engine_server.server_port}")
    assert ("no model" in line) if code == 7 else ("/v1/models" in line)


def test_a_model_entry_with_a_bad_context_length_needs_the_option(engine_server, tmp_path: Path) -> None:
    engine_server.replies[MODELS] = as_json(200, {"data": [{"id": "smol", "max_model_len": "lots"}]})  # type: ignore[attr-defined]
    error_line(ask(engine_server, tmp_path), 2, "--max-model-len")


BAD_TOKENIZERS = {
    "404": raw(404, b'{"detail": "Not Found"}'),
    "an HTML page": HTML,
    "no count or tokens": as_json(200, {"ok": True}),
    "a count that is not a number": as_json(200, {"count": "many", "tokens": "abc", "prompt": 7}),
}


@pytest.mark.parametrize("case", list(BAD_TOKENIZERS))
def test_a_bad_tokenize_reply_exits_3(engine_server, tmp_path: Path, case: str) -> None:
    engine_server.replies["/tokenize"] = BAD_TOKENIZERS[case]  # type: ignore[attr-defined]
    error_line(ask(engine_server, tmp_path, "--model", "smol"), 3, "/tokenize")


def test_a_bad_detokenize_reply_exits_3(engine_server, tmp_path: Path) -> None:
    engine_server.replies["/detokenize"] = as_json(200, {"prompt": ["not", "text"]})  # type: ignore[attr-defined]
    error_line(ask(engine_server, tmp_path, "--model", "smol"), 3, "/detokenize")


BAD_STREAMS = {
    "an HTML page": HTML,
    "events that are not JSON": events("<html>oops</html>"),
    "events that are not objects": events("42", '["x"]'),
    "events without choices": events('{"id": "cmpl-1", "object": "text_completion"}'),
    "choices that are not a list": events('{"choices": {"text": "x"}}'),
    "a choice that is not an object": events('{"choices": ["The value"]}'),
    "text that is not a string": events('{"choices": [{"text": 42}]}'),
    "an error event with an odd code": events('{"error": {"message": "boom", "code": "overloaded"}}'),
    "an error event that is text": events('{"error": "boom"}'),
}


def endless(handler: BaseHTTPRequestHandler) -> None:
    """Text events without end, whatever max_tokens asked for."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()
    try:
        while True:
            handler.wfile.write(b'data: {"choices": [{"index": 0, "text": "la ", "finish_reason": null}]}\n\n')
    except OSError:  # the client gave up
        pass


BAD_STREAMS["text without end"] = endless


@pytest.mark.parametrize("case", list(BAD_STREAMS))
def test_a_bad_stream_exits_3(engine_server, tmp_path: Path, case: str) -> None:
    engine_server.replies["/v1/completions"] = BAD_STREAMS[case]  # type: ignore[attr-defined]
    error_line(ask(engine_server, tmp_path), 3, "/v1/completions")


def test_an_unexpected_refusal_exits_3(engine_server, tmp_path: Path) -> None:
    engine_server.replies["/v1/completions"] = as_json(422, {"error": {"message": "temperature: bad value"}})  # type: ignore[attr-defined]
    error_line(ask(engine_server, tmp_path), 3, "HTTP 422", "temperature: bad value")


@pytest.mark.parametrize("stall", [silent, stalled_stream], ids=["no headers", "mid-stream"])
def test_a_silent_engine_is_given_up_after_the_timeout(engine_server, tmp_path: Path, stall: Reply) -> None:
    engine_server.replies["/v1/completions"] = stall  # type: ignore[attr-defined]
    started = time.monotonic()
    proc = ask(engine_server, tmp_path, "--timeout", "1")
    assert time.monotonic() - started < STALL_S
    url = f"http://127.0.0.1:{engine_server.server_port}/v1/completions"
    error_line(proc, 3, url, "1 s", "--timeout")


def test_the_timeout_comes_from_scout_timeout_too(engine_server, tmp_path: Path) -> None:
    engine_server.replies[MODELS] = silent  # type: ignore[attr-defined]
    started = time.monotonic()
    proc = ask(engine_server, tmp_path, env=clean_env(SCOUT_TIMEOUT="1"))
    assert time.monotonic() - started < STALL_S
    error_line(proc, 3, f"127.0.0.1:{engine_server.server_port}/v1/models", "SCOUT_TIMEOUT")
    error_line(ask(engine_server, tmp_path, env=clean_env(SCOUT_TIMEOUT="soon")), 2, "SCOUT_TIMEOUT")


def test_the_key_in_the_address_is_never_shown(engine_server, tmp_path: Path) -> None:
    engine_server.replies[MODELS] = HTML  # type: ignore[attr-defined]
    base_url = f"http://bob:{KEY}@127.0.0.1:{engine_server.server_port}/v1"
    error_line(ask(engine_server, tmp_path, base_url=base_url), 3, f"127.0.0.1:{engine_server.server_port}")


def test_batch_gives_up_on_a_silent_engine_after_the_timeout(engine_server, tmp_path: Path) -> None:
    engine_server.replies["/v1/completions"] = stalled_stream  # type: ignore[attr-defined]
    write(tmp_path, {"src/settings.py": "TIMEOUT = 5\n", "jobs.yaml": (
        f"engine:\n  engine: openai\n  base_url: http://127.0.0.1:{engine_server.server_port}/v1\n"
        "corpora:\n  code:\n    sources: [src]\n"
        "jobs:\n  - name: facts\n    corpus: code\n    questions: [\"What is TIMEOUT?\"]\n    output: out/facts.md\n"
    )})  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(
        [EXE, "batch", "jobs.yaml", "--timeout", "1", "--json"], capture_output=True, text=True, env=clean_env(),
        cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert time.monotonic() - started < STALL_S
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc.stderr
    [question] = json.loads(proc.stdout)["jobs"][0]["questions"]
    assert (
        question["status"] == "failed"
        and "did not answer in time" in question["error"]
        and "--timeout" in question["error"]
    )
    assert (tmp_path / "out" / "facts.md").is_file()


def test_pr_maps_engine_replies_to_3_and_soft_fail_covers_them(pr_repo, engine_server, hub, tmp_path: Path) -> None:
    env = actions_env(tmp_path, pr_repo, engine_server, hub)
    engine_server.replies["/v1/completions"] = events('{"id": "cmpl-1"}')  # type: ignore[attr-defined]
    error_line(pr(env=env, cwd=pr_repo), 3, "/v1/completions")
    soft_warning(pr("--soft-fail", env=env, cwd=pr_repo), 3)
    engine_server.replies[MODELS] = as_json(200, {"data": []})  # type: ignore[attr-defined]
    error_line(pr(env=env, cwd=pr_repo), 7, "no model")
    soft_warning(pr("--soft-fail", env=env, cwd=pr_repo), 7)
    engine_server.replies[MODELS] = silent  # type: ignore[attr-defined]
    error_line(pr("--timeout", "1", env=env, cwd=pr_repo), 3, "/v1/models", "--timeout")
    soft_warning(pr("--timeout", "1", "--soft-fail", env=env, cwd=pr_repo), 3)


# --- GitHub's API -------------------------------------------------------------------------

COMMENTS = ("GET", "/repos/o/r/issues/5/comments")
BAD_COMMENT_LISTS = {
    "an HTML page": HTML,
    "an object": as_json(200, {"message": "API rate limit exceeded"}),
    "a list of non-objects": as_json(200, ["first!", 42, None]),
    "a JSON string": as_json(200, "<!-- scout-context:pr-summary -->"),
}


@pytest.mark.parametrize("case", list(BAD_COMMENT_LISTS))
def test_a_bad_comment_list_exits_5(pr_repo, engine_server, hub, tmp_path: Path, case: str) -> None:
    hub.replies[COMMENTS] = BAD_COMMENT_LISTS[case]  # type: ignore[attr-defined]
    env = actions_env(tmp_path, pr_repo, engine_server, hub)
    error_line(pr("--comment", env=env, cwd=pr_repo), 5, "GET /repos/o/r/issues/5/comments")
    soft_warning(pr("--comment", "--soft-fail", env=env, cwd=pr_repo), 5)
    assert not [call for call in hub.calls if call[0] in ("POST", "PATCH")]  # type: ignore[attr-defined]


def test_comments_with_odd_fields_are_read_as_far_as_they_go(pr_repo, engine_server, hub, tmp_path: Path) -> None:
    hub.replies[COMMENTS] = as_json(200, [  # type: ignore[attr-defined]
        {"id": 7},
        {"id": 8, "body": None, "user": None},
        {"id": "nine", "body": f"{MARKER}\nold", "user": "github-actions[bot]"},
        {"id": 10, "body": ["x"], "user": {"login": ["alice"], "type": 3}},
        {"id": 11, "body": "KEEP-THIS-HUMAN-NOTE", "user": {"login": "alice", "type": "User"}},
    ])  # fmt: skip
    proc = pr("--comment", env=actions_env(tmp_path, pr_repo, engine_server, hub), cwd=pr_repo)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert ("POST", "/repos/o/r/issues/5/comments") in hub.calls  # type: ignore[attr-defined]
    assert not [call for call in hub.calls if call[0] == "PATCH"]  # type: ignore[attr-defined]
    assert (
        "KEEP-THIS-HUMAN-NOTE"
        in [body["prompt"] for path, body in engine_server.requests if path == "/v1/completions"][-1]
    )  # type: ignore[attr-defined]


def test_a_bad_issue_reply_is_listed_not_fatal(pr_repo, engine_server, hub, tmp_path: Path) -> None:
    hub.replies[("GET", "/repos/o/r/issues/3")] = HTML  # type: ignore[attr-defined]
    proc = pr("--format", "json", env=actions_env(tmp_path, pr_repo, engine_server, hub), cwd=pr_repo)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    [unread] = [item for item in json.loads(proc.stdout)["not_analysed"] if item["item"] == "#3"]
    assert "not JSON" in unread["reason"]


def test_a_bad_reply_to_posting_exits_5(pr_repo, engine_server, hub, tmp_path: Path) -> None:
    hub.replies[("POST", "/repos/o/r/issues/5/comments")] = raw(201, b"Created", "text/plain")  # type: ignore[attr-defined]
    env = actions_env(tmp_path, pr_repo, engine_server, hub)
    error_line(pr("--comment", env=env, cwd=pr_repo), 5, "POST /repos/o/r/issues/5/comments")
    soft_warning(pr("--comment", "--soft-fail", env=env, cwd=pr_repo), 5)


def test_a_next_page_on_another_host_is_not_followed(pr_repo, engine_server, hub, tmp_path: Path) -> None:
    with serving(Elsewhere) as other:
        for host in (f"127.0.0.1:{other.server_port}", f"localhost:{hub.server_port}"):
            link = f'<http://{host}/repos/o/r/issues/5/comments?page=2>; rel="next"'
            hub.replies[COMMENTS] = as_json(200, [], {"Link": link})  # type: ignore[attr-defined]
            env = actions_env(tmp_path, pr_repo, engine_server, hub)
            error_line(pr("--comment", env=env, cwd=pr_repo), 5, "next page", "not followed")
            soft_warning(pr("--comment", "--soft-fail", env=env, cwd=pr_repo), 5)
        assert other.requests == []  # type: ignore[attr-defined]
    assert {host for host, _, _ in hub.seen} == {f"127.0.0.1:{hub.server_port}"}  # type: ignore[attr-defined]
    assert not [call for call in hub.calls if call[0] in ("POST", "PATCH")]  # type: ignore[attr-defined]


def test_a_next_page_on_the_same_host_is_followed(pr_repo, engine_server, hub, tmp_path: Path) -> None:
    """GitHub's own next links name the repository by id: another path, the same host."""
    hub.add(5, f"{MARKER}\nold summary", "github-actions[bot]", "Bot")  # type: ignore[attr-defined]
    link = f'<http://127.0.0.1:{hub.server_port}/repositories/42/issues/5/comments?page=2>; rel="next"'
    hub.replies[COMMENTS] = as_json(200, [], {"Link": link})  # type: ignore[attr-defined]
    hub.replies[("GET", "/repositories/42/issues/5/comments")] = as_json(200, list(hub.comments.values()))  # type: ignore[attr-defined]
    proc = pr("--comment", env=actions_env(tmp_path, pr_repo, engine_server, hub), cwd=pr_repo)
    assert proc.returncode == 0, proc.stderr
    assert ("PATCH", "/repos/o/r/issues/comments/1000") in hub.calls  # type: ignore[attr-defined]


def test_a_silent_github_is_given_up_after_the_timeout(pr_repo, engine_server, hub, tmp_path: Path) -> None:
    hub.replies[COMMENTS] = silent  # type: ignore[attr-defined]
    env = actions_env(tmp_path, pr_repo, engine_server, hub)
    started = time.monotonic()
    proc = pr("--comment", "--timeout", "1", env=env, cwd=pr_repo)
    assert time.monotonic() - started < 2 * STALL_S
    error_line(proc, 5, f"http://127.0.0.1:{hub.server_port}/repos/o/r/issues/5/comments", "1 s")
    soft_warning(pr("--comment", "--timeout", "1", "--soft-fail", env=env, cwd=pr_repo), 5)


# --- the sticky comment is the bot's own --------------------------------------------------

INTEGRATION = as_json(403, {"message": "Resource not accessible by integration", "status": "403"})


def patched(hub: ThreadingHTTPServer) -> list[int]:
    return [int(path.rsplit("/", 1)[1]) for method, path in hub.calls if method == "PATCH"]  # type: ignore[attr-defined]


def test_a_users_comment_with_the_marker_is_never_updated(pr_repo, engine_server, hub, tmp_path: Path) -> None:
    hub.replies[("GET", "/user")] = INTEGRATION  # type: ignore[attr-defined]
    quoted = hub.add(5, f"{MARKER}\nI copied the bot's summary: it is wrong.", "mallory", "User")  # type: ignore[attr-defined]
    env = actions_env(tmp_path, pr_repo, engine_server, hub)
    for _ in range(2):  # the second run updates the bot's comment the first created
        proc = pr("--comment", env=env, cwd=pr_repo)
        assert proc.returncode == 0, proc.stderr
    assert quoted["body"] == f"{MARKER}\nI copied the bot's summary: it is wrong."
    [ours] = [c for c in hub.comments.values() if c["user"]["login"] == "github-actions[bot]"]  # type: ignore[attr-defined]
    assert patched(hub) == [ours["id"]] and "comment updated" in proc.stderr


def test_with_both_the_bots_own_is_chosen(pr_repo, engine_server, hub, tmp_path: Path) -> None:
    hub.replies[("GET", "/user")] = INTEGRATION  # type: ignore[attr-defined]
    hub.add(5, f"{MARKER}\nquoted by a user", "alice", "User")  # type: ignore[attr-defined]
    hub.add(5, f"Look: {MARKER} in the middle", "github-actions[bot]", "Bot")  # type: ignore[attr-defined]
    ours = hub.add(5, f"{MARKER}\nthe bot's summary", "github-actions[bot]", "Bot")  # type: ignore[attr-defined]
    proc = pr("--comment", env=actions_env(tmp_path, pr_repo, engine_server, hub), cwd=pr_repo)
    assert proc.returncode == 0, proc.stderr
    assert patched(hub) == [ours["id"]]


def test_with_a_user_token_only_that_users_comment_is_updated(pr_repo, engine_server, hub, tmp_path: Path) -> None:
    hub.replies[("GET", "/user")] = as_json(200, {"login": "release-bot", "type": "User"})  # type: ignore[attr-defined]
    hub.add(5, f"{MARKER}\nby another bot", "github-actions[bot]", "Bot")  # type: ignore[attr-defined]
    hub.add(5, f"{MARKER}\nby a user", "alice", "User")  # type: ignore[attr-defined]
    ours = hub.add(5, f"{MARKER}\nby the token's user", "release-bot", "User")  # type: ignore[attr-defined]
    proc = pr("--comment", env=actions_env(tmp_path, pr_repo, engine_server, hub), cwd=pr_repo)
    assert proc.returncode == 0, proc.stderr
    assert patched(hub) == [ours["id"]]
    hub.calls.clear()  # type: ignore[attr-defined]
    del hub.comments[ours["id"]]  # type: ignore[attr-defined]
    proc = pr("--comment", env=actions_env(tmp_path, pr_repo, engine_server, hub), cwd=pr_repo)
    assert proc.returncode == 0 and patched(hub) == [] and "comment created" in proc.stderr


def test_a_failing_identity_lookup_exits_5(pr_repo, engine_server, hub, tmp_path: Path) -> None:
    hub.add(5, f"{MARKER}\nthe bot's summary", "github-actions[bot]", "Bot")  # type: ignore[attr-defined]
    env = actions_env(tmp_path, pr_repo, engine_server, hub)
    hub.replies[("GET", "/user")] = as_json(502, {"message": "Server Error"})  # type: ignore[attr-defined]
    error_line(pr("--comment", env=env, cwd=pr_repo), 5, "GET /user", "502")
    hub.replies[("GET", "/user")] = HTML  # type: ignore[attr-defined]
    error_line(pr("--comment", env=env, cwd=pr_repo), 5, "GET /user", "not JSON")
    assert patched(hub) == []
