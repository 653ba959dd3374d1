"""Ranking chunks against a question, and a question-independent dependency order.

Lexical relevance is BM25 computed only for the question's terms (a sparse dot product: no
index of the vocabulary is built, since tokenizing a 10M-token corpus in Python takes
seconds). Each chunk is represented by a bounded *surface*: its path (twice, so path
matches weigh more), the names of the definitions that start in it with the first line of
each one's docstring (from the outlines, so every function of a 10M-token corpus is seen)
and the head of its text (module docstring, imports). The heads share a fixed character
budget, so a small corpus is indexed in full and a 10M-token one costs about what a
1M-token one does. Surfaces are normalized in bulk (`words`: camelCase and snake_case
split, lowercased, stemmed); a term matches a whole stemmed word. A chunk that defines a
name the question spells as code (`send_static_file`, `Cart.total`, `parseHTTPResponse`)
gets a bonus. A question that asks two things ("..., and where is that switched on?") has
each clause ranked by its own terms too, and a clause's best chunks keep most of the best
score (`clauses`), so one clause's words do not bury the other's answer. Tests, benchmarks
and changelogs mention everything and rarely hold the answer: their lexical score is
halved, and docs and generated copies weigh less than code too (`file_kinds`); docs weigh
less again once the second pass has read them for the code they name. Structural priors
(README and docs, entry points, how many files import the file) weigh less than a lexical
match, so a named thing wins. A second pass lifts the definitions that the best chunks
name where they talk about the question (`mentions`), then the import neighbours of the
best files (`neighbors`), then the classes the best chunks' classes extend (`bases`), each
in proportion to the chunk's own lexical score. British spellings in the question also
search for their American form (`spelling`). Last, the best few chunks are re-scored by
their cosine to the question under a small sentence encoder (`dense`), which reaches an
answer asked in other words than the code's. The question-independent part (surfaces,
priors, the import graph) is kept for the last corpus ranked, so further questions over
the same chunks cost a few milliseconds, and in the store, by the pack's content and this
code, so the next process reads it instead of building it.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import operator
import re
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from ..chunk import Chunk
from ..definition import Definition, Outlines
from . import dense
from .bases import base_credit
from .clauses import clauses
from .file_kinds import DOC_ANSWER_SCALE, is_doc, is_readme, lexical_weight
from .imports import first_texts, imports, path_key
from .mentions import mention_credit
from .neighbors import neighbor_credit, undirected
from .spelling import american
from .words import find_all, normalize, stemmed, stems, words_of

if TYPE_CHECKING:
    from ..store import Store

SURFACE_CHARS = 600_000  # chunk heads share this many characters
MIN_HEAD = 200  # but each chunk gets at least this much of its text
DEFINES_WEIGHT = 0.5  # bonus for defining a name the question spells as code
MAX_DEFINITIONS = 3  # a name defined in more chunks than this does not identify a place
PRIOR_WEIGHT = 0.2  # BM25 is scaled to [0, 1], priors to [0, PRIOR_WEIGHT]
MENTION_WEIGHT = 2.0  # a chunk named by the best chunks: lexical * (1 + this * its credit)
NEIGHBOR_WEIGHT = 0.2  # an import neighbour of the best files: lexical * (1 + this * its credit)
BASE_WEIGHT = 2.0  # a class the best chunks' classes extend: lexical * (1 + this * its credit)
CLAUSE_WEIGHT = 0.75  # a clause's best chunk scores at least this share of the question's best
CLAUSE_MIN_TERMS = 2  # a clause with fewer search terms is not ranked on its own
K1, B = 1.2, 0.75

STOPWORDS = frozenset(  # English function words and the verbs of asking about code
    "a about after all also am an and any are as at be been before being but by can could did do does done "
    "each for from had has have how i if in into is it its me more most my no not of on or our should so some "
    "such than that the their them then there these they this those to was we were what when where which while "
    "who why will with would you your "
    "describe explain get gets handle handled handles happen happens implement implemented implements "
    "mean means need show tell use used uses using want way work works".split()
)
ENTRY_NAMES = frozenset(
    "__main__.py main.py app.py cli.py manage.py wsgi.py asgi.py server.py index.js index.ts index.mjs "
    "main.js main.ts server.js server.ts app.js app.ts main.go main.rs lib.rs".split()
)

_IDENTIFIER = re.compile(r"[A-Za-z0-9_]+(?:(?:[./-]|::)[A-Za-z0-9_]+)*")
_CAMEL = re.compile(r"[a-z0-9][A-Z]")


@dataclass(frozen=True, slots=True)
class Ranked:
    chunk: Chunk
    score: float  # lexical + PRIOR_WEIGHT * prior (+ the dense gain among the best); higher is more relevant
    lexical: float  # BM25 scaled to [0, 1], plus DEFINES_WEIGHT per code name it defines, times the lifts
    # (a doc's, in a corpus with code that matches, times DOC_ANSWER_SCALE too)
    prior: float  # structural prior in [0, 1]


def rank(
    chunks: Sequence[Chunk],
    question: str,
    outlines: Outlines,
    *,
    store: Store | None = None,
    digest: str = "",
) -> list[Ranked]:
    """Every chunk, best first; ties broken by chunk id. With a `store` and the pack's
    `digest`, the question-independent index is kept there for the next process."""
    index = _index(chunks, outlines, store, digest)
    query = terms(question)
    by_term = index.term_scores(query)
    bm25 = _weighted(index, by_term.values())
    top = max(bm25, default=0.0) or 1.0
    for clause in clauses(question):
        own = [t for t in terms(clause) if t in by_term]
        if len(own) >= CLAUSE_MIN_TERMS:
            part = _weighted(index, [by_term[t] for t in own])
            scale = CLAUSE_WEIGHT * top / (max(part) or 1.0)
            bm25 = [max(b, p * scale) for b, p in zip(bm25, part, strict=False)]
    wanted = code_names(question)
    defines = _defines(wanted, index.names) if wanted else {}
    lexical = [b / top + DEFINES_WEIGHT * defines.get(i, 0) for i, b in enumerate(bm25)]
    if query:
        _second_pass(index, query, lexical)
    docs, code = index.kinds()
    if docs and any(lexical[i] > 0 for i in code):
        for i in docs:
            lexical[i] *= DOC_ANSWER_SCALE
    scores = _scores(index, lexical)
    keys = list(zip([-score for score in scores], [c.id for c in chunks], strict=False))
    order = sorted(range(len(chunks)), key=keys.__getitem__)
    if query:
        _dense_pass(question, order, scores, keys, chunks, outlines, store)
    return [Ranked(chunks[i], scores[i], lexical[i], index.priors[i]) for i in order]


def _dense_pass(
    question: str,
    order: list[int],
    scores: list[float],
    keys: list[tuple[float, str]],
    chunks: Sequence[Chunk],
    outlines: Outlines,
    store: Store | None,
) -> None:
    """Re-score the best `dense.DEPTH` chunks of `order` by their cosine to the question
    (`dense`), and re-order them among themselves; `scores` and `order` change in place."""
    best = order[: dense.DEPTH]
    picked = [chunks[i] for i in best]
    cosines = dense.gains(question, picked, _defined(picked, outlines), store)
    top = scores[best[0]] if best else 0.0
    for i, cosine in zip(best, cosines, strict=False):
        scores[i] += dense.WEIGHT * top * cosine
        keys[i] = (-scores[i], chunks[i].id)
    order[: len(best)] = sorted(best, key=keys.__getitem__)


def _second_pass(index: _Index, query: list[str], lexical: list[float]) -> None:
    """Lift, in `lexical`, the chunks the best chunks name near the question's terms, then
    the import neighbours of the best files, then the classes the best chunks' classes
    extend; each lift is proportional to the chunk's own lexical score, so a chunk that
    does not match the question stays where it is."""
    chunks = index.chunks
    credit = mention_credit(chunks, _scores(index, lexical), query, index.definers)
    for i, named in credit.items():
        lexical[i] *= 1 + MENTION_WEIGHT * named
    paths = [c.path for c in chunks]
    lifted = neighbor_credit(paths, _scores(index, lexical), index.neighbors)
    for i, path in enumerate(paths):
        if path in lifted:
            lexical[i] *= 1 + NEIGHBOR_WEIGHT * lifted[path]
    extended = base_credit(chunks, _scores(index, lexical), index.outlines, index.names, index.definers)
    for i, base in extended.items():
        lexical[i] *= 1 + BASE_WEIGHT * base


def _weighted(index: _Index, shares: Iterable[Mapping[int, float]]) -> list[float]:
    """BM25 per chunk, the sum of the terms' `shares`, scaled by the chunk's kind."""
    scores = [0.0] * len(index.chunks)
    for share in shares:
        for i, score in share.items():
            scores[i] += score
    return [score * weight for score, weight in zip(scores, index.weights, strict=False)]


def _scores(index: _Index, lexical: list[float]) -> list[float]:
    return [lex + PRIOR_WEIGHT * prior for lex, prior in zip(lexical, index.priors, strict=False)]


def terms(question: str) -> list[str]:
    """The question's search terms: every identifier's parts (camelCase and snake_case
    split, lowercased, stopwords dropped, stemmed; a British spelling adds its American
    form) and, for a compound identifier, the whole of it as a phrase:
    `parseHTTPResponse` gives `pars`, `http`, `respons` and `pars http respons`."""
    found: dict[str, None] = {}
    for identifier in _IDENTIFIER.findall(question):
        parts = normalize(identifier).split()
        parts_stems = stems(parts)
        for part, stem in zip(parts, parts_stems, strict=False):
            if len(part) > 1 and part not in STOPWORDS:
                found[stem] = None
                if american(part) != part:
                    found[stems([american(part)])[0]] = None
        if len(parts) > 1 and not STOPWORDS.issuperset(parts):
            found[" ".join(parts_stems)] = None
    return list(found)


def code_names(question: str) -> set[str]:
    """Names the question spells as code (with `_`, `.`, `::`, camelCase, backticks or a
    call's parentheses), lowercased; for a qualified name, its last part."""
    names = set()
    for match in _IDENTIFIER.finditer(question):
        identifier = match.group()
        quoted = question[match.start() - 1 : match.start()] == "`" or question[match.end() : match.end() + 1] == "("
        if quoted or "_" in identifier or "." in identifier or ":" in identifier or _CAMEL.search(identifier):
            last = re.split(r"[./:-]+", identifier)[-1].lower()
            if len(last) > 1:
                names.add(last)
    return names


@dataclass(frozen=True, slots=True)
class _Index:
    """What ranking needs that does not depend on the question."""

    chunks: Sequence[Chunk]
    outlines: Outlines
    names: list[list[str]]  # per chunk, the names defined in it
    text: str  # the normalized, stemmed surfaces, one space between words, two before each
    starts: list[int]  # where each chunk's surface starts in `text`
    norm: list[float]  # BM25's length normalization per chunk
    priors: list[float]
    weights: list[float]  # per chunk, the scale of its lexical score (`file_kinds.lexical_weight`)
    neighbors: dict[str, list[str]]  # per path, the paths it imports or is imported by
    _flat: tuple[list[str], list[int]] | None = field(default=None, init=False, compare=False)
    _kinds: tuple[list[int], list[int]] | None = field(default=None, init=False, compare=False)

    def kinds(self) -> tuple[list[int], list[int]]:
        """The indexes of the docs chunks and of the others (code), found once per index."""
        if self._kinds is None:
            docs = [is_doc(c.path) for c in self.chunks]
            kinds = ([i for i, d in enumerate(docs) if d], [i for i, d in enumerate(docs) if not d])
            object.__setattr__(self, "_kinds", kinds)
        assert self._kinds is not None
        return self._kinds

    def definers(self, wanted: set[str]) -> dict[str, list[int]]:
        """Each of the `wanted` names (lowercased) that code defines -> the chunks defining
        it, in order (a docs heading is not a definition). The names are flattened and
        lowercased in bulk once per index; each call is one pass over them."""
        if self._flat is None:
            code = self.kinds()[1]
            owners = [i for i in code for _ in self.names[i]]
            lowered = "\0".join(name for i in code for name in self.names[i]).lower().split("\0")
            object.__setattr__(self, "_flat", (lowered, owners))
        assert self._flat is not None
        where: dict[str, list[int]] = {}
        for name, i in zip(*self._flat, strict=False):
            if name in wanted:
                places = where.setdefault(name, [])
                if not places or places[-1] != i:
                    places.append(i)
        return where

    def term_scores(self, query: list[str]) -> dict[str, dict[int, float]]:
        """Per query term, its BM25 share of each chunk's surface where it occurs."""
        text, starts, count = self.text, self.starts, len(self.chunks)
        found: dict[str, dict[int, float]] = {}
        for term in query:
            tf: dict[int, int] = {}
            for at in find_all(text, f" {term} ", 1):  # at: where the term's first word starts
                i = bisect_right(starts, at) - 1
                tf[i] = tf.get(i, 0) + 1
            idf = math.log(1 + (count - len(tf) + 0.5) / (len(tf) + 0.5))
            found[term] = {i: idf * f * (K1 + 1) / (f + self.norm[i]) for i, f in tf.items()}
        return found


_last_index: list[_Index] = []  # the last corpus ranked: batch questions reuse it
_STORED = ("names", "text", "starts", "norm", "priors", "weights", "neighbors")  # the _Index fields a store keeps


def _index(chunks: Sequence[Chunk], outlines: Outlines, store: Store | None, digest: str) -> _Index:
    """The index of `chunks`: reused while the same (immutable) chunk objects come back,
    read from `store` when a pack with the same `digest` was ranked before by the same
    ranking code, built (and stored) otherwise."""
    if _last_index:
        last = _last_index[0]
        if (
            last.outlines is outlines
            and len(last.chunks) == len(chunks)
            and all(map(operator.is_, last.chunks, chunks))
        ):
            return last
    key = _store_key(digest) if store is not None and digest else ""
    fields = _stored_fields(store.rank_index(key)) if store is not None and key else None
    if fields is not None and len(fields["starts"]) == len(chunks):
        index = _Index(tuple(chunks), outlines, **fields)
    else:
        index = _build_index(chunks, outlines)
        if store is not None and key:
            fields = {name: getattr(index, name) for name in _STORED}
            store.save_rank_index(key, zlib.compress(json.dumps(fields, separators=(",", ":")).encode(), 1))
    _last_index[:] = [index]
    return index


def _stored_fields(data: bytes | None) -> dict | None:
    """A stored index's fields; None when there is none or it cannot be read (then it is
    built again and overwritten)."""
    try:
        fields = json.loads(zlib.decompress(data)) if data else None
    except (zlib.error, ValueError):
        return None
    return fields if isinstance(fields, dict) and set(fields) == set(_STORED) else None


@lru_cache(maxsize=1)
def _code_version() -> str:
    """What the index depends on besides the chunks: this module's code, the import graph's
    (priors count importers), the file kinds' (lexical weights), the words' (surfaces) and
    the stemmer's."""
    here = Path(__file__)
    code = b"".join(
        here.with_name(name).read_bytes() for name in (here.name, "imports.py", "file_kinds.py", "words.py")
    )
    return hashlib.sha256(code + metadata.version("PyStemmer").encode()).hexdigest()


def _store_key(digest: str) -> str:
    return hashlib.sha256(f"{_code_version()}:{digest}".encode()).hexdigest()


def _build_index(chunks: Sequence[Chunk], outlines: Outlines) -> _Index:
    entries = _defined(chunks, outlines)
    names = [[e.name for e in found] for found in entries]
    head = max(MIN_HEAD, SURFACE_CHARS // max(len(chunks), 1))
    surfaces = [
        " ".join((c.path, c.path, *[f"{e.name} {e.doc}" for e in found], c.text[:head]))
        for c, found in zip(chunks, entries, strict=False)
    ]
    normalized = [" ".join(words) for words in stemmed(words_of(surfaces))]
    starts, at = [], 1
    for surface in normalized:
        starts.append(at)
        at += len(surface) + 2
    lengths = [len(surface) + 1 for surface in normalized]
    average = sum(lengths) / len(lengths) if lengths else 1.0
    texts = first_texts(chunks)
    graph = imports(texts)
    path_priors = _priors(texts, graph)
    return _Index(
        tuple(chunks),
        outlines,
        names,
        " " + "  ".join(normalized) + " ",
        starts,
        [K1 * (1 - B + B * length / average) for length in lengths],
        [path_priors[c.path] for c in chunks],
        [lexical_weight(c.path) for c in chunks],
        undirected(graph),
    )


def _defined(chunks: Sequence[Chunk], outlines: Outlines) -> list[tuple[Definition, ...]]:
    """Per chunk, the outline entries that start in its lines (outlines are in document
    order)."""
    by_path: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        by_path.setdefault(c.path, []).append(i)
    defined: list[tuple[Definition, ...]] = [()] * len(chunks)
    for path, members in by_path.items():
        entries = outlines.get(path)
        if not entries:
            continue
        only = chunks[members[0]]
        if len(members) == 1 and only.start_line <= entries[0].start_line and entries[-1].start_line <= only.end_line:
            defined[members[0]] = entries
            continue
        lines = [e.start_line for e in entries]
        for i in members:
            defined[i] = entries[bisect_left(lines, chunks[i].start_line) : bisect_right(lines, chunks[i].end_line)]
    return defined


def _defines(wanted: set[str], names: Sequence[list[str]]) -> dict[int, int]:
    """Chunk index -> how many of the `wanted` names it defines, counting only names
    defined in at most MAX_DEFINITIONS chunks."""
    where: dict[str, set[int]] = {}
    for i, defined in enumerate(names):
        for name in defined:
            if name.lower() in wanted:
                where.setdefault(name.lower(), set()).add(i)
    defines: dict[int, int] = {}
    for found in where.values():
        if len(found) <= MAX_DEFINITIONS:
            for i in found:
                defines[i] = defines.get(i, 0) + 1
    return defines


def _priors(texts: Mapping[str, str], graph: Mapping[str, set[str]]) -> dict[str, float]:
    """Per path of `texts`: the largest of its kind's prior (README, entry point, docs)
    and its import in-degree in `graph` on a log scale relative to the most imported file."""
    indegree = dict.fromkeys(texts, 0)
    for imported in graph.values():
        for path in imported:
            indegree[path] += 1
    scale = math.log1p(max(indegree.values(), default=0)) or 1.0
    top_readme = min((p.count("/") for p in texts if is_readme(p)), default=0)
    return {path: max(_kind_prior(path, top_readme), math.log1p(d) / scale) for path, d in indegree.items()}


def _kind_prior(path: str, top_readme: int) -> float:
    """1 for the top README(s), 0.7 for an entry point, 0.5 for other docs."""
    name = path[path.rfind("/") + 1 :].lower()
    if name.startswith("readme"):
        return 1.0 if path.count("/") == top_readme else 0.5
    if name in ENTRY_NAMES or name.startswith("cli.") or "/bin/" in f"/{path}" or "/cmd/" in f"/{path}":
        return 0.7
    return 0.5 if is_doc(path) else 0.0


def dependency_order(paths: Sequence[str], texts: Mapping[str, str]) -> list[str]:
    """READMEs (shallowest first), then other docs by path, then the rest so that a file
    comes after the files it imports (read from `texts[path]`); among files that are
    ready, and to break a cycle, the first by path. Independent of any question."""
    readmes = sorted((p for p in paths if is_readme(p)), key=lambda p: (p.count("/"), path_key(p)))
    docs = sorted((p for p in paths if is_doc(p) and not is_readme(p)), key=path_key)
    rest = sorted((p for p in paths if not is_doc(p)), key=path_key)
    graph = imports({p: texts.get(p, "") for p in rest})
    needs = {p: set(graph.get(p, ())) for p in rest}
    users: dict[str, list[str]] = {p: [] for p in rest}
    for p, imported in needs.items():
        for q in imported:
            users[q].append(p)
    ready = [(path_key(p), p) for p in rest if not needs[p]]
    heapq.heapify(ready)
    order: list[str] = []
    done: set[str] = set()
    by_path = iter(rest)
    while len(order) < len(rest):
        # Without a ready file there is a cycle: release the first file by path that is not placed yet.
        p = heapq.heappop(ready)[1] if ready else next(q for q in by_path if q not in done)
        if p in done:
            continue
        done.add(p)
        order.append(p)
        for user in users[p]:
            needs[user].discard(p)
            if not needs[user] and user not in done:
                heapq.heappush(ready, (path_key(user), user))
    return readmes + docs + order
