"""`scout-context pr` as a CI bot: a local HTTP server that speaks the GitHub endpoints it
uses, another that speaks vLLM's, real repositories, the event file, exit codes."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from fake_vllm import KEY, SCOUT, FakeVllm
from helpers import git, serving, write

USAGE = {"prompt_tokens": 900, "completion_tokens": 40, "prompt_tokens_details": {"cached_tokens": 512}}
TOKEN = "ghs_githubtoken0123456789abcdefABCDEF"
ANSWER = " Makes the shipping threshold a setting.\nFILES:\n- shop/cart.py: uses THRESHOLD\nRISK:\n- totals near 100 change [shop/cart.py:4]\nTESTS: none added.\nEFFORT: 2\n"
MOUNT = (
    "import sys; from scout_context_cli import main as m; from scout_context_cli.pr import pr_command\n"
    "if not any(c.name == 'pr' for c in m.app.registered_commands): m.app.command('pr')(pr_command)\n"
    "sys.argv[0] = 'scout-context'; m.main()"
)


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class FakeGitHub(_Handler):
    """List (paginated), create and update issue comments; read an issue."""

    def _authorized(self) -> bool:
        self.server.calls.append((self.command, urlparse(self.path).path))
        if self.headers.get("Authorization") == f"Bearer {TOKEN}":
            return True
        self._json(401, {"message": "Bad credentials"})
        return False

    def do_GET(self) -> None:
        if not self._authorized():
            return None
        url = urlparse(self.path)
        if match := re.fullmatch(r"/repos/o/r/issues/(\d+)/comments", url.path):
            comments = [c for c in self.server.comments.values() if c["issue"] == int(match.group(1))]
            page = int(parse_qs(url.query).get("page", ["1"])[0])
            size = 2  # small pages: the client must follow the Link header
            headers = {}
            if page * size < len(comments):
                headers["Link"] = (
                    f'<http://127.0.0.1:{self.server.server_port}{url.path}?per_page=100&page={page + 1}>; rel="next"'
                )
            return self._json(200, comments[(page - 1) * size : page * size], headers)
        if match := re.fullmatch(r"/repos/o/r/issues/(\d+)", url.path):
            return self._json(
                200, {"number": int(match.group(1)), "title": "Threshold is hard-coded", "body": "ISSUE-BODY-TEXT"}
            )
        self._json(404, {"message": "Not Found"})
        return None

    def do_POST(self) -> None:
        if not self._authorized():
            return None
        if self.server.fail:
            return self._json(403, {"message": "Resource not accessible by integration"})
        issue = int(re.fullmatch(r"/repos/o/r/issues/(\d+)/comments", self.path).group(1))
        self._json(201, self.server.add(issue, self._body()["body"], "github-actions[bot]", "Bot"))
        return None

    def do_PATCH(self) -> None:
        if not self._authorized():
            return
        comment = self.server.comments[int(self.path.rsplit("/", 1)[1])]
        comment["body"] = self._body()["body"]
        self._json(200, comment)


@pytest.fixture
def vllm() -> Iterator[ThreadingHTTPServer]:
    """The shared fake vLLM, answering with ANSWER and reporting USAGE."""
    with serving(FakeVllm, pieces=[ANSWER], usage=USAGE) as httpd:
        yield httpd


def prompts(vllm: ThreadingHTTPServer) -> list[str]:
    return [body["prompt"] for path, body in vllm.requests if path == "/v1/completions"]  # type: ignore[attr-defined]


@contextmanager
def github_serving(handler: type[BaseHTTPRequestHandler] | None = None, **state: Any) -> Iterator[ThreadingHTTPServer]:
    """A stand-in GitHub (`FakeGitHub` or a subclass) with no comments yet; `add(issue,
    body, login, kind)` puts one there as a person ("User") or a bot ("Bot") wrote it."""
    comments: dict[int, dict[str, Any]] = {}

    def add(issue: int, body: str, login: str, kind: str) -> dict[str, Any]:
        number = 1000 + len(comments)
        comments[number] = {
            "id": number, "issue": issue, "body": body, "user": {"login": login, "type": kind},
            "html_url": f"https://github.example/o/r/pull/{issue}#issuecomment-{number}",
        }  # fmt: skip
        return comments[number]

    with serving(handler or FakeGitHub, comments=comments, calls=[], fail=False, add=add, **state) as httpd:
        yield httpd


@pytest.fixture
def github() -> Iterator[ThreadingHTTPServer]:
    with github_serving() as httpd:
        yield httpd


def actions_env(
    tmp_path: Path, repo: Path, vllm: ThreadingHTTPServer, github: ThreadingHTTPServer | None = None
) -> dict[str, str]:
    """The environment of a workflow step on a pull_request event for PR #5."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {
        "number": 5, "title": "Make the threshold a setting", "body": "Needed for sales.",
        "base": {"sha": git(repo, "rev-parse", "main").strip()}, "head": {"sha": git(repo, "rev-parse", "feature").strip()},
    }}))  # fmt: skip
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "SCOUT_BASE", "SCOUT_API", "SCOUT_MODEL"))
    }
    env.update({
        "GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(event), "GITHUB_REPOSITORY": "o/r",
        "GITHUB_TOKEN": TOKEN, "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"),
        "GITHUB_API_URL": f"http://127.0.0.1:{github.server_port}" if github else "http://127.0.0.1:9",
        "SCOUT_BASE_URL": f"http://127.0.0.1:{vllm.server_port}/v1", "SCOUT_API_KEY": KEY,
    })  # fmt: skip
    return env


