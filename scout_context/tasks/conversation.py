"""Conversations: follow-up questions over a corpus that stays in the engine's prefix cache.

The first turn is an `ask`: it keeps (`Conversation.start`) its user turn, the arranged
corpus with the first question, with the system turn, the layout and the Scout budget the
corpus was fitted to. Every later turn (an `ask` given the conversation) renders the system
turn, the first exchange (that user turn, byte for byte, and its answer), the follow-ups
since, and the new question: everything before the new question is the previous prompt and its answer, so the
engine's prefix cache serves it. When the turns no longer fit the context less the answer's
reserve, the oldest follow-ups are left out (never the first exchange, which holds the
corpus), and the result says how many.

Each turn is logged as a run with its conversation's id and number as soon as it ends; one
that fails on the way (`TurnLog.answer`) is logged with what was streamed, status "failed",
and the error goes on. A failed follow-up is not part of the next turn's history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from ..engine.base import Engine, Events, Generation, OnText, Request
from ..engine.chat_format import Turn
from ..engine.config import SamplingConfig
from ..errors import ContextTooLarge, UsageError
from ..pack.arrange import Layout
from ..pack.neutralize import neutralize
from ..pack.result import Arranged
from ..sources.images import ImageInput
from ..sources.spec import Checkout, Listed, Piped, SourceSpec
from ..store import Store
from .citations import check_citations
from .run_record import RunRecord

FAILED = "failed"
FIRST_ANSWER_LEFT_OUT = "(This answer is left out to fit the context.)"


@dataclass
class Conversation:
    """A conversation's start, as the store keeps it."""

    sources: list[str]
    model: str
    layout: Layout
    system: str
    corpus: str  # the first turn's user turn: the arranged corpus and the first question
    question: str
    budget: int  # the Scout tokens the corpus was fitted to
    id: int = 0

    def start(self, store: Store, specs: Sequence[SourceSpec]) -> Conversation:
        """Record it as a new conversation over `specs`; itself, with its id."""
        columns = {key: value for key, value in asdict(self).items() if key != "id"}
        self.id = store.save_conversation({**columns, "sources_key": sources_key(specs)})
        return self

    @classmethod
    def find(cls, store: Store, sources: Sequence[SourceSpec], cid: int | None = None) -> Conversation:
        """The conversation `cid`, or the latest over `sources`; UsageError (one line) when
        there is none, or when `cid` is over other sources."""
        key = sources_key(sources)
        row = store.conversation(cid, sources_key=key)
        if row is None:
            missing = f"no conversation {cid}" if cid is not None else "no conversation over these sources"
            raise UsageError(f"{missing} to continue: ask without -c to start one (scout-context logs lists them)")
        if row["sources_key"] != key:
            raise UsageError(
                f"conversation {cid} is over other sources ({' '.join(row['sources'])}): name those, or ask without -c"
            )
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    def history(self, store: Store) -> tuple[list[Turn], int]:
        """Its exchanges so far, oldest first, and the next turn's number, each text but the
        corpus (which the packer escaped) with its special-token spellings escaped as the
        corpus's are, so no question or answer can act as chat structure. The first exchange
        (the corpus) is always there, with what was streamed of its answer if it failed; a
        later turn that failed is left out (its question is asked again, or another one). An
        answer the guard did not find safe (`--guard`) is left out too, the first one's text
        with it, so that it cannot steer the answers after it."""
        earlier = sorted(RunRecord.latest(store, 1_000_000, conversation=self.id), key=lambda run: run.turn or 0)
        follow_ups = [
            Turn(neutralize(run.question), neutralize(run.answer))
            for run in earlier
            if run.turn != 1 and run.status != FAILED and not _flagged(run)
        ]
        first = neutralize(next((run.answer for run in earlier if run.turn == 1 and not _flagged(run)), ""))
        return [Turn(self.corpus, first), *follow_ups], max((run.turn or 0 for run in earlier), default=0) + 1


