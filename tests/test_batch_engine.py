"""`batch` on the real CPU engine (SmolLM2 in embedded vLLM): three questions over one
corpus of a few thousand tokens share its prefix in vLLM's cache, and a rerun generates
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scout_context.engine.config import EngineConfig
from scout_context.engine.models import ensure_model
from scout_context.engine.vllm_local import VllmEngine
from scout_context.store import Store
from scout_context.tasks.batch import run_batch
from scout_context.tasks.jobs import load_job_file
from test_batch_corpus import build

pytestmark = pytest.mark.engine

QUESTIONS = [
    "What is OSLO_CAPACITY set to?",
    "What does restock_berlin return?",
    "When does a MadridItem need a reorder?",
]


class Counting:
    """The engine, counting its `generate` calls."""

    def __init__(self, engine: VllmEngine) -> None:
        self.engine = engine
        self.calls = 0

    def __getattr__(self, name: str):
        return getattr(self.engine, name)

    def generate(self, *args, **kwargs):
        self.calls += 1
        return self.engine.generate(*args, **kwargs)


@pytest.fixture(scope="module")
def model_path() -> Path:
    return ensure_model("smollm2")


@pytest.fixture(scope="module")
def engine(model_path: Path) -> Iterator[VllmEngine]:
    engine = VllmEngine(EngineConfig(model=str(model_path)))
    yield engine
    engine.close()


def test_questions_reuse_the_prefilled_corpus_and_a_rerun_generates_nothing(
    tmp_path: Path, engine: VllmEngine, model_path: Path
) -> None:
    build(tmp_path / "depot")
    questions = "".join(f"      - {q}\n" for q in QUESTIONS)
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        f"engine:\n  model: {model_path}\n  max_tokens: 24\n"
        f"corpora:\n  depot:\n    sources: [depot]\n"
        f"jobs:\n  - name: depot\n    corpus: depot\n    questions:\n{questions}    output: depot.md\n"
    )
    job_file = load_job_file(jobs)
    counting = Counting(engine)
    store = Store()
    try:
        [report] = run_batch(job_file, engine=counting, store=store).jobs
        assert counting.calls == 2  # the prefix, then the three questions in one call
        assert [q.status for q in report.questions] == ["done"] * 3
        assert report.prefix_tokens > 3000  # many 128-token blocks
        for q in report.questions:
            assert q.prompt_tokens > report.prefix_tokens and q.completion_tokens > 0 and q.answer
        for q in report.questions[1:]:
            assert q.cached_tokens >= 0.9 * report.prefix_tokens, (q.cached_tokens, report.prefix_tokens)

        counting.calls = 0
        [rerun] = run_batch(job_file, engine=counting, store=store).jobs
        assert counting.calls == 0
        assert [q.status for q in rerun.questions] == ["cached"] * 3
        assert [q.answer for q in rerun.questions] == [q.answer for q in report.questions]
        assert [q.cached_tokens for q in rerun.questions] == [q.cached_tokens for q in report.questions]
    finally:
        store.close()
