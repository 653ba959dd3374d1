"""The `xml` style, the default and what `ask` sends: one `<directory_tree>` per source,
then one `<document path=... id=...>` per chunk (`pack.render`). Its count composes from
the cached counts of its blocks (`result.total_tokens`), so rendering it re-counts nothing."""

from __future__ import annotations

from ..result import Arranged
from .base import Rendered, Style, file_tokens


def render(pack: Arranged) -> Rendered:
    return Rendered(pack.text, pack.tokens, file_tokens(pack, lambda chunk: chunk.tokens))


XML = Style(
    "xml",
    "<directory_tree> and <document> tags (what ask sends unless told)",
    render,
    'Each source is a <document> block whose id attribute names it (for example id="src/app.py:10-80": a file and its line range).',
)
