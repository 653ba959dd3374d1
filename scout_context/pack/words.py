"""The words of code and of questions, as ranking compares them: camelCase and snake_case
split, lowercased, other characters turned into spaces (normalization, in bulk, in C), and
every word reduced to its English stem (Snowball, so `satisfying` meets `satisfiable` and
`popped` meets `pop`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache
from typing import AnyStr

import Stemmer

# Byte classes for the bulk normalization: word characters (lower or digit), upper, other.
_KINDS = bytes(97 if 97 <= c <= 122 or 48 <= c <= 57 else 65 if 65 <= c <= 90 else 32 for c in range(256))
_FOLD = bytes(c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256))
_FOLD_LINES = _FOLD[:10] + b"\n" + _FOLD[11:]  # the same, keeping line breaks


def normalize(text: str) -> str:
    """Words split at camelCase and snake_case borders, lowercased, separated by spaces
    (non-ASCII characters become separators)."""
    return normalize_bytes(text.encode("ascii", "replace"))[0].decode("ascii")


def normalize_bytes(data: bytes, fold: bytes = _FOLD) -> tuple[bytes, list[int]]:
    """`normalize` on bytes (other characters mapped by `fold`), and the positions before
    which a space was inserted at a camelCase border (lower or digit then upper:
    `parseHTTP`; upper then upper-lower: `HTTPResponse`)."""
    kinds = data.translate(_KINDS)
    cuts = sorted(find_all(kinds, b"aA", 1) + find_all(kinds, b"AAa", 1))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=False)]
    return b" ".join(pieces).translate(fold), cuts


def words_of(texts: Sequence[str]) -> list[list[str]]:
    """Each text's words as `normalize` splits them, all texts normalized in one pass
    (one character becomes one byte, so only camelCase cuts move the borders)."""
    normalized, cuts = normalize_bytes(("  " + "  ".join(texts) + "  ").encode("ascii", "replace"))
    text = normalized.decode("ascii")
    bounds, at = [], 2
    for piece in texts:
        bounds.append(at + bisect_right(cuts, at))
        at += len(piece) + 2
    return [text[a:b].split() for a, b in zip(bounds, [*bounds[1:], len(text)], strict=False)]


def find_all(haystack: AnyStr, needle: AnyStr, shift: int = 0) -> list[int]:
    """Start positions of `needle` (overlapping), plus `shift`."""
    found: list[int] = []
    find = haystack.find
    at = find(needle)
    while at >= 0:
        found.append(at + shift)
        at = find(needle, at + 1)
    return found


def stems(words: list[str]) -> list[str]:
    """Each word's Snowball English stem."""
    return _stemmer().stemWords(words)


def stemmed(texts: list[list[str]]) -> list[list[str]]:
    """Each list of words stemmed; each distinct word is stemmed once."""
    vocabulary = list(set().union(*texts))
    stem = dict(zip(vocabulary, stems(vocabulary), strict=False))
    return [[stem[w] for w in words] for words in texts]


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def line_terms(lines: Sequence[str]) -> list[set[str]]:
    """Per line, its stemmed words (as `rank.terms` makes them, without phrases)."""
    return [set(words) for words in stemmed(words_of(lines))]


def line_hits(text: str, wanted: set[str]) -> dict[int, set[str]]:
    """Line number (0-based, lines split at "\\n") -> the stems of `wanted` among its
    words, for the lines holding any: `line_terms` of each line intersected with
    `wanted`, found in one pass over the whole text."""
    data, _ = normalize_bytes(text.encode("ascii", "replace"), _FOLD_LINES)
    normalized = data.decode("ascii")
    vocabulary = list(set(normalized.split()))
    stem = dict(zip(vocabulary, stems(vocabulary), strict=False))
    surfaces = sorted((w for w in vocabulary if stem[w] in wanted), key=lambda w: (-len(w), w))
    if not surfaces:
        return {}
    pattern = re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, surfaces)) + r")(?![a-z0-9])")
    breaks = find_all(normalized, "\n")
    hits: dict[int, set[str]] = {}
    for match in pattern.finditer(normalized):
        hits.setdefault(bisect_right(breaks, match.start()), set()).add(stem[match.group()])
    return hits
