"""`batch` without a real engine: job files, prefix sharing, the store, failures, reports,
OpenAI batch files, and the command over a local server that speaks vLLM's API."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bench.engine_bench import common_prefix
from fake_vllm import KEY, SCOUT
from helpers import write
from scout_context.engine.base import Events, Generation, Request
from scout_context.engine.chat_format import Turn, llama4_chat
from scout_context.engine.config import SamplingConfig
from scout_context.errors import EngineUnreachable, StoreError, UsageError
from scout_context.store import Store
from scout_context.tasks.batch import run_batch
from scout_context.tasks.jobs import EXAMPLE, JobFileError, load_job_file, template_questions
from scout_context.tasks.openai_batch import OPENAI_BATCH_URL, export_openai_batch, read_openai_batch
from scout_context.tasks.report_html import html
from scout_context.tasks.reports import job_json, markdown, summary_json, write_reports
from scout_context.tokens import scout_tokenizer
from scout_context_cli.batch import batch_command

ROOT = Path(__file__).resolve().parents[1]
BLOCK = 16


class FakeEngine:
    """Llama 4 format, Scout counts, and a prefix cache of BLOCK-token blocks over what it
    has seen; answers cite the config file. `fail_on` makes a prompt raise; `concurrent_calls`
    None serves calls from several threads at once, as a server does."""

    model_name = "fake"
    max_model_len = 8192
    multimodal = False
    max_images = 0
    is_llama4 = True

    def __init__(self, fail_on: str = "", delay: float = 0.0, concurrent_calls: int | None = 1) -> None:
        self.calls: list[tuple[list[str], SamplingConfig]] = []
        self.seen: list[list[int]] = []
        self.fail_on, self.delay, self.concurrent_calls = fail_on, delay, concurrent_calls
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()

    def image_tokens(self, images) -> int:
        return 0

    def render_chat(self, system: str, user: str, assistant: str = "", history: Sequence[Turn] = ()) -> str:
        return llama4_chat(system, user, assistant, history)

    def count_tokens(self, text: str) -> int:
        return scout_tokenizer().count(text)

    def generate(
        self, requests: Sequence[Request], sampling: SamplingConfig, events: Events | None = None
    ) -> list[Generation]:
        events = events or Events()
        prompts = [request.prompt for request in requests]
        with self.lock:
            self.calls.append((list(prompts), sampling))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            generations = []
            for i, prompt in enumerate(prompts):  # in order, as one engine call: a failure ends it
                generations.append(self._one(i, prompt, events.on_text))
                events.done(i, generations[-1])
            return generations
        finally:
            with self.lock:
                self.in_flight -= 1

    def _one(self, index: int, prompt: str, on_text) -> Generation:
        if self.fail_on and self.fail_on in prompt:
            raise EngineUnreachable("the engine at http://gpu:8000 failed (HTTP 500): boom")
        ids = scout_tokenizer().encode(prompt)
        common = max((common_prefix(ids, seen) for seen in self.seen), default=0)
        self.seen.append(ids)
        if on_text:
            on_text(index, "See ")
        text = 'See [shop/config.py:1-6 "FREE_SHIPPING_THRESHOLD"] and [nowhere.py:1].'
        return Generation(text, len(ids), common // BLOCK * BLOCK, 9, "stop", 0.01, 0.02)

    def close(self) -> None:
        pass


def job_yaml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "jobs.yaml"
    path.write_text(body, encoding="utf-8")
    return path


# The corpus is the repository's example shop, outside tmp_path: load with allow_outside.
SHOP_JOBS = f"""\
engine:
  max_tokens: 64
corpora:
  shop:
    sources: [{ROOT / "examples" / "tiny-shop"}]
jobs:
  - name: facts
    corpus: shop
    questions:
      - What is FREE_SHIPPING_THRESHOLD?
      - Which HTTP routes exist?
      - How is tax applied?
    output: out/facts.md
  - name: again
    corpus: shop
    questions:
      - What is FREE_SHIPPING_THRESHOLD?
    output: out/again.json
