"""One file's content -> its analysis: decoded, redacted, structured, chunked, neutralized,
counted. Pure: the same bytes, file name and options always give the same result, so
results are cached by `content_hash` (bytes and name) beside the options' key."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import PurePosixPath

from ..definition import Definition
from ..sources import chat
from ..sources.pdf import PdfError, extract, is_pdf
from ..sources.read import binary_head, decode
from ..sources.secrets import redact
from ..sources.structure.languages import language_for
from ..sources.structure.outline import outline
from ..sources.structure.segments import Segment, segments
from .analysis import Analysis
from .neutralize import neutralize
from .options import PackOptions
from .render import body_tokens


def content_hash(data: bytes, rel: str) -> str:
    """The key a file's analysis is cached under: its bytes and its base name, since the
    name picks the reader (PDF, a chat format, a language) and can name a conversation;
    an empty `__init__.py` and an empty `report.pdf` must not share one analysis."""
    name = PurePosixPath(rel).name.encode("utf-8", "surrogateescape")
    return hashlib.sha256(name + b"\0" + data).hexdigest()


def skip_by_head(head: bytes, rel: str) -> str:
    """The reason `analyze` skips every file named `rel` that starts with `head`, when the
    head alone decides it (binary: no PDF, no zip, no byte-order mark, a NUL), else "":
    a reader stops after the head of a huge binary file instead of reading it whole."""
    if is_pdf(head) or rel.lower().endswith(".pdf") or head.startswith(chat.ZIP_MAGIC):
        return ""
    return binary_head(head)


def analyze(data: bytes, rel: str, options: PackOptions) -> tuple[Analysis, dict[str, str]]:
    """The analysis of one file's bytes and the chunk bodies it produced (hash -> body)."""
    if is_pdf(data) or rel.lower().endswith(".pdf"):  # a non-PDF named .pdf gets the reader's one-line reason
        return _analyze_pdf(data, options)
    chat_format = chat.detect(rel, data)
    if chat_format:
        return analyze_chat(lambda: chat.parse(chat_format, rel, data), options)
    decoded = decode(data)
    if decoded.text is None:
        return Analysis(reason=decoded.reason), {}
    text, redactions = _redacted(decoded.text, options)
    language = language_for(rel) or ""
    definitions = outline(text, language) if language else []
    segs, parsed_ok = segments(text, language or None, compress=options.compress, max_chars=options.chunk_chars)
    bodies: dict[str, str] = {}
    chunks = [
        _chunk(bodies, "".join(s.text for s in group), group[0].start_line, group[-1].end_line)
        for group in _group(segs, options.chunk_chars)
    ]
    return (
        Analysis(
            note=decoded.note,
            language=language,
            parsed_ok=parsed_ok,
            outline=tuple(definitions),
            redactions=redactions,
            chunks=tuple(chunks),
        ),
        bodies,
    )


def _analyze_pdf(data: bytes, options: PackOptions) -> tuple[Analysis, dict[str, str]]:
    """One chunk per page (`report.pdf#p12`, by printed label), headed by its label and the
    outline heading in effect; pages without text are listed, not packed."""
    try:
        document = extract(data, password=options.pdf_password)
    except PdfError as error:
        return Analysis(reason=f"PDF: {error}", language="pdf"), {}
    bodies: dict[str, str] = {}
    chunks: list[tuple[int, int, str, int, str]] = []
    redactions: list[tuple[str, str]] = []
    for page in document.pages:
        heading = f"Page {page.label}" + (f" · {page.heading}" if page.heading else "")
        text, found = _redacted(page.text, options, at=f"#p{page.label}")
        redactions.extend(found)
        chunks.append(_chunk(bodies, f"{heading}\n\n{text}", page.number, page.number, f"#p{page.label}"))
    return (
        Analysis(
            language="pdf",
            outline=tuple(
                Definition("page", p.heading or p.label, p.number, p.number, p.heading) for p in document.pages
            ),
            redactions=tuple(redactions),
            chunks=tuple(chunks),
            skipped_parts=tuple((f"#p{label}", reason) for label, reason in document.skipped),
        ),
        bodies,
    )


def analyze_chat(
    parse: Callable[[], tuple[list[chat.Message], list[str]]], options: PackOptions
) -> tuple[Analysis, dict[str, str]]:
    """A chat export: messages normalized to UTC and threads, rendered compactly; each
    chunk keeps the export's own id (`slack:#general@2024-03-14T10:22Z`)."""
    try:
        messages, warnings = parse()
    except chat.ChatFormatError as error:
        return Analysis(reason=f"chat export: {error}", language="chat"), {}
    bodies: dict[str, str] = {}
    chunks: list[tuple[int, int, str, int, str]] = []
    redactions: list[tuple[str, str]] = []
    for number, piece in enumerate(chat.render(messages, max_chars=options.chunk_chars), start=1):
        text, found = _redacted(piece.text, options, at=piece.id)
        redactions.extend(found)
        chunks.append(_chunk(bodies, text, number, number, piece.id))
    note = f"{len(warnings):,} malformed records skipped, first: {warnings[0]}" if warnings else ""
    return Analysis(language="chat", note=note, redactions=tuple(redactions), chunks=tuple(chunks)), bodies


def _redacted(text: str, options: PackOptions, at: str = "") -> tuple[str, tuple[tuple[str, str], ...]]:
    """`text` with secrets replaced (unless turned off) and where they were: the line
    (":12"), or `at` when the text has one fixed location ("#p4", a chat chunk id). `at`
    comes from the source (a page label, a chat title), so it is only ever concatenated."""
    if not options.redact:
        return text, ()
    text, found = redact(text)
    return text, tuple((at or f":{r.line}", r.kind) for r in found)


def _chunk(bodies: dict[str, str], text: str, start: int, end: int, label: str = "") -> tuple:
    """Neutralize and store one chunk body; its analysis entry (start, end, hash, tokens, label)."""
    body = neutralize(text)
    if not body.endswith("\n"):
        body += "\n"
    digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
    bodies[digest] = body
    return (start, end, digest, body_tokens(body), label)


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
