"""Ranking chunks against a question, and a question-independent dependency order.

Lexical relevance is BM25 computed only for the question's terms (a sparse dot product:
no index of the vocabulary is built, since tokenizing a 10M-token corpus in Python
takes seconds). Each chunk is represented by a bounded *surface*: its path (twice, so
path matches weigh more), the names of the definitions that start in it with the first
line of each one's docstring (from the outlines, so every function of a 10M-token corpus
is seen) and the head of its text (module docstring, imports). The heads share a fixed
character budget, so a small corpus is indexed in full and a 10M-token one costs about
what a 1M-token one does. Surfaces are normalized in bulk, in C: camelCase and
snake_case split, lowercased, other characters turned into spaces, every word reduced
to its English stem (Snowball, so `satisfying` meets `satisfiable` and `popped` meets
`pop`); a term matches a whole stemmed word. A chunk that defines a name the question
spells as code (`send_static_file`, `Cart.total`, `parseHTTPResponse`) gets a bonus.
Tests, benchmarks and changelogs mention everything and rarely hold the answer: their
lexical score is halved. Structural priors (README and docs, entry points, how many
files import the file) weigh less than a lexical match, so a named thing wins. The
question-independent part (surfaces, priors) is kept for the last corpus ranked, so
further questions over the same chunks cost a few milliseconds, and in the store, by the
pack's content and this code, so the next process reads it instead of building it.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import operator
import posixpath
import re
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import Stemmer

from ..chunk import Chunk
from ..definition import Definition, Outlines

if TYPE_CHECKING:
    from ..store import Store

SURFACE_CHARS = 600_000  # chunk heads share this many characters
MIN_HEAD = 200  # but each chunk gets at least this much of its text
IMPORT_SCAN_CHARS = 8_000  # imports are read from this much of a file's first chunk
DEFINES_WEIGHT = 0.5  # bonus for defining a name the question spells as code
MAX_DEFINITIONS = 3  # a name defined in more chunks than this does not identify a place
PRIOR_WEIGHT = 0.2  # BM25 is scaled to [0, 1], priors to [0, PRIOR_WEIGHT]
SIDE_WEIGHT = 0.5  # lexical scale of tests, benchmarks and changelogs (see `is_side_file`)
K1, B = 1.2, 0.75

STOPWORDS = frozenset(  # English function words and the verbs of asking about code
    "a about after all also am an and any are as at be been before being but by can could did do does done "
    "each for from had has have how i if in into is it its me more most my no not of on or our should so some "
    "such than that the their them then there these they this those to was we were what when where which while "
    "who why will with would you your "
    "describe explain get gets handle handled handles happen happens implement implemented implements "
    "mean means need show tell use used uses using want way work works".split()
)
DOC_SUFFIXES = (".md", ".markdown", ".rst", ".txt", ".adoc")
SIDE_FOLDERS = frozenset("test tests testing __tests__ spec specs benchmarks".split())
CHANGELOGS = ("changes", "changelog", "history", "news", "releases", "release-notes", "release_notes")
ENTRY_NAMES = frozenset(
    "__main__.py main.py app.py cli.py manage.py wsgi.py asgi.py server.py index.js index.ts index.mjs "
    "main.js main.ts server.js server.ts app.js app.ts main.go main.rs lib.rs".split()
)

# Byte classes for the bulk normalization: word characters (lower or digit), upper, other.
_KINDS = bytes(97 if 97 <= c <= 122 or 48 <= c <= 57 else 65 if 65 <= c <= 90 else 32 for c in range(256))
_FOLD = bytes(c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256))
_IDENTIFIER = re.compile(r"[A-Za-z0-9_]+(?:(?:[./-]|::)[A-Za-z0-9_]+)*")
_CAMEL = re.compile(r"[a-z0-9][A-Z]")


@dataclass(frozen=True, slots=True)
class Ranked:
    chunk: Chunk
    score: float  # lexical + PRIOR_WEIGHT * prior; higher is more relevant
    lexical: float  # BM25 scaled to [0, 1], plus DEFINES_WEIGHT per code name the chunk defines
    prior: float  # structural prior in [0, 1]


def rank(
    chunks: Sequence[Chunk], question: str, outlines: Outlines, *,
    store: Store | None = None, digest: str = "",
) -> list[Ranked]:
    """Every chunk, best first; ties broken by chunk id. With a `store` and the pack's
    `digest`, the question-independent index is kept there for the next process."""
    index = _index(chunks, outlines, store, digest)
    query = terms(question)
    bm25 = index.bm25(query)
    bm25 = [b * SIDE_WEIGHT if side else b for b, side in zip(bm25, index.side)]
    top = max(bm25, default=0.0) or 1.0
    wanted = code_names(question)
    defines = _defines(wanted, index.names) if wanted else {}
    lexical = [b / top + DEFINES_WEIGHT * defines.get(i, 0) for i, b in enumerate(bm25)]
    scores = [lex + PRIOR_WEIGHT * prior for lex, prior in zip(lexical, index.priors)]
    keys = list(zip([-score for score in scores], [c.id for c in chunks]))
    order = sorted(range(len(chunks)), key=keys.__getitem__)
    return [Ranked(chunks[i], scores[i], lexical[i], index.priors[i]) for i in order]


def terms(question: str) -> list[str]:
    """The question's search terms: every identifier's parts (camelCase and snake_case
    split, lowercased, stopwords dropped, stemmed) and, for a compound identifier, the
    whole of it as a phrase: `parseHTTPResponse` gives `pars`, `http`, `respons` and
    `pars http respons`."""
    found: dict[str, None] = {}
    for identifier in _IDENTIFIER.findall(question):
        parts = normalize(identifier).split()
        stems = _stems(parts)
        for part, stem in zip(parts, stems):
            if len(part) > 1 and part not in STOPWORDS:
                found[stem] = None
        if len(parts) > 1 and not STOPWORDS.issuperset(parts):
            found[" ".join(stems)] = None
    return list(found)


def line_terms(lines: Sequence[str]) -> list[set[str]]:
    """Per line, its stemmed words, as `terms` makes them (no phrases)."""
    return [set(words) for words in _stemmed(_words(lines))]


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


def normalize(text: str) -> str:
    """Words split at camelCase and snake_case borders, lowercased, separated by spaces
    (non-ASCII characters become separators)."""
    return _normalize(text.encode("ascii", "replace"))[0].decode("ascii")


def _normalize(data: bytes) -> tuple[bytes, list[int]]:
    """`normalize` on bytes, and the positions before which a space was inserted at a
    camelCase border (lower or digit then upper: `parseHTTP`; upper then upper-lower:
    `HTTPResponse`)."""
    kinds = data.translate(_KINDS)
    cuts = sorted(_find_all(kinds, b"aA", 1) + _find_all(kinds, b"AAa", 1))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    return b" ".join(pieces).translate(_FOLD), cuts


def _words(texts: Sequence[str]) -> list[list[str]]:
    """Each text's words as `normalize` splits them, all texts normalized in one pass
    (one character becomes one byte, so only camelCase cuts move the borders)."""
    normalized, cuts = _normalize(("  " + "  ".join(texts) + "  ").encode("ascii", "replace"))
    text = normalized.decode("ascii")
    bounds, at = [], 2
    for piece in texts:
        bounds.append(at + bisect_right(cuts, at))
        at += len(piece) + 2
    return [text[a:b].split() for a, b in zip(bounds, [*bounds[1:], len(text)])]


def _find_all(haystack: bytes | str, needle: bytes | str, shift: int = 0) -> list[int]:
    """Start positions of `needle` (overlapping), plus `shift`."""
    found, find = [], haystack.find
    at = find(needle)
    while at >= 0:
        found.append(at + shift)
        at = find(needle, at + 1)
    return found


def _stems(words: list[str]) -> list[str]:
    return _stemmer().stemWords(words)


def _stemmed(texts: list[list[str]]) -> list[list[str]]:
    """Each list of words stemmed; each distinct word is stemmed once."""
    vocabulary = list(set().union(*texts))
    stem = dict(zip(vocabulary, _stems(vocabulary)))
    return [[stem[w] for w in words] for words in texts]


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def is_side_file(path: str) -> bool:
    """A test, a benchmark or a changelog: `tests/…`, `test_x.py`, `x_test.go`,
    `x.spec.ts`, `conftest.py`, `CHANGES.rst`."""
    folders, _, name = path.lower().rpartition("/")
    if SIDE_FOLDERS.intersection(folders.split("/")):
        return True
    stem = name.split(".", 1)[0]
    return (
        stem.startswith("test_") or stem.endswith(("_test", "_tests")) or name == "conftest.py"
        or ".test." in name or ".spec." in name
        or (stem in CHANGELOGS and (name == stem or name.endswith(DOC_SUFFIXES)))
    )


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
    side: list[bool]  # per chunk, whether it is in a test, benchmark or changelog

    def bm25(self, query: list[str]) -> list[float]:
        """BM25 of each chunk's surface for the query terms (0.0 where none occurs)."""
        scores = [0.0] * len(self.chunks)
        text, starts = self.text, self.starts
        for term in query:
            tf: dict[int, int] = {}
            for at in _find_all(text, f" {term} ", 1):  # at: where the term's first word starts
                i = bisect_right(starts, at) - 1
                tf[i] = tf.get(i, 0) + 1
            idf = math.log(1 + (len(scores) - len(tf) + 0.5) / (len(tf) + 0.5))
            for i, f in tf.items():
                scores[i] += idf * f * (K1 + 1) / (f + self.norm[i])
        return scores


