"""Where the fitted chunks and the question go in the prompt.

`stable` keeps the corpus independent of the question (README and docs, then files in
dependency order), so every question over the same sources shares a byte-identical
prefix (and its KV cache); what depends on the question is a short tail after it: the
most relevant chunks' ids, each with the lines that match the question best (its first
lines when none do), then the question, all within one attention chunk. `edges` is for
a single question: the most relevant chunks at the start and at the end, where
long-context models use them best, the least relevant in the middle, and the question
both before and after the corpus.

Every text returned starts with `<` and ends with a newline, so token counts compose.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from html import escape

from ..chunk import Chunk
from ..tokens import scout_tokenizer
from .neutralize import neutralize
from .rank import Ranked, dependency_order, first_texts, line_terms, terms

TAIL_LIMIT = 8192  # one attention chunk of Scout's local layers
OUTLINE_NOTE = "(outline only: bodies left out to fit the context)"
TOP_CHUNKS = 20
EXCERPT_LINES = 6
EXCERPT_WIDTH = 160

_IMPORT = re.compile(r"(?:from \S+ import |import |#include |package \w+$|use [\w:{}, *]+;|const \w+ = require\()")
_INTRO = "<relevant_documents>\nThe documents most relevant to the question, best first, with their lines that match it:\n"
_CLOSE = "</relevant_documents>\n"


def stable(
    chunks: Sequence[Chunk], ranked: Sequence[Ranked], question: str, *, top: int = TOP_CHUNKS, limit: int = TAIL_LIMIT
) -> tuple[list[Chunk], str]:
    """(`chunks` in dependency order, the tail): the tail names the `top` best of `chunks`
    by `ranked`, with excerpts while it stays within `limit` tokens, then the question."""
    order = dependency_order(list(dict.fromkeys(c.path for c in chunks)), first_texts(chunks))
    position = {path: i for i, path in enumerate(order)}
    ordered = sorted(chunks, key=lambda c: (position[c.path], c.start_line, c.id))
    present = {c.id for c in chunks}
    best = [r.chunk for r in ranked if r.chunk.id in present][:top]
    return ordered, _tail(best, question, limit)


def _tail(best: list[Chunk], question: str, limit: int) -> str:
    """Excerpts of `best` and the question in at most `limit` tokens: the lowest-ranked
    excerpts give way to bare ids first, then the lowest-ranked ids go."""
    count = scout_tokenizer().count
    asked = question_block(question)
    fixed = count(_INTRO) + count(_CLOSE) + count(asked)
    wanted = {t for t in terms(question) if " " not in t}
    blocks = [_excerpt(c, wanted) for c in best]
    sizes = [count(b) for b in blocks]
    for i in reversed(range(len(blocks))):
        if fixed + sum(sizes) <= limit:
            break
        blocks[i] = f'<excerpt id="{escape(best[i].id)}"/>\n'
        sizes[i] = count(blocks[i])
    while blocks and fixed + sum(sizes) > limit:
        blocks.pop()
        sizes.pop()
    return _INTRO + "".join(blocks) + _CLOSE + asked


def _excerpt(chunk: Chunk, wanted: set[str]) -> str:
    """Up to EXCERPT_LINES of the chunk's lines that are neither blank nor imports,
    trimmed, in their order: those sharing the most search terms with the question (a
    term weighs one over the number of the chunk's lines that hold it), or, when none
    shares one, the first ones."""
    lines = [
        line.rstrip()[:EXCERPT_WIDTH] for line in chunk.text.splitlines()
        if line.strip() and not _IMPORT.match(line) and not line.startswith(OUTLINE_NOTE)
    ]
    found = [wanted & words for words in line_terms(lines)] if wanted else []
    spread = Counter(term for terms_here in found for term in terms_here)  # lines holding each term
    matches = [sum(1 / spread[term] for term in terms_here) for terms_here in found]  # rarer terms weigh more
    if any(matches):
        best = sorted(range(len(lines)), key=lambda i: (-matches[i], i))[:EXCERPT_LINES]
        lines = [lines[i] for i in sorted(best) if matches[i]]
    else:
        lines = lines[:EXCERPT_LINES]
    return f'<excerpt id="{escape(chunk.id)}">\n' + "".join(f"{line}\n" for line in lines) + "</excerpt>\n"


def question_block(question: str) -> str:
    return f"<question>\n{neutralize(question.strip())}\n</question>\n"


def edges(ranked: Sequence[Ranked], question: str) -> tuple[str, list[Chunk], str]:
    """(head, chunks, tail): the best chunk first, the second best last, the third second,
    the fourth second to last and so on, so relevance falls towards the middle; the
    question is both the head and the tail."""
    ordered = [r.chunk for r in ranked[0::2]] + [r.chunk for r in ranked[1::2]][::-1]
    asked = question_block(question)
    return asked, ordered, asked
