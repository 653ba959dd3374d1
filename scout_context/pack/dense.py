"""A dense second look at the best chunks of a lexical ranking.

The lexical ranking finds the chunks that share the question's words; a question asked in
other words ("how does the tool suggest the option they probably meant?") reaches its
answer less surely. So the best `DEPTH` chunks are read once more by a sentence encoder
(`encoder`): the question and each chunk's *surface* (its path in words, the names its
outline defines with their docstrings' first lines, its leading comment) are embedded, and
each chunk gains `WEIGHT` times the best score times its cosine to the question (none when
the cosine is negative). The gain only re-orders those chunks among themselves: none falls
below a chunk it was above before. Vectors, the question's too, are kept per process and
in the store, by a hash of the text and the encoder (`encoder_files.version`), so a chunk
is embedded once per store and a question asked again needs neither NumPy nor the model.
Without the encoder's package the lexical ranking stands as it is.
"""

from __future__ import annotations

import hashlib
import operator
import re
import sys
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..chunk import Chunk
from ..definition import Definition
from . import encoder_files

if TYPE_CHECKING:
    from ..store import Store

DEPTH = 20  # the best chunks re-scored
WEIGHT = 0.5  # a chunk gains WEIGHT * the best score * its cosine to the question
SURFACE_TOKENS = 64  # wordpieces embedded per surface (and per question)
MAX_NAMES = 12  # definitions named in a surface
MAX_LINE = 1000  # characters of a line read for the leading comment
_KEPT_IN_PROCESS = 100_000  # vectors kept in memory (a long-lived server's): about 150 MB
_MARKER = re.compile(r"(?:#|//|/\*+|\*|\"\"\"|''')\s?")
_CLOSERS = ("*/", '"""', "'''")
_SPLIT = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

_vectors: dict[str, array[float]] = {}  # key -> vector, for this process


def gains(
    question: str, chunks: Sequence[Chunk], defined: Sequence[Sequence[Definition]], store: Store | None
) -> list[float]:
    """Per chunk, its cosine to `question` (at least 0); [] without the encoder."""
    version = encoder_files.version(SURFACE_TOKENS) if chunks else None
    if version is None:
        return []
    asked = _valid(question)
    texts = {_key(version, "question", asked): asked}
    keys = []
    for chunk, found in zip(chunks, defined, strict=True):
        text = _valid(surface(chunk, found))
        keys.append(_key(version, "surface", text))
        texts[keys[-1]] = text
    vectors = _vectors_of(texts, store)
    question_vector = vectors[_key(version, "question", asked)]
    return [max(sum(map(operator.mul, vectors[key], question_vector)), 0.0) for key in keys]


def _vectors_of(texts: dict[str, str], store: Store | None) -> dict[str, array[float]]:
    """The vector of each text, by key: kept in this process, else in the store, else
    embedded (and kept in both). Every vector is read from its kept bytes, and cosines are
    summed in Python in one order, so a ranking does not depend on where a vector came from."""
    if len(_vectors) > _KEPT_IN_PROCESS:
        _vectors.clear()
    missing = [key for key in texts if key not in _vectors]
    if missing and store is not None:
        for key, data in store.vectors(missing).items():
            if len(data) == encoder_files.DIM * 4:  # else damaged: embedded again below
                _vectors[key] = _from_bytes(data)
    todo = {key: text for key, text in texts.items() if key not in _vectors}
    if todo:
        from . import encoder  # NumPy and the model only for a text not embedded before

        encode = encoder.load(SURFACE_TOKENS)
        assert encode is not None  # the package is there: `version` found it
        fresh = {key: encoder.to_bytes(vector) for key, vector in zip(todo, encode(list(todo.values())), strict=True)}
        _vectors.update((key, _from_bytes(data)) for key, data in fresh.items())
        if store is not None:
            store.save_vectors(fresh)
    return {key: _vectors[key] for key in texts}


def _from_bytes(data: bytes) -> array[float]:
    vector = array("f")
    vector.frombytes(data)
    if sys.byteorder == "big":  # kept little-endian
        vector.byteswap()
    return vector


def _key(version: str, kind: str, text: str) -> str:
    return hashlib.sha256(f"{version}:{kind}:{text}".encode()).hexdigest()[:32]


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