_last_index: list[_Index] = []  # the last corpus ranked: batch questions reuse it
_STORED = ("names", "text", "starts", "norm", "priors", "side")  # the _Index fields a store keeps


def _index(
    chunks: Sequence[Chunk], outlines: Outlines, store: Store | None, digest: str
) -> _Index:
    """The index of `chunks`: reused while the same (immutable) chunk objects come back,
    read from `store` when a pack with the same `digest` was ranked before by the same
    ranking code, built (and stored) otherwise."""
    if _last_index:
        last = _last_index[0]
        if last.outlines is outlines and len(last.chunks) == len(chunks) and all(map(operator.is_, last.chunks, chunks)):
            return last
    key = _store_key(digest) if store is not None and digest else ""
    fields = _stored_fields(store.rank_index(key)) if key else None
    if fields is not None and len(fields["starts"]) == len(chunks):
        index = _Index(tuple(chunks), outlines, **fields)
    else:
        index = _build_index(chunks, outlines)
        if key:
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
    """What the index depends on besides the chunks: this module's code and the stemmer's."""
    return hashlib.sha256(Path(__file__).read_bytes() + metadata.version("PyStemmer").encode()).hexdigest()


def _store_key(digest: str) -> str:
    return hashlib.sha256(f"{_code_version()}:{digest}".encode()).hexdigest()


