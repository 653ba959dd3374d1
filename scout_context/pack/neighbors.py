"""Import neighbours of the best files: the other half of a two-file answer.

An answer that spans two files is most often a file and one it imports or is imported by
(an interceptor manager and the client that runs the chain; a command's decorator and the
prompt it calls). So after the first pass, each file that imports or is imported by one of
the READERS best files is lifted, in proportion to that file's score and to its own
lexical score: a neighbour that does not match the question is not lifted at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

READERS = 3  # the best files whose import neighbours are lifted


def undirected(graph: Mapping[str, set[str]]) -> dict[str, list[str]]:
    """`graph` (path -> paths it imports) with each edge both ways, neighbours sorted."""
    both: dict[str, set[str]] = {}
    for path, imported in graph.items():
        for other in imported:
            both.setdefault(path, set()).add(other)
            both.setdefault(other, set()).add(path)
    return {path: sorted(found) for path, found in both.items()}


def neighbor_credit(
    paths: Sequence[str], scores: Sequence[float], neighbors: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """Path -> credit in [0, 1]: the score, relative to the best file's, of the best of the
    READERS best files (by their best chunk in `scores`, one per entry of `paths`) that
    it imports or is imported by."""
    best: dict[str, float] = {}
    for path, score in zip(paths, scores, strict=False):
        if score > best.get(path, float("-inf")):
            best[path] = score
    readers = sorted(best, key=lambda path: (-best[path], path))[:READERS]
    if not readers or best[readers[0]] <= 0:
        return {}
    top = best[readers[0]]
    credit: dict[str, float] = {}
    for reader in readers:
        for other in neighbors.get(reader, ()):
            credit[other] = max(credit.get(other, 0.0), best[reader] / top)
    return credit
