"""What every output style shares: the view it renders and what rendering gives back.

A style turns an `Arranged` pack into text the model reads, and counts that text exactly
in Scout tokens. Whatever the style, a source stays data: chunk bodies arrive neutralized
(`pack.neutralize`: no special-token spelling survives), each style also escapes what
would be structure in its own syntax (a Markdown fence, a plain-text separator, a JSON
string), and every chunk's id stays visible, for citations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...chunk import Chunk
from ...tokens import scout_tokenizer
from ..render import tree_lines
from ..result import Arranged, tree_entries


@dataclass(frozen=True)
class Rendered:
    """A pack in one style: its text, the text's exact Scout tokens, and each file's
    tokens in that style (what its chunks' blocks take; the tree shows these)."""

    text: str
    tokens: int
    file_tokens: dict[str, int]


@dataclass(frozen=True)
class Style:
    name: str
    help: str
    render: Callable[[Arranged], Rendered]
    sources_rule: str
    """How the sources appear and are named, for a prompt's rules (`ask`'s system turn)."""


def file_tokens(pack: Arranged, chunk_tokens: Callable[[Chunk], int]) -> dict[str, int]:
    """Each packed file's tokens: the sum of `chunk_tokens` over its chunks (0 when fitting
    left it out), in the pack's file order."""
    totals = dict.fromkeys(pack.files, 0)
    for chunk in pack.chunks:
        totals[chunk.path] += chunk_tokens(chunk)
    return totals


def trees(pack: Arranged, tokens: dict[str, int]) -> list[tuple[str, int, str]]:
    """Per source: its label, its number of files and its tree's lines (`render.tree_lines`,
    with `tokens` as each file's figure and the marks fitting left)."""
    return [
        (label, len(entries), "".join(tree_lines(entries, pack.depth)))
        for label, entries in tree_entries(pack, pack.status, tokens)
    ]


def render_sections(
    pack: Arranged,
    document: Callable[[Chunk], str],
    tree: Callable[[str, int, str], str],
    question: Callable[[str], str],
) -> Rendered:
    """A text style's rendering: `tree(label, files, lines)` per source, the question's
    head, a `document` per chunk, the tail (`question` of each), counted exactly; each
    file's figure is what its chunks' documents take."""
    count = scout_tokenizer().count
    blocks = {chunk.id: document(chunk) for chunk in pack.chunks}
    tokens = file_tokens(pack, lambda chunk: count(blocks[chunk.id]))
    parts = [tree(label, files, lines) for label, files, lines in trees(pack, tokens)]
    if pack.head:
        parts.append(question(pack.head))
    parts.extend(blocks[chunk.id] for chunk in pack.chunks)
    if pack.tail:
        parts.append(question(pack.tail))
    text = "".join(parts)
    return Rendered(text, count(text), tokens)
