"""The segments a file is packed in: consecutive line ranges that cover it once, one
per top-level definition (with its decorators and the comments right above it) and one
per stretch of code between definitions. A segment over `max_chars` is split at the
definitions nested in it (a big class: header, then each method), else at blank lines,
else at line boundaries. `compress=True` keeps signatures, docstrings, fields, imports
and constants and replaces function bodies by a placeholder."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import accumulate, pairwise

from tree_sitter import Node, Tree

from .languages import ATTACHED, CONTAINERS, FUNCTIONS, RULES
from .outline import DefinitionNode, Structure
from .parsing import end_row, headings, is_docstring, parse

_ATX_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|\r?\n|$)")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True, slots=True)
class Segment:
    """Consecutive original lines and the text that stands for them in the prompt."""

    start_line: int
    end_line: int
    text: str


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
        if language != "markdown" and language not in RULES:
            return lines.segments(lines.plain(0, lines.count - 1)), True
        try:
            parsed = parse(text, language)
        except Exception:  # noqa: BLE001 - a parser failure means the plain-line fallback
            parsed = None
        if parsed is None or parsed[0].root_node.has_error:
            return lines.segments(lines.fallback(language == "markdown")), False
        if language == "markdown":
            starts = [h.start_point.row for h in headings(parsed[0].root_node)]
            return lines.segments(lines.at_rows(starts)), True
        segmenter = _Segmenter(*parsed, language, lines)
        ranges = segmenter.ranges()
        return (segmenter.compressed(ranges) if compress else lines.segments(ranges)), True
    except Exception:  # noqa: BLE001 - any failure while segmenting keeps the file whole
        return _whole(text), False


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
        bounds = [*sorted({0, *(row for row in starts if 0 < row < self.count)}), self.count]
        return [piece for a, b in pairwise(bounds) for piece in self.plain(a, b - 1)]

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


class _Segmenter(Structure):
    """Segments of one parsed file: line ranges, then their text, full or compressed."""

    def __init__(self, tree: Tree, data: bytes, language: str, lines: _Lines) -> None:
        super().__init__(tree, data, language)
        self.lines = lines

    def items(self, nodes: list[Node], prev_end: int = -1) -> Iterator[tuple[int, int, DefinitionNode]]:
        """(first row, last row, definition) of the definitions among `nodes`, with the
        comments and attributes right above each; scopes are looked through."""
        pending: list[Node] = []
        for node in nodes:
            if node.type in ATTACHED:
                pending.append(node)
                continue
            definition = self.classify(node)
            if definition is not None and definition.scope:
                yield from self.items(self.members(definition), node.start_point.row)
            elif definition is not None:
                first = node.start_point.row
                for comment in reversed(pending):
                    if end_row(comment) < first - 1 or comment.start_point.row <= prev_end:
                        break
                    first = comment.start_point.row
                yield first, end_row(node), definition
            pending = []
            prev_end = end_row(node)

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

    def _elide(self, definition: DefinitionNode, found: list[tuple[int, int, bytes]]) -> None:
        if definition.kind in CONTAINERS or definition.scope:
            for member in self.members(definition):
                inner = self.classify(member)
                if inner is not None:
                    self._elide(inner, found)
            return
        body = self.body(definition.core) if definition.kind in FUNCTIONS else None
        if body is None:
            return
        placeholder = self.rules.placeholder
        start, end = body.start_byte, body.end_byte
        if self.python:
            statements = [c for c in body.named_children if c.type != "comment"]
            if statements and is_docstring(statements[0]):
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
                parts: list[bytes] = []
                position = a
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
