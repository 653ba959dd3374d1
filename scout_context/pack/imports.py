"""The import graph of a set of files: for each path, the paths among them that it
imports (Python, JS/TS, Go, Rust), read from each file's first chunk. Ranking counts a
file's importers as a prior, layout orders files after what they import, and a pull
request's context adds the files a change imports or is imported by.

Python's imports are read before the first top-level definition, the others' in the head
of the file; bare JS specifiers (packages) and Go's standard library are ignored.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence

from ..chunk import Chunk

IMPORT_SCAN_CHARS = 8_000  # imports are read from this much of a file's first chunk


def first_texts(chunks: Iterable[Chunk]) -> dict[str, str]:
    """Each path's first chunk's text (where its imports are)."""
    first: dict[str, Chunk] = {}
    for c in chunks:
        if c.path not in first or c.start_line < first[c.path].start_line:
            first[c.path] = c
    return {path: c.text for path, c in first.items()}


def path_key(path: str) -> list[str]:
    """Sort key of a path: folder by folder, so `a/b` sorts before `a-b/c`."""
    return path.split("/")


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
    python = _PythonModules(sorted((p for p in texts if p.endswith(".py")), key=path_key))
    go_dirs: dict[str, list[str]] = {}
    for path in sorted((p for p in texts if p.endswith(".go") and not p.endswith("_test.go")), key=path_key):
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
        return {
            self.files[m][0] if len(self.files[m]) == 1 else _closest(self.files[m], path)
            for m in wanted & self.files.keys()
        }

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
    return min(candidates, key=lambda c: (posixpath.dirname(c) != folder, c.count("/"), path_key(c)))


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