"""

REMOTE = "engine:\n  engine: openai\n  base_url: http://127.0.0.1:9\n  concurrency: 2\n"


@pytest.fixture
def store():
    opened = Store()
    yield opened
    opened.close()


# --- job files ----------------------------------------------------------------------


def test_the_example_and_the_init_template_are_valid(tmp_path: Path) -> None:
    example = load_job_file(ROOT / "examples" / "jobs.yaml")
    assert [job.format for job in example.jobs] == ["markdown", "html", "json"]
    assert len(example.jobs[1].questions) == 5 and example.jobs[1].title.startswith("Architecture summary")
    write(tmp_path, {"jobs.yaml": EXAMPLE, "app.py": "x = 1\n"})
    init = load_job_file(tmp_path / "jobs.yaml")
    assert init.corpora["repo"].sources == (tmp_path / ".",)
    assert init.jobs[1].output == tmp_path / "reports" / "security.html"
    assert "handling of user input" in init.jobs[1].questions[0].text


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("corpora: {}\njobs: []\n", 1, "name at least one corpus"),
        (
            "corpora:\n  a:\n    sources: [.]\njobs:\n  - name: x\n    corpus: b\n    questions: [q]\n",
            6,
            "no corpus 'b' (known: a)",
        ),
        ("corpora:\n  a:\n    sources: [.]\n    exclud: [x]\njobs: []\n", 4, "unknown key 'exclud'"),
        ("corpora:\n  a:\n    sources: [missing]\njobs: []\n", 3, "no such file or folder: missing"),
        (
            "corpora:\n  a:\n    sources: [.]\njobs:\n  - name: x\n    corpus: a\n",
            5,
            "give either questions or a template",
        ),
        (
            "corpora:\n  a:\n    sources: [.]\njobs:\n  - name: x\n    corpus: a\n    template: nope\n",
            7,
            "no template 'nope' (shipped: architecture-summary, security-review",
        ),
        (
            "corpora:\n  a:\n    sources: [.]\njobs:\n  - name: x\n    corpus: a\n    template: security-review\n",
            7,
            "needs the variable(s) focus",
        ),
        (
            "corpora:\n  a:\n    sources: [.]\njobs:\n  - name: x\n    corpus: a\n    template: security-review\n    variables: {focus: a, extra: b}\n",
            8,
            "has no variable(s) extra",
        ),
        (
            "corpora:\n  a:\n    sources: [.]\njobs:\n  - name: x\n    corpus: a\n    questions: [q]\n    format: pdf\n",
            8,
            "expected markdown or json or html",
        ),
        ("engine:\n  max_tokens: many\ncorpora:\n  a:\n    sources: [.]\njobs: []\n", 2, "expected a whole number"),
        (
            "engine:\n  max_tokens: 64\n  stop_repeats: 1\ncorpora:\n  a:\n    sources: [.]\njobs: []\n",
            3,
            "engine.stop_repeats: expected 0 (never) or a count of at least 2, not 1",
        ),
        ("corpora:\n  a:\n    sources: [.]\n  a:\n    sources: [.]\njobs: []\n", 4, "'a' is given twice"),
        (
            "corpora:\n  a:\n    sources: [.]\n    exclude: [reports/]\njobs:\n  - name: x\n    corpus: a\n    questions: [q]\n  - name: x\n    corpus: a\n    questions: [q]\n",
            9,
            "the name 'x' is used twice",
        ),
        ("corpora:\n  a: [b\n", 3, "not valid YAML"),
    ],
)
def test_mistakes_name_the_file_and_line(tmp_path: Path, body: str, line: int, message: str) -> None:
    path = job_yaml(tmp_path, body)
    with pytest.raises(JobFileError) as caught:
        load_job_file(path)
    assert str(caught.value).startswith(f"{path}:{line}: ") and message in str(caught.value)
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)


def test_a_template_is_a_title_and_one_question_per_section() -> None:
    text = "# Review of {thing}\n\nContext about {thing}.\n\n## First\nAsk one.\n\n## Second\nAsk two.\n"
    title, questions = template_questions(text, {"thing": "X"}, "t")
    assert title == "Review of X"
    assert [(q.title, q.text) for q in questions] == [
        ("First", "Context about X.\n\nAsk one."),
        ("Second", "Context about X.\n\nAsk two."),
    ]
    assert (
        template_questions("One long instruction about {x}.", {"x": "Y"}, "t")[1][0].text
        == "One long instruction about Y."
    )


# --- running ------------------------------------------------------------------------


def test_questions_share_the_prefix_and_a_rerun_generates_nothing(tmp_path: Path, store: Store) -> None:
    job_file = load_job_file(job_yaml(tmp_path, SHOP_JOBS), allow_outside=True)
    engine = FakeEngine()
    result = run_batch(job_file, engine=engine, store=store)
    (prime, primed), (prompts, sampling) = engine.calls  # the prefix once, then all questions in one call
    assert primed.max_tokens == 1 and sampling.max_tokens == 64 and len(prompts) == 3  # asked twice, generated once
    assert all(prompt.startswith(prime[0]) for prompt in prompts)
    facts, again = result.jobs
    assert [q.status for q in facts.questions + again.questions] == ["done"] * 4
    assert facts.prefix_tokens == engine.count_tokens(prime[0]) > 900
    for q in facts.questions:
        assert q.cached_tokens >= facts.prefix_tokens // BLOCK * BLOCK
        assert [c.valid for c in q.citations] == [True, False]
    assert again.questions[0].answer == facts.questions[0].answer
    assert result.exit_code == 0

    engine.calls.clear()
    rerun = run_batch(job_file, engine=engine, store=store)
    assert engine.calls == []
    assert [q.status for q in rerun.jobs[0].questions] == ["cached"] * 3
    assert rerun.jobs[0].questions[1].prompt_tokens == facts.questions[1].prompt_tokens

    forced = run_batch(job_file, engine=engine, store=store, force=True)
    assert [q.status for q in forced.jobs[0].questions] == ["done"] * 3 and len(engine.calls) == 2
    assert store.runs(10)[0]["command"] == "batch"


def test_a_failed_question_does_not_stop_the_others(tmp_path: Path, store: Store) -> None:
    body = SHOP_JOBS.replace("engine:\n", REMOTE)
    job_file = load_job_file(job_yaml(tmp_path, body), allow_outside=True)
    engine = FakeEngine(fail_on="Which HTTP routes", delay=0.2, concurrent_calls=None)
    result = run_batch(job_file, engine=engine, store=store)
    statuses = [q.status for q in result.jobs[0].questions]
    assert statuses == ["done", "failed", "done"]
    failed = result.jobs[0].questions[1]
    assert failed.error == "the engine at http://gpu:8000 failed (HTTP 500): boom" and result.exit_code == 3
    assert engine.most_in_flight == 2  # one request per question, two at a time
    retried = run_batch(job_file, engine=FakeEngine(), store=store)
    assert [q.status for q in retried.jobs[0].questions] == ["cached", "done", "cached"]


def test_answers_are_kept_as_they_finish_when_the_engine_fails_later_in_the_same_call(
    tmp_path: Path, store: Store
) -> None:
    job_file = load_job_file(job_yaml(tmp_path, SHOP_JOBS), allow_outside=True)  # embedded: one call for all questions
    engine = FakeEngine(fail_on="Which HTTP routes")  # the second of three
    result = run_batch(job_file, engine=engine, store=store)
    assert len(engine.calls) == 2 and len(engine.calls[1][0]) == 3
    assert [q.status for q in result.jobs[0].questions] == ["done", "failed", "failed"]
    retried = run_batch(job_file, engine=FakeEngine(), store=store)
    assert [q.status for q in retried.jobs[0].questions] == ["cached", "done", "done"]  # the first was stored


def test_an_answer_that_cannot_be_stored_fails_its_question_with_a_reason(tmp_path: Path, store: Store) -> None:
    job_file = load_job_file(job_yaml(tmp_path, SHOP_JOBS), allow_outside=True)
    store.conn.execute("PRAGMA busy_timeout = 200")  # wait 0.2 s for another writer, not 30
    other = sqlite3.connect(store.path, isolation_level=None)  # a second process's connection

    class Locking(FakeEngine):
        """Another writer holds the database while the second and third questions run."""

        def _one(self, index: int, prompt: str, on_text) -> Generation:
            held = "HTTP routes" in prompt or "tax applied" in prompt
            if held and not other.in_transaction:
                other.execute("BEGIN EXCLUSIVE")
            elif not held and other.in_transaction:
                other.execute("ROLLBACK")
            return super()._one(index, prompt, on_text)

    try:
        result = run_batch(job_file, engine=Locking(), store=store)
    finally:
        other.close()
    first, second, third = result.jobs[0].questions
    assert (first.status, second.status, third.status) == ("done", "failed", "failed")
    assert second.error == third.error and result.exit_code == StoreError.exit_code
    assert second.error.startswith(f"the store {store.path} stayed locked by another process (database is locked)")
    assert [q.status for q in result.jobs[1].questions] == ["done"]  # the lock gone, answers are stored again


def test_a_corpus_that_cannot_fit_fails_its_jobs_only(tmp_path: Path, store: Store) -> None:
    body = (
        SHOP_JOBS
        + """\
  - name: tight
    corpus: tiny
    questions: ["Anything?"]
