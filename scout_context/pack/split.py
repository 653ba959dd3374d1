"""Splitting a pack for tools with smaller windows (`pack --split-output N`): parts that
each hold whole files, in the pack's order, with their own tree header, each at most N
tokens in the chosen style (counted exactly, as the whole part is written).

A file that cannot fit in a part of its own (with its tree) is refused, not cut: a part
over N would break the promise the parts are for. The error names it and how to make
room (--exclude, --compress, a larger N). Files fitting left out entirely appear in the
first part's tree, with their mark. A prompt laid out for a question (its ends) is one
prompt and is not split.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import ContextTooLarge, UsageError
from .result import Arranged, header, total_tokens
from .styles import Rendered, Style


def split(pack: Arranged, style: Style, limit: int) -> list[Rendered]:
    """`pack` in as few parts as the greedy order gives, each within `limit` tokens."""
    if pack.head or pack.tail:
        raise UsageError("--split-output splits a pack, not a prompt laid out for a question: leave out --question")
    groups = _file_groups(pack)
    parts: list[Rendered] = []
    start = 0
    while start < len(groups):
        first = _render(pack, style, groups[start : start + 1])
        if first.tokens > limit:
            path = groups[start][-1]
            raise ContextTooLarge(
                f"{path} takes {first.tokens:,} tokens in a part of its own, over --split-output {limit:,}: "
                "leave it out (--exclude), --compress it or split at a larger size"
            )
        # The largest run of files from `start` that fits: grow by doubling, then bisect
        # (a part's count only grows with its files), rendering O(log n) candidates.
        fits, best, step = start + 1, first, 1
        while fits < len(groups):
            end = min(fits + step, len(groups))
            candidate = _render(pack, style, groups[start:end])
            if candidate.tokens > limit:
                fails = end
                while fails - fits > 1:
                    middle = (fits + fails) // 2
                    candidate = _render(pack, style, groups[start:middle])
                    if candidate.tokens <= limit:
                        fits, best = middle, candidate
                    else:
                        fails = middle
                break
            fits, best, step = end, candidate, step * 2
        parts.append(best)
        start = fits
    return parts


def part_paths(output: Path, parts: int) -> list[Path]:
    """`name.1.txt`, `name.2.txt`, … for `-o name.txt` (`name.1`, … without a suffix)."""
    return [output.with_name(f"{output.stem}.{n}{output.suffix}") for n in range(1, parts + 1)]


def _file_groups(pack: Arranged) -> list[list[str]]:
    """The files by first appearance of their chunks, one group each; files without a
    kept chunk go with the first group."""
    order = list(dict.fromkeys(chunk.path for chunk in pack.chunks))
    kept = set(order)
    groups = [[path] for path in order] or [[]]
    groups[0][:0] = [path for path in pack.files if path not in kept]
    return groups


def _render(pack: Arranged, style: Style, groups: list[list[str]]) -> Rendered:
    paths = {path for group in groups for path in group}
    part = replace(
        pack,
        chunks=[chunk for chunk in pack.chunks if chunk.path in paths],
        files=[path for path in pack.files if path in paths],
        file_tokens={path: tokens for path, tokens in pack.file_tokens.items() if path in paths},
    )
    part.header = header(part, part.status, part.depth)
    part.tokens = total_tokens(part)
    return style.render(part)
