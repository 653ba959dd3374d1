"""`batch`: many questions over packed corpora, each corpus prefilled once.

Per corpus: pack it, lay it out `stable` for every question of its jobs with one budget,
so all prompts share a byte-identical prefix (the system turn and the corpus) and differ
only in their short tails; build every prompt as that prefix's corpus text plus the
question's tail. The engine is primed with the prefix alone (one token of answer), so
its prefix cache holds the corpus before the questions run: the embedded engine gets
them in one `generate` call, a remote server as bounded concurrent requests.

Answers are kept in the store by (prefix hash, question, model, settings), each in its
own transaction as it arrives, so a rerun skips them (`cached`) and an interrupted run
loses nothing already answered. A question that fails is `failed` with its one-line
error; the others still run. The answers of `vllm run-batch` (`openai_batch.py`) are
stored exactly as a run would store them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from ..chunk import Chunk
from ..engine.base import Engine, Events, Generation, Request
from ..engine.config import EngineConfig, SamplingConfig
from ..errors import ScoutError, UnsafeAnswer, UsageError
from ..guard.check import judged
from ..guard.llama_guard import Verdict
from ..pack.arrange import arrange
from ..pack.pipeline import pack
from ..pack.result import Arranged, biggest_consumers
from ..sources.remote import Remote, fetch
from ..sources.spec import Checkout, described
from ..store import Store, StoredAnswer
from ..tokens import scout_tokenizer
from .ask import system_prompt
from .citations import Citation, check_citations
from .jobs import Corpus, Job, JobFile
from .prompting import fit_prompt
from .run_record import RunRecord

Status = Literal["done", "cached", "failed"]
Progress = Callable[[float, str], None]
"""Called with (questions finished, a fraction for those under way; what is happening)."""

_UNDER_WAY = 0.9  # a question still being written counts at most this much


@dataclass
class Answered:
    """One question of a job, answered now, earlier, or not at all."""

    title: str
    question: str
    status: Status
    answer: str = ""
    citations: list[Citation] = field(default_factory=list)
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""
    seconds: float = 0.0
    error: str = ""
    exit_code: int = 0
    run_id: int | None = None
    """The run logged for an answer written now (not one from an earlier run)."""
    verdict: Verdict | None = None
    """Llama Guard's, with `batch --guard` (`guard_answers`)."""
    withheld: bool = False
    """Not found safe by the guard, and left out of the reports (no --show-unsafe)."""


Deliver = Callable[[str, "Generation | Answered"], None]
"""Takes a question's outcome as it arrives: its generation, or `failed`."""


@dataclass
class JobReport:
    job: Job
    model: str
    corpus_tokens: int
    """The corpus in Scout tokens, as laid out (after fitting)."""
    prefix_tokens: int
    """The prompt prefix every question of the corpus shares, in the engine's tokens."""
    questions: list[Answered]


@dataclass
class BatchResult:
    jobs: list[JobReport]
    seconds: float

    @property
    def exit_code(self) -> int:
        """0 when every question is done or cached and the guard, if asked, found every answer
        safe; else the first failure's exit code, or UnsafeAnswer's."""
        questions = [q for job in self.jobs for q in job.questions]
        failed = next((q.exit_code for q in questions if q.status == "failed"), 0)
        unsafe = any(q.verdict is not None and not q.verdict.safe for q in questions)
        return failed or (UnsafeAnswer.exit_code if unsafe else 0)


GUARD_QUESTION = "Answer a question about these sources."
"""The user turn the guard reads each answer under: the task only. A job file's questions are
a stranger's text, so none of it reaches the guard's request."""


def answered(result: BatchResult) -> list[Answered]:
    """The questions of `result` that have an answer (done now or earlier)."""
    return [q for job in result.jobs for q in job.questions if q.status != "failed"]


def guard_answers(
    result: BatchResult, guard: EngineConfig, show_unsafe: bool, announce: Callable[[str], None] | None = None
) -> None:
    """Llama Guard's verdict (on the engine `guard` configures) on every answer of `result`
    (each distinct answer judged once, in one call), kept on it; one not found safe is
    `withheld` from the reports unless `show_unsafe`."""
    texts = list(dict.fromkeys(q.answer for q in answered(result)))
    verdicts = dict(zip(texts, judged(guard, [(GUARD_QUESTION, text) for text in texts], announce), strict=True))
    for q in answered(result):
        q.verdict = verdicts[q.answer]
        q.withheld = not q.verdict.safe and not show_unsafe


