"""The SQLite store (sqlite-utils, WAL): content-addressed text, per-content analyses, a stat
index per source, and numbered migrations (`migrations.py`).

- `blobs`: hash -> text (chunk bodies as they go into prompts), written once, deduplicated.
- `analyses`: (content hash, options) -> what reading a file produced: its chunks (line
  ranges, body hash, exact body tokens), outline, redactions, or the reason it was skipped.
- `file_index`: (source, path) -> size, mtime, inode and content hash, so a re-pack reads
  metadata only and re-analyses just the files whose metadata changed.
- `rank_indexes`: a pack's question-independent ranking index (see `rank.py`), by a key
  of the pack's content and the ranking code; only the few most recently used are kept.
- `vectors`: the sentence vectors of chunk surfaces and questions for ranking's dense pass
  (see `pack/dense.py`), by a hash of the text and the encoder; only the most recent are kept.
- `runs` (the run log, see `tasks/run_record.py`) and `conversations` (a conversation's
  first turn, which its later turns repeat; see `tasks/conversation.py`).
"""

from __future__ import annotations

import errno
import functools
import json
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .definition import Definition
from .errors import StoreError
from .migrations import MIGRATIONS
from .pack.analysis import Analysis
from .paths import CACHE_ENV, store_path
from .sources.secrets import scrub

if TYPE_CHECKING:
    import sqlite_utils


RANK_INDEXES_KEPT = 8  # the most recently used; each under 1 MB for a 10M-token corpus
VECTORS_KEPT = 50_000  # 1.5 KB each: about 80 MB
SCREENINGS_KEPT = 400_000  # about 100 bytes each: every chunk of several corpora of sympy's size


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class IndexEntry:
    size: int
    mtime_ns: int
    inode: int
    hash: str


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """A batch answer, kept by (corpus hash, question, model, settings)."""

    answer: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    finish_reason: str
    seconds: float


def _guarded(method: Callable) -> Callable:
    """A Store method whose SQLite and OS errors come out as StoreError."""

    @functools.wraps(method)
    def guarded(self: Store, *args: Any, **kwargs: Any) -> Any:
        with _faults(self.path):
            return method(self, *args, **kwargs)

    return guarded


