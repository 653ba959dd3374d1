"""Where the fitted chunks and the question go in the prompt.

`stable` keeps the corpus independent of the question (README and docs, then files in
dependency order), so every question over the same sources shares a byte-identical
prefix (and its KV cache); what depends on the question is a short tail after it, within
one attention chunk: the lines of the most relevant chunks that match the question best,
then the question (the end `edges` has: on the CPU default model, ids beside the lines
drew answers that cite ids instead of the fact; bench/README.md). `edges` is for
a single question: the most relevant chunks at the start and at the end, where
long-context models use them best, the least relevant in the middle, and the question
both before and after the corpus, each time after the best chunks' lines that match it,
so the lines that answer it sit next to the question at both ends (on Scout, in the same
attention chunk as the question).

Every text returned starts with `<` and ends with a newline, so token counts compose.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from ..chunk import Chunk
from ..tokens import scout_tokenizer
from .imports import first_texts
from .neutralize import neutralize, tag_escaper
from .rank import Ranked, dependency_order, terms
from .words import line_terms

TAIL_LIMIT = 8192  # one attention chunk of Scout's local layers
OUTLINE_NOTE = "(outline only: bodies left out to fit the context)"
EXCERPT_WIDTH = 160
EDGES_TOP = 5  # chunks whose matching lines the ends quote
EDGES_LINES = 3  # lines quoted per chunk
EDGES_END_LIMIT = 1024  # tokens of each end of `edges` (its lines and the question)

# A comment's or a quotation's opening mark (`# `, `// `, `* `, `-- `, `"""`, `> `): the
# edges ends quote a line without it, so a comment reads as the sentence it is.
_LINE_MARK = re.compile(r"""^(?:#+\s|//+\s?|/\*+\s?|\*+\s|--\s|;+\s|"{3}|'{3}|>\s)\s*""")
_IMPORT = re.compile(r"(?:from \S+ import |import |#include |package \w+$|use [\w:{}, *]+;|const \w+ = require\()")
_LINES_OPEN = "<relevant_lines>\n"
_LINES_CLOSE = "</relevant_lines>\n"
_ESCAPE = tag_escaper("relevant_lines", "question")  # the tails' own tags


def stable(
    chunks: Sequence[Chunk], ranked: Sequence[Ranked], question: str, *, limit: int = TAIL_LIMIT
) -> tuple[list[Chunk], str]:
    """(`chunks` in dependency order, the tail): the tail is `question_end` of the best of
    `chunks` by `ranked`, within `limit` tokens."""
    order = dependency_order(list(dict.fromkeys(c.path for c in chunks)), first_texts(chunks))
    position = {path: i for i, path in enumerate(order)}
    ordered = sorted(chunks, key=lambda c: (position[c.path], c.start_line, c.id))
    present = {c.id for c in chunks}
    return ordered, question_end([r.chunk for r in ranked if r.chunk.id in present][:EDGES_TOP], question, limit)


def question_end(best: Sequence[Chunk], question: str, limit: int) -> str:
    """The block both layouts put next to the question, then the question, within `limit`
    tokens: `best`'s lines that match the question (`_lines_block`)."""
    asked = question_block(question)
    return _lines_block(best, question, limit - scout_tokenizer().count(asked)) + asked


def _content_lines(chunk: Chunk) -> list[str]:
    """The chunk's lines that are neither blank, imports nor the outline note, trimmed.
    (Quoted in a tail, each goes through `_ESCAPE`: a source line cannot close it.)"""
    return [
        line.rstrip()[:EXCERPT_WIDTH]
        for line in chunk.text.splitlines()
        if line.strip() and not _IMPORT.match(line) and not line.startswith(OUTLINE_NOTE)
    ]


def _line_terms_of(question: str) -> set[str]:
    """The question's search terms that a single line can hold (no phrases)."""
    return {t for t in terms(question) if " " not in t}


def _matching_lines(chunk: Chunk, wanted: set[str], most: int, *, best_first: bool = False) -> list[str]:
    """Up to `most` of the chunk's content lines that share the most search terms with
    the question (a term weighs one over the number of the chunk's lines that hold it),
    in their order or `best_first`; none when no line shares one."""
    lines = _content_lines(chunk)
    found = [wanted & words for words in line_terms(lines)] if wanted else []
    spread = Counter(term for terms_here in found for term in terms_here)  # lines holding each term
    matches = [sum(1 / spread[term] for term in terms_here) for terms_here in found]  # rarer terms weigh more
    best = sorted((i for i in range(len(lines)) if matches[i]), key=lambda i: (-matches[i], i))[:most] if found else []
    return [lines[i] for i in (best if best_first else sorted(best))]


def question_block(question: str) -> str:
    return f"<question>\n{_ESCAPE(neutralize(question.strip()))}\n</question>\n"


def edges(ranked: Sequence[Ranked], question: str, *, limit: int = EDGES_END_LIMIT) -> tuple[str, list[Chunk], str]:
    """(head, chunks, tail): the best chunk first, the second best last, the third second,
    the fourth second to last and so on, so relevance falls towards the middle. The head
    and the tail are the same block, within `limit` tokens: the best chunks' lines that
    match the question, then the question; without a question, no ends."""
    ordered = [r.chunk for r in ranked[0::2]] + [r.chunk for r in ranked[1::2]][::-1]
    if not question:
        return "", ordered, ""
    ends = question_end([r.chunk for r in ranked[:EDGES_TOP]], question, limit)
    return ends, ordered, ends


def _lines_block(best: Sequence[Chunk], question: str, limit: int) -> str:
    """`<relevant_lines>`: up to EDGES_LINES of each of `best`'s lines matching the
    question, best chunk first, each once, within `limit` tokens ("" when none match).
    The lines stand alone: each is in its document, whose id an answer cites; an id
    before each line made the CPU default model answer with ids instead of the fact, and
    a comment quoted with its `# ` was read worse than the sentence alone (bench/README.md)."""
    wanted = _line_terms_of(question)
    count = scout_tokenizer().count
    lines = list(
        dict.fromkeys(
            f"{_ESCAPE(_LINE_MARK.sub('', line.strip()))}\n"
            for chunk in best
            for line in _matching_lines(chunk, wanted, EDGES_LINES, best_first=True)
        )
    )
    while lines and count(_LINES_OPEN + "".join(lines) + _LINES_CLOSE) > limit:
        lines.pop()
    return _LINES_OPEN + "".join(lines) + _LINES_CLOSE if lines else ""
