"""The `json` style: the pack itself as one JSON object, for programs and for models that
read JSON.

    {"style": "json", "tokens": <this text's Scout tokens>,
     "sources": [{"label", "files", "tokens", "tree"}],
     "files": [{"path", "source", "tokens", "status"}],
     "head": "...", "tail": "...",
     "chunks": [{"id", "path", "source", "start_line", "end_line", "text", "warning" (when screened)}]}

`tokens` is the exact count of the text it sits in (a fixed point: a count's digits
change its own count only when their number changes, so two or three rounds settle it).
A file's `tokens` are what its chunks' objects take. Strings are JSON-escaped, so a source
cannot end one; chunk texts arrive neutralized and paths, ids and labels are too (JSON
leaves `<|eot|>` as it is), so no special-token spelling reaches a model reading it.
"""

from __future__ import annotations

import json

from ...chunk import Chunk
from ...tokens import scout_tokenizer
from ..neutralize import neutralize
from ..result import Arranged
from .base import Rendered, Style, file_tokens, trees

_ROUNDS = 8


def chunk_object(chunk: Chunk) -> dict[str, object]:
    return {
        "id": neutralize(chunk.id),
        "path": neutralize(chunk.path),
        "source": neutralize(chunk.source),
        "start_line": chunk.start_line,
        "end_line": chunk.end_line,
        "text": chunk.text,
    } | ({"warning": chunk.warning} if chunk.warning else {})


def render(pack: Arranged) -> Rendered:
    count = scout_tokenizer().count
    objects = {chunk.id: chunk_object(chunk) for chunk in pack.chunks}
    tokens = file_tokens(pack, lambda chunk: count(_dumps(objects[chunk.id])))
    body = {
        "sources": [
            {
                "label": neutralize(label),
                "files": files,
                "tokens": sum(tokens[p] for p in _paths(pack, label)),
                "tree": lines,
            }
            for label, files, lines in trees(pack, tokens)
        ],
        "files": [
            {
                "path": neutralize(path),
                "source": neutralize(pack.file_labels[path]),
                "tokens": tokens[path],
                "status": pack.status.get(path, ""),
            }
            for path in pack.files
        ],
        "head": pack.head,
        "tail": pack.tail,
        "chunks": [objects[chunk.id] for chunk in pack.chunks],
    }
    total = 0
    for _ in range(_ROUNDS):  # the count grows with its digits, so it settles: see the module's doc
        text = _dumps({"style": "json", "tokens": total, **body}) + "\n"
        counted = count(text)
        if counted == total:
            return Rendered(text, total, tokens)
        total = counted
    raise AssertionError("the json style's token count did not settle")  # cannot happen: counts only grow


def _paths(pack: Arranged, label: str) -> list[str]:
    return [path for path in pack.files if pack.file_labels[path] == label]


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)


JSON = Style(
    "json",
    "the pack as one JSON object: sources, tree, files, chunks with ids and text, tokens",
    render,
    'The sources are one JSON object: each entry of its "chunks" list is a source, named by its "id" (for example "src/app.py:10-80": a file and its line range), its text in "text".',
)