def run(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", MOUNT, "pr", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def marker_comments(github: ThreadingHTTPServer) -> list[dict[str, Any]]:
    return [c for c in github.comments.values() if c["body"].startswith("<!-- scout-context:pr-summary -->")]  # type: ignore[attr-defined]


def test_one_comment_per_pull_request_created_then_updated(pr_repo, vllm, github, tmp_path: Path) -> None:
    github.add(5, "Please keep HUMAN-REVIEW-NOTE in mind.", "alice", "User")  # type: ignore[attr-defined]
    github.add(5, "BOT-NOISE: coverage went down", "codecov[bot]", "Bot")  # type: ignore[attr-defined]
    github.add(5, "Another HUMAN-FOLLOW-UP.", "bob", "User")  # type: ignore[attr-defined]
    env = actions_env(tmp_path, pr_repo, vllm, github)
    first = run("--engine", "openai", "--comment", env=env, cwd=pr_repo)
    assert first.returncode == 0, first.stderr
    [created] = marker_comments(github)
    assert created["user"]["type"] == "Bot" and "comment created" in first.stderr
    assert created["body"] == first.stdout  # plain text on stdout, never wrapped
    prompt = prompts(vllm)[-1]
    assert "HUMAN-REVIEW-NOTE" in prompt and "HUMAN-FOLLOW-UP" in prompt and "BOT-NOISE" not in prompt
    assert "Linked issue #3: Threshold is hard-coded" in prompt and "ISSUE-BODY-TEXT" in prompt
    assert "Title: Make the threshold a setting" in prompt and "Needed for sales." in prompt

    git(pr_repo, "checkout", "-q", "feature")  # another push to the pull request
    write(pr_repo, {"shop/config.py": "FEE = 5\nTHRESHOLD = 120\n"})
    git(pr_repo, "commit", "-qam", "Raise the threshold")
    git(pr_repo, "checkout", "-q", "main")
    env = actions_env(tmp_path, pr_repo, vllm, github)
    vllm.pieces = [ANSWER.replace("Makes", "Now makes")]  # type: ignore[attr-defined]
    second = run("--engine", "openai", "--comment", env=env, cwd=pr_repo)
    assert second.returncode == 0, second.stderr
    [updated] = marker_comments(github)
    assert updated["id"] == created["id"] and "comment updated" in second.stderr
    assert "Now makes the shipping threshold a setting." in updated["body"]
    assert git(pr_repo, "rev-parse", "--short=7", "feature").strip() in updated["body"]
    assert ("PATCH", f"/repos/o/r/issues/comments/{created['id']}") in github.calls  # type: ignore[attr-defined]
    assert "Raise the threshold" in prompts(vllm)[-1] and "BOT-NOISE" not in prompts(vllm)[-1]
    assert "Now makes" not in prompts(vllm)[-1]  # our own comment is no context either

    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary.count("<!-- scout-context:pr-summary -->") == 2  # appended on each run, on by default
    for text in (first.stdout, first.stderr, second.stdout, second.stderr, summary, *prompts(vllm)):
        assert TOKEN not in text and KEY not in text


def test_json_has_the_same_fields_and_locally_needs_only_base(pr_repo, vllm, tmp_path: Path) -> None:
    env = actions_env(tmp_path, pr_repo, vllm)
    for key in ("GITHUB_ACTIONS", "GITHUB_EVENT_PATH", "GITHUB_TOKEN", "GITHUB_STEP_SUMMARY", "GITHUB_REPOSITORY"):
        env.pop(key)
    git(pr_repo, "checkout", "-q", "feature")
    out = tmp_path / "summary.json"
    proc = run("--base", "main", "--engine", "openai", "--format", "json", "--output", str(out), env=env, cwd=pr_repo)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and not (tmp_path / "step-summary.md").exists()
    result = json.loads(out.read_text())
    assert set(result) >= {
        "marker",
        "summary",
        "walkthrough",
        "risk",
        "tests",
        "effort",
        "not_analysed",
        "footer",
        "markdown",
    }
    assert result["summary"] == "Makes the shipping threshold a setting."
    assert result["walkthrough"][0] == {
        "files": ["shop/cart.py"],
        "change": "modified +4 −1",
        "description": "uses THRESHOLD",
        "lines": 5,
    }
    assert result["effort"] == {"score": 2, "reason": "", "source": "model"}
    assert result["footer"] == {"model": SCOUT, "prompt_tokens": 900, "cached_tokens": 512, "completion_tokens": 40}
    assert {"item": "#3", "reason": "linked issues not read: no GitHub token and repository"} in result["not_analysed"]
    assert result["markdown"].startswith(result["marker"]) and "Built with Llama" in result["markdown"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def last_line(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr
    return proc.stderr.strip().splitlines()[-1]


def test_usage_errors_exit_2(pr_repo, vllm, tmp_path: Path) -> None:
    env = actions_env(tmp_path, pr_repo, vllm)
    local = {k: v for k, v in env.items() if k not in ("GITHUB_ACTIONS", "GITHUB_EVENT_PATH")}
    proc = run("--engine", "openai", env=local, cwd=pr_repo)
    assert proc.returncode == 2 and "--base is required outside a GitHub pull request event" in last_line(proc)
    proc = run("--engine", "openai", "--comment", "--soft-fail", env={**env, "GITHUB_TOKEN": ""}, cwd=pr_repo)
    assert proc.returncode == 2 and "--comment needs GITHUB_TOKEN" in last_line(proc)
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{pr_repo}", str(shallow)], check=True)
    proc = run(str(shallow), "--engine", "openai", "--soft-fail", env=env)
    assert proc.returncode == 2 and "fetch-depth: 0" in last_line(proc)


def test_engine_unreachable_exits_3_or_warns_with_soft_fail(pr_repo, vllm, tmp_path: Path) -> None:
    env = {**actions_env(tmp_path, pr_repo, vllm), "SCOUT_BASE_URL": f"http://127.0.0.1:{closed_port()}/v1"}
    proc = run("--engine", "openai", env=env, cwd=pr_repo)
    assert proc.returncode == 3 and "cannot reach the engine" in last_line(proc)
    proc = run("--engine", "openai", "--soft-fail", env=env, cwd=pr_repo)
    assert proc.returncode == 0 and proc.stdout == ""
    assert last_line(proc).startswith("::warning title=scout-context pr::cannot reach the engine")


def test_a_pull_request_without_the_secrets_is_skipped_with_a_notice(pr_repo, vllm, tmp_path: Path) -> None:
    # A fork's or Dependabot's pull request: the workflow runs, SCOUT_BASE_URL and SCOUT_API_KEY are empty.
    env = {**actions_env(tmp_path, pr_repo, vllm), "SCOUT_BASE_URL": "", "SCOUT_API_KEY": ""}
    proc = run("--engine", "openai", "--comment", "--soft-fail", env=env, cwd=pr_repo)
    assert proc.returncode == 0 and proc.stdout == ""
    assert last_line(proc).startswith("::notice title=scout-context pr::skipped: no engine configured")
    assert not (tmp_path / "step-summary.md").exists()
    proc = run("--engine", "openai", env=env, cwd=pr_repo)  # without --soft-fail it stays a usage error
    assert proc.returncode == 2 and "SCOUT_BASE_URL" in last_line(proc)


def test_context_too_large_exits_4(pr_repo, vllm, tmp_path: Path) -> None:
    env = actions_env(tmp_path, pr_repo, vllm)
    proc = run("--engine", "openai", "--max-model-len", "600", "--max-tokens", "512", env=env, cwd=pr_repo)
    assert proc.returncode == 4 and "the pull request does not fit" in last_line(proc)
    proc = run("--engine", "openai", "--budget", "200", "--soft-fail", env=env, cwd=pr_repo)
    assert proc.returncode == 0 and "(exit 4, ignored: --soft-fail)" in last_line(proc)


def test_publishing_failure_exits_5_without_leaking_the_token(pr_repo, vllm, github, tmp_path: Path) -> None:
    github.fail = True  # type: ignore[attr-defined]
    env = actions_env(tmp_path, pr_repo, vllm, github)
    proc = run("--engine", "openai", "--comment", env=env, cwd=pr_repo)
    assert proc.returncode == 5
    assert "answered 403: Resource not accessible by integration" in last_line(proc)
    assert "pull-requests: write" in last_line(proc) and TOKEN not in proc.stderr + proc.stdout
    assert proc.stdout.startswith("<!-- scout-context:pr-summary -->")  # the summary was still written
    proc = run("--engine", "openai", "--comment", "--soft-fail", env=env, cwd=pr_repo)
    assert proc.returncode == 0 and "(exit 5, ignored: --soft-fail)" in last_line(proc)
    env["GITHUB_API_URL"] = f"http://127.0.0.1:{closed_port()}"
    proc = run("--engine", "openai", "--comment", env=env, cwd=pr_repo)
    assert proc.returncode == 5 and TOKEN not in proc.stderr


def test_the_example_workflow_runs_the_bot_with_full_history_and_secrets() -> None:
    workflow = (Path(__file__).resolve().parent.parent / "examples" / "github-actions" / "pr-summary.yml").read_text()
    assert (
        "fetch-depth: 0" in workflow and "pull-requests: write" in workflow and "persist-credentials: false" in workflow
    )
    assert (
        "SCOUT_BASE_URL: ${{ secrets.SCOUT_BASE_URL }}" in workflow
        and "SCOUT_API_KEY: ${{ secrets.SCOUT_API_KEY }}" in workflow
    )
    assert "run: scout-context pr --engine openai --comment --soft-fail" in workflow


def test_the_engine_table_is_read_from_the_base_commit_never_the_head(pr_repo, tmp_path: Path) -> None:
    """`[engine]` of the base commit's configuration file configures the engine (a former key
    with its warning); the pull request's own file never does; the command line beats both."""
    for branch, model in (("feature", "/nowhere/from-head"), ("main", "/nowhere/from-base")):
        git(pr_repo, "checkout", "-q", branch)
        write(pr_repo, {".scout-context.toml": f'[engine]\nbackend = "vllm"\nmodel = "{model}"\n'})
        git(pr_repo, "add", "-A")
        git(pr_repo, "commit", "-qm", f"config on {branch}")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "SCOUT_BASE", "SCOUT_API", "SCOUT_MODEL"))}  # fmt: skip
    base = run("--base", "main", "--head", "feature", env=env, cwd=pr_repo)
    said = " ".join(base.stderr.split())
    assert base.returncode == 7 and "no model '/nowhere/from-base'" in said and "from-head" not in said
    assert "[engine] in .scout-context.toml at " in said and "backend is now engine, the option's name" in said
    given = run("--base", "main", "--head", "feature", "--model", "/nowhere/from-cli", env=env, cwd=pr_repo)
    assert given.returncode == 7 and "no model '/nowhere/from-cli'" in given.stderr


