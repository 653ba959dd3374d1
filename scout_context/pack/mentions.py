"""The second ranking pass: definitions named where the best chunks talk about the question.

Questions are often asked in the words of a guide, a docstring or a comment, while the
answer is the code those texts name: a docs page on prompts says "`hide_input=True` hides
the password" and names `prompt`; a test of the routing says what it checks and calls
`findCaseInsensitivePath`. So the first pass's best chunks are read line by line; every
identifier on a line that holds a question term, and that the corpus defines in few places,
credits the chunks defining it, by the reader's score and the line's question terms.
A chunk's own names, and files that cannot hold a definition (docs), get no credit.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Mapping, Sequence

from ..chunk import Chunk
from .words import line_hits

READERS = 10  # the first pass's best chunks whose lines are read
MAX_LINES = 400  # lines read per chunk (its head: a big chunk's tail adds little)
MAX_DEFINERS = 3  # a name defined in more chunks than this does not identify a place
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


def best(scores: Sequence[float], n: int) -> list[int]:
    """The indexes of the `n` best `scores`, best first (the earlier on a tie): the chunks a
    second-pass lift reads."""
    return heapq.nsmallest(n, range(len(scores)), key=lambda i: (-scores[i], i))


def mention_credit(
    chunks: Sequence[Chunk],
    scores: Sequence[float],
    query: Sequence[str],
    definers: Callable[[set[str]], Mapping[str, Sequence[int]]],
) -> dict[int, float]:
    """Chunk index -> credit in [0, 1]: in each of the READERS best chunks by `scores`, a
    line holding a `query` word credits the chunks defining each identifier on it
    (`definers` maps lowercased names to them), by the reader's score relative to the
    best and the share of the query's words on the line, split among the definers; a
    chunk keeps its best credit."""
    words = {t for t in query if " " not in t}
    if not words or not chunks:
        return {}
    readers = best(scores, READERS)
    top = scores[readers[0]] or 1.0
    mentions: list[tuple[int, float, set[str]]] = []  # reader, weight of its line, names on it
    for reader in readers:
        lines = chunks[reader].text.split("\n", MAX_LINES)[:MAX_LINES]
        for number, found in line_hits("\n".join(lines), words).items():
            names = {n.lower() for n in _NAME.findall(lines[number])}
            mentions.append((reader, scores[reader] / top * len(found) / len(words), names))
    where = definers(set().union(*(names for _, _, names in mentions)))
    credit: dict[int, float] = {}
    for reader, weight, names in mentions:
        for name in names:
            places = where.get(name, ())
            if not places or len(places) > MAX_DEFINERS or reader in places:
                continue
            for i in places:
                credit[i] = max(credit.get(i, 0.0), weight / len(places))
    return credit
