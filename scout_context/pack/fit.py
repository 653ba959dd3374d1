"""Fitting ranked chunks into a token budget: keep by rank, shrink before dropping."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..chunk import Chunk
from .rank import Ranked


@dataclass(frozen=True, slots=True)
class Fitted:
    ranked: list[Ranked]  # what stays, best first; a shrunk chunk replaced by its outline version
    shrunk: list[str]  # ids of the chunks replaced by their outline version
    dropped: list[str]  # ids of the chunks left out
    tokens: int  # the kept chunks' tokens

    @property
    def chunks(self) -> list[Chunk]:
        return [r.chunk for r in self.ranked]


def fit(ranked: Sequence[Ranked], budget: int, shrink: Callable[[Chunk, int], Chunk | None]) -> Fitted:
    """Walk the chunks best first, keeping each that fits in what is left of `budget`; one
    that does not is replaced by `shrink(chunk, room)` (its outline version, or None) when that
    is smaller and fits, and dropped otherwise. Lower-ranked chunks may still fit after a
    drop. Never exceeds the budget."""
    kept: list[Ranked] = []
    shrunk: list[str] = []
    dropped: list[str] = []
    left = budget
    for r in ranked:
        if r.chunk.tokens <= left:
            kept.append(r)
            left -= r.chunk.tokens
            continue
        smaller = shrink(r.chunk, left) if left > 0 else None
        if smaller is not None and smaller.tokens < r.chunk.tokens and smaller.tokens <= left:
            kept.append(Ranked(smaller, r.score, r.lexical, r.prior))
            shrunk.append(r.chunk.id)
            left -= smaller.tokens
        else:
            dropped.append(r.chunk.id)
    return Fitted(kept, shrunk, dropped, budget - left)