@dataclass(frozen=True)
class Prepared:
    """A corpus laid out for its questions: the shared prefix and each question's prompt."""

    hash: str
    """sha256 of the rendered prefix (system turn, corpus): what the answers depend on besides the question."""
    system: str
    corpus_text: str
    tails: dict[str, str]
    prefix: str
    prefix_tokens: int
    corpus_tokens: int
    chunks: list[Chunk]
    sources: list[str]

    def user(self, question: str) -> str:
        return self.corpus_text + self.tails[question]


def run_batch(
    job_file: JobFile,
    *,
    engine: Engine,
    store: Store,
    force: bool = False,
    imported: dict[str, Generation | str] | None = None,
    ignore: Sequence[Path] = (),
    progress: Progress | None = None,
) -> BatchResult:
    """Answer every job of `job_file`. Stored answers are reused unless `force`. With
    `imported` (custom id -> generation or error, from `read_openai_batch`), answers come
    from there instead of the engine, which then only counts tokens. `ignore`: files
    besides the job file and the reports that are never packed."""
    started = time.perf_counter()
    tracker = _Tracker(progress)
    reports: dict[str, JobReport] = {}
    settings = settings_key(job_file)
    for name, jobs in job_file.corpus_jobs().items():
        questions = list(dict.fromkeys(q.text for job in jobs for q in job.questions))
        tracker.note(f"packing {name}")
        try:
            prepared = prepare(job_file.corpora[name], questions, engine, store, job_file, ignore)
        except ScoutError as error:
            failed = _failed(error)
            for job in jobs:
                answered = [replace(failed, title=q.title, question=q.text) for q in job.questions]
                reports[job.name] = JobReport(job, engine.model_name, 0, 0, answered)
            tracker.finish(sum(len(job.questions) for job in jobs))
            continue
        stored = {} if force else store.batch_answers(prepared.hash, engine.model_name, settings)
        answers = {q: _answered(q, stored[q], "cached", prepared.chunks) for q in questions if q in stored}
        tracker.finish(sum(1 for job in jobs for q in job.questions if q.text in answers))
        pending = [q for q in questions if q not in answers]
        counts = {q: sum(1 for job in jobs for item in job.questions if item.text == q) for q in pending}

        def deliver(question: str, outcome: Generation | Answered) -> None:
            """Keep one question's outcome as it arrives: a generation is stored at once."""
            if isinstance(outcome, Generation):
                run_id = _keep(store, prepared, question, outcome, engine, settings)  # noqa: B023 - called within this iteration only
                done = _answered(question, _stored(outcome), "done", prepared.chunks)  # noqa: B023 - called within this iteration only
                answers[question] = replace(done, run_id=run_id)  # noqa: B023 - called within this iteration only
            else:
                answers[question] = replace(outcome, question=question)  # noqa: B023 - called within this iteration only
            tracker.finish(counts[question], question)  # noqa: B023 - called within this iteration only

        if imported is not None:
            _imported(prepared, pending, engine.model_name, settings, imported, deliver)
        else:
            tracker.note(f"{name}: prefilling {prepared.prefix_tokens:,} tokens, then {len(pending)} questions")
            _generated(prepared, pending, engine, job_file, tracker, counts, deliver)
        for job in jobs:
            answered = [replace(answers[q.text], title=q.title) for q in job.questions]
            reports[job.name] = JobReport(
                job, engine.model_name, prepared.corpus_tokens, prepared.prefix_tokens, answered
            )
    return BatchResult([reports[job.name] for job in job_file.jobs], round(time.perf_counter() - started, 3))


