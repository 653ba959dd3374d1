"""Code structure with tree-sitter: outlines, and the segments a file is packed in.

`segments` partitions a file's lines into consecutive segments: one per top-level
definition (with its decorators and the comments right above it) and one per stretch of
code between definitions. A segment over `max_chars` is split at the definitions nested
in it (a big class: header, then each method), else at blank lines, else at line
boundaries. Namespaces, Rust `mod` blocks and C preprocessor guards are looked through,
so their members are segmented like top-level code. `compress=True` keeps signatures,
docstrings, fields, imports and constants and replaces function bodies by a placeholder.

Lines are split at "\\n" only, as editors and git count them; tree-sitter rows agree.
Parsers are cached per thread (a tree-sitter parser is not thread-safe), and the thread's
last parse is reused, so `outline` then `segments` of one file parse it once. Parsing
holds the GIL (py-tree-sitter 0.26): spread files over processes, not threads.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache
from itertools import accumulate
from pathlib import PurePath
from typing import NamedTuple

from tree_sitter import Language, Node, Parser, Tree
from tree_sitter_language_pack import get_language

from ..definition import Definition

MAX_PARSE_BYTES = 4 * 1024 * 1024  # larger files (generated code) are split without parsing
_MAX_SIGNATURE = 500
_MAX_DOC = 160
_COMMENT_MARKS = re.compile(r"^\s*(?:/\*+|\*+/?|///?|//!|#+|--|;+)?\s*")


@dataclass(frozen=True, slots=True)
class Segment:
    """Consecutive original lines and the text that stands for them in the prompt."""

    start_line: int
    end_line: int
    text: str


@dataclass(frozen=True, slots=True)
class _Rules:
    kinds: dict[str, str]  # definition node type -> kind
    wrappers: frozenset[str] = frozenset()  # nodes around one definition (decorators, export)
    scopes: dict[str, str] | None = None  # looked-through containers -> outline kind ("" = none)
    placeholder: str = "{ ... }"  # what a function body becomes when compressed


_FUNCTIONS = frozenset({"function", "method"})
_CONTAINERS = frozenset({"class", "struct", "interface", "trait", "impl", "enum"})
_ATTACHED = frozenset({"comment", "line_comment", "block_comment", "multiline_comment", "attribute_item"})
_NEEDS_BODY = frozenset({"struct_specifier", "class_specifier", "union_specifier", "enum_specifier", "mod_item"})
_VAR_DECLS = frozenset({"lexical_declaration", "variable_declaration"})
_VAR_KINDS = {
    "arrow_function": "function",
    "function_expression": "function",
    "function": "function",
    "generator_function": "function",
    "class": "class",
}
_KEYWORD_KINDS = {"struct": "struct", "enum": "enum", "interface": "interface", "extension": "impl"}
_NAME_TYPES = frozenset({"identifier", "simple_identifier", "type_identifier", "constant", "name"})

_C_KINDS = {
    "function_definition": "function",
    "struct_specifier": "struct",
    "union_specifier": "struct",
    "enum_specifier": "enum",
    "type_definition": "type",
}
_C_SCOPES = {
    "preproc_ifdef": "",
    "preproc_if": "",
    "preproc_else": "",
    "preproc_elif": "",
    "preproc_elifdef": "",
    "linkage_specification": "",
}
_JS_KINDS = {
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "class_declaration": "class",
    "method_definition": "method",
}
_TS_KINDS = _JS_KINDS | {
    "abstract_class_declaration": "class",
    "function_signature": "function",
    "abstract_method_signature": "method",
    "interface_declaration": "interface",
    "type_alias_declaration": "type",
    "enum_declaration": "enum",
}
_TS_RULES = _Rules(
    _TS_KINDS,
    frozenset({"export_statement", "ambient_declaration", "expression_statement"}),
    {"internal_module": "module", "module": "module"},
)
_RULES: dict[str, _Rules] = {
    "python": _Rules(
        {"function_definition": "function", "class_definition": "class"},
        frozenset({"decorated_definition"}),
        placeholder="...",
    ),
    "javascript": _Rules(_JS_KINDS, frozenset({"export_statement"})),
    "typescript": _TS_RULES,
    "tsx": _TS_RULES,
    "go": _Rules({"function_declaration": "function", "method_declaration": "method", "type_declaration": "type"}),
    "rust": _Rules(
        {
            "function_item": "function",
            "function_signature_item": "function",
            "struct_item": "struct",
            "union_item": "struct",
            "enum_item": "enum",
            "trait_item": "trait",
            "impl_item": "impl",
            "type_item": "type",
            "macro_definition": "macro",
        },
        scopes={"mod_item": "module", "foreign_mod_item": ""},
    ),
    "c": _Rules(_C_KINDS, scopes=_C_SCOPES),
    "cpp": _Rules(
        _C_KINDS | {"class_specifier": "class"},
        frozenset({"template_declaration"}),
        _C_SCOPES | {"namespace_definition": "module"},
    ),
    "java": _Rules(
        {
            "class_declaration": "class",
            "record_declaration": "class",
            "interface_declaration": "interface",
            "annotation_type_declaration": "interface",
            "enum_declaration": "enum",
            "method_declaration": "method",
            "constructor_declaration": "method",
        }
    ),
    "csharp": _Rules(
        {
            "class_declaration": "class",
            "record_declaration": "class",
            "struct_declaration": "struct",
            "interface_declaration": "interface",
            "enum_declaration": "enum",
            "method_declaration": "method",
            "constructor_declaration": "method",
        },
        scopes={"namespace_declaration": "module"},
    ),
    "kotlin": _Rules({"class_declaration": "class", "object_declaration": "class", "function_declaration": "function"}),
    "swift": _Rules(
        {
            "class_declaration": "class",
            "protocol_declaration": "interface",
            "function_declaration": "function",
            "init_declaration": "method",
        }
    ),
    "scala": _Rules(
        {
            "class_definition": "class",
            "object_definition": "class",
            "trait_definition": "trait",
            "enum_definition": "enum",
            "function_definition": "function",
        }
    ),
    "php": _Rules(
        {
            "function_definition": "function",
            "class_declaration": "class",
            "interface_declaration": "interface",
            "trait_declaration": "trait",
            "enum_declaration": "enum",
            "method_declaration": "method",
        },
        scopes={"namespace_definition": "module"},
    ),
    "ruby": _Rules(
        {"method": "function", "singleton_method": "function", "class": "class"},
        scopes={"module": "module"},
        placeholder="# ...",
    ),
    "bash": _Rules({"function_definition": "function"}),
    "lua": _Rules({"function_declaration": "function"}, placeholder="-- ..."),
}

_EXTENSIONS = {
    "py": "python", "pyi": "python", "pyw": "python",
    "js": "javascript", "mjs": "javascript", "cjs": "javascript", "jsx": "javascript",
    "ts": "typescript", "mts": "typescript", "cts": "typescript", "tsx": "tsx",
    "go": "go", "rs": "rust", "java": "java", "c": "c", "h": "c",
    "cc": "cpp", "cpp": "cpp", "cxx": "cpp", "c++": "cpp", "hh": "cpp", "hpp": "cpp", "hxx": "cpp",
    "h++": "cpp", "ipp": "cpp", "inl": "cpp", "cu": "cuda", "cuh": "cuda",
    "cs": "csharp", "rb": "ruby", "rake": "ruby", "gemspec": "ruby", "php": "php",
    "kt": "kotlin", "kts": "kotlin", "swift": "swift", "scala": "scala", "sc": "scala",
    "sh": "bash", "bash": "bash", "lua": "lua", "md": "markdown", "markdown": "markdown",
    "json": "json", "yaml": "yaml", "yml": "yaml", "toml": "toml", "html": "html", "htm": "html",
    "css": "css", "scss": "scss", "sql": "sql", "r": "r", "jl": "julia", "ex": "elixir", "exs": "elixir",
    "erl": "erlang", "hs": "haskell", "ml": "ocaml", "dart": "dart", "zig": "zig", "nix": "nix",
    "proto": "proto", "pl": "perl", "pm": "perl", "vue": "vue", "svelte": "svelte", "xml": "xml",
    "rst": "rst", "tex": "latex", "cmake": "cmake", "tf": "hcl", "hcl": "hcl", "graphql": "graphql",
}  # fmt: skip
_FILENAMES = {
    "makefile": "make", "gnumakefile": "make", "dockerfile": "dockerfile", "cmakelists.txt": "cmake",
    "rakefile": "ruby", "gemfile": "ruby", ".bashrc": "bash", ".bash_profile": "bash", ".profile": "bash",
}  # fmt: skip

_ATX_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|\r?\n|$)")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_THREAD = threading.local()


def language_for(path: str) -> str | None:
    """The tree-sitter language name for a file, from its name or extension."""
    name = PurePath(path).name.lower()
    if name in _FILENAMES:
        return _FILENAMES[name]
    _, dot, ext = name.rpartition(".")
    return _EXTENSIONS.get(ext) if dot else None


def outline(text: str, language: str) -> list[Definition]:
    """Top-level definitions in order, each class-like one followed by its methods;
    headings for markdown. Best effort on files with syntax errors; never raises."""
    try:
        parsed = _parse(text, language)
        if parsed is None:
            return []
        if language == "markdown":
            return [_heading(h) for h in _headings(parsed[0].root_node)]
        return _Structure(*parsed, language).outline()
    except Exception:
        return []


def segments(
    text: str, language: str | None, *, compress: bool = False, max_chars: int = 16_000
) -> tuple[list[Segment], bool]:
    """Consecutive segments that cover every line of `text` once, and False when the
    structure could not be used (no grammar, a syntax error, a file over
    MAX_PARSE_BYTES): the text is then split at blank lines and line boundaries (markdown
    at headings first). Languages without structure rules are split the same way but
    return True: nothing failed. Never raises."""
    try:
        lines = _Lines(text, max(1, max_chars))
        if language != "markdown" and language not in _RULES:
            return lines.segments(lines.plain(0, lines.count - 1)), True
        try:
            parsed = _parse(text, language)
        except Exception:
            parsed = None
        if parsed is None or parsed[0].root_node.has_error:
            return lines.segments(lines.fallback(language == "markdown")), False
        if language == "markdown":
            starts = [h.start_point.row for h in _headings(parsed[0].root_node)]
            return lines.segments(lines.at_rows(starts)), True
        segmenter = _Segmenter(*parsed, language, lines)
        ranges = segmenter.ranges()
        return (segmenter.compressed(ranges) if compress else lines.segments(ranges)), True
    except Exception:
        return _whole(text), False


# -- parsing ------------------------------------------------------------------------


@cache
def _language(name: str) -> Language | None:
    try:
        return get_language(name)
    except Exception:
        return None


def _parser(name: str) -> Parser | None:
    parsers: dict[str, Parser | None] = _THREAD.__dict__.setdefault("parsers", {})
    if name not in parsers:
        language = _language(name)
        parsers[name] = Parser(language) if language is not None else None
    return parsers[name]


def _parse(text: str, language: str | None) -> tuple[Tree, bytes] | None:
    """The tree and the UTF-8 bytes it was parsed from; None when the language has no
    rules or grammar, or the file is too big. The thread's last parse is reused, so
    `outline` then `segments` of one file parse it once."""
    if language is None or (language != "markdown" and language not in _RULES):
        return None
    last = getattr(_THREAD, "last", None)
    if last is not None and last[0] == language and last[1] == text:
        return last[2]
    data = text.encode("utf-8", "surrogatepass")
    parser = _parser(language) if len(data) <= MAX_PARSE_BYTES else None
    parsed = (parser.parse(data), data) if parser is not None else None
    _THREAD.last = (language, text, parsed)
    return parsed


def _end_row(node: Node) -> int:
    """Last row of `node`, not counting a row it only reaches at column 0."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point.row else row


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


