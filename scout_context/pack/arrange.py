"""Turning a pack into a prompt for a question: rank, fit to the budget, lay out.

The stage after `pack`: it never reads sources, only the chunks. Fitting keeps chunks by
rank and shrinks a chunk to its outline before dropping it; the directory tree then marks
what was shrunk or left out, so the model knows what it is not seeing.
"""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import islice
from typing import Literal

from ..chunk import Chunk
from ..definition import Outlines
from ..errors import ContextTooLarge
from ..store import Store
from ..tokens import scout_tokenizer
from .fit import Fitted, file_status, fit
from .layout import EDGES_END_LIMIT, EDGES_TOP, OUTLINE_NOTE, TAIL_LIMIT, edges, stable
from .neutralize import neutralize
from .rank import Ranked, rank
from .render import body_tokens, document_tokens
from .result import Arranged, PackResult, header, over_budget_message, total_tokens

Layout = Literal["auto", "stable", "edges"]
LAYOUTS: tuple[str, ...] = ("auto", "stable", "edges")
_FIT_ROUNDS = 6
_MIN_OUTLINE = 32  # tokens: no outline block is smaller (tags, the note, one signature)
_MIN_TAIL = 256  # tokens: room for the question and a few ids even under a small budget


def arrange(
    result: PackResult,
    *,
    question: str = "",
    layout: Layout = "stable",
    budget: int | None = None,
    fit_to_budget: bool = True,
    store: Store | None = None,
) -> Arranged:
    """`result` as a prompt for `question`: ranked, fitted within `budget` tokens (exact,
    everything included), ordered by `layout`. Without a question and a budget the pack
    is returned as it is, unranked. Over budget with `fit_to_budget` off: ContextTooLarge. A `store`
    keeps the ranking index for the next process."""
    if not question and budget is None:
        return Arranged.of(result)
    if budget is not None and result.tokens > budget and not fit_to_budget:
        raise ContextTooLarge(over_budget_message(result, budget))
    if layout == "auto":
        return _auto(result, question, budget, fit_to_budget, store)
    # The corpus must not depend on the question in the stable layout: fit by the
    # question-free ranking there, and use the question's ranking only for the tail.
    ranking = rank(result.chunks, question, result.outlines, store=store, digest=result.digest)
    by_prior = ranking if layout == "edges" or not question else rank(result.chunks, "", result.outlines)
    tail_limit = _tail_limit(layout, budget)
    if budget is None:
        return _lay_out(result, result.chunks, ranking, question, layout, ([], []), ({}, None), tail_limit)
    # What the documents may take: the budget less the unfitted tree and what the question
    # part may use at first; each round then corrects it by what the last one left over or
    # exceeded (the tree's marks and the edges' quoted lines follow what is kept), within
    # the bounds known to fit and not to; only the best round is laid out. In the stable
    # layout the tail is charged at its whole reserve, which depends on the budget alone,
    # so the kept documents do not depend on the question.
    reserve = _reserve(ranking, question, layout, budget)
    depth, tree_tokens = _tree_depth(result, budget)
    allowance = budget - tree_tokens - reserve
    size = {chunk.id: chunk.tokens for chunk in result.chunks}
    fits, fails = -1, None  # the largest allowance known to fit, the smallest known not to
    best: tuple[int, Fitted, dict[str, str]] | None = None
    for _ in range(_FIT_ROUNDS):
        fitted = fit(by_prior, max(allowance, 0), lambda chunk, room: outline_chunk(chunk, result.outlines, room))
        if result.chunks and not fitted.chunks:
            break
        status = file_status(result.chunks, fitted)
        tree = header(replace(result, chunks=fitted.chunks), status, depth)
        charged = _charged(tree, fitted, ranking, question, layout, reserve, tail_limit)
        if charged <= budget:
            fits = max(fits, allowance)
            if best is None or charged > best[0]:
                best = charged, fitted, status
            if budget - charged < _smallest_gain(fitted, size):
                break
        else:
            fails = allowance if fails is None else min(fails, allowance)
        allowance = fitted.tokens + budget - charged  # grow into what was left, or give back the excess
        if fails is not None and not fits < allowance < fails:
            if fails - fits <= 1:
                break
            allowance = (fits + fails) // 2 if fits >= 0 else min(allowance, fails - 1)
    if best is not None:
        _, fitted, status = best
        marks = fitted.shrunk, fitted.dropped
        return _lay_out(result, fitted.chunks, ranking, question, layout, marks, (status, depth), tail_limit)
    raise ContextTooLarge(f"{over_budget_message(result, budget)}; it holds none of the documents")


def _charged(
    tree: str, fitted: Fitted, ranking: list[Ranked], question: str, layout: str, reserve: int, tail_limit: int
) -> int:
    """The tokens `fitted` laid out under `tree` would take (token counts of the parts add
    up, so no ordering is needed), with the stable tail charged at its whole `reserve`
    (0 without a question)."""
    fixed = scout_tokenizer().count(tree) + sum(chunk.tokens for chunk in fitted.chunks)
    if layout == "stable":
        return fixed + reserve
    present = {chunk.id: chunk for chunk in fitted.chunks}
    best = islice((replace(r, chunk=present[r.chunk.id]) for r in ranking if r.chunk.id in present), EDGES_TOP)
    return fixed + _ends_tokens(list(best), question, tail_limit)


def _smallest_gain(fitted: Fitted, size: dict[str, int]) -> float:
    """The fewest tokens that could add to `fitted`: a dropped chunk's outline (or the
    chunk, when smaller) or a shrunk chunk's body in place of its outline."""
    dropped = min(_MIN_OUTLINE, *(size[i] for i in fitted.dropped)) if fitted.dropped else math.inf
    shrunk = set(fitted.shrunk)
    return min(dropped, min((size[c.id] - c.tokens for c in fitted.chunks if c.id in shrunk), default=math.inf))


