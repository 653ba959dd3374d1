"""`scout-context serve` with the real CPU server (vLLM's OpenAI-compatible one, SmolLM2):
one server for this module, started with `serve start --detach` in its own cache folder
and stopped by the last test (or, if that failed, by the fixture)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scout_context import paths
from scout_context.engine.base import Request
from scout_context.engine.config import EngineConfig, SamplingConfig
from scout_context.engine.models import ensure_model
from scout_context.engine.registry import choose, open_engine
from scout_context.engine.server_state import ServerState, read_state, state_path, write_state
from test_cli import EXAMPLE, EXE, one_line_error
from test_engine_smollm2 import looping_prompt

pytestmark = pytest.mark.engine

QUESTIONS = ("What is FREE_SHIPPING_THRESHOLD set to in shop/config.py?", "Which function computes the shipping fee?")


@dataclass(frozen=True)
class Served:
    cache: Path
    port: int

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SCOUT_CACHE_DIR": str(self.cache), "SCOUT_API_KEY": ""}

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([EXE, *args], capture_output=True, text=True, env=self.env, timeout=timeout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def group_alive(pid: int) -> bool:
    """Whether a process of the group `pid` leads still runs (zombies aside)."""
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[2] == str(pid) and fields[0] != "Z":
            return True
    return False


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    ensure_model("smollm2")
    cache = tmp_path_factory.mktemp("serve-cache")
    (cache / "models").symlink_to(paths.models_dir())  # the converted model, not a second conversion
    server = Served(cache, free_port())
    started = server.run("serve", "start", "--detach", "--port", str(server.port), timeout=900)
    assert started.returncode == 0, started.stderr
    assert f"answers at http://127.0.0.1:{server.port}/v1" in started.stderr
    pid = json.loads((cache / "serve" / f"{server.port}.json").read_text())["pid"]
    try:
        yield server
    finally:
        if group_alive(pid):
            server.run("serve", "stop", "--port", str(server.port))
        if group_alive(pid):  # never leave a server behind
            os.killpg(pid, signal.SIGKILL)


def test_status_reports_the_server(served: Served) -> None:
    proc = served.run("serve", "status", "--json")
    assert proc.returncode == 0, proc.stderr
    (entry,) = json.loads(proc.stdout)["servers"]
    assert entry["served_model"] == "smollm2" and entry["url"] == f"http://127.0.0.1:{served.port}"
    assert entry["answering"] and entry["uptime_s"] >= 0 and group_alive(entry["pid"])
    assert entry["settings"]["enable_prefix_caching"] and entry["settings"]["dtype"] == "float32"
    assert Path(entry["log"]).is_file()
    human = served.run("serve", "status")
    assert human.returncode == 0 and f"smollm2 at http://127.0.0.1:{served.port}/v1" in human.stderr


def test_ask_uses_the_server_and_a_second_question_reuses_its_prefix(served: Served) -> None:
    results = []
    for question in QUESTIONS:
        proc = served.run("ask", str(EXAMPLE), question, "--layout", "stable", "--max-tokens", "32", "--json")
        assert proc.returncode == 0, proc.stderr
        assert f"using the local server at http://127.0.0.1:{served.port} (scout-context serve)" in proc.stderr
        results.append(json.loads(proc.stdout))
    first, second = results
    assert first["answer"].strip() and second["answer"].strip()
    assert second["usage"]["cached_tokens"] >= 1024  # the corpus before the question's tail: whole 128-token blocks
    assert 0 < second["timings"]["first_token_s"] <= second["timings"]["generate_s"]
    logged = json.loads(served.run("logs", "--json", "-n", "1").stdout)[0]
    assert logged["usage"]["cached_tokens"] == second["usage"]["cached_tokens"] and logged["engine"] == "OpenAIEngine"
    cache = json.loads(served.run("serve", "status", "--json").stdout)["servers"][0]["cache"]
    assert cache["prefix_cache_hits"] >= second["usage"]["cached_tokens"]


def test_two_asks_at_once(served: Served) -> None:
    procs = [
        subprocess.Popen(
            [EXE, "ask", str(EXAMPLE), question, "--layout", "stable", "--max-tokens", "16", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=served.env,
        )
        for question in QUESTIONS
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert "using the local server" in err and json.loads(out)["usage"]["completion_tokens"] > 0


def test_a_follow_up_is_served_from_the_prefix_cache(served: Served) -> None:
    """`ask -c` sends the first prompt whole (corpus, question, answer) before the new
    question: the server's prefix cache holds at least 90% of what the two prompts share."""
    first = served.run("ask", str(EXAMPLE), QUESTIONS[0], "--max-tokens", "24", "--json")
    assert first.returncode == 0, first.stderr
    follow = served.run("ask", str(EXAMPLE), "-c", QUESTIONS[1], "--max-tokens", "24", "--json")
    assert follow.returncode == 0, follow.stderr
    assert "using the local server" in follow.stderr
    before, after = json.loads(first.stdout), json.loads(follow.stdout)
    assert after["conversation_id"] == before["conversation_id"] and after["turn"] == 2
    shared = before["usage"]["prompt_tokens"]  # the whole first prompt starts the second
    assert after["usage"]["prompt_tokens"] > shared
    assert after["usage"]["cached_tokens"] >= 0.9 * shared, (after["usage"], shared)


