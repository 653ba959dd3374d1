"""One file's content -> its analysis: decoded, redacted, structured, chunked, neutralized,
counted. Pure: the same bytes and options always give the same result, so results are
cached by content hash."""

from __future__ import annotations

import hashlib

from ..sources.read import decode
from ..sources.secrets import redact
from ..sources.structure import Segment, language_for, outline, segments
from ..store import Analysis
from .neutralize import neutralize
from .options import PackOptions
from .render import body_tokens


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def analyze(data: bytes, rel: str, options: PackOptions) -> tuple[Analysis, dict[str, str]]:
    """The analysis of one file's bytes and the chunk bodies it produced (hash -> body)."""
    decoded = decode(data)
    if decoded.text is None:
        return Analysis(reason=decoded.reason), {}
    text = decoded.text
    redactions: tuple[tuple[int, str], ...] = ()
    if options.redact:
        text, found = redact(text)
        redactions = tuple((r.line, r.kind) for r in found)
    language = language_for(rel) or ""
    definitions = outline(text, language) if language else []
    segs, parsed_ok = segments(text, language or None, compress=options.compress, max_chars=options.chunk_chars)
    bodies: dict[str, str] = {}
    chunks = []
    for group in _group(segs, options.chunk_chars):
        body = neutralize("".join(s.text for s in group))
        if not body.endswith("\n"):
            body += "\n"
        digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
        bodies[digest] = body
        chunks.append((group[0].start_line, group[-1].end_line, digest, body_tokens(body)))
    return (
        Analysis(
            note=decoded.note,
            language=language,
            parsed_ok=parsed_ok,
            outline=tuple((d.kind, d.name, d.start_line, d.end_line, d.signature) for d in definitions),
            redactions=redactions,
            chunks=tuple(chunks),
        ),
        bodies,
    )


def _group(segs: list[Segment], max_chars: int) -> list[list[Segment]]:
    """Consecutive segments joined into chunks of at most `max_chars` (a bigger segment
    stands alone); chunk borders therefore fall on definition borders."""
    groups: list[list[Segment]] = []
    size = 0
    for seg in segs:
        if groups and size + len(seg.text) <= max_chars:
            groups[-1].append(seg)
            size += len(seg.text)
        else:
            groups.append([seg])
            size = len(seg.text)
    return groups