def _flagged(run: RunRecord) -> bool:
    """Whether the guard judged the run's answer and did not find it safe."""
    return run.guard is not None and run.guard.get("verdict") != "safe"


def sources_key(specs: Iterable[SourceSpec]) -> str:
    """What tells the same sources apart from others, in any order: a folder's or file's
    resolved path, a checkout's label (its commit), a file list's folder and names, a piped
    document's content."""
    return hashlib.sha256(json.dumps(sorted(_identity(spec) for spec in specs)).encode()).hexdigest()[:32]


def _identity(spec: SourceSpec) -> str:
    if isinstance(spec, Piped):
        return "stdin:" + hashlib.sha256(spec.data).hexdigest()
    if isinstance(spec, Listed):
        return f"list:{spec.root.resolve()}:" + hashlib.sha256("\0".join(spec.names).encode()).hexdigest()
    return spec.label if isinstance(spec, Checkout) else str(spec.resolve())


@dataclass
class TurnLog:
    """How one turn of a conversation is answered and logged (see the module's docstring)."""

    store: Store
    engine: Engine
    command: str
    conversation: Conversation
    turn: int
    question: str
    arranged: Arranged  # the corpus the citations are checked against
    prompt_tokens: int

    def answer(
        self, prompt: str, sampling: SamplingConfig, on_text: OnText | None, images: Sequence[ImageInput] = ()
    ) -> Generation:
        """The engine's answer to `prompt`, streamed to `on_text`. If it fails on the way (the
        server died, the engine broke, an interrupt), what was streamed so far is logged as
        a failed turn before the error goes on, so that what the user saw is kept."""
        parts: list[str] = []

        def collect(index: int, text: str) -> None:
            parts.append(text)
            if on_text is not None:
                on_text(index, text)

        try:
            return self.engine.generate([Request(prompt, tuple(images))], sampling, Events(on_text=collect))[0]
        except BaseException:
            self.log("".join(parts), FAILED)
            raise

    def log(self, answer: str, status: str, generation: Generation | None = None, **timings: float) -> RunRecord:
        """Log the turn (its citations checked); the record, with its id."""
        usage = {"prompt_tokens": self.prompt_tokens}
        if generation is not None:
            usage |= {"cached_tokens": generation.cached_tokens, "completion_tokens": generation.completion_tokens}
        usage["corpus_tokens_scout"] = self.arranged.tokens
        record = RunRecord.answered(
            self.command,
            self.engine,
            status,
            sources=self.conversation.sources,
            question=self.question,
            answer=answer,
            citations=check_citations(answer, self.arranged.chunks),
            usage=usage,
            timings=timings,
            conversation_id=self.conversation.id,
            turn=self.turn,
        )
        record.log(self.store)
        return record


def fit_history(engine: Engine, system: str, question: str, history: list[Turn], reserve: int) -> tuple[str, int, int]:
    """The prompt (`question` escaped as `history` is), its tokens and how many earlier
    answers and follow-ups were left out for it to fit the context less `reserve`: the
    oldest follow-ups first, then the first answer (a corpus fitted to the whole context
    leaves little room after it), never the first question with its corpus, the prefix the
    engine has cached. ContextTooLarge when even that and the question do not fit."""
    limit, question = engine.max_model_len - reserve, neutralize(question)
    first = history[:1]
    tries = [first + history[1 + n :] for n in range(len(history))]
    tries += [[Turn(first[0].user, FIRST_ANSWER_LEFT_OUT)]] if first else []
    for left_out, kept in enumerate(tries):
        prompt = engine.render_chat(system, question, history=kept)
        tokens = engine.count_tokens(prompt)
        if tokens <= limit:
            return prompt, tokens, left_out
    raise ContextTooLarge(
        f"the corpus, its first question and this question take {tokens:,} {engine.model_name} tokens, over the "
        f"{limit:,} available ({engine.max_model_len:,} of context, {reserve:,} kept for the answer): start a new conversation"
    )