def prepare(
    corpus: Corpus,
    questions: Sequence[str],
    engine: Engine,
    store: Store,
    job_file: JobFile,
    ignore: Sequence[Path] = (),
) -> Prepared:
    """Pack `corpus` and lay it out for `questions` with one budget, so that every prompt
    (corpus text, then the question's tail) fits the engine's context less the answer's
    reserve. The corpus text is taken from the first question's layout: the `stable`
    layout keeps it the same for all, and taking it once makes the prefix byte-identical
    by construction. The job file, its reports and `ignore` are never packed. Raises
    ContextTooLarge when no budget fits."""
    ignore_files = [job_file.path, *job_file.outputs, *ignore]
    specs = [Checkout(*fetch(source)) if isinstance(source, Remote) else source for source in corpus.sources]
    packed = pack(specs, corpus.options, store=store, ignore_files=ignore_files)
    system = system_prompt(job_file.answer_language, system=job_file.system)
    count = scout_tokenizer().count

    def longest(room: int) -> tuple[list[Arranged], str, int]:
        """Every question's layout, and the longest user turn (the corpus, the longest tail)."""
        arranged = [arrange(packed, question=q, layout="stable", budget=max(room, 1), store=store) for q in questions]
        user = replace(arranged[0], tail="").text + max((a.tail for a in arranged), key=count)
        return arranged, user, max(a.tokens for a in arranged)

    arranged = fit_prompt(
        engine,
        system,
        longest,
        job_file.sampling.max_tokens,
        budget=corpus.budget,
        explain=lambda overflow: (
            f"{overflow.over(f'corpus {corpus.name}: the longest prompt')}; {biggest_consumers(packed)}"
        ),
    ).built
    first = arranged[0]
    corpus_text = replace(first, tail="").text
    sample = engine.render_chat(system, corpus_text + first.tail)
    prefix = sample[: sample.rindex(first.tail)]
    return Prepared(
        hash=hashlib.sha256(prefix.encode()).hexdigest(),
        system=system,
        corpus_text=corpus_text,
        tails={q: a.tail for q, a in zip(questions, arranged, strict=False)},
        prefix=prefix,
        prefix_tokens=engine.count_tokens(prefix),
        corpus_tokens=first.tokens - count(first.tail),
        chunks=first.chunks,
        sources=[described(spec) for spec in specs],
    )


def settings_key(job_file: JobFile) -> str:
    """What besides the prompt and the model changes an answer, as canonical JSON."""
    return json.dumps(dataclasses.asdict(job_file.sampling), sort_keys=True)


def request_id(prepared: Prepared, question: str, model: str, settings: str) -> str:
    """The custom id of a question's request in an OpenAI batch file."""
    return hashlib.sha256(json.dumps([prepared.hash, question, model, settings]).encode()).hexdigest()[:32]


# --- running ------------------------------------------------------------------------


def _generated(
    prepared: Prepared,
    pending: list[str],
    engine: Engine,
    job_file: JobFile,
    tracker: _Tracker,
    counts: dict[str, int],
    deliver: Deliver,
) -> None:
    """Each answer to `deliver` as it finishes: prime the prefix, then the embedded engine
    gets every question in one call and a remote server `concurrency` requests at a time.
    When the engine fails, the questions it had not answered fail with it."""
    if not pending:
        return
    sampling = job_file.sampling
    requests = [Request(engine.render_chat(prepared.system, prepared.user(q))) for q in pending]
    delivered: set[str] = set()

    def keep(question: str, outcome: Generation | Answered) -> None:
        deliver(question, outcome)
        delivered.add(question)  # only once kept: a question whose keeping failed fails below

    try:
        if len(pending) > 1:
            engine.generate([Request(prepared.prefix)], replace(sampling, max_tokens=1))
        if engine.concurrent_calls is None:
            _concurrent(pending, requests, engine, sampling, job_file.concurrency, tracker, counts, keep)
        else:
            writing = tracker.writing(sampling, pending, counts)
            events = Events(on_text=writing, on_done=lambda i, generation: keep(pending[i], generation))
            engine.generate(requests, sampling, events)
    except Exception as error:  # noqa: BLE001 - the engine failed: what it had not answered fails with it
        failed = _failed(error)
        for question in pending:
            if question not in delivered:
                deliver(question, failed)