def _tail_limit(layout: str, budget: int | None) -> int:
    """Tokens the question-specific tail may take: an eighth of the budget, within
    [_MIN_TAIL, the layout's cap] (one attention chunk for `stable`)."""
    cap = TAIL_LIMIT if layout == "stable" else EDGES_END_LIMIT
    return cap if budget is None else min(cap, max(budget // 8, _MIN_TAIL))


def _reserve(ranking: list[Ranked], question: str, layout: str, budget: int) -> int:
    """Tokens kept for the question part. `stable`: the tail's limit, which depends on the
    budget alone, so the kept documents do not depend on the question. `edges`: its two
    ends as the best chunks make them (should fitting change those, the next round of
    `arrange` corrects the difference)."""
    if not question:
        return 0
    limit = _tail_limit(layout, budget)
    return limit if layout == "stable" else _ends_tokens(ranking, question, limit)


def _ends_tokens(ranked: list[Ranked], question: str, limit: int) -> int:
    """Tokens of the two ends of `edges` (the same block) for `ranked`'s best chunks."""
    return 2 * scout_tokenizer().count(edges(ranked[:EDGES_TOP], question, limit=limit)[0])


def _tree_depth(result: PackResult, budget: int | None) -> tuple[int | None, int]:
    """How deep the directory tree may go: in full when it takes at most a quarter of the
    budget, else folded folder by folder (a big repository's tree alone can exceed a small
    context). Depends on the budget alone, so stable prefixes stay identical."""
    full = result.tokens - sum(c.tokens for c in result.chunks)
    if budget is None or full <= budget // 4:
        return None, full
    count = scout_tokenizer().count
    for depth in (3, 2, 1):
        tokens = count(header(result, None, depth))
        if tokens <= budget // 4:
            break
    return depth, tokens


def _auto(result: PackResult, question: str, budget: int | None, fit_to_budget: bool, store: Store | None) -> Arranged:
    """`stable` when the whole corpus fits (every question over it then shares the prefix
    the engine caches), else `edges`. When the budget cannot hold it all, `stable` keeps
    what the question-free ranking puts first, so the chunks a question needs are rarely
    kept (over this project's 55 code questions at SmolLM2's 8,192 tokens: every gold file
    kept for 1 question, against 47 with `edges`); the question must choose, and the prefix
    differs by question anyway; and where `stable` cannot fit at all (its tail's reserve is
    charged whole), `edges` may. A corpus whose documents alone exceed the budget cannot fit
    whole (every kept document is in the prompt with its exact count), so `stable` is not
    tried for it."""
    if not (fit_to_budget and budget is not None and sum(chunk.tokens for chunk in result.chunks) > budget):
        try:
            whole = arrange(
                result, question=question, layout="stable", budget=budget, fit_to_budget=fit_to_budget, store=store
            )
        except ContextTooLarge:
            pass
        else:
            if not (whole.shrunk or whole.dropped):
                return whole
    return arrange(result, question=question, layout="edges", budget=budget, fit_to_budget=fit_to_budget, store=store)


def _lay_out(
    result: PackResult,
    kept: list[Chunk],
    ranking: list[Ranked],
    question: str,
    layout: str,
    marks: tuple[list[str], list[str]],
    tree: tuple[dict[str, str], int | None],
    tail_limit: int,
) -> Arranged:
    """The kept chunks in `layout`'s order, with the ends it adds; `marks` are the ids of
    the chunks shrunk and of those dropped, `tree` each file's status and the tree's depth."""
    (shrunk, dropped), (status, depth) = marks, tree
    present = {chunk.id: chunk for chunk in kept}
    ranked_kept = [replace(r, chunk=present[r.chunk.id]) for r in ranking if r.chunk.id in present]
    if layout == "edges":
        head, ordered, tail = edges(ranked_kept, question, limit=tail_limit)
    else:
        head, tail = "", ""
        if question:
            ordered, tail = stable(kept, ranked_kept, question, limit=tail_limit)
        else:  # no question: the pack's own order, less what did not fit
            position = {chunk.id: i for i, chunk in enumerate(result.chunks)}
            ordered = sorted(kept, key=lambda chunk: position[chunk.id])
    arranged = Arranged.of(
        result,
        layout=layout,
        chunks=ordered,
        head=head,
        tail=tail,
        ranking=ranking,
        shrunk=shrunk,
        dropped=dropped,
        status=status,
        depth=depth,
        digest="",
    )
    arranged.header = header(replace(result, chunks=kept), status, depth)
    arranged.tokens = total_tokens(arranged)
    return arranged


def outline_chunk(chunk: Chunk, outlines: Outlines, room: int | None = None) -> Chunk | None:
    """The chunk reduced to the signatures (and first docstring lines) of the definitions
    that start in it; None when it has none, or when it plainly cannot fit in `room`
    tokens (judged at two characters a token, half what code averages, before counting
    exactly)."""
    if room is not None and room < _MIN_OUTLINE:
        return None
    inside = [d for d in outlines.get(chunk.path, ()) if chunk.start_line <= d.start_line <= chunk.end_line]
    if not inside:
        return None
    lines = [
        f"{d.signature or d.kind + ' ' + d.name}  # lines {d.start_line}-{d.end_line}{': ' + d.doc if d.doc else ''}\n"
        for d in inside
    ]
    body = neutralize(f"{OUTLINE_NOTE}\n" + "".join(lines))
    if room is not None and len(body) > 2 * room:
        return None
    tokens = document_tokens(chunk.id, chunk.path, body, body_tokens(body), chunk.warning)
    return replace(chunk, text=body, tokens=tokens)
