"""The SQLite store (sqlite-utils, WAL): content-addressed text, per-content analyses, a stat
index per source, and numbered migrations.

- `blobs`: hash -> text (chunk bodies as they go into prompts), written once, deduplicated.
- `analyses`: (content hash, options) -> what reading a file produced: its chunks (line
  ranges, body hash, exact body tokens), outline, redactions, or the reason it was skipped.
- `file_index`: (source, path) -> size, mtime, inode and content hash, so a re-pack reads
  metadata only and re-analyses just the files whose metadata changed.
- `rank_indexes`: a pack's question-independent ranking index (see `rank.py`), by a key
  of the pack's content and the ranking code; only the few most recently used are kept.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .paths import store_path
from .sources.secrets import scrub

if TYPE_CHECKING:
    import sqlite_utils


def _m001_initial(db: sqlite_utils.Database) -> None:
    db["blobs"].create({"hash": str, "text": str}, pk="hash")
    db["analyses"].create(
        {
            "hash": str, "options": str, "reason": str, "note": str, "language": str,
            "parsed_ok": int, "outline": str, "redactions": str, "chunks": str,
        },
        pk=("hash", "options"),
    )
    db["file_index"].create(
        {"source": str, "path": str, "size": int, "mtime_ns": int, "inode": int, "hash": str},
        pk=("source", "path"),
    )


def _m002_runs(db: sqlite_utils.Database) -> None:
    db["runs"].create(
        {
            "id": int, "created_at": str, "command": str, "engine": str, "model": str,
            "sources": str, "question": str, "answer": str, "citations": str, "usage": str,
            "timings": str, "status": str,
        },
        pk="id",
    )
    db["runs"].create_index(["created_at"])


def _m003_skipped_parts(db: sqlite_utils.Database) -> None:
    db["analyses"].add_column("skipped_parts", str, not_null_default="[]")


def _m004_batch_answers(db: sqlite_utils.Database) -> None:
    db["batch_answers"].create(
        {
            "corpus_hash": str, "question": str, "model": str, "settings": str, "answer": str,
            "prompt_tokens": int, "cached_tokens": int, "completion_tokens": int, "finish_reason": str,
            "seconds": float, "created_at": str,
        },
        pk=("corpus_hash", "question", "model", "settings"),
    )


def _m005_rank_indexes(db: sqlite_utils.Database) -> None:
    db["rank_indexes"].create({"key": str, "data": bytes, "used_at": str}, pk="key")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _m001_initial, _m002_runs, _m003_skipped_parts, _m004_batch_answers, _m005_rank_indexes,
]
RANK_INDEXES_KEPT = 8  # the most recently used; each under 1 MB for a 10M-token corpus


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class IndexEntry:
    size: int
    mtime_ns: int
    inode: int
    hash: str


@dataclass(frozen=True, slots=True)
class Analysis:
    """What a file's content produced under one set of options."""

    reason: str = ""                                   # non-empty: skipped, e.g. "binary (NUL bytes)"
    note: str = ""                                     # e.g. a lossy decode
    language: str = ""
    parsed_ok: bool = True
    outline: tuple[tuple, ...] = ()                    # (kind, name, start_line, end_line, signature, doc)
    redactions: tuple[tuple[str, str], ...] = ()       # (where: ":12" for a line, "#p4" for a page, kind)
    chunks: tuple[tuple[int, int, str, int, str], ...] = ()  # (start, end, body hash, render.body_tokens, label)
    skipped_parts: tuple[tuple[str, str], ...] = ()    # (where, reason): pages without text, broken pages


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """A batch answer, kept by (corpus hash, question, model, settings)."""

    answer: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    finish_reason: str
    seconds: float