""".replace("corpora:\n", "")
    )
    body = body.replace(
        "corpora:\n", f"corpora:\n  tiny:\n    sources: [{ROOT / 'examples' / 'tiny-shop'}]\n    budget: 5\n"
    )
    result = run_batch(load_job_file(job_yaml(tmp_path, body), allow_outside=True), engine=FakeEngine(), store=store)
    assert [q.status for q in result.jobs[0].questions] == ["done"] * 3
    [tight] = result.jobs[2].questions
    assert tight.status == "failed" and tight.exit_code == 4 and "holds none of the documents" in tight.error


# --- reports ------------------------------------------------------------------------


def test_reports_in_three_formats(tmp_path: Path, store: Store) -> None:
    body = SHOP_JOBS.replace("out/again.json", "out/again.html").replace("engine:\n", REMOTE)
    job_file = load_job_file(job_yaml(tmp_path, body), allow_outside=True)
    result = run_batch(job_file, engine=FakeEngine(fail_on="How is tax", concurrent_calls=None), store=store)
    write_reports(result)
    text = (tmp_path / "out" / "facts.md").read_text()
    assert "## Contents" in text and "1. [What is FREE_SHIPPING_THRESHOLD?](#q1)" in text and '<a id="q3"></a>' in text
    assert (
        '- ✓ `shop/config.py:1-6` "FREE_SHIPPING_THRESHOLD"' in text and "✗ `nowhere.py:1` — no such document" in text
    )
    assert "**Failed:** the engine at http://gpu:8000 failed" in text and "from the prefix cache" in text
    page = (tmp_path / "out" / "again.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and page.count("<g><title>") == 1
    assert not any(marker in page for marker in ("<script", "<link", " src=", "http://", "https://", "@import"))
    summary = summary_json(result)
    assert summary["totals"] == {**summary["totals"], "done": 3, "failed": 1} and summary["exit_code"] == 3
    assert job_json(result.jobs[0])["questions"][0].keys() >= {"status", "prompt_tokens", "cached_tokens", "citations"}
    assert markdown(result.jobs[0]) == text and html(result.jobs[1]) == page


# --- OpenAI batch files -------------------------------------------------------------


def test_export_then_import_gives_the_same_reports(tmp_path: Path, store: Store) -> None:
    job_file = load_job_file(job_yaml(tmp_path, SHOP_JOBS), allow_outside=True)
    exported = tmp_path / "requests.jsonl"
    assert export_openai_batch(job_file, engine=FakeEngine(), store=store, output=exported) == 3
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert {line["url"] for line in lines} == {OPENAI_BATCH_URL}
    assert [m["role"] for m in lines[0]["body"]["messages"]] == ["system", "user"]
    assert lines[0]["body"]["messages"][1]["content"].startswith('<directory_tree source="tiny-shop"')
    run_batch_module = pytest.importorskip("vllm.entrypoints.launchers.run_batch")
    for line in lines:  # what `vllm run-batch` reads
        run_batch_module.BatchRequestInput.model_validate(line)

    results = tmp_path / "results.jsonl"
    results.write_text(run_batch_outputs(lines[:2]) + run_batch_error(lines[2]))
    engine = FakeEngine()
    result = run_batch(job_file, engine=engine, store=store, imported=read_openai_batch(results))
    assert engine.calls == []
    facts = result.jobs[0].questions
    assert [q.status for q in facts] == ["done", "done", "failed"]
    assert (facts[0].answer, facts[0].prompt_tokens, facts[0].cached_tokens) == (
        "Answer 0 [shop/config.py:1-6]",
        1500,
        1408,
    )
    assert facts[0].citations[0].valid
    assert facts[2].error == "the batch request failed: out of KV cache" and result.exit_code == 2
    assert export_openai_batch(job_file, engine=FakeEngine(), store=store, output=exported) == 1  # only what is left
    results.write_text(run_batch_outputs(lines[:1]))
    assert run_batch(job_file, engine=engine, store=store, imported=read_openai_batch(results)).jobs[0].questions[
        2
    ].error == ("no result for it in the imported batch (changed since the export?)")


def run_batch_outputs(requests: list[dict]) -> str:
    """Output lines as `vllm run-batch` writes them, built with vLLM's own classes."""
    from vllm.entrypoints.launchers.run_batch import BatchRequestOutput, BatchResponseData
    from vllm.entrypoints.openai.chat_completion.protocol import (
        ChatCompletionResponse,
        ChatCompletionResponseChoice,
        ChatMessage,
    )
    from vllm.entrypoints.serve.engine.protocol import PromptTokenUsageInfo, UsageInfo

    lines = []
    for i, request in enumerate(requests):
        usage = UsageInfo(
            prompt_tokens=1500,
            completion_tokens=7,
            total_tokens=1507,
            prompt_tokens_details=PromptTokenUsageInfo(cached_tokens=1408),
        )
        message = ChatMessage(role="assistant", content=f"Answer {i} [shop/config.py:1-6]")
        body = ChatCompletionResponse(
            model="fake", choices=[ChatCompletionResponseChoice(index=0, message=message)], usage=usage
        )
        output = BatchRequestOutput(
            id=f"vllm-{i}",
            custom_id=request["custom_id"],
            response=BatchResponseData(request_id=f"r{i}", body=body),
            error=None,
        )
        lines.append(output.model_dump_json() + "\n")
    return "".join(lines)