def _concurrent(
    pending: list[str],
    requests: list[Request],
    engine: Engine,
    sampling: SamplingConfig,
    width: int,
    tracker: _Tracker,
    counts: dict[str, int],
    deliver: Deliver,
) -> None:
    """Each request on its own, `width` in flight; each outcome to `deliver` as it
    finishes (in the calling thread, which alone writes to the store)."""
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="scout-batch")
    try:
        futures: dict[Future, str] = {
            pool.submit(
                engine.generate, [request], sampling, Events(on_text=tracker.writing(sampling, [question], counts))
            ): question
            for question, request in zip(pending, requests, strict=False)
        }
        for future in as_completed(futures):
            try:
                outcome: Generation | Answered = future.result()[0]
            except Exception as error:  # noqa: BLE001 - one failed request fails its question, not the batch
                outcome = _failed(error)
            deliver(futures[future], outcome)
    finally:  # on Ctrl-C, do not start what is still queued
        pool.shutdown(wait=False, cancel_futures=True)


def _imported(
    prepared: Prepared,
    pending: list[str],
    model: str,
    settings: str,
    imported: dict[str, Generation | str],
    deliver: Deliver,
) -> None:
    for question in pending:
        missing = "no result for it in the imported batch (changed since the export?)"
        outcome = imported.get(request_id(prepared, question, model, settings), missing)
        deliver(question, outcome if isinstance(outcome, Generation) else _failed(UsageError(outcome)))


def _keep(
    store: Store, prepared: Prepared, question: str, generation: Generation, engine: Engine, settings: str
) -> int:
    """Store the answer (its own transaction) and log the run; the run's id."""
    stored = _stored(generation)
    store.save_batch_answer(prepared.hash, engine.model_name, settings, question, stored)
    used = {
        "prompt_tokens": stored.prompt_tokens,
        "cached_tokens": stored.cached_tokens,
        "completion_tokens": stored.completion_tokens,
    }
    return RunRecord.answered(
        "batch",
        engine,
        generation.finish_reason,
        sources=prepared.sources,
        question=question,
        answer=generation.text,
        citations=check_citations(generation.text, prepared.chunks),
        usage=used,
        timings={"generate_s": stored.seconds},
    ).log(store)


def _stored(generation: Generation) -> StoredAnswer:
    return StoredAnswer(
        generation.text,
        generation.prompt_tokens,
        generation.cached_tokens,
        generation.completion_tokens,
        generation.finish_reason,
        round(generation.total_s, 3),
    )


def _answered(question: str, stored: StoredAnswer, status: Status, chunks: list[Chunk]) -> Answered:
    return Answered(
        title=question,
        question=question,
        status=status,
        answer=stored.answer,
        citations=check_citations(stored.answer, chunks),
        prompt_tokens=stored.prompt_tokens,
        cached_tokens=stored.cached_tokens,
        completion_tokens=stored.completion_tokens,
        finish_reason=stored.finish_reason,
        seconds=stored.seconds,
    )


def _failed(error: BaseException) -> Answered:
    if isinstance(error, ScoutError):
        message, code = str(error), error.exit_code
    else:
        message, code = f"{type(error).__name__}: {error}", 1
    return Answered("", "", "failed", error=" ".join(message.split()), exit_code=code)


class _Tracker:
    """Progress in questions: finished ones count 1 each, those being written the share of
    their answer's tokens written so far (at most `_UNDER_WAY`), so the estimate of time
    left moves while one long engine call runs."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.finished = 0.0
        self.under_way: dict[str, float] = {}
        self.status = ""

    def note(self, status: str) -> None:
        self.status = status
        self._report()

    def finish(self, count: int, question: str = "") -> None:
        """`count` more questions finished (`question`, when it is one that was under way)."""
        self.finished += count
        if question:
            self.under_way.pop(question, None)
            self.status = f"answered: {question[:60]}"
        self._report()

    def writing(
        self, sampling: SamplingConfig, questions: list[str], weights: dict[str, int]
    ) -> Callable[[int, str], None]:
        """An `on_text` for a `generate` over `questions`: each streamed piece is one token,
        near enough; a question asked by several jobs weighs as many questions."""
        seen = dict.fromkeys(range(len(questions)), 0)

        def on_text(index: int, _text: str) -> None:
            seen[index] += 1
            question = questions[index]
            self.under_way[question] = min(seen[index] / sampling.max_tokens, _UNDER_WAY) * weights[question]
            self._report()

        return on_text

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.finished + sum(self.under_way.values()), self.status)
