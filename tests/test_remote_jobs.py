"""Remote repositories in `batch` job files' corpora and in `serve start SOURCE...`: real git
over file:// (a local bare repository, as in test_remote_sources.py)."""

from __future__ import annotations

import pytest

from fake_vllm import KEY, SCOUT
from scout_context.pack.options import PackOptions
from scout_context.store import Store
from scout_context.tasks.batch import run_batch
from scout_context.tasks.jobs import JobFileError, load_job_file
from scout_context_cli.serve import _prime
from scout_context_cli.sources import resolve_sources
from test_batch import FakeEngine
from test_conversation import completions
from test_remote_sources import cli, head, one_line, server  # noqa: F401 (server: a fixture)

JOBS = "corpora:\n  repo:\n    sources: ['{source}']\njobs:\n  - {{name: j, corpus: repo, questions: ['What does app.py print?'], output: r.md}}\n"


def test_a_job_files_corpus_may_be_a_remote_repository_with_allow_outside(server, tmp_path) -> None:  # noqa: F811
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(JOBS.format(source=f"file://{server}/org/repo.git"))
    with pytest.raises(
        JobFileError,
        match=r"jobs.yaml:3: corpora.repo.sources: file://.* is a remote repository: run `scout-context batch --allow-outside`",
    ):
        load_job_file(jobs)
    engine, store = FakeEngine(), Store()
    try:
        result = run_batch(load_job_file(jobs, allow_outside=True), engine=engine, store=store)
    finally:
        store.close()
    prompts = [prompt for batch, _ in engine.calls for prompt in batch]
    assert prompts and all(f'source="org/repo@{head(server)[:7]}"' in p and "print('app')" in p for p in prompts)
    assert result.exit_code == 0 and [q.status for q in result.jobs[0].questions] == ["done"]


def test_serve_start_primes_a_remote_repository(server, vllm_server) -> None:  # noqa: F811
    specs = resolve_sources([f"file://{server}/org/repo.git"])
    vllm_server.requests.clear()
    _prime(f"http://127.0.0.1:{vllm_server.server_port}/v1", SCOUT, KEY, specs, PackOptions(), None)
    (primed,) = completions(vllm_server)
    assert f'source="org/repo@{head(server)[:7]}"' in primed and "print('app')" in primed
    # A remote that cannot be read stops the command before any server starts: one line, exit 2.
    assert "no branch or tag nope" in one_line(cli("serve", "start", f"file://{server}/org/repo.git#nope"))
