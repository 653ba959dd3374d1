"""The store's schema as numbered migrations, each registered by `@migration` in the order
written. A migration runs once per store, in order, inside the store's write lock
(`Store._migrate` records it in `_migrations`); a new one goes at the end of this file and
never edits an earlier one, which stores in use have already run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

Migration = Callable[["sqlite_utils.Database"], None]
MIGRATIONS: list[Migration] = []


def migration(function: Migration) -> Migration:
    MIGRATIONS.append(function)
    return function


@migration
def _m001_initial(db: sqlite_utils.Database) -> None:
    db.table("blobs").create({"hash": str, "text": str}, pk="hash")
    db.table("analyses").create(
        {
            "hash": str,
            "options": str,
            "reason": str,
            "note": str,
            "language": str,
            "parsed_ok": int,
            "outline": str,
            "redactions": str,
            "chunks": str,
        },
        pk=("hash", "options"),
    )
    db.table("file_index").create(
        {"source": str, "path": str, "size": int, "mtime_ns": int, "inode": int, "hash": str},
        pk=("source", "path"),
    )


@migration
def _m002_runs(db: sqlite_utils.Database) -> None:
    db.table("runs").create(
        {
            "id": int,
            "created_at": str,
            "command": str,
            "engine": str,
            "model": str,
            "sources": str,
            "question": str,
            "answer": str,
            "citations": str,
            "usage": str,
            "timings": str,
            "status": str,
        },
        pk="id",
    )
    db.table("runs").create_index(["created_at"])


@migration
def _m003_skipped_parts(db: sqlite_utils.Database) -> None:
    db.table("analyses").add_column("skipped_parts", str, not_null_default="[]")


@migration
def _m004_batch_answers(db: sqlite_utils.Database) -> None:
    db.table("batch_answers").create(
        {
            "corpus_hash": str,
            "question": str,
            "model": str,
            "settings": str,
            "answer": str,
            "prompt_tokens": int,
            "cached_tokens": int,
            "completion_tokens": int,
            "finish_reason": str,
            "seconds": float,
            "created_at": str,
        },
        pk=("corpus_hash", "question", "model", "settings"),
    )


@migration
def _m005_rank_indexes(db: sqlite_utils.Database) -> None:
    db.table("rank_indexes").create({"key": str, "data": bytes, "used_at": str}, pk="key")


@migration
def _m006_conversations(db: sqlite_utils.Database) -> None:
    """A conversation keeps its first turn's user text (the arranged corpus and the first
    question) so that every later turn's prompt starts with it, byte for byte; each run is
    one turn of at most one conversation."""
    db.table("conversations").create(
        {
            "id": int,
            "created_at": str,
            "sources_key": str,
            "sources": str,
            "model": str,
            "layout": str,
            "system": str,
            "corpus": str,
            "question": str,
            "budget": int,
        },
        pk="id",
    )
    db.table("conversations").create_index(["sources_key", "model"])
    db.table("runs").add_column("conversation_id", int)
    db.table("runs").add_column("turn", int)
    db.table("runs").create_index(["conversation_id", "turn"])


@migration
def _m007_run_guard(db: sqlite_utils.Database) -> None:
    """A run's guard verdict (`--guard`: Llama Guard's status, categories and text), as JSON."""
    db.table("runs").add_column("guard", str)


@migration
def _m008_vectors(db: sqlite_utils.Database) -> None:
    """Sentence vectors of chunk surfaces and questions (`pack/dense.py`), by a hash of the
    text and the encoder, so that each is embedded once per store."""
    db.table("vectors").create({"key": str, "vector": bytes}, pk="key")


@migration
def _m009_screenings(db: sqlite_utils.Database) -> None:
    """What a screener found in a chunk's text (`screen/kept.py`), by a hash of the text and
    the screener, so that a text is screened once per store: a finding as JSON, or "" for
    none."""
    db.table("screenings").create({"key": str, "finding": str}, pk="key")