# -- lines ----------------------------------------------------------------------------


class _Lines:
    """The text as "\\n"-terminated lines, with cumulative sizes for range lookups."""

    def __init__(self, text: str, max_chars: int) -> None:
        parts = text.split("\n")
        last = parts.pop()
        self.lines = [part + "\n" for part in parts]
        if last:
            self.lines.append(last)
        self.count = len(self.lines)
        self.cum = [0, *accumulate(map(len, self.lines))]
        self.max_chars = max_chars

    def size(self, first: int, last: int) -> int:
        return self.cum[last + 1] - self.cum[first]

    def text(self, first: int, last: int) -> str:
        return "".join(self.lines[first : last + 1])

    def segments(self, ranges: list[tuple[int, int]]) -> list[Segment]:
        return [Segment(first + 1, last + 1, self.text(first, last)) for first, last in ranges]

    def plain(self, first: int, last: int) -> list[tuple[int, int]]:
        """Rows `first..last` in pieces of at most `max_chars`, cut after blank lines
        where possible, else at line boundaries (a longer line stays whole)."""
        if first > last:
            return []
        cum, limit = self.cum, self.max_chars
        if cum[last + 1] - cum[first] <= limit:
            return [(first, last)]
        blanks = [row for row in range(first, last) if not self.lines[row].strip()]
        pieces = []
        while first <= last:
            end = bisect_right(cum, cum[first] + limit, first + 1, last + 2) - 2
            if end >= last:
                end = last
            elif end < first:
                end = first
            else:
                i = bisect_right(blanks, end) - 1
                if i >= 0 and blanks[i] >= first:
                    end = blanks[i]
            pieces.append((first, end))
            first = end + 1
        return pieces

    def at_rows(self, starts: list[int]) -> list[tuple[int, int]]:
        """Cut before each row of `starts`, then split what is too big."""
        bounds = sorted({0, *(row for row in starts if 0 < row < self.count)}) + [self.count]
        return [piece for a, b in zip(bounds, bounds[1:]) for piece in self.plain(a, b - 1)]

    def fallback(self, markdown: bool) -> list[tuple[int, int]]:
        if not markdown:
            return self.plain(0, self.count - 1)
        starts, fence = [], ""
        for row, line in enumerate(self.lines):
            match = _FENCE.match(line)
            if match and (not fence or match.group(1).startswith(fence)):
                fence = "" if fence else match.group(1)
            elif not fence and _ATX_HEADING.match(line):
                starts.append(row)
        return self.at_rows(starts)