def _build_index(chunks: Sequence[Chunk], outlines: Outlines) -> _Index:
    entries = _defined(chunks, outlines)
    names = [[e.name for e in found] for found in entries]
    head = max(MIN_HEAD, SURFACE_CHARS // max(len(chunks), 1))
    surfaces = [
        " ".join((c.path, c.path, *[f"{e.name} {e.doc}" for e in found], c.text[:head]))
        for c, found in zip(chunks, entries)
    ]
    stemmed = [" ".join(words) for words in _stemmed(_words(surfaces))]
    starts, at = [], 1
    for surface in stemmed:
        starts.append(at)
        at += len(surface) + 2
    lengths = [len(surface) + 1 for surface in stemmed]
    average = sum(lengths) / len(lengths) if lengths else 1.0
    path_priors = _priors(chunks)
    return _Index(
        tuple(chunks), outlines, names, " " + "  ".join(stemmed) + " ", starts,
        [K1 * (1 - B + B * length / average) for length in lengths],
        [path_priors[c.path] for c in chunks],
        [is_side_file(c.path) for c in chunks],
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


def _priors(chunks: Sequence[Chunk]) -> dict[str, float]:
    """Per path: the largest of its kind's prior (README, entry point, docs) and its
    import in-degree on a log scale relative to the most imported file."""
    texts = first_texts(chunks)
    indegree = {path: 0 for path in texts}
    for imported in imports(texts).values():
        for path in imported:
            indegree[path] += 1
    scale = math.log1p(max(indegree.values(), default=0)) or 1.0
    top_readme = min((p.count("/") for p in texts if _is_readme(p)), default=0)
    return {path: max(_kind_prior(path, top_readme), math.log1p(d) / scale) for path, d in indegree.items()}


def _kind_prior(path: str, top_readme: int) -> float:
    """1 for the top README(s), 0.7 for an entry point, 0.5 for other docs."""
    name = path[path.rfind("/") + 1 :].lower()
    if name.startswith("readme"):
        return 1.0 if path.count("/") == top_readme else 0.5
    if name in ENTRY_NAMES or name.startswith("cli.") or "/bin/" in f"/{path}" or "/cmd/" in f"/{path}":
        return 0.7
    return 0.5 if is_doc(path) else 0.0


def is_doc(path: str) -> bool:
    """README, prose files and anything under a doc/ or docs/ folder."""
    lowered = f"/{path.lower()}"
    return lowered.endswith(DOC_SUFFIXES) or "/doc/" in lowered or "/docs/" in lowered or _is_readme(path)


def _is_readme(path: str) -> bool:
    return path[path.rfind("/") + 1 :].lower().startswith("readme")


def first_texts(chunks: Iterable[Chunk]) -> dict[str, str]:
    """Each path's first chunk's text (where its imports are)."""
    first: dict[str, Chunk] = {}
    for c in chunks:
        if c.path not in first or c.start_line < first[c.path].start_line:
            first[c.path] = c
    return {path: c.text for path, c in first.items()}


def dependency_order(paths: Sequence[str], texts: Mapping[str, str]) -> list[str]:
    """READMEs (shallowest first), then other docs by path, then the rest so that a file
    comes after the files it imports (read from `texts[path]`); among files that are
    ready, and to break a cycle, the first by path. Independent of any question."""
    readmes = sorted((p for p in paths if _is_readme(p)), key=lambda p: (p.count("/"), _path_key(p)))
    docs = sorted((p for p in paths if is_doc(p) and not _is_readme(p)), key=_path_key)
    rest = sorted((p for p in paths if not is_doc(p)), key=_path_key)
    graph = imports({p: texts.get(p, "") for p in rest})
    needs = {p: set(graph.get(p, ())) for p in rest}
    users: dict[str, list[str]] = {p: [] for p in rest}
    for p, imported in needs.items():
        for q in imported:
            users[q].append(p)
    ready = [(_path_key(p), p) for p in rest if not needs[p]]
    heapq.heapify(ready)
    order: list[str] = []
    done: set[str] = set()
    by_path = iter(rest)
    while len(order) < len(rest):
        if ready:
            p = heapq.heappop(ready)[1]
        else:  # a cycle: release the first file by path that is not placed yet
            p = next(q for q in by_path if q not in done)
        if p in done:
            continue
        done.add(p)
        order.append(p)
        for user in users[p]:
            needs[user].discard(p)
            if not needs[user] and user not in done:
                heapq.heappush(ready, (_path_key(user), user))
    return readmes + docs + order


def _path_key(path: str) -> list[str]:
    return path.split("/")


# Imports, per language: Python's before the first top-level definition, the others in
# the head of the file; bare JS specifiers (packages) and Go's standard library are ignored.
_PY_BODY = re.compile(r"\n(?:def|class|async|@)\b")
_PY_IMPORT = re.compile(r"\n(?:from|import)[ \t]+(\S+)")  # the module of `from M import` and of `import M`
_WORDS = re.compile(r"\w+")
_JS_IMPORT = re.compile(r"""(?:\bfrom|\bimport|\brequire\(|\bimport\()[ \t]*['"](\.{1,2}/[^'"]+)['"]""")
_GO_IMPORT = re.compile(r'\bimport[ \t]*(?:\(([^)]*)\)|[\w.]*[ \t]*"([^"]+)")')
_GO_PATH = re.compile(r'"([^"]+)"')
_RS_USE = re.compile(r"\b(?:use[ \t]+crate::([\w:]+)|mod[ \t]+(\w+)[ \t]*;)")
_JS_SUFFIXES = ("", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", "/index.ts", "/index.tsx", "/index.js", "/index.jsx")
_JS_EXTENSIONS = (".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".vue", ".svelte")


def imports(texts: Mapping[str, str]) -> dict[str, set[str]]:
    """For each path, the paths among `texts` that it imports (Python, JS/TS, Go, Rust)."""
    python = _PythonModules(sorted((p for p in texts if p.endswith(".py")), key=_path_key))
    go_dirs: dict[str, list[str]] = {}
    for path in sorted((p for p in texts if p.endswith(".go") and not p.endswith("_test.go")), key=_path_key):
        parts = posixpath.dirname(path).split("/")
        for i in range(len(parts)):
            go_dirs.setdefault("/".join(parts[i:]), []).append(path)
    graph: dict[str, set[str]] = {}
    for path, text in texts.items():
        if path.endswith(".py"):
            found = python.imports(path, text)
        elif path.endswith(_JS_EXTENSIONS):
            found = _js_imports(path, text[:IMPORT_SCAN_CHARS], texts)
        elif path.endswith(".go"):
            found = _go_imports(text[:IMPORT_SCAN_CHARS], go_dirs)
        elif path.endswith(".rs"):
            found = _rust_imports(path, text[:IMPORT_SCAN_CHARS], texts)
        else:
            continue
        found.discard(path)
        if found:
            graph[path] = found
    return graph


class _PythonModules:
    """The dotted module names of a set of Python files, and what each file imports.
    A name starts at the topmost folder of the chain of folders with an `__init__.py`
    above the file: `src/flask/json/__init__.py` is `flask.json`."""

    def __init__(self, paths: Sequence[str]) -> None:
        self._package_dirs = {posixpath.dirname(p) for p in paths if p.endswith("/__init__.py")}
        self._package_names: dict[str, str] = {}
        self.files: dict[str, list[str]] = {}  # dotted name -> files, by path
        for path in paths:
            folder, name = posixpath.split(path[:-3])
            package = self._package(folder)
            module = package if name == "__init__" else f"{package}.{name}" if package else name
            self.files.setdefault(module, []).append(path)
        self.packages: dict[str, set[str]] = {self._package(folder): set() for folder in self._package_dirs}
        for module in self.files:
            parent, _, name = module.rpartition(".")
            if parent in self.packages:
                self.packages[parent].add(name)  # the package's submodules and subpackages

    def _package(self, folder: str) -> str:
        """The dotted name of a folder: empty when it is not a package."""
        if folder not in self._package_names:
            if folder in self._package_dirs:
                parent, name = posixpath.split(folder)
                above = self._package(parent)
                self._package_names[folder] = f"{above}.{name}" if above else name
            else:
                self._package_names[folder] = ""
        return self._package_names[folder]

    def imports(self, path: str, text: str) -> set[str]:
        """Files imported at the top level before the first definition. `from P import a`
        credits the submodule P.a when there is one, else P; `import M` credits M."""
        body = _PY_BODY.search(text, 0, IMPORT_SCAN_CHARS)
        head = "\n" + text[: body.start() if body else IMPORT_SCAN_CHARS]
        wanted = {name.rstrip(",") for name in _PY_IMPORT.findall(head)}
        for source in [w for w in wanted if w[:1] == "." or w in self.packages]:
            wanted.discard(source)
            module = self._absolute(source, path)
            submodules = _listed(head, source) & self.packages[module] if module in self.packages else set()
            wanted.update([f"{module}.{name}" for name in submodules] or [module])
        return {self.files[m][0] if len(self.files[m]) == 1 else _closest(self.files[m], path) for m in wanted & self.files.keys()}

    def _absolute(self, source: str, importer: str) -> str:
        """`source` of a `from` import with its leading dots resolved against the importer."""
        dots = len(source) - len(source.lstrip("."))
        if not dots:
            return source
        parts = self._package(posixpath.dirname(importer)).split(".")
        return ".".join([*parts[: len(parts) - dots + 1], source[dots:]]).strip(".")


def _listed(head: str, source: str) -> set[str]:
    """The words after `from <source> import` (to the end of the line, or of a
    parenthesized list)."""
    words: set[str] = set()
    needle = f"\nfrom {source} import"
    at = head.find(needle)
    while at >= 0:
        at += len(needle)
        end = head.find(")" if head.startswith((" (", "("), at) else "\n", at)
        words.update(_WORDS.findall(head, at, end if end >= 0 else len(head)))
        at = head.find(needle, at)
    return words


def _closest(candidates: Sequence[str], importer: str) -> str:
    """Of several files with one module name: the one beside the importer (Python puts a
    script's folder first on its path), else the shallowest, then the first by path."""
    folder = posixpath.dirname(importer)
    return min(candidates, key=lambda c: (posixpath.dirname(c) != folder, c.count("/"), _path_key(c)))


def _js_imports(path: str, head: str, texts: Mapping[str, str]) -> set[str]:
    folder = posixpath.dirname(path)
    found = set()
    for spec in _JS_IMPORT.findall(head):
        base = posixpath.normpath(posixpath.join(folder, spec))
        match = next((base + s for s in _JS_SUFFIXES if base + s in texts), None)
        if match:
            found.add(match)
    return found


def _go_imports(head: str, go_dirs: Mapping[str, list[str]]) -> set[str]:
    found: set[str] = set()
    for block, single in _GO_IMPORT.findall(head):
        for spec in _GO_PATH.findall(block) if block else [single]:
            if "." not in spec.split("/", 1)[0]:
                continue  # the standard library
            parts = spec.split("/")
            folder = next((f for f in ("/".join(parts[i:]) for i in range(len(parts))) if f in go_dirs), None)
            if folder is not None:
                found.update(go_dirs[folder])
    return found


def _rust_imports(path: str, head: str, texts: Mapping[str, str]) -> set[str]:
    root = path[: path.rfind("src/") + 4] if "src/" in path else ""
    here = posixpath.dirname(path) + "/" if path.endswith(("/lib.rs", "/main.rs", "/mod.rs")) else path[:-3] + "/"
    found = set()
    for use, module in _RS_USE.findall(head):
        if module:
            options = [f"{here}{module}.rs", f"{here}{module}/mod.rs"]
        else:
            parts = use.split("::")
            prefixes = ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]
            options = [f"{root}{prefix}{suffix}" for prefix in prefixes for suffix in (".rs", "/mod.rs")]
        match = next((o for o in options if o in texts), None)
        if match:
            found.add(match)
    return found
