"""The token map as its own view (`pack --token-tree [MIN_TOKENS]`, the MCP `token_tree`
tool): per source, its files under their folders with the tokens each takes in the
chosen style, leaving out the files under a threshold (the line after the tree says how
many, and what they take)."""

from __future__ import annotations

from .render import tree_lines
from .result import Arranged, tree_entries
from .styles import Rendered


def token_tree(pack: Arranged, rendered: Rendered, min_tokens: int = 0) -> str:
    """Plain text, one block per source: `label (N tokens, M files)` then its tree."""
    blocks = []
    for label, entries in tree_entries(pack, pack.status, rendered.file_tokens):
        shown = [entry for entry in entries if entry[1] >= min_tokens]
        total = sum(tokens for _, tokens, _ in entries)
        lines = [f"{label} ({total:,} tokens, {len(entries):,} files)\n", *tree_lines(shown, pack.depth)]
        if len(shown) < len(entries):
            hidden = [tokens for _, tokens, _ in entries if tokens < min_tokens]
            lines.append(f"  ({len(hidden):,} files under {min_tokens:,} tokens not shown: {sum(hidden):,} tokens)\n")
        blocks.append("".join(lines))
    return "\n".join(blocks)