class Store:
    """One SQLite file; safe for several processes (WAL, busy timeout)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or store_path()
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        """Apply pending migrations in order, each in its own transaction. sqlite-utils is
        imported only then: it pulls in numpy, too slow for every command's start."""
        self.conn.execute("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, name TEXT)")
        done = {row[0] for row in self.conn.execute("SELECT version FROM _migrations")}
        pending = [(v, m) for v, m in enumerate(MIGRATIONS, start=1) if v not in done]
        if not pending:
            return
        import sqlite_utils

        db = sqlite_utils.Database(self.conn)
        for version, migration in pending:
            with self._transaction():
                migration(db)
                self.conn.execute("INSERT INTO _migrations VALUES (?, ?)", [version, migration.__name__])

    def _transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    @property
    def schema_version(self) -> int:
        return self.conn.execute("SELECT max(version) FROM _migrations").fetchone()[0]

    # --- reads -----------------------------------------------------------------------

    def index(self, source: str) -> dict[str, IndexEntry]:
        rows = self.conn.execute(
            "SELECT path, size, mtime_ns, inode, hash FROM file_index WHERE source = ?", [source]
        ).fetchall()
        return {row[0]: IndexEntry(*row[1:]) for row in rows}

    def analyses(self, hashes: Iterable[str], options: str) -> dict[str, Analysis]:
        rows = self.conn.execute(
            "SELECT hash, reason, note, language, parsed_ok, outline, redactions, chunks, skipped_parts FROM analyses "
            "WHERE options = ? AND hash IN (SELECT value FROM json_each(?))",
            [options, json.dumps(list(hashes))],
        ).fetchall()
        return {
            row[0]: Analysis(
                reason=row[1], note=row[2], language=row[3], parsed_ok=bool(row[4]),
                outline=tuple(tuple(item) for item in json.loads(row[5])),
                redactions=tuple(tuple(item) for item in json.loads(row[6])),
                chunks=tuple(tuple(item) for item in json.loads(row[7])),
                skipped_parts=tuple(tuple(item) for item in json.loads(row[8])),
            )
            for row in rows
        }

    def blobs(self, hashes: Iterable[str]) -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT hash, text FROM blobs WHERE hash IN (SELECT value FROM json_each(?))",
            [json.dumps(list(hashes))],
        ).fetchall()
        return dict(rows)

    def batch_answers(self, corpus_hash: str, model: str, settings: str) -> dict[str, StoredAnswer]:
        """The stored batch answers over one corpus for one model and settings, by question."""
        rows = self.conn.execute(
            "SELECT question, answer, prompt_tokens, cached_tokens, completion_tokens, finish_reason, seconds "
            "FROM batch_answers WHERE corpus_hash = ? AND model = ? AND settings = ?",
            [corpus_hash, model, settings],
        ).fetchall()
        return {row[0]: StoredAnswer(*row[1:]) for row in rows}

    def rank_index(self, key: str) -> bytes | None:
        """A kept ranking index; reading it marks it used, so it is the last to go."""
        row = self.conn.execute("SELECT data FROM rank_indexes WHERE key = ?", [key]).fetchone()
        if row is None:
            return None
        self.conn.execute("UPDATE rank_indexes SET used_at = ? WHERE key = ?", [_now(), key])
        return row[0]

    # --- writes ----------------------------------------------------------------------

    def save_rank_index(self, key: str, data: bytes) -> None:
        """Keep a ranking index, and only the RANK_INDEXES_KEPT most recently used."""
        with self._transaction():
            self.conn.execute("INSERT OR REPLACE INTO rank_indexes VALUES (?, ?, ?)", [key, data, _now()])
            self.conn.execute(
                "DELETE FROM rank_indexes WHERE key NOT IN "
                "(SELECT key FROM rank_indexes ORDER BY used_at DESC LIMIT ?)", [RANK_INDEXES_KEPT],
            )

    def save_batch_answer(self, corpus_hash: str, model: str, settings: str, question: str, answer: StoredAnswer) -> None:
        """Keep one batch answer, in its own transaction (a later crash cannot lose it)."""
        with self._transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO batch_answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    corpus_hash, question, model, settings, answer.answer, answer.prompt_tokens, answer.cached_tokens,
                    answer.completion_tokens, answer.finish_reason, answer.seconds,
                    datetime.now(timezone.utc).isoformat(timespec="seconds"),
                ],
            )

    def save(
        self,
        source: str,
        index: dict[str, IndexEntry],
        analyses: dict[str, Analysis],
        options: str,
        blobs: dict[str, str],
        forget: Iterable[str] = (),
    ) -> None:
        """Record one pack's new results in a single transaction (all or nothing)."""
        with self._transaction():
            self.conn.executemany("INSERT OR IGNORE INTO blobs VALUES (?, ?)", blobs.items())
            self.conn.executemany(
                "INSERT OR REPLACE INTO analyses (hash, options, reason, note, language, parsed_ok, outline, "
                "redactions, chunks, skipped_parts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        digest, options, a.reason, a.note, a.language, int(a.parsed_ok), json.dumps(a.outline),
                        json.dumps(a.redactions), json.dumps(a.chunks), json.dumps(a.skipped_parts),
                    )
                    for digest, a in analyses.items()
                ],
            )
            self.conn.executemany(
                "INSERT OR REPLACE INTO file_index VALUES (?, ?, ?, ?, ?, ?)",
                [(source, path, e.size, e.mtime_ns, e.inode, e.hash) for path, e in index.items()],
            )
            self.conn.executemany(
                "DELETE FROM file_index WHERE source = ? AND path = ?", [(source, path) for path in forget]
            )

    def log_run(self, run: dict[str, Any]) -> int:
        """Record one run (ask, pr, batch); dict and list values are stored as JSON. No
        credential is stored: known keys and tokens, and every redaction shape, are scrubbed."""
        row = {key: json.dumps(value) if isinstance(value, (dict, list)) else value for key, value in scrub(run).items()}
        row.setdefault("created_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        columns = ", ".join(row)
        with self._transaction():
            cursor = self.conn.execute(
                f"INSERT INTO runs ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values())
            )
        return cursor.lastrowid

    def runs(self, limit: int) -> list[dict[str, Any]]:
        """The latest runs, newest first, JSON columns decoded."""
        cursor = self.conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit])
        names = [column[0] for column in cursor.description]
        decoded = []
        for values in cursor.fetchall():
            row = dict(zip(names, values))
            for key in ("sources", "citations", "usage", "timings"):
                row[key] = json.loads(row[key]) if row[key] else None
            decoded.append(row)
        return decoded

    def close(self) -> None:
        self.conn.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error (the connection is in autocommit mode)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, traceback) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")