def test_a_summary_the_guard_does_not_find_safe_is_not_published(pr_repo, vllm, github, tmp_path: Path) -> None:
    from scout_context.guard.llama_guard import GUARD_MODEL
    from scout_context_cli.pr import GUARD_QUESTION

    env = actions_env(tmp_path, pr_repo, vllm, github)
    step_summary = Path(env["GITHUB_STEP_SUMMARY"])
    with serving(FakeVllm, served_model=GUARD_MODEL, pieces=["unsafe", "\nS7"]) as unsafe:
        guarded = ["--engine", "openai", "--comment", "--guard-url", f"http://127.0.0.1:{unsafe.server_port}/v1"]
        proc = run(*guarded, env=env, cwd=pr_repo)
        assert proc.returncode == 10, proc.stderr
        assert "S7 Privacy: the summary is not published" in last_line(proc)
        assert proc.stdout == "" and not marker_comments(github) and not step_summary.exists()
        [(_, judged)] = unsafe.requests
        assert f"User: {GUARD_QUESTION}\n\nAgent: " in judged["prompt"]
        assert "Makes the shipping threshold a setting." in judged["prompt"]  # the comment as it would be posted
        assert "Needed for sales." not in judged["prompt"].split("Agent:")[0]  # no text of the pull request's
        soft = run(*guarded, "--soft-fail", env=env, cwd=pr_repo)
        assert soft.returncode == 0 and soft.stdout == "" and not marker_comments(github)
        assert last_line(soft).startswith("::warning title=scout-context pr::") and "not published" in last_line(soft)
        shown = run(*guarded, "--show-unsafe", env=env, cwd=pr_repo)
        assert shown.returncode == 10 and len(marker_comments(github)) == 1
    with serving(FakeVllm, served_model=GUARD_MODEL, pieces=["safe"]) as safe:
        proc = run("--engine", "openai", "--guard-url", f"http://127.0.0.1:{safe.server_port}/v1", env=env, cwd=pr_repo)
    assert proc.returncode == 0 and "Makes the shipping threshold a setting." in proc.stdout
    assert f"{GUARD_MODEL}: safe" in proc.stderr
