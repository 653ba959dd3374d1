"""The one way a file's analysis is had and turned into chunks, for `pack` and for a pull
request's snapshot alike: analyses are looked up in the store by content hash (the
caller does that, with what it knows), what is new is analysed here (over worker
processes when there is enough of it) and saved by the caller, chunk bodies are read
from the store, and each analysis becomes chunks with ids unique in their prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager

from ..chunk import Chunk
from ..store import Store
from ..tokens import scout_tokenizer
from ..workers import in_parallel, worker_map
from .analysis import Analysis
from .analyze import analyze
from .options import PackOptions
from .render import document_tokens


def analyse_new(
    jobs: Mapping[str, tuple[bytes, str]],
    options: PackOptions,
    done: Callable[[str], None] = lambda digest: None,
    *,
    in_workers: bool = True,
) -> tuple[dict[str, Analysis], dict[str, str]]:
    """The analysis of each job (content hash -> (bytes, path)) by hash, in the jobs'
    order, and the chunk bodies they produced (hash -> body); `done(hash)` after each.
    `in_workers=False` keeps it in this process (never forks)."""
    analyses: dict[str, Analysis] = {}
    bodies: dict[str, str] = {}
    total = sum(len(data) for data, _ in jobs.values()) if in_workers else 0
    with _analysis_map(total) as run:
        results = run(_analyze_job, [(data, rel, options) for data, rel in jobs.values()])
        for digest, (analysis, found) in zip(jobs, results, strict=False):
            analyses[digest] = analysis
            bodies.update(found)
            done(digest)
    return analyses, bodies


def chunk_bodies(store: Store, analyses: Iterable[Analysis], new_bodies: Mapping[str, str]) -> dict[str, str]:
    """Every body the analyses' chunks need (hash -> body): the new ones, the rest from the store."""
    needed = {chunk[2] for analysis in analyses for chunk in analysis.chunks} - new_bodies.keys()
    return {**store.blobs(needed), **new_bodies}


def file_chunks(
    analysis: Analysis, shown: str, prefix: str, source: str, bodies: Mapping[str, str], seen: set[str]
) -> Iterator[tuple[Chunk, str]]:
    """Each chunk of the file `shown` (in a prompt whose sources sit under `prefix`) from
    `source`, with its body's hash; ids are kept unique across `seen`."""
    for start, end, digest, tokens, label in analysis.chunks:
        chunk_id = _unique(_chunk_id(shown, prefix, label, start, end), seen)
        body = bodies[digest]
        yield Chunk(chunk_id, source, shown, start, end, body, document_tokens(chunk_id, shown, body, tokens)), digest


def located(shown: str, prefix: str, where: str) -> str:
    """Where in a file a redaction or skipped part is: `src/a.py:12`, `report.pdf#p4`,
    else the part's own id (a chat chunk's), under `prefix`."""
    return shown + where if where[:1] in ":#" else prefix + where


def _chunk_id(shown: str, prefix: str, label: str, start: int, end: int) -> str:
    """`path:10-80` for text, `report.pdf#p12` for a page, the export's own id for a chat
    chunk (`slack:#general@...`, prefixed by the source's name when there are several)."""
    if not label:
        return f"{shown}:{start}-{end}"
    return located(shown, prefix, label)


def _unique(chunk_id: str, seen: set[str]) -> str:
    """Ids stay unique in a prompt: a repeat (two exports of the same channel) gets `~2`, `~3`."""
    unique, n = chunk_id, 2
    while unique in seen:
        unique, n = f"{chunk_id}~{n}", n + 1
    seen.add(unique)
    return unique


@contextmanager
def _analysis_map(total_bytes: int) -> Iterator[Callable]:
    """`workers.worker_map` for analysis jobs, the tokenizer loaded first so that forked
    workers share it."""
    if in_parallel(total_bytes):
        scout_tokenizer()
    with worker_map(total_bytes) as run:
        yield run


def _analyze_job(job: tuple[bytes, str, PackOptions]) -> tuple[Analysis, dict[str, str]]:
    return analyze(*job)
