"""One run of a task (ask, pr, batch) as the run log keeps it: the task builds a `RunRecord`,
which logs itself to the store (`log`); `scout-context logs` reads the latest back (`latest`).
A turn of a conversation (`conversation`) is a run with its conversation's id and number.

The store's `runs` table has one column per field; lists and dicts are stored as JSON, and the
store scrubs every credential and redaction shape before writing (`Store.log_run`). Citations
are logged without their quotes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .citations import Citation

if TYPE_CHECKING:
    from ..engine.base import Engine
    from ..store import Store


@dataclass
class RunRecord:
    command: str  # "ask", "pr", "batch" (or the caller's name for an ask)
    engine: str  # the backend's class name
    model: str
    sources: list[str]
    question: str  # for a PR: "<base>...<head>"
    answer: str
    citations: list[Citation]
    usage: dict[str, int]  # prompt_tokens, cached_tokens, completion_tokens
    timings: dict[str, float]  # seconds by step
    status: str  # the engine's finish reason, "done", or "failed" (the answer is what was streamed)
    conversation_id: int | None = None
    turn: int | None = None  # 1 for the question that started the conversation
    guard: dict[str, Any] | None = None  # the guard's verdict (`Verdict.as_json`), with --guard
    id: int | None = None  # the store's, once logged
    created_at: str | None = None  # UTC, set by the store

    @classmethod
    def answered(
        cls,
        command: str,
        engine: Engine,
        finish_reason: str | None,
        *,
        sources: Sequence[str],
        question: str,
        answer: str,
        citations: list[Citation],
        usage: dict[str, int],
        timings: dict[str, float],
        conversation_id: int | None = None,
        turn: int | None = None,
    ) -> RunRecord:
        """The record of a run that `engine` answered."""
        return cls(
            command,
            type(engine).__name__,
            engine.model_name,
            list(sources),
            question,
            answer,
            citations,
            usage,
            timings,
            finish_reason or "done",
            conversation_id,
            turn,
        )

    def log(self, store: Store) -> int:
        """Write the record to the run log; its id, also kept in `id`."""
        self.id = store.log_run(self._columns())
        return self.id

    @classmethod
    def latest(cls, store: Store, count: int, **where: Any) -> list[RunRecord]:
        """The latest `count` runs, newest first; `where` narrows them (see `Store.runs`)."""
        return [cls._read(row) for row in store.runs(count, **where)]

    def as_json(self) -> dict[str, Any]:
        """The record as `logs --json` shows it: the table's columns, in its order."""
        return {"id": self.id, "created_at": self.created_at, **self._columns()}

    def _columns(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "engine": self.engine,
            "model": self.model,
            "sources": self.sources,
            "question": self.question,
            "answer": self.answer,
            "citations": [c.as_json(quoted=False) for c in self.citations],
            "usage": self.usage,
            "timings": self.timings,
            "status": self.status,
            "conversation_id": self.conversation_id,
            "turn": self.turn,
            "guard": self.guard,
        }

    @classmethod
    def _read(cls, row: dict[str, Any]) -> RunRecord:
        logged = [Citation(c["id"], c["source"], c["valid"], reason=c["reason"]) for c in row.pop("citations") or []]
        return cls(**row, citations=logged)
