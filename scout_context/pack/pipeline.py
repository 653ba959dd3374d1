"""`pack`: sources -> chunks with exact counts, through the cache.

Stages: open each named path as a source and list its files (`pack.collect`), reuse what
the store knows about each file (stat index, then content hash), analyse only what is new
(`pack.cached`), render and count (`pack.render`), save what was learnt in one transaction,
then screen the chunks for prompt injection when asked (`screen.apply`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import UsageError
from ..screen.apply import screen_pack
from ..screen.choose import screener
from ..sources.files import FileEntry, Skipped, display_path
from ..sources.spec import SourceSpec, local_path, source_labels
from ..store import IndexEntry, Store
from .analysis import Analysis
from .analyze import content_hash
from .cached import analyse_new, chunk_bodies, file_chunks, located
from .collect import Source, open_source
from .options import PackOptions
from .result import PackResult, SourceSummary, header, total_tokens

Progress = Callable[[int, int, str], None]
"""Called as (files done, files total, current path)."""


def pack(
    paths: Sequence[SourceSpec],
    options: PackOptions,
    *,
    store: Store,
    progress: Progress | None = None,
    ignore_files: Sequence[Path] = (),
) -> PackResult:
    """Pack `paths` (folders, files, lists, stdin: see `sources.spec`). Raises UsageError
    for a path that does not exist and ContextTooLarge when the result exceeds `options.budget`."""
    missing = [str(p) for p in map(local_path, paths) if p is not None and not os.path.lexists(p)]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    labels = source_labels(paths)
    ignored = {os.path.realpath(p) for p in ignore_files}
    sources = [open_source(spec, options) for spec in paths]
    kept = [[f for f in source.files if f.abspath not in ignored] for source in sources]
    total = sum(map(len, kept))
    result = PackResult(header="", chunks=[], tokens=0, files=[], file_tokens={})
    done = 0
    seen_ids: set[str] = set()
    content = hashlib.sha256(options.analysis_key.encode())
    for source, label, files in zip(sources, labels, kept, strict=False):
        prefix = f"{label}/" if len(paths) > 1 else ""

        def shown_as(path: str) -> str:
            """A file named on the command line is its label; a folder's files sit under it."""
            return label if source.named else prefix + path  # noqa: B023 - used within this iteration only

        def tick(rel: str) -> None:
            nonlocal done
            done += 1
            if progress:
                progress(done, total, rel)

        per_file, bodies = _analyse_source(source, files, options, store, result, tick)
        source_tokens = files_packed = 0
        for entry in sorted(files, key=lambda f: _order_key(f.rel)):
            analysis = per_file.get(entry.rel)
            if analysis is None:
                continue
            shown = shown_as(entry.shown)
            if analysis.reason:
                result.skipped.append(Skipped(shown, analysis.reason))
                continue
            tokens = 0
            for chunk, digest in file_chunks(analysis, shown, prefix, label, bodies, seen_ids):
                result.chunks.append(chunk)
                content.update(f"{chunk.id}\0{shown}\0{digest}\n".encode())
                tokens += chunk.tokens
            result.files.append(shown)
            result.file_tokens[shown] = tokens
            result.file_labels[shown] = label
            result.outlines[shown] = analysis.outline
            files_packed += 1
            source_tokens += tokens
            result.redactions.extend((located(shown, prefix, where), kind) for where, kind in analysis.redactions)
            result.skipped.extend(
                Skipped(located(shown, prefix, where), reason) for where, reason in analysis.skipped_parts
            )
            if analysis.note:
                result.notes.append((shown, analysis.note))
            if not analysis.parsed_ok and analysis.language:
                result.notes.append((shown, f"{analysis.language} did not parse cleanly: packed as plain text"))
        result.skipped.extend(Skipped(shown_as(s.path), s.reason) for s in source.skipped)
        result.sources.append(SourceSummary(label, str(source.root), files_packed, source_tokens))
    if options.screen != "off":  # the one place a pack is screened: every command's chunks pass here
        screen_pack(result, options.screen, screener(options.screen_model), store)
        content.update(f"screen\0{options.screen}\0{options.screen_model or ''}".encode())
    result.digest = content.hexdigest()
    result.header = header(result)
    result.tokens = total_tokens(result)
    return result


def _analyse_source(
    source: Source,
    files: list[FileEntry],
    options: PackOptions,
    store: Store,
    result: PackResult,
    tick: Callable[[str], None],
) -> tuple[dict[str, Analysis], dict[str, str]]:
    """Each file's analysis (by path) and the chunk bodies they need (by hash): from the
    store when a file's metadata, then its content hash, is known; computed otherwise.
    Saves what is new in one transaction."""
    key = display_path(os.path.realpath(source.root))
    limit = source.limit
    options_key = options.analysis_key
    index = store.index(key)  # keyed by shown paths: SQLite text cannot hold undecodable bytes
    known = {f.rel: index[f.shown].hash for f in files if _unchanged(index.get(f.shown), f)}
    analyses = store.analyses(set(known.values()), options_key)
    digests: dict[str, str] = {}
    to_read: list[FileEntry] = []
    for entry in files:
        if known.get(entry.rel) in analyses:
            digests[entry.rel] = known[entry.rel]
            tick(entry.shown)
        else:
            to_read.append(entry)

    new_index: dict[str, IndexEntry] = {}
    jobs: dict[str, tuple[FileEntry, bytes]] = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        loaded = list(pool.map(lambda entry: (entry, source.read(entry)), to_read))
        hashed = [
            (entry, data, content_hash(data, entry.rel) if isinstance(data, bytes) else "") for entry, data in loaded
        ]
        analyses.update(store.analyses({digest for *_, digest in hashed if digest} - analyses.keys(), options_key))
        for entry, data, digest in hashed:
            if isinstance(data, str) or len(data) > limit:
                reason = data if isinstance(data, str) else f"grew past {limit:,} bytes while reading"
                result.skipped.append(Skipped(entry.shown, reason))
                tick(entry.shown)
                continue
            digests[entry.rel] = digest
            if len(data) == entry.size:  # else it changed while being read: stat again next time
                new_index[entry.shown] = IndexEntry(entry.size, entry.mtime_ns, entry.inode, digest)
            if digest in analyses or digest in jobs:
                tick(entry.shown)
            else:
                jobs[digest] = (entry, data)

    new_analyses, new_bodies = analyse_new(
        {digest: (data, entry.rel) for digest, (entry, data) in jobs.items()},
        options,
        lambda digest: tick(jobs[digest][0].shown),
    )
    analyses.update(new_analyses)
    per_file = {rel: analyses[digest] for rel, digest in digests.items()}
    bodies = chunk_bodies(store, per_file.values(), new_bodies)
    store.save(key, new_index, new_analyses, options_key, new_bodies, forget=index.keys() - {f.shown for f in files})
    result.analysed += len(jobs)
    result.reused += len(files) - len(jobs)
    return per_file, bodies


def _unchanged(known: IndexEntry | None, entry: FileEntry) -> bool:
    return known is not None and (known.size, known.mtime_ns, known.inode) == (entry.size, entry.mtime_ns, entry.inode)


def _order_key(rel: str) -> tuple[int, list[str]]:
    """Deterministic prompt order: the root README, then documentation, then the rest by path."""
    name = rel.rsplit("/", 1)[-1].lower()
    if "/" not in rel and name.startswith("readme"):
        rank = 0
    elif rel.lower().startswith(("docs/", "doc/")) or ("/" not in rel and name.endswith((".md", ".rst", ".txt"))):
        rank = 1
    else:
        rank = 2
    return rank, rel.split("/")