class Store:
    """One SQLite file; safe for several processes (WAL, busy timeout). Any SQLite or OS
    failure of the file itself comes out as StoreError: one line naming the file and what
    to do. A store that is not a database (truncated, overwritten) is moved aside and
    rebuilt when opened, with a notice on stderr saying where the old file went."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or store_path()
        with _faults(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._open()
            except sqlite3.DatabaseError as error:
                if not error.sqlite_errorname.startswith(_DAMAGED):
                    raise
                self.conn.close()
                moved = _move_aside(self.path)
                print(
                    f"warning: the store {self.path} was damaged ({error}): moved it to {moved.name} and started a new "
                    "one; cached analyses are rebuilt, earlier runs and batch answers stay in the moved file",
                    file=sys.stderr,
                )
                self._open()

    def _open(self) -> None:
        self.conn = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, isolation_level=None)
        self._use_wal()
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def _use_wal(self) -> None:
        """Switch the file to WAL (a lasting setting of the file). SQLite answers SQLITE_BUSY
        at once, without its busy handler, while another connection holds the file during the
        switch; so the switch is retried here until the same deadline the handler uses."""
        deadline = time.monotonic() + _BUSY_SECONDS
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if not error.sqlite_errorname.startswith("SQLITE_BUSY") or time.monotonic() > deadline:
                    raise
                time.sleep(0.01 + random.random() * 0.05)

    def _migrate(self) -> None:
        """Apply pending migrations in order, in one transaction. Several processes may open
        a new store at once: the pending list is read again under the write lock, so each
        migration runs once. sqlite-utils is imported only then: it pulls in numpy, too slow
        for every command's start."""
        if not self._pending():
            return
        import sqlite_utils

        db = sqlite_utils.Database(self.conn)
        with self._transaction():
            self.conn.execute("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, name TEXT)")
            for version, migration in self._pending():
                migration(db)
                self.conn.execute("INSERT INTO _migrations VALUES (?, ?)", [version, migration.__name__])

    def _pending(self) -> list[tuple[int, Callable[[sqlite_utils.Database], None]]]:
        exists = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
        ).fetchone()
        done = {row[0] for row in self.conn.execute("SELECT version FROM _migrations")} if exists else set()
        return [(v, m) for v, m in enumerate(MIGRATIONS, start=1) if v not in done]

    def _transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    @property
    @_guarded
    def schema_version(self) -> int:
        return self.conn.execute("SELECT max(version) FROM _migrations").fetchone()[0]

    # --- reads -----------------------------------------------------------------------

    @_guarded
    def index(self, source: str) -> dict[str, IndexEntry]:
        rows = self.conn.execute(
            "SELECT path, size, mtime_ns, inode, hash FROM file_index WHERE source = ?", [source]
        ).fetchall()
        return {row[0]: IndexEntry(*row[1:]) for row in rows}

    @_guarded
    def analyses(self, hashes: Iterable[str], options: str) -> dict[str, Analysis]:
        rows = self.conn.execute(
            "SELECT hash, reason, note, language, parsed_ok, outline, redactions, chunks, skipped_parts FROM analyses "
            "WHERE options = ? AND hash IN (SELECT value FROM json_each(?))",
            [options, json.dumps(list(hashes))],
        ).fetchall()
        return {
            row[0]: Analysis(
                reason=row[1],
                note=row[2],
                language=row[3],
                parsed_ok=bool(row[4]),
                outline=tuple(Definition._make(item) for item in json.loads(row[5])),
                redactions=tuple(tuple(item) for item in json.loads(row[6])),
                chunks=tuple(tuple(item) for item in json.loads(row[7])),
                skipped_parts=tuple(tuple(item) for item in json.loads(row[8])),
            )
            for row in rows
        }

    @_guarded
    def blobs(self, hashes: Iterable[str]) -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT hash, text FROM blobs WHERE hash IN (SELECT value FROM json_each(?))",
            [json.dumps(list(hashes))],
        ).fetchall()
        return dict(rows)

    @_guarded
    def batch_answers(self, corpus_hash: str, model: str, settings: str) -> dict[str, StoredAnswer]:
        """The stored batch answers over one corpus for one model and settings, by question."""
        rows = self.conn.execute(
            "SELECT question, answer, prompt_tokens, cached_tokens, completion_tokens, finish_reason, seconds "
            "FROM batch_answers WHERE corpus_hash = ? AND model = ? AND settings = ?",
            [corpus_hash, model, settings],
        ).fetchall()
        return {row[0]: StoredAnswer(*row[1:]) for row in rows}

    @_guarded
    def rank_index(self, key: str) -> bytes | None:
        """A kept ranking index; reading it marks it used, so it is the last to go."""
        row = self.conn.execute("SELECT data FROM rank_indexes WHERE key = ?", [key]).fetchone()
        if row is None:
            return None
        self.conn.execute("UPDATE rank_indexes SET used_at = ? WHERE key = ?", [_now(), key])
        return row[0]

    @_guarded
    def vectors(self, keys: Iterable[str]) -> dict[str, bytes]:
        return self._kept("vectors", "vector", keys)

    @_guarded
    def screenings(self, keys: Iterable[str]) -> dict[str, str]:
        return self._kept("screenings", "finding", keys)

    def _kept(self, table: str, column: str, keys: Iterable[str]) -> dict[str, Any]:
        """The `column` kept in `table` for those of `keys` it has (both names are ours)."""
        rows = self.conn.execute(
            f"SELECT key, {column} FROM {table} WHERE key IN (SELECT value FROM json_each(?))",
            [json.dumps(list(keys))],
        ).fetchall()
        return dict(rows)

    # --- writes ----------------------------------------------------------------------

    @_guarded
    def save_vectors(self, vectors: dict[str, bytes]) -> None:
        """Keep vectors, and only the VECTORS_KEPT kept last: one that goes is computed
        again, to the same bits, when next needed."""
        self._keep("vectors", "vector", vectors, VECTORS_KEPT)

    @_guarded
    def save_screenings(self, findings: dict[str, str]) -> None:
        """Keep screenings, and only the SCREENINGS_KEPT kept last: a text whose screening
        went is screened again when next packed."""
        self._keep("screenings", "finding", findings, SCREENINGS_KEPT)

    def _keep(self, table: str, column: str, values: Mapping[str, Any], kept: int) -> None:
        """Put `values` in `table`'s `column` (replacing a kept one: the caller computed it
        again because the kept one could not be read), then drop all but the `kept` put last."""
        with self._transaction():
            self.conn.executemany(f"INSERT OR REPLACE INTO {table} (key, {column}) VALUES (?, ?)", values.items())
            self.conn.execute(f"DELETE FROM {table} WHERE rowid <= (SELECT MAX(rowid) FROM {table}) - ?", [kept])

    @_guarded
    def save_rank_index(self, key: str, data: bytes) -> None:
        """Keep a ranking index, and only the RANK_INDEXES_KEPT most recently used."""
        with self._transaction():
            self.conn.execute("INSERT OR REPLACE INTO rank_indexes VALUES (?, ?, ?)", [key, data, _now()])
            self.conn.execute(
                "DELETE FROM rank_indexes WHERE key NOT IN "
                "(SELECT key FROM rank_indexes ORDER BY used_at DESC LIMIT ?)",
                [RANK_INDEXES_KEPT],
            )

    @_guarded
    def save_batch_answer(
        self, corpus_hash: str, model: str, settings: str, question: str, answer: StoredAnswer
    ) -> None:
        """Keep one batch answer, in its own transaction (a later crash cannot lose it)."""
        with self._transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO batch_answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    corpus_hash,
                    question,
                    model,
                    settings,
                    answer.answer,
                    answer.prompt_tokens,
                    answer.cached_tokens,
                    answer.completion_tokens,
                    answer.finish_reason,
                    answer.seconds,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ],
            )

    @_guarded
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
                        digest,
                        options,
                        a.reason,
                        a.note,
                        a.language,
                        int(a.parsed_ok),
                        json.dumps(a.outline),
                        json.dumps(a.redactions),
                        json.dumps(a.chunks),
                        json.dumps(a.skipped_parts),
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

    @_guarded
    def log_run(self, run: dict[str, Any]) -> int:
        """Record one run (a `RunRecord`'s columns); dict and list values are stored as JSON. No
        credential is stored: known keys and tokens, and every redaction shape, are scrubbed."""
        row = {
            key: json.dumps(value) if isinstance(value, (dict, list)) else value for key, value in scrub(run).items()
        }
        row.setdefault("created_at", datetime.now(UTC).isoformat(timespec="seconds"))
        columns = ", ".join(row)
        with self._transaction():
            cursor = self.conn.execute(
                f"INSERT INTO runs ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values())
            )
        assert cursor.lastrowid is not None  # an INSERT into a rowid table sets it
        return cursor.lastrowid

    @_guarded
    def runs(self, limit: int, **where: Any) -> list[dict[str, Any]]:
        """The latest runs, newest first, JSON columns decoded; `where` narrows them (see
        `_RUN_FILTERS`: model, text in the question or answer, since a UTC time, conversation)."""
        given = {name: value for name, value in where.items() if value is not None}
        filters = f"WHERE {' AND '.join(_RUN_FILTERS[name] for name in given)} " if given else ""
        if "text" in given:
            given["text"] = f"%{given['text']}%"
        cursor = self.conn.execute(
            f"SELECT * FROM runs {filters}ORDER BY id DESC LIMIT :limit", {**given, "limit": limit}
        )
        names = [column[0] for column in cursor.description]
        decoded = []
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=False))
            for key in ("sources", "citations", "usage", "timings", "guard"):
                row[key] = json.loads(row[key]) if row[key] else None
            decoded.append(row)
        return decoded

    @_guarded
    def record_guard(self, run_id: int, verdict: dict[str, Any]) -> None:
        """Keep the guard's verdict on a logged run (`--guard`), scrubbed as the run was."""
        with self._transaction():
            self.conn.execute("UPDATE runs SET guard = ? WHERE id = ?", [json.dumps(scrub(verdict)), run_id])

    @_guarded
    def save_conversation(self, columns: dict[str, Any]) -> int:
        """Record a conversation's start (a `Conversation`'s columns, lists as JSON); its id.
        Its texts are scrubbed as a run's are (the packer has redacted the corpus already)."""
        row = {key: json.dumps(value) if isinstance(value, list) else value for key, value in scrub(columns).items()}
        row["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        with self._transaction():
            cursor = self.conn.execute(
                f"INSERT INTO conversations ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    @_guarded
    def conversation(self, id: int | None = None, *, sources_key: str | None = None) -> dict[str, Any] | None:
        """The conversation `id`, or the latest over the sources of `sources_key`; None if there is none."""
        where, value = ("id = ?", id) if id is not None else ("sources_key = ?", sources_key)
        cursor = self.conn.execute(f"SELECT * FROM conversations WHERE {where} ORDER BY id DESC LIMIT 1", [value])
        row = cursor.fetchone()
        if row is None:
            return None
        found = dict(zip([column[0] for column in cursor.description], row, strict=True))
        return found | {"sources": json.loads(found["sources"])}

    def close(self) -> None:
        self.conn.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error (the connection is in autocommit
    mode). SQLite ends a transaction itself on some errors (a full disk, an I/O error):
    then there is nothing to roll back, and the error that ended it goes on unchanged."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


# The conditions `Store.runs` may narrow the runs by, each named by its parameter.
_RUN_FILTERS = {
    "model": "model = :model",
    "text": "(question LIKE :text OR answer LIKE :text)",
    "since": "created_at >= :since",
    "conversation": "conversation_id = :conversation",
}

# How long a locked store is waited for before StoreError says so.
_BUSY_SECONDS = 30

# SQLite's names for a file that is not (or no longer) a database.
_DAMAGED = ("SQLITE_NOTADB", "SQLITE_CORRUPT")


def _move_aside(path: Path) -> Path:
    """Rename a damaged store (and its WAL files) to `store.db.corrupt-<UTC time>`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    moved = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(moved.with_name(moved.name + suffix))
    path.rename(moved)
    return moved


@contextmanager
def _faults(path: Path) -> Iterator[None]:
    """SQLite and OS errors of the store's file as StoreError (one line, exit code 9)."""
    try:
        yield
    except (sqlite3.Error, OSError) as error:
        raise _store_error(path, error) from error


def _store_error(path: Path, error: sqlite3.Error | OSError) -> StoreError:
    elsewhere = f"or set {CACHE_ENV} to a writable folder on another disk"
    name = getattr(error, "sqlite_errorname", "")
    if name.startswith(_DAMAGED):
        return StoreError(
            f"the store {path} is damaged ({error}): move it aside (or delete it); it is rebuilt on the next run"
        )
    if name == "SQLITE_FULL" or getattr(error, "errno", None) == errno.ENOSPC:
        return StoreError(f"the disk holding the store {path} is full: free some space, {elsewhere}")
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")) or isinstance(
        error, PermissionError
    ):
        return StoreError(f"cannot write the store {path} ({error}): make its folder writable, {elsewhere}")
    if name.startswith("SQLITE_BUSY"):
        return StoreError(
            f"the store {path} stayed locked by another process ({error}): try again when it has finished"
        )
    return StoreError(f"cannot use the store {path} ({error}): check its disk (is it full?), {elsewhere}")