def test_a_chat_session_through_stdin(served: Served) -> None:
    lines = f"{QUESTIONS[0]}\n/tokens\n{QUESTIONS[1]}\n/tokens\n/reset\n/tokens\n"
    proc = subprocess.run(
        [EXE, "chat", str(EXAMPLE), "--max-tokens", "24"],
        input=lines,
        capture_output=True,
        text=True,
        env=served.env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr  # the end of input leaves
    assert "using the local server" in proc.stderr
    answers = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(answers) >= 2, proc.stdout
    reports = [line for line in proc.stderr.splitlines() if line.startswith("last prompt:")]
    assert len(reports) == 2 and "turn 2 of conversation" in reports[1]
    cached = int(reports[1].split(" tokens, ")[1].split(" of them")[0].replace(",", ""))
    prompt = int(reports[0].split("last prompt: ")[1].split(" tokens")[0].replace(",", ""))
    assert cached >= 0.9 * prompt  # the second turn reuses the whole first prompt
    assert "the next question starts a new conversation" in proc.stderr
    assert "no question yet" in proc.stderr  # /tokens after /reset
    turns = json.loads(served.run("logs", "--json", "-n", "2").stdout)
    assert [(t["command"], t["turn"]) for t in turns] == [("chat", 1), ("chat", 2)]


def test_a_looping_answer_is_ended_by_the_server(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """`stop_repeats` reaches a vLLM server as `repetition_detection`, and its finish reason back."""
    monkeypatch.setenv("SCOUT_CACHE_DIR", str(served.cache))
    engine = open_engine(EngineConfig(backend="openai", base_url=f"http://127.0.0.1:{served.port}/v1"))
    [answer] = engine.generate([Request(looping_prompt(engine))], SamplingConfig(max_tokens=100, stop_repeats=2))
    line = answer.text.splitlines()[0]
    assert answer.finish_reason == "repetition" and answer.completion_tokens < 100
    assert len(line) > 20 and answer.text.count(line) == 1


def test_explicit_engines_are_not_redirected(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOUT_CACHE_DIR", str(served.cache))
    announced: list[str] = []
    chosen = choose(EngineConfig(backend="auto"), announced.append)
    assert (chosen.backend, chosen.base_url, chosen.model) == ("openai", f"http://127.0.0.1:{served.port}", "smollm2")
    assert announced == [f"using the local server at http://127.0.0.1:{served.port} (scout-context serve)"]
    assert choose(EngineConfig(backend="vllm")).backend == "vllm"
    assert choose(EngineConfig(backend="auto", model="tiny-llama4")).backend == "vllm"  # another model
    remote = choose(EngineConfig(backend="openai", base_url="http://gpu-box:8000/v1"))
    assert remote.base_url == "http://gpu-box:8000/v1"


def test_a_second_start_on_the_same_port_is_refused(served: Served) -> None:
    proc = served.run("serve", "start", "--detach", "--port", str(served.port))
    assert proc.returncode == 2
    assert f"already runs on port {served.port}" in one_line_error(proc)


def test_a_port_held_by_another_program_is_refused() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        proc = subprocess.run(
            [EXE, "serve", "start", "--port", str(holder.getsockname()[1])], capture_output=True, text=True, timeout=120
        )
    assert proc.returncode == 2
    assert "cannot listen on 127.0.0.1" in one_line_error(proc)
    assert not list((paths.cache_root() / "serve").glob("*.json"))  # nothing recorded


def test_listening_beyond_this_machine_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {key: value for key, value in os.environ.items() if key != "SCOUT_API_KEY"}
    proc = subprocess.run(
        [EXE, "serve", "start", "--host", "0.0.0.0"], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 2
    assert "--api-key" in one_line_error(proc)


def test_a_stale_state_is_cleared() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    for port, pid in ((free_port(), dead.pid), (free_port(), os.getpid())):  # gone, and alive but not a server
        write_state(
            ServerState(pid, port, "127.0.0.1", "smollm2", "smollm2", "2026-01-01T00:00:00+00:00", "x.log", False)
        )
        proc = subprocess.run([EXE, "serve", "status"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 3
        assert f"cleared the stale state of port {port} (pid {pid}" in proc.stderr
        assert "no scout-context server is running" in proc.stderr
        assert read_state(port) is None and not state_path(port).exists()


def test_stop_with_nothing_running_is_exit_3() -> None:
    proc = subprocess.run([EXE, "serve", "stop"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    assert one_line_error(proc) == "error: no scout-context server is running"


def test_stop_stops_the_server(served: Served) -> None:
    """Last: the module's server goes."""
    pid = json.loads((served.cache / "serve" / f"{served.port}.json").read_text())["pid"]
    proc = served.run("serve", "stop", "--port", str(served.port))
    assert proc.returncode == 0, proc.stderr
    assert f"stopped smollm2 at http://127.0.0.1:{served.port}" in proc.stderr
    deadline = time.monotonic() + 10
    while group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not group_alive(pid)
    assert not (served.cache / "serve" / f"{served.port}.json").exists()
    assert served.run("serve", "status").returncode == 3