def run_batch_error(request: dict) -> str:
    from vllm.entrypoints.launchers.run_batch import BatchRequestOutput, BatchResponseData

    response = BatchResponseData(status_code=400, request_id="r-error")
    return (
        BatchRequestOutput(
            id="vllm-e", custom_id=request["custom_id"], response=response, error="out of KV cache"
        ).model_dump_json()
        + "\n"
    )


def test_a_results_file_that_is_not_one_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(
        '{"custom_id": "a", "response": {"status_code": 500, "body": {"error": {"message": "bad\\nrequest"}}}}\nnot json\n'
    )
    with pytest.raises(UsageError, match=r"results.jsonl:2: not an OpenAI batch result"):
        read_openai_batch(path)
    path.write_text(
        '{"custom_id": "a", "response": {"status_code": 500, "body": {"error": {"message": "bad\\nrequest"}}}}\n'
    )
    assert read_openai_batch(path) == {"a": "the batch request failed: bad request"}


# --- the command --------------------------------------------------------------------


def command_app() -> typer.Typer:
    app = typer.Typer()
    app.command()(batch_command)
    return app


def test_init_writes_a_valid_example_and_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(command_app(), ["--init"]).exit_code == 0
    assert (tmp_path / "jobs.yaml").read_text() == EXAMPLE
    again = runner.invoke(command_app(), ["--init"])
    assert isinstance(again.exception, UsageError) and "exists already" in str(again.exception)


