"""Citations in an answer, checked against the chunks that were in the prompt.

The prompt asks for `[id]` or `[id "quoted words"]`, where `id` is a chunk id such as
`src/app.py:10-80`. A citation is valid when it names a chunk that was in the prompt, a
whole file that was packed, or a line range (`path:12` or `path:12-20`, first <= last)
whose every line was in the prompt (inside one chunk, or chunks that adjoin); when it
quotes, the quote occurs in what it names: the chunk, the file's chunks, or exactly the
cited lines (compared with whitespace collapsed). Only chunks of source lines have line
ranges: a PDF page or a chat chunk is cited by its id. A compressed chunk (function
bodies elided) has no line-for-line text, so a quote is looked for in the whole chunk.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..chunk import Chunk
from ..pack.neutralize import restore

_CITATION = re.compile(r'\[([^\[\]"\n]{1,300}?)(?:\s*[:,]?\s*"([^"\n]{1,500})")?\]')
_RANGE = re.compile(r"^(?P<path>.+?):(?P<start>\d+)(?:-(?P<end>\d+))?$")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Citation:
    id: str  # as the model wrote it
    source: str  # the chunk it resolved to ("" when none)
    valid: bool
    quote: str = ""
    reason: str = ""  # why it is invalid

    def as_json(self, quoted: bool = True) -> dict[str, Any]:
        """The citation in JSON output; `quoted=False` leaves the quote out (run logs, PR reports)."""
        named: dict[str, Any] = {"id": self.id, "source": self.source, "valid": self.valid}
        return named | ({"quote": self.quote} if quoted else {}) | {"reason": self.reason}


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
    if cited in by_id:
        source, texts = cited, [by_id[cited].text]
    elif cited in by_path:
        source, texts = by_path[cited][0].id, [c.text for c in by_path[cited]]
    else:
        match = _RANGE.match(cited)
        if not match or match.group("path") not in by_path:
            return Citation(cited, "", False, quote, "no such document in the prompt")
        start, end = int(match.group("start")), int(match.group("end") or match.group("start"))
        if not 1 <= start <= end:
            return Citation(cited, "", False, quote, "not a line range (the first line is after the last, or 0)")
        spans = [c for c in by_path[match.group("path")] if c.id == f"{c.path}:{c.start_line}-{c.end_line}"]
        covering = _covering(spans, start, end)
        if covering is None:
            partly = any(c.start_line <= end and start <= c.end_line for c in spans)
            reason = "some of the cited lines were not in the prompt" if partly else "no such document in the prompt"
            return Citation(cited, "", False, quote, reason)
        source, texts = covering[0].id, [_lines(c, start, end) for c in covering]
    if not quote:
        return Citation(cited, source, True)
    wanted = _SPACE.sub(" ", quote).strip()
    text = "".join(texts)  # the model saw the neutralized text; accept either spelling
    if any(wanted in _SPACE.sub(" ", spelling) for spelling in (text, restore(text))):
        return Citation(cited, source, True, quote)
    where = "in the cited document" if cited in by_id or cited in by_path else "on the cited lines"
    return Citation(cited, source, False, quote, f"quote not found {where}")


def _covering(spans: list[Chunk], start: int, end: int) -> list[Chunk] | None:
    """The chunks (of source lines) that together hold every line from `start` to `end`,
    in order; None when some line of the range was not in the prompt."""
    found: list[Chunk] = []
    line = start
    for chunk in sorted(spans, key=lambda c: c.start_line):
        if chunk.end_line < line:
            continue
        if chunk.start_line > line:
            break
        found.append(chunk)
        line = chunk.end_line + 1
        if line > end:
            return found
    return None


def _lines(chunk: Chunk, start: int, end: int) -> str:
    """The text of lines `start` to `end` that lie in `chunk`; its whole text when it is not
    one line per source line (compressed)."""
    lines = chunk.text.split("\n")[:-1] if chunk.text.endswith("\n") else chunk.text.split("\n")
    if len(lines) != chunk.end_line - chunk.start_line + 1:
        return chunk.text
    first, last = max(start, chunk.start_line) - chunk.start_line, min(end, chunk.end_line) - chunk.start_line
    return "".join(line + "\n" for line in lines[first : last + 1])
