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
_COMMENT = re.compile(r"^\s*(?:#|//|/\*+|\*|\"\"\"|''')\s?(.*?)(?:\*/|\"\"\"|''')?\s*$")
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
    surfaces = [surface(c, found) for c, found in zip(chunks, defined, strict=True)]
    keys = [_key(s, encoder.MODEL) for s in surfaces]
    missing = [k for k in dict.fromkeys(keys) if k not in _vectors]
    if missing and store is not None:
        for key, data in store.surface_vectors(missing).items():
            _vectors[key] = encoder.from_bytes(data)
    todo = {k: s for k, s in zip(keys, surfaces, strict=True) if k not in _vectors}
    # The question goes in the same batch as the surfaces not embedded yet: one pass.
    asked, *fresh = encode([question, *todo.values()])
    if todo:
        _vectors.update(zip(todo, fresh, strict=True))
        if store is not None:
            store.save_surface_vectors({k: v.tobytes() for k, v in zip(todo, fresh, strict=True)})
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
    lines), their markers removed."""
    found: list[str] = []
    for line in text.splitlines()[:12]:
        match = _COMMENT.match(line)
        if match is None:
            if found:
                break
            continue
        if match.group(1):
            found.append(match.group(1))
        if len(found) >= lines:
            break
    return " ".join(found)


def _key(surface: str, model: str) -> str:
    return hashlib.sha256(f"{model}:{SURFACE_TOKENS}:{surface}".encode()).hexdigest()[:32]