def _whole(text: str) -> list[Segment]:
    return [Segment(1, text.count("\n") + (not text.endswith("\n")), text)] if text else []


# -- markdown ---------------------------------------------------------------------------


def _headings(root: Node) -> Iterator[Node]:
    for node in root.named_children:
        if node.type == "section":
            yield from _headings(node)
        elif node.type in ("atx_heading", "setext_heading"):
            yield node


def _heading(node: Node) -> Definition:
    content = node.child_by_field_name("heading_content")
    parent = node.parent
    owner = parent if parent is not None and parent.type == "section" and parent.named_children[0] == node else node
    first_line = _text(node).split("\n", 1)[0]
    return Definition(
        "heading",
        " ".join(_text(content).split()) if content is not None else first_line.strip("# \t\r"),
        node.start_point.row + 1,
        _end_row(owner) + 1,
        " ".join(first_line.split())[:_MAX_SIGNATURE],
    )


# -- code -------------------------------------------------------------------------------


class _Def(NamedTuple):
    kind: str  # "" for a scope that has no outline entry
    node: Node  # the whole definition, wrappers (decorators, export) included
    core: Node  # the definition proper
    scope: bool  # looked through: its members are segmented like top-level code


class _Structure:
    """The definitions of one parsed file, by the rules of its language."""

    def __init__(self, tree: Tree, data: bytes, language: str) -> None:
        self.root = tree.root_node
        self.data = data
        self.rules = _RULES[language]
        self.python = language == "python"

    def classify(self, node: Node) -> _Def | None:
        rules, kind = self.rules, node.type
        if rules.scopes and kind in rules.scopes:
            if kind in _NEEDS_BODY and node.child_by_field_name("body") is None:
                return None
            return _Def(rules.scopes[kind], node, node, True)
        if kind in rules.wrappers:
            for child in node.named_children:
                inner = self.classify(child)
                if inner is not None:
                    return inner._replace(node=node)
            return None
        if kind in _VAR_DECLS:
            declarators = [c for c in node.named_children if c.type == "variable_declarator"]
            value = declarators[0].child_by_field_name("value") if len(declarators) == 1 else None
            if value is None or value.type not in _VAR_KINDS:
                return None
            return _Def(_VAR_KINDS[value.type], node, node, False)
        found = rules.kinds.get(kind)
        if found is None or (kind in _NEEDS_BODY and node.child_by_field_name("body") is None):
            return None
        if kind == "type_declaration":  # Go: `type X struct {...}`
            spec = next((c for c in node.named_children if c.type == "type_spec"), None)
            shape = spec.child_by_field_name("type") if spec is not None else None
            shapes = {"struct_type": "struct", "interface_type": "interface"}
            found = shapes.get(shape.type, "type") if shape is not None else "type"
        elif found == "class":  # Swift/Kotlin spell structs, enums, interfaces as class_declaration
            keyword = next((c.type for c in node.children[:4] if c.type in _KEYWORD_KINDS), None)
            found = _KEYWORD_KINDS.get(keyword or "", found)
        return _Def(found, node, node, False)

    def body(self, core: Node) -> Node | None:
        body = core.child_by_field_name("body")
        if body is not None:
            return body
        if core.type in _VAR_DECLS:
            declarator = next(c for c in core.named_children if c.type == "variable_declarator")
            value = declarator.child_by_field_name("value")
            return value.child_by_field_name("body") if value is not None else None
        return next((c for c in reversed(core.named_children) if c.type.endswith("body")), None)

    def members(self, definition: _Def) -> list[Node]:
        body = self.body(definition.core)
        if body is not None:
            return body.named_children
        return definition.core.named_children if definition.scope else []

    def outline(self) -> list[Definition]:
        found: list[Definition] = []
        self._outline(self.root.named_children, found)
        return found

    def _outline(self, nodes: list[Node], found: list[Definition]) -> None:
        for node in nodes:
            definition = self.classify(node)
            if definition is None:
                continue
            if definition.kind:
                found.append(self.definition(definition, definition.kind))
            if definition.scope:
                self._outline(self.members(definition), found)
            elif definition.kind in _CONTAINERS:
                for member in self.members(definition):
                    method = self.classify(member)
                    if method is not None and method.kind in _FUNCTIONS and not method.scope:
                        found.append(self.definition(method, "method"))

    def definition(self, definition: _Def, kind: str) -> Definition:
        node = definition.node
        return Definition(
            kind, self.name(definition.core), node.start_point.row + 1, _end_row(node) + 1, self.signature(definition),
            self.doc(definition),
        )

    def doc(self, definition: _Def) -> str:
        """The first non-empty line of the docstring (Python) or of the comments right
        above the definition (other languages), without quotes or comment marks."""
        if self.python:
            body = self.body(definition.core)
            statements = [c for c in body.named_children if c.type != "comment"] if body is not None else []
            if not statements or not _is_docstring(statements[0]):
                return ""
            text = _text(statements[0]).lstrip("rRuUbBfF").strip("\"'")
        else:
            comments: list[Node] = []
            node, row = definition.node.prev_named_sibling, definition.node.start_point.row
            while node is not None and node.type in _ATTACHED and _end_row(node) >= row - 1:
                comments.append(node)
                node, row = node.prev_named_sibling, node.start_point.row
            text = "\n".join(_text(c) for c in reversed(comments) if "comment" in c.type)
        for line in text.splitlines():
            line = _COMMENT_MARKS.sub("", line).rstrip(" */")
            if line:
                return line[:_MAX_DOC]
        return ""

    def name(self, core: Node) -> str:
        kind = core.type
        if kind == "impl_item":
            trait, type_ = core.child_by_field_name("trait"), core.child_by_field_name("type")
            name = _text(type_) if type_ is not None else ""
            return f"{_text(trait)} for {name}" if trait is not None else name
        if kind == "type_declaration":
            core = next((c for c in core.named_children if c.type == "type_spec"), core)
        elif kind in _VAR_DECLS:
            core = next(c for c in core.named_children if c.type == "variable_declarator")
        elif kind in ("function_definition", "type_definition") and core.child_by_field_name("declarator"):
            node = core
            while (inner := node.child_by_field_name("declarator")) is not None:
                node = inner
            return " ".join(_text(node).split())
        name = core.child_by_field_name("name")
        if name is None:
            name = next((c for c in core.named_children if c.type in _NAME_TYPES), None)
        return " ".join(_text(name).split()) if name is not None else ""

    def signature(self, definition: _Def) -> str:
        core = definition.core
        source = self.data
        body = self.body(core)
        if body is not None and body.start_byte > core.start_byte:
            end = body.start_byte
            if self.python:  # up to the colon, not a comment after it
                end = max((c.end_byte for c in core.children if c.type == ":" and c.end_byte <= end), default=end)
            signature = " ".join(source[core.start_byte : end].decode("utf-8", "replace").split())
        else:
            first_line = source[core.start_byte : core.end_byte].split(b"\n", 1)[0]
            signature = " ".join(first_line.decode("utf-8", "replace").split()).rstrip("{; ")
        return signature[:_MAX_SIGNATURE]



