"""Fitting ranked chunks into a token budget: keep by rank, shrink before dropping, and
say per file what fitting did (the words every prompt's notes use)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..chunk import Chunk
from .rank import Ranked

OUTLINE_ONLY = "outline only"
PARTLY_LEFT_OUT = "partly left out"
LEFT_OUT = "left out"


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


def fit_in_order(chunks: Sequence[Chunk], budget: int, shrink: Callable[[Chunk, int], Chunk | None]) -> Fitted:
    """`fit` for chunks whose order is their rank (unscored: first is best)."""
    return fit([Ranked(chunk, 0.0, 0.0, 0.0) for chunk in chunks], budget, shrink)


def file_status(chunks: Sequence[Chunk], fitted: Fitted) -> dict[str, str]:
    """Per file of `chunks` that `fitted` did not keep whole, in their order: OUTLINE_ONLY
    when a chunk was shrunk, LEFT_OUT when none was kept, PARTLY_LEFT_OUT when some were."""
    total: dict[str, int] = {}
    for chunk in chunks:
        total[chunk.path] = total.get(chunk.path, 0) + 1
    kept_count: dict[str, int] = {}
    for chunk in fitted.chunks:
        kept_count[chunk.path] = kept_count.get(chunk.path, 0) + 1
    shrunk = set(fitted.shrunk)
    shrunk_paths = {chunk.path for chunk in fitted.chunks if chunk.id in shrunk}
    status = {}
    for path, count in total.items():
        if kept_count.get(path, 0) == 0:
            status[path] = LEFT_OUT
        elif kept_count[path] < count:
            status[path] = PARTLY_LEFT_OUT
        elif path in shrunk_paths:
            status[path] = OUTLINE_ONLY
    return status
