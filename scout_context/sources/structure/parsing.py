"""Parsing with tree-sitter, and what the outline and the segmenter both read off a tree.

Parsers are cached per thread (a tree-sitter parser is not thread-safe), and the thread's
last parse is reused, so `outline` then `segments` of one file parse it once. Parsing
holds the GIL (py-tree-sitter 0.26): spread files over processes, not threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import cache
from typing import cast

from tree_sitter import Language, Node, Parser, Tree
from tree_sitter_language_pack import SupportedLanguage, get_language

from .languages import RULES

MAX_PARSE_BYTES = 4 * 1024 * 1024  # larger files (generated code) are split without parsing
_THREAD = threading.local()


@cache
def _language(name: str) -> Language | None:
    try:
        return get_language(cast(SupportedLanguage, name))  # unknown names raise: no grammar
    except Exception:  # noqa: BLE001 - a grammar the pack cannot load is a language without one
        return None


def _parser(name: str) -> Parser | None:
    parsers: dict[str, Parser | None] = _THREAD.__dict__.setdefault("parsers", {})
    if name not in parsers:
        language = _language(name)
        parsers[name] = Parser(language) if language is not None else None
    return parsers[name]


def parse(text: str, language: str | None) -> tuple[Tree, bytes] | None:
    """The tree and the UTF-8 bytes it was parsed from; None when the language has no
    rules or grammar, or the file is too big. The thread's last parse is reused, so
    `outline` then `segments` of one file parse it once."""
    if language is None or (language != "markdown" and language not in RULES):
        return None
    last = getattr(_THREAD, "last", None)
    if last is not None and last[0] == language and last[1] == text:
        return last[2]
    data = text.encode("utf-8", "surrogatepass")
    parser = _parser(language) if len(data) <= MAX_PARSE_BYTES else None
    parsed = (parser.parse(data), data) if parser is not None else None
    _THREAD.last = (language, text, parsed)
    return parsed


def end_row(node: Node) -> int:
    """Last row of `node`, not counting a row it only reaches at column 0."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point.row else row


def node_text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def headings(root: Node) -> Iterator[Node]:
    for node in root.named_children:
        if node.type == "section":
            yield from headings(node)
        elif node.type in ("atx_heading", "setext_heading"):
            yield node


def is_docstring(node: Node) -> bool:
    if node.type == "expression_statement" and node.named_child_count == 1:
        node = node.named_children[0]
    return node.type in ("string", "concatenated_string")