class _Segmenter(_Structure):
    """Segments of one parsed file: line ranges, then their text, full or compressed."""

    def __init__(self, tree: Tree, data: bytes, language: str, lines: _Lines) -> None:
        super().__init__(tree, data, language)
        self.lines = lines

    def items(self, nodes: list[Node], prev_end: int = -1) -> Iterator[tuple[int, int, _Def]]:
        """(first row, last row, definition) of the definitions among `nodes`, with the
        comments and attributes right above each; scopes are looked through."""
        pending: list[Node] = []
        for node in nodes:
            if node.type in _ATTACHED:
                pending.append(node)
                continue
            definition = self.classify(node)
            if definition is not None and definition.scope:
                yield from self.items(self.members(definition), node.start_point.row)
            elif definition is not None:
                first = node.start_point.row
                for comment in reversed(pending):
                    if _end_row(comment) < first - 1 or comment.start_point.row <= prev_end:
                        break
                    first = comment.start_point.row
                yield first, _end_row(node), definition
            pending = []
            prev_end = _end_row(node)

    def ranges(self) -> list[tuple[int, int]]:
        """(first row, last row) of each segment, covering all rows in order."""
        return self._cover(self.root.named_children, 0, self.lines.count - 1)

    def _cover(self, nodes: list[Node], first: int, last: int, prev_end: int = -1) -> list[tuple[int, int]]:
        lines = self.lines
        ranges: list[tuple[int, int]] = []
        cursor = first
        for start, end, definition in self.items(nodes, prev_end):
            start, end = max(start, cursor), min(end, last)
            if end < start:  # on a line an earlier segment already holds
                continue
            self._gap(ranges, cursor, start - 1)
            if lines.size(start, end) <= lines.max_chars:
                ranges.append((start, end))
            else:
                ranges += self._cover(self.members(definition), start, end, definition.node.start_point.row)
            cursor = end + 1
        self._gap(ranges, cursor, last)
        return ranges

    def _gap(self, ranges: list[tuple[int, int]], first: int, last: int) -> None:
        """Add the rows between definitions; blank ones join the segment before them."""
        lines = self.lines
        if ranges and first <= last and ranges[-1][1] == first - 1:
            previous = ranges[-1][0]
            if lines.size(previous, last) <= lines.max_chars and not lines.text(first, last).strip():
                ranges[-1] = (previous, last)
                return
        ranges += lines.plain(first, last)

    def elisions(self) -> list[tuple[int, int, bytes]]:
        """(start byte, end byte, placeholder) of every function body to drop, in order."""
        found: list[tuple[int, int, bytes]] = []
        for _, _, definition in self.items(self.root.named_children):
            self._elide(definition, found)
        return found

    def _elide(self, definition: _Def, found: list[tuple[int, int, bytes]]) -> None:
        if definition.kind in _CONTAINERS or definition.scope:
            for member in self.members(definition):
                inner = self.classify(member)
                if inner is not None:
                    self._elide(inner, found)
            return
        body = self.body(definition.core) if definition.kind in _FUNCTIONS else None
        if body is None:
            return
        placeholder = self.rules.placeholder
        start, end = body.start_byte, body.end_byte
        if self.python:
            statements = [c for c in body.named_children if c.type != "comment"]
            if statements and _is_docstring(statements[0]):
                after = statements[0].next_named_sibling
                if after is None:
                    return
                start = after.start_byte
        elif placeholder.startswith("{"):
            source = self.data
            if end - start <= len(placeholder) or source[start : start + 1] != b"{" or source[end - 1 : end] != b"}":
                return
        elif body.start_point.row == definition.core.start_point.row:
            return  # a line comment placeholder would swallow the rest of the line
        found.append((start, end, placeholder.encode()))

    def compressed(self, ranges: list[tuple[int, int]]) -> list[Segment]:
        """Segments for `ranges` with function bodies replaced by placeholders; a range
        that lies wholly inside a dropped body joins the segment before it."""
        lines = self.lines
        data = self.data
        elisions = self.elisions()
        if not elisions:
            return lines.segments(ranges)
        # byte offset of each row (one past the end for the row after the last)
        row_starts = [0, *accumulate(map((1).__add__, map(len, data.split(b"\n"))))]
        result: list[Segment] = []
        i = 0
        for first, last in ranges:
            a, b = row_starts[first], row_starts[last + 1]
            while i < len(elisions) and elisions[i][1] <= a:
                i += 1
            if i == len(elisions) or elisions[i][0] >= b:
                text = lines.text(first, last)
            else:
                parts, position = [], a
                while i < len(elisions) and elisions[i][0] < b:
                    start, end, placeholder = elisions[i]
                    if start >= position:
                        parts += (data[position:start], placeholder)
                    position = max(position, min(end, b))
                    if end > b:
                        break
                    i += 1
                parts.append(data[position:b])
                text = b"".join(parts).decode("utf-8", "surrogatepass")
            if text or not result:
                result.append(Segment(first + 1, last + 1, text))
            else:  # wholly inside a dropped body: the previous segment stands for it
                result[-1] = replace(result[-1], end_line=last + 1)
        return result


def _is_docstring(node: Node) -> bool:
    if node.type == "expression_statement" and node.named_child_count == 1:
        node = node.named_children[0]
    return node.type in ("string", "concatenated_string")
