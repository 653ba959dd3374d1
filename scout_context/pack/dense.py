"""A dense second look at the best chunks of a lexical ranking.

The lexical ranking finds the chunks that share the question's words; a question asked in
other words ("how does the tool suggest the option they probably meant?") reaches its
answer less surely. So the best `DEPTH` chunks are read once more by a sentence encoder
(`encoder`): the question and each chunk's *surface* (its path in words, the names its
outline defines with their docstrings' first lines, its leading comment) are embedded, and
each chunk gains `WEIGHT` times the best score times its cosine to the question (none when
the cosine is negative). The gain only re-orders those chunks among themselves: none falls
below a chunk it was above before. A surface's vector is kept per process and in the store,
by a hash of the surface and the encoder, so a chunk is embedded once per store. Without
the encoder's package the lexical ranking stands as it is.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..chunk import Chunk
from ..definition import Definition

if TYPE_CHECKING:
    import numpy as np

    from ..store import Store

DEPTH = 20  # the best chunks re-scored
WEIGHT = 0.5  # a chunk gains WEIGHT * the best score * its cosine to the question
SURFACE_TOKENS = 64  # wordpieces embedded per surface
MAX_NAMES = 12  # definitions named in a surface
MAX_LINE = 1000  # characters of a line read for the leading comment
_KEPT_IN_PROCESS = 100_000  # vectors kept in memory (a long-lived server's), about 150 MB
_MARKER = re.compile(r"(?:#|//|/\*+|\*|\"\"\"|''')\s?")
_CLOSERS = ("*/", '"""', "'''")
_SPLIT = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

_vectors: dict[str, np.ndarray] = {}  # surface key -> vector, for this process


def gains(
    question: str, chunks: Sequence[Chunk], defined: Sequence[Sequence[Definition]], store: Store | None
) -> list[float]:
    """Per chunk, its cosine to `question` (at least 0); [] without the encoder."""
    if not chunks:
        return []
    from . import encoder  # NumPy and the model only when a question is ranked

    encode = encoder.load(SURFACE_TOKENS)
    if encode is None:
        return []
    surfaces = [_valid(surface(c, found)) for c, found in zip(chunks, defined, strict=True)]
    keys = [hashlib.sha256(f"{encode.version}:{s}".encode()).hexdigest()[:32] for s in surfaces]
    if len(_vectors) > _KEPT_IN_PROCESS:
        _vectors.clear()
    missing = [k for k in dict.fromkeys(keys) if k not in _vectors]
    if missing and store is not None:
        for key, data in store.surface_vectors(missing).items():
            vector = encoder.from_bytes(data)
            if vector is not None:  # else damaged: embedded again below
                _vectors[key] = vector
    todo = {k: s for k, s in zip(keys, surfaces, strict=True) if k not in _vectors}
    if todo:
        fresh = dict(zip(todo, encode(list(todo.values())), strict=True))
        _vectors.update(fresh)
        if store is not None:
            store.save_surface_vectors({k: encoder.to_bytes(v) for k, v in fresh.items()})
    asked = encode([_valid(question)])[0]
    return [max(float(_vectors[k] @ asked), 0.0) for k in keys]


def surface(chunk: Chunk, defined: Sequence[Definition]) -> str:
    """What is embedded for a chunk: its path in words, its definitions' names in words with
    their docstrings' first lines, and its leading comment."""
    parts = [_words(chunk.path)]
    parts += [f"{_words(d.name)}: {d.doc}" if d.doc else _words(d.name) for d in defined[:MAX_NAMES]]
    parts.append(_leading_comment(chunk.text))
    return ". ".join(p for p in parts if p)


def _words(name: str) -> str:
    """`parseHTTPResponse` / `src/send_file.py` -> `parse HTTP Response` / `src send file py`."""
    return re.sub(r"[_\W]+", " ", _SPLIT.sub(" ", name)).strip()


def _leading_comment(text: str, lines: int = 4) -> str:
    """The chunk's first comment or docstring lines (up to `lines`, within its first 12
    lines, each read to MAX_LINE characters), their markers removed."""
    found: list[str] = []
    for line in text[: 12 * MAX_LINE].splitlines()[:12]:
        stripped = line[:MAX_LINE].strip()
        marker = _MARKER.match(stripped)
        if marker is None:
            if found:
                break
            continue
        rest = stripped[marker.end() :]
        closer = next((c for c in _CLOSERS if rest.endswith(c)), "")
        if rest[: len(rest) - len(closer)]:
            found.append(rest[: len(rest) - len(closer)])
        if len(found) >= lines:
            break
    return " ".join(found)


def _valid(text: str) -> str:
    """`text` with any lone surrogate (from undecodable bytes) as `?`: the tokenizer and the
    key's hash take only valid UTF-8."""
    return text.encode("utf-8", "replace").decode("utf-8")