def test_the_command_against_a_server_prints_one_json_object(tmp_path: Path, vllm_server, monkeypatch) -> None:
    monkeypatch.setenv("SCOUT_API_KEY", KEY)
    body = SHOP_JOBS.replace(
        "engine:\n",
        f"engine:\n  engine: openai\n  base_url: http://127.0.0.1:{vllm_server.server_port}/v1\n  model: {SCOUT}\n",
    )
    jobs = job_yaml(tmp_path, body)
    runner = CliRunner()
    first = runner.invoke(command_app(), [str(jobs), "--json", "--allow-outside"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    questions = summary["jobs"][0]["questions"]
    assert [q["status"] for q in questions] == ["done"] * 3
    assert (questions[0]["prompt_tokens"], questions[0]["cached_tokens"]) == (1234, 1152)  # the server's usage
    assert questions[0]["answer"] == "The value is 42."
    assert (tmp_path / "out" / "facts.md").is_file() and json.loads((tmp_path / "out" / "again.json").read_text())[
        "name"
    ] == "again"
    prime = [body for path, body in vllm_server.requests if path == "/v1/completions" and body["max_tokens"] == 1]
    assert len(prime) == 1 and all(b["prompt"].startswith(prime[0]["prompt"]) for p, b in vllm_server.requests[-3:])
    second = runner.invoke(command_app(), [str(jobs), "--json", "--allow-outside"])
    assert [q["status"] for q in json.loads(second.stdout)["jobs"][0]["questions"]] == ["cached"] * 3


def test_an_invalid_job_file_is_exit_2_with_one_line(tmp_path: Path) -> None:
    from test_cli import cli, one_line_error

    path = job_yaml(
        tmp_path, "corpora:\n  a:\n    sources: [.]\njobs:\n  - name: x\n    corpus: b\n    questions: [q]\n"
    )
    proc = cli("batch", str(path))
    assert proc.returncode == 2
    assert f"{path}:6: jobs[0] (x).corpus: no corpus 'b' (known: a)" in one_line_error(proc)
