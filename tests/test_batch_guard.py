"""`batch --guard`: every answer judged by Llama Guard once all are written, one not found
safe withheld from every report format unless --show-unsafe, exit 10 after the reports; a
guard that cannot run writes no report and loses no answer. `batch` runs as a real
subprocess against the stand-in vLLM server (`fake_vllm`) answering and a second one
standing in for the guard (`unsafe\\nS7`, or `safe`); the store is real SQLite."""

from __future__ import annotations

import json
import os
import subprocess
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from fake_vllm import KEY, PIECES, FakeVllm
from helpers import serving, write
from scout_context.guard.llama_guard import GUARD_MODEL, guard_prompt
from scout_context.tasks.batch import GUARD_QUESTION
from test_cli import EXE
from test_guard import WITHHELD_S7

ANSWER = "".join(PIECES)
QUESTIONS = ["What is TIMEOUT?", "Where is TIMEOUT read?"]


@pytest.fixture
def jobs(tmp_path: Path) -> Path:
    """Three jobs, one per report format, asking the same two questions of one corpus."""
    write(tmp_path / "src", {"settings.py": "TIMEOUT = 5\n"})
    body = "corpora:\n  code:\n    sources: [src]\njobs:\n" + "".join(
        f"  - name: {fmt}\n    corpus: code\n    questions: {json.dumps(QUESTIONS)}\n    output: reports/r.{suffix}\n"
        for fmt, suffix in (("markdown", "md"), ("json", "json"), ("html", "html"))
    )
    (tmp_path / "jobs.yaml").write_text(body)
    return tmp_path / "jobs.yaml"


def batch(
    answering: ThreadingHTTPServer, guard_port: int | None, jobs: Path, *args: str
) -> subprocess.CompletedProcess:
    """`batch` answered by the stand-in server `answering`, checked by the one at `guard_port`
    (None: as `args` say)."""
    engine = f"engine:\n  engine: openai\n  base_url: http://127.0.0.1:{answering.server_port}/v1\n  max_tokens: 32\n"
    jobs.write_text(engine + "corpora:" + jobs.read_text().split("corpora:", 1)[1])
    return subprocess.run(
        [
            EXE,
            "batch",
            str(jobs),
            *([] if guard_port is None else ["--guard-url", f"http://127.0.0.1:{guard_port}/v1"]),
            *args,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SCOUT_API_KEY": KEY},
        cwd=jobs.parent,
        timeout=180,
    )


def reports(jobs: Path) -> tuple[str, dict, str]:
    folder = jobs.parent / "reports"
    return (folder / "r.md").read_text(), json.loads((folder / "r.json").read_text()), (folder / "r.html").read_text()


def completions(server: ThreadingHTTPServer) -> list[dict]:
    return [body for path, body in server.requests if path == "/v1/completions"]


def test_an_unsafe_answer_is_withheld_from_every_report_and_batch_exits_10(vllm_server, jobs: Path) -> None:
    with serving(FakeVllm, served_model=GUARD_MODEL, pieces=["unsafe", "\nS7"]) as guard:
        proc = batch(vllm_server, guard.server_port, jobs)
        judged = completions(guard)
    assert proc.returncode == 10, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("S7 Privacy") == 6  # 3 jobs, 2 questions each
    # each distinct answer judged once, under a fixed request: no text of the job file's
    assert [body["prompt"] for body in judged] == [guard_prompt(GUARD_QUESTION, ANSWER)]
    assert not any(q in judged[0]["prompt"] for q in QUESTIONS) and judged[0]["temperature"] == 0.0
    logged = json.loads(subprocess.run([EXE, "logs", "--json", "-n", "2"], capture_output=True, text=True).stdout)
    assert [run["guard"]["verdict"] for run in logged] == ["unsafe", "unsafe"]  # kept with each run, as ask's
    markdown, data, html = reports(jobs)
    for text in (markdown, html):
        assert ANSWER not in text and "(withheld)" in text
        assert f"Withheld: {GUARD_MODEL} did not find this answer safe (unsafe: S7 Privacy)" in text
    first = data["questions"][0]
    assert first["answer"] is None and first["citations"] == []
    assert first["guard"] == WITHHELD_S7


def test_show_unsafe_writes_the_answers_with_the_verdict_and_keeps_the_exit_code(vllm_server, jobs: Path) -> None:
    with serving(FakeVllm, served_model=GUARD_MODEL, pieces=["unsafe", "\nS7"]) as guard:
        proc = batch(vllm_server, guard.server_port, jobs, "--show-unsafe", "--json")
    assert proc.returncode == 10, proc.stderr
    markdown, data, html = reports(jobs)
    assert ANSWER in markdown and f"Not found safe by {GUARD_MODEL} (unsafe: S7 Privacy)" in markdown
    assert ANSWER in html and "(withheld)" not in html
    assert data["questions"][0]["answer"] == ANSWER and data["questions"][0]["guard"]["withheld"] is False
    summary = json.loads(proc.stdout)
    assert summary["totals"]["not_found_safe"] == 6 and summary["exit_code"] == 10


def test_safe_answers_are_written_with_the_check_and_exit_0(vllm_server, jobs: Path) -> None:
    with serving(FakeVllm, served_model=GUARD_MODEL, pieces=["safe"]) as guard:
        proc = batch(vllm_server, guard.server_port, jobs)
    assert proc.returncode == 0, proc.stderr
    markdown, data, _ = reports(jobs)
    assert ANSWER in markdown and f"Checked by {GUARD_MODEL}: safe." in markdown
    assert data["questions"][1]["guard"]["verdict"] == "safe" and data["questions"][1]["answer"] == ANSWER


def test_a_guard_that_cannot_run_writes_no_report_and_the_answers_wait_for_the_next_run(jobs: Path) -> None:
    with serving(FakeVllm) as gone:
        port = gone.server_port
    with serving(FakeVllm) as answering:
        proc = batch(answering, port, jobs)
        assert proc.returncode == 3, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert not (jobs.parent / "reports").exists()
        asked = len(completions(answering))
        with serving(FakeVllm, served_model=GUARD_MODEL, pieces=["safe"]) as guard:
            again = batch(answering, guard.server_port, jobs)
        assert again.returncode == 0, again.stderr
        assert len(completions(answering)) == asked, "the stored answers were judged, not asked again"
    assert ANSWER in reports(jobs)[0]


def test_with_no_answer_to_judge_the_guard_does_not_start(jobs: Path, tmp_path: Path) -> None:
    """Every question failed (the server dies mid-answer): the failure's exit code and
    reports, not the guard's (an embedded guard model that is not there would exit 7)."""
    jobs.write_text(jobs.read_text().replace("What is TIMEOUT?", "DIES_MIDWAY 1").replace("Where is", "DIES_MIDWAY"))
    with serving(FakeVllm) as answering:
        proc = batch(answering, None, jobs, "--guard-model", str(tmp_path / "no-guard-here"))
    assert proc.returncode == 3, proc.stderr
    assert "(failed)" in reports(jobs)[0] and "guard" not in proc.stderr.lower()
