"""Rendering a pack as the model sees it, with exact token counts that compose.

Layout: one `<directory_tree>` block per source (the tree with a token map), then one
`<document>` block per chunk. Every block starts with `<` and ends with a newline, so
the count of the whole text is the sum of the blocks' counts (see `tokens.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cache

from ..chunk import Chunk
from ..tokens import scout_tokenizer
from .neutralize import neutralize

_CLOSE = "</document>\n"


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


# Every open tag ends with SEAM. When the tag's last attribute ends in a letter or a digit
# (chunk ids end in a line number), no token crosses from the tag into SEAM, so a block's
# count is count(tag head) + count(SEAM + body) + count(close): the middle term depends on
# the body alone and is what the store caches as a chunk's `body tokens`.
SEAM = '">\n'


def _tag_head(chunk_id: str, path: str, warning: str = "") -> str:
    flagged = f' warning="{_attr(warning)}"' if warning else ""  # before the id: the head still ends in it
    return f'<document path="{_attr(path)}"{flagged} id="{_attr(chunk_id)}'


def open_tag(chunk_id: str, path: str, warning: str = "") -> str:
    return _tag_head(chunk_id, path, warning) + SEAM


def document(chunk: Chunk) -> str:
    return open_tag(chunk.id, chunk.path, chunk.warning) + chunk.text + _CLOSE


def body_tokens(body: str) -> int:
    """The cacheable count of a body: `count(SEAM + body)`."""
    return scout_tokenizer().count(SEAM + body)


def document_tokens(chunk_id: str, path: str, body: str, seam_body_tokens: int, warning: str = "") -> int:
    """Exact tokens of the rendered block, from the body's cached `body_tokens`."""
    tokenizer = scout_tokenizer()
    head = _tag_head(chunk_id, path, warning)
    head_tokens = tokenizer.count(head)
    if head[-1].isalnum():
        return head_tokens + seam_body_tokens + _close_tokens()
    return tokenizer.join_count(head, SEAM + body, head_tokens, seam_body_tokens) + _close_tokens()


@cache
def _close_tokens() -> int:
    return scout_tokenizer().count(_CLOSE)


def directory_tree(label: str, files: Sequence[tuple[str, int, str]], depth: int | None = None) -> str:
    """The `<directory_tree>` block: `tree_lines` between its tags."""
    opening = f'<directory_tree source="{_attr(label)}" files="{len(files)}">\n'
    return opening + "".join(tree_lines(files, depth)) + "</directory_tree>\n"


def tree_lines(files: Sequence[tuple[str, int, str]], depth: int | None = None) -> list[str]:
    """Every packed file `(path, tokens, status)` under its folders, one line each, indented
    two spaces a level (so no line starts at its first column), with the tokens its
    documents take (a folder's figure is the sum below it) and the file's status when
    fitting shrank it or left it out; names are neutralized. With `depth`, folders at that
    depth stand for everything below them (a tree that must stay small)."""
    folder_totals: dict[str, int] = defaultdict(int)
    folder_files: dict[str, int] = defaultdict(int)
    for path, tokens, _ in files:
        parts = path.split("/")
        for level in range(1, len(parts)):
            folder_totals["/".join(parts[:level])] += tokens
            folder_files["/".join(parts[:level])] += 1
    lines = []
    shown: set[str] = set()
    for path, tokens, status in sorted(files, key=lambda item: item[0].split("/")):
        parts = path.split("/")
        folded = depth is not None and len(parts) > depth + 1
        for level in range(1, min(len(parts), (depth or 0) + 1) if depth is not None else len(parts)):
            folder = "/".join(parts[:level])
            if folder not in shown:
                shown.add(folder)
                inside = f", {folder_files[folder]:,} files" if depth is not None and level == depth and folded else ""
                lines.append(
                    f"{'  ' * level}{neutralize(parts[level - 1])}/ ({folder_totals[folder]:,} tokens{inside})\n"
                )
        if folded:
            continue
        note = f", {status}" if status else ""
        lines.append(f"{'  ' * len(parts)}{neutralize(parts[-1])} ({tokens:,} tokens{note})\n")
    return lines
