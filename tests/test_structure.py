"""Code structure with real tree-sitter grammars: outlines, segments, compression."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import pytest
import rich
from hypothesis import given, settings, strategies as st
from tree_sitter_language_pack import get_language

from scout_context.definition import Definition
from scout_context.sources.structure.languages import language_for
from scout_context.sources.structure.outline import outline
from scout_context.sources.structure.segments import Segment, segments


def line_count(text: str) -> int:
    return text.count("\n") + (bool(text) and not text.endswith("\n"))


def check_cover(text: str, segs: list[Segment], max_chars: int | None = None, exact: bool = True) -> None:
    """Segments are contiguous, cover every line once, and (uncompressed) rebuild the text."""
    if not text:
        assert segs == []
        return
    assert segs[0].start_line == 1
    assert segs[-1].end_line == line_count(text)
    for before, after in itertools.pairwise(segs):
        assert after.start_line == before.end_line + 1
    for seg in segs:
        assert seg.start_line <= seg.end_line
        if max_chars is not None:
            assert len(seg.text) <= max_chars or seg.start_line == seg.end_line
    if exact:
        assert "".join(seg.text for seg in segs) == text


def spans(segs: list[Segment]) -> list[tuple[int, int]]:
    return [(seg.start_line, seg.end_line) for seg in segs]


def names(defs: list[Definition]) -> list[tuple[str, str]]:
    return [(d.kind, d.name) for d in defs]


PYTHON = textwrap.dedent(
    '''\
    """Module docstring."""

    import os
    from typing import Any

    LIMIT = 10


    # Packs sources.
    @cache
    @other(1)
    def pack(sources: list[str],
             budget: int | None = None) -> dict[str, Any]:
        """Pack the sources."""
        def helper(x):
            return x + 1

        total = helper(len(sources))
        return {"total": total}


    class Packer(Base):
        """Packs things."""

        limit: int = 3

        def __init__(self) -> None:
            self.items = []

        @property
        def size(self) -> int:
            return len(self.items)  # BODY_MARKER

        async def run(self):
            await self.flush()


    async def main():
        await Packer().run()
    '''
)


def test_language_for() -> None:
    assert language_for("src/app.py") == "python"
    assert language_for("a/b/C.TSX") == "tsx"
    assert language_for("x.ts") == "typescript"
    assert language_for("main.go") == "go"
    assert language_for("lib.rs") == "rust"
    assert language_for("util.h") == "c"
    assert language_for("util.hpp") == "cpp"
    assert language_for("App.cs") == "csharp"
    assert language_for("README.md") == "markdown"
    assert language_for("build/Makefile") == "make"
    assert language_for("run.sh") == "bash"
    assert language_for("notes.txt") is None
    assert language_for("LICENSE") is None
    assert language_for(".gitignore") is None


@pytest.mark.parametrize("language", ["python", "javascript", "typescript", "tsx", "go", "rust", "c", "markdown"])
def test_grammar_loads(language: str) -> None:
    """The grammars come from tree-sitter-language-pack; without them every file falls back."""
    assert get_language(language) is not None


SMOKE = {
    "java": ("class A {\n  int f;\n  void m() {\n    run();\n  }\n}\n", [("class", "A"), ("method", "m")]),
    "csharp": (
        "namespace N {\n  class A {\n    void M() {\n      Run();\n    }\n  }\n}\n",
        [("module", "N"), ("class", "A"), ("method", "M")],
    ),
    "kotlin": ("fun top(x: Int): Int {\n    return x\n}\n", [("function", "top")]),
    "swift": ("struct S {\n  func m() -> Int {\n    return 1\n  }\n}\n", [("struct", "S"), ("method", "m")]),
    "scala": ("object O {\n  def f(x: Int): Int = {\n    x\n  }\n}\n", [("class", "O"), ("method", "f")]),
    "php": ("<?php\nclass X {\n  public function m() {\n    return 1;\n  }\n}\n", [("class", "X"), ("method", "m")]),
    "ruby": ("class A\n  def m(x)\n    x + 1\n  end\nend\n", [("class", "A"), ("method", "m")]),
    "bash": ("f() {\n  echo hi\n}\n", [("function", "f")]),
    "lua": ("local function f(a)\n  return a\nend\n", [("function", "f")]),
    "cpp": (
        "namespace ns {\nclass Box {\n public:\n  int get() const {\n    return v;\n  }\n  int v;\n};\n}\n",
        [("module", "ns"), ("class", "Box"), ("method", "get")],
    ),
    "tsx": ("export function App() {\n  return <div />;\n}\n", [("function", "App")]),
}


@pytest.mark.parametrize("language", sorted(SMOKE))
def test_other_languages(language: str) -> None:
    source, expected = SMOKE[language]
    assert names(outline(source, language)) == expected
    segs, ok = segments(source, language)
    assert ok
    check_cover(source, segs)
    compressed, ok = segments(source, language, compress=True)
    assert ok
    check_cover(source, compressed, exact=False)
    text = "".join(seg.text for seg in compressed)
    assert "{ ... }" in text or "# ..." in text or "-- ..." in text


def test_python_outline() -> None:
    defs = outline(PYTHON, "python")
    assert names(defs) == [
        ("function", "pack"),
        ("class", "Packer"),
        ("method", "__init__"),
        ("method", "size"),
        ("method", "run"),
        ("function", "main"),
    ]  # the nested `helper` is not listed
    pack, packer, _init, size, run, main = defs
    assert (pack.start_line, pack.end_line) == (10, 19)  # decorators included
    assert pack.signature == "def pack(sources: list[str], budget: int | None = None) -> dict[str, Any]:"
    assert packer.signature == "class Packer(Base):"
    assert (size.start_line, size.end_line) == (30, 32)
    assert run.signature == "async def run(self):"
    assert main.signature == "async def main():"
    assert main.end_line == line_count(PYTHON)


def test_python_segments() -> None:
    segs, ok = segments(PYTHON, "python")
    assert ok
    check_cover(PYTHON, segs)
    # module docstring + imports + constant; pack with its comment, decorators, nested
    # helper and trailing blank lines; the class; main
    assert spans(segs) == [(1, 8), (9, 21), (22, 37), (38, 39)]
    assert segs[1].text.startswith("# Packs sources.\n@cache\n")
    assert "def helper(x):" in segs[1].text


def test_python_big_class_is_split_at_methods() -> None:
    segs, ok = segments(PYTHON, "python", max_chars=120)
    assert ok
    check_cover(PYTHON, segs, max_chars=120)
    starts = {seg.start_line: seg.text for seg in segs}
    assert starts[22].startswith("class Packer(Base):")  # the header is its own segment
    assert "def __init__" not in starts[22]
    assert starts[27].lstrip().startswith("def __init__")
    assert starts[30].lstrip().startswith("@property")
    assert starts[34].lstrip().startswith("async def run")


def test_python_compress() -> None:
    segs, ok = segments(PYTHON, "python", compress=True)
    assert ok
    check_cover(PYTHON, segs, exact=False)
    text = "".join(seg.text for seg in segs)
    assert '"""Module docstring."""' in text and "import os" in text and "LIMIT = 10" in text
    assert "def pack(sources: list[str],\n         budget: int | None = None) -> dict[str, Any]:" in text
    assert '    """Pack the sources."""\n    ...\n' in text
    assert "helper" not in text and "total" not in text
    assert '    """Packs things."""\n\n    limit: int = 3\n' in text  # class docstring and fields
    assert "    @property\n    def size(self) -> int:\n        ...\n" in text
    assert "BODY_MARKER" not in text
    assert "async def main():\n    ...\n" in text


@pytest.mark.parametrize("language", ["javascript", "typescript"])
def test_javascript_and_typescript(language: str) -> None:
    source = textwrap.dedent(
        """\
        import { x } from "./x";

        // Adds.
        export function add(a, b) {
          return a + b; // BODY_MARKER
        }

        export class Counter extends Base {
          count = 0;
          increment(step) {
            this.count += step;
          }
        }

        const double = (n) => {
          return n * 2;
        };
        export const LIMIT = 3;
        """
    )
    assert names(outline(source, language)) == [
        ("function", "add"),
        ("class", "Counter"),
        ("method", "increment"),
        ("function", "double"),
    ]
    segs, ok = segments(source, language)
    assert ok
    check_cover(source, segs)
    assert spans(segs) == [(1, 2), (3, 7), (8, 14), (15, 17), (18, 18)]
    compressed = "".join(seg.text for seg in segments(source, language, compress=True)[0])
    assert "export function add(a, b) { ... }" in compressed
    assert "  increment(step) { ... }" in compressed and "count = 0;" in compressed
    assert "const double = (n) => { ... };" in compressed
    assert "BODY_MARKER" not in compressed and "export const LIMIT = 3;" in compressed


def test_typescript_declarations() -> None:
    source = textwrap.dedent(
        """\
        export interface Options {
          budget: number;
        }
        type Id = string;
        enum Color { Red, Green }
        namespace Util {
          export function id(x: Id): Id {
            return x;
          }
        }
        """
    )
    defs = outline(source, "typescript")
    assert names(defs) == [
        ("interface", "Options"),
        ("type", "Id"),
        ("enum", "Color"),
        ("module", "Util"),
        ("function", "id"),
    ]
    assert defs[-1].signature == "function id(x: Id): Id"
    segs, ok = segments(source, "typescript")
    assert ok
    check_cover(source, segs)
    assert (7, 9) in spans(segs)  # the namespace is looked through


def test_go() -> None:
    source = textwrap.dedent(
        """\
        package main

        import "fmt"

        // Server serves.
        type Server struct {
        \tAddr string
        }

        type Handler interface {
        \tServe() error
        }

        func (s *Server) Run(port int) error {
        \tfmt.Println(port) // BODY_MARKER
        \treturn nil
        }

        func main() {
        \t(&Server{}).Run(80)
        }
        """
    )
    defs = outline(source, "go")
    assert names(defs) == [("struct", "Server"), ("interface", "Handler"), ("method", "Run"), ("function", "main")]
    assert defs[2].signature == "func (s *Server) Run(port int) error"
    segs, ok = segments(source, "go")
    assert ok
    check_cover(source, segs)
    assert spans(segs) == [(1, 4), (5, 9), (10, 13), (14, 18), (19, 21)]
    compressed = "".join(seg.text for seg in segments(source, "go", compress=True)[0])
    assert "func (s *Server) Run(port int) error { ... }\n" in compressed
    assert "\tAddr string" in compressed and "BODY_MARKER" not in compressed


def test_rust_impl_blocks() -> None:
    source = textwrap.dedent(
        """\
        use std::fmt;

        /// A point.
        #[derive(Debug)]
        pub struct Point {
            x: i32,
        }

        impl fmt::Display for Point {
            fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "{}", self.x) // BODY_MARKER
            }
        }

        impl Point {
            pub fn new(x: i32) -> Self {
                Point { x }
            }
        }

        #[cfg(test)]
        mod tests {
            #[test]
            fn works() {
                assert_eq!(1, 1);
            }
        }
        """
    )
    defs = outline(source, "rust")
    assert names(defs) == [
        ("struct", "Point"),
        ("impl", "fmt::Display for Point"),
        ("method", "fmt"),
        ("impl", "Point"),
        ("method", "new"),
        ("module", "tests"),
        ("function", "works"),
    ]
    assert defs[4].signature == "pub fn new(x: i32) -> Self"
    segs, ok = segments(source, "rust")
    assert ok
    check_cover(source, segs)
    assert spans(segs)[:4] == [(1, 2), (3, 8), (9, 14), (15, 19)]  # doc comment and attribute stay with the struct
    assert spans(segs)[4:] == [(20, 22), (23, 26), (27, 27)]  # `mod tests` is looked through
    compressed = "".join(seg.text for seg in segments(source, "rust", compress=True)[0])
    assert "    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { ... }\n" in compressed
    assert "BODY_MARKER" not in compressed and "    x: i32,\n" in compressed


def test_c_with_header_guard() -> None:
    source = textwrap.dedent(
        """\
        #ifndef POINT_H
        #define POINT_H
        #include <stdio.h>

        /* A point. */
        struct point {
            int x;
        };

        typedef struct point point_t;

        static int *scale(int *v, int k) {
            *v *= k; /* BODY_MARKER */
            return v;
        }

        int norm(struct point p);

        #endif
        """
    )
    defs = outline(source, "c")
    assert names(defs) == [("struct", "point"), ("type", "point_t"), ("function", "scale")]
    assert defs[2].signature == "static int *scale(int *v, int k)"
    segs, ok = segments(source, "c")
    assert ok
    check_cover(source, segs)
    assert spans(segs) == [(1, 4), (5, 9), (10, 11), (12, 15), (16, 19)]
    compressed = "".join(seg.text for seg in segments(source, "c", compress=True)[0])
    assert "static int *scale(int *v, int k) { ... }\n" in compressed and "BODY_MARKER" not in compressed


def test_markdown_headings() -> None:
    source = textwrap.dedent(
        """\
        Intro text.

        # Title

        Some words.

        ## Install

        ```sh
        # not a heading
        pip install x
        ```

        ## Use
        Run it.
        """
    )
    defs = outline(source, "markdown")
    assert names(defs) == [("heading", "Title"), ("heading", "Install"), ("heading", "Use")]
    assert [(d.start_line, d.end_line) for d in defs] == [(3, 15), (7, 13), (14, 15)]
    assert defs[1].signature == "## Install"
    segs, ok = segments(source, "markdown")
    assert ok
    check_cover(source, segs)
    assert spans(segs) == [(1, 2), (3, 6), (7, 13), (14, 15)]


def test_oversize_units_split_at_blank_lines_then_lines() -> None:
    body = "".join(f"    x{i} = {i}\n" + ("\n" if i % 5 == 4 else "") for i in range(60))
    source = f"def big():\n{body}    return x0\n"
    segs, ok = segments(source, "python", max_chars=100)
    assert ok
    check_cover(source, segs, max_chars=100)
    assert all(seg.text.endswith("\n\n") for seg in segs[:-1])  # cut after blank lines
    dense = "def big():\n" + "".join(f"    x{i} = {i}\n" for i in range(60))
    segs, _ = segments(dense, "python", max_chars=50)
    check_cover(dense, segs, max_chars=50)
    one_line = "x = '" + "a" * 500 + "'\n"
    segs, _ = segments(one_line * 3, "python", max_chars=100)
    assert spans(segs) == [(1, 1), (2, 2), (3, 3)]


def test_syntax_error_falls_back() -> None:
    source = "def broken(:\n    return 1\n\n\ndef fine():\n    return 2\n"
    for compress in (False, True):
        segs, ok = segments(source, "python", compress=compress)
        assert not ok
        check_cover(source, segs)
    assert isinstance(outline(source, "python"), list)  # best effort, never raises


def test_unknown_and_plain_languages() -> None:
    source = "para one\nline two\n\npara two\n"
    segs, ok = segments(source, None)
    assert ok and spans(segs) == [(1, 4)]
    segs, ok = segments(source, None, max_chars=20)
    assert ok and spans(segs) == [(1, 3), (4, 4)]
    assert segments(source, "klingon", max_chars=20) == (segs, True)
    assert outline(source, "klingon") == []
    assert segments("", "python") == ([], True)
    assert outline("", "python") == []


WEIRD = [
    "",
    "\n",
    "\n\n\n",
    "def f():\n    return 1",  # no trailing newline
    "import os\r\n\r\ndef f():\r\n    '''Doc.'''\r\n    return 1\r\n\r\nclass A:\r\n    x = 1\r\n",
    "def f():\n    x = '\x00'\n\x00\x00\n",
    bytes(range(256)).decode("latin-1") * 20,
    "def f():\n    return '\udcff'\n",  # a lone surrogate, as surrogateescape leaves it
    "def f():\n    pass\n\x0c\ndef g():\n    pass\n\u2028x = 1\x85\n",
    "a\rb\rc",
    "# Title\n\x00\n## Sub\n",
    "{" * 5000 + "\n" + "}" * 5000,
    "(" * 20000,
]


@pytest.mark.parametrize("text", WEIRD, ids=range(len(WEIRD)))
@pytest.mark.parametrize("language", ["python", "javascript", "c", "rust", "markdown", "go", None, "nope"])
def test_never_raises(text: str, language: str | None) -> None:
    for compress in (False, True):
        segs, ok = segments(text, language, compress=compress, max_chars=64)
        check_cover(text, segs, max_chars=None if compress else 64, exact=not compress)
        assert isinstance(ok, bool)
    assert isinstance(outline(text, language or "nope"), list)


def test_crlf_lines() -> None:
    source = WEIRD[4]
    segs, ok = segments(source, "python")
    assert ok
    check_cover(source, segs)
    assert spans(segs) == [(1, 2), (3, 6), (7, 8)]
    assert outline(source, "python")[0].signature == "def f():"


def test_huge_single_line() -> None:
    text = "x = '" + "a" * 50_000_000 + "'"
    for language in ("python", "javascript", None):
        segs, _ = segments(text, language)
        assert len(segs) == 1 and segs[0].text == text
        assert (segs[0].start_line, segs[0].end_line) == (1, 1)


RICH = sorted(Path(rich.__file__).parent.glob("*.py"))


@pytest.mark.parametrize("max_chars", [16_000, 600])
def test_cover_real_files(max_chars: int) -> None:
    assert len(RICH) > 20
    parsed = 0
    for path in RICH:
        text = path.read_text(encoding="utf-8")
        segs, ok = segments(text, "python", max_chars=max_chars)
        parsed += ok
        check_cover(text, segs, max_chars=max_chars)
        compressed, _ = segments(text, "python", compress=True, max_chars=max_chars)
        check_cover(text, compressed, exact=False)
        assert sum(len(seg.text) for seg in compressed) <= len(text)
    assert parsed == len(RICH)


CODE_BITS = st.sampled_from(
    ["def f(x):\n", "class A:\n", "    ", "return 1\n", '"""doc"""\n', "@d\n", "# c\n", "\n", "\r\n",
     "{", "}", "function g() {", "export ", "const h = () => {", ";", "# H\n", "```\n", "\x00", "é", "\t", "pass\n"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    parts=st.lists(CODE_BITS, max_size=40),
    language=st.sampled_from(["python", "javascript", "markdown", "rust", None]),
    max_chars=st.integers(1, 80),
)
def test_cover_generated(parts: list[str], language: str | None, max_chars: int) -> None:
    text = "".join(parts)
    segs, _ = segments(text, language, max_chars=max_chars)
    check_cover(text, segs, max_chars=max_chars)
    compressed, _ = segments(text, language, compress=True, max_chars=max_chars)
    check_cover(text, compressed, exact=False)


def test_threads_get_their_own_parsers() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: segments(PYTHON, "python"), range(16)))
    assert all(result == results[0] for result in results)


def test_definitions_carry_the_first_line_of_their_docs() -> None:
    python = textwrap.dedent(
        '''\
        def area(r):
            r"""

            Area of a circle.

            More text.
            """
            return 3.14 * r * r


        class Shape:
            \'\'\'A shape.\'\'\'

            def name(self):
                # a comment, not a docstring
                return "shape"
        '''
    )
    assert [(d.name, d.doc) for d in outline(python, "python")] == [
        ("area", "Area of a circle."),
        ("Shape", "A shape."),
        ("name", ""),
    ]
    javascript = "/**\n * Adds two numbers.\n * @param a\n */\nfunction add(a, b) { return a + b; }\n\n// unrelated\n\nfunction sub(a, b) { return a - b; }\n"
    assert [(d.name, d.doc) for d in outline(javascript, "javascript")] == [("add", "Adds two numbers."), ("sub", "")]
    rust = "/// Parses a token.\n/// Second line.\n#[inline]\nfn parse() {}\n"
    assert [(d.name, d.doc) for d in outline(rust, "rust")] == [("parse", "Parses a token.")]
    go = "package main\n\n// Run starts the server.\nfunc Run() {}\n"
    assert [(d.name, d.doc) for d in outline(go, "go")] == [("Run", "Run starts the server.")]
