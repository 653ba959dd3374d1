"""Citations in an answer, checked against the chunks that were in the prompt.

The prompt asks for `[id]` or `[id "quoted words"]`, where `id` is a chunk id such as
`src/app.py:10-80`. A citation is valid when it names a chunk that was in the prompt (or
a line range inside one, or a whole file that was packed) and, when it quotes, the quote
occurs in that chunk (compared with whitespace collapsed).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..chunk import Chunk
from ..pack.neutralize import restore

_CITATION = re.compile(r'\[([^\[\]"\n]{1,300}?)(?:\s*[:,]?\s*"([^"\n]{1,500})")?\]')
_RANGE = re.compile(r"^(?P<path>.+?):(?P<start>\d+)(?:-(?P<end>\d+))?$")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Citation:
    id: str                 # as the model wrote it
    source: str             # the chunk it resolved to ("" when none)
    valid: bool
    quote: str = ""
    reason: str = ""        # why it is invalid


def check_citations(answer: str, chunks: Sequence[Chunk]) -> list[Citation]:
    """Every distinct citation in `answer`, in order, checked against `chunks`."""
    by_id = {chunk.id: chunk for chunk in chunks}
    by_path: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_path.setdefault(chunk.path, []).append(chunk)
    seen: set[tuple[str, str]] = set()
    found: list[Citation] = []
    for match in _CITATION.finditer(answer):
        cited, quote = match.group(1).strip().strip("`"), (match.group(2) or "").strip()
        if (cited, quote) in seen or not _looks_like_id(cited, by_path):
            continue
        seen.add((cited, quote))
        found.append(_check(cited, quote, by_id, by_path))
    return found


def _looks_like_id(cited: str, by_path: dict[str, list[Chunk]]) -> bool:
    """Skip bracketed text that is no citation at all (`[1]`, `[optional]`, `[x, y]`)."""
    match = _RANGE.match(cited)
    path = match.group("path") if match else cited
    return path in by_path or "/" in path or "." in path or ":" in cited


def _check(cited: str, quote: str, by_id: dict[str, Chunk], by_path: dict[str, list[Chunk]]) -> Citation:
    candidates = _resolve(cited, by_id, by_path)
    if not candidates:
        return Citation(cited, "", False, quote, "no such document in the prompt")
    if not quote:
        return Citation(cited, candidates[0].id, True)
    wanted = _SPACE.sub(" ", quote).strip()
    for chunk in candidates:  # the model saw the neutralized text; accept either spelling
        if any(wanted in _SPACE.sub(" ", text) for text in (chunk.text, restore(chunk.text))):
            return Citation(cited, chunk.id, True, quote)
    return Citation(cited, candidates[0].id, False, quote, "quote not found in the cited document")


def _resolve(cited: str, by_id: dict[str, Chunk], by_path: dict[str, list[Chunk]]) -> list[Chunk]:
    """The chunks a citation can mean: the exact id, the chunks of a cited file, or those
    overlapping a cited line range."""
    if cited in by_id:
        return [by_id[cited]]
    if cited in by_path:
        return by_path[cited]
    match = _RANGE.match(cited)
    if not match or match.group("path") not in by_path:
        return []
    start = int(match.group("start"))
    end = int(match.group("end") or start)
    return [c for c in by_path[match.group("path")] if c.start_line <= end and start <= c.end_line]
