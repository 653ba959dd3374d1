"""The `plain` style: sections between separator lines of 64 `=`, a header per source's
tree and per chunk (`File:` and `Id:` lines), then the text.

A body cannot fake a separator: a line of a body that starts with `====` (after any
backslashes) gets one backslash in front, so no line of a source starts with `====`;
`restore_lines` removes exactly one. Tree lines are indented, headers one line each.
"""

from __future__ import annotations

import re

from ...chunk import Chunk
from ..neutralize import neutralize
from ..result import Arranged
from .base import Rendered, Style, render_sections

SEPARATOR = "=" * 64 + "\n"
_FAKE = re.compile(r"^(\\*)(?====)", re.MULTILINE)
_ESCAPED = re.compile(r"^\\(\\*)(?====)", re.MULTILINE)


def escape_lines(text: str) -> str:
    """`text` with every line that could pass for a separator escaped (ends in a newline)."""
    text = _FAKE.sub(r"\\\1", text)
    return text if text.endswith("\n") or not text else text + "\n"


def restore_lines(text: str) -> str:
    """The inverse of `escape_lines` (less the final newline it may add)."""
    return _ESCAPED.sub(r"\1", text)


def section(title: str, body: str) -> str:
    return f"{SEPARATOR}{title}\n{SEPARATOR}{escape_lines(body)}"


def document(chunk: Chunk) -> str:
    warning = f"\nWarning: {chunk.warning}" if chunk.warning else ""  # between separators: no body can write it
    return section(f"File: {neutralize(chunk.path)}\nId: {neutralize(chunk.id)}{warning}", chunk.text)


def render(pack: Arranged) -> Rendered:
    return render_sections(
        pack,
        document,
        lambda label, files, lines: section(f"Directory tree: {neutralize(label)} ({files:,} files)", lines),
        lambda text: section("Question", text),
    )


PLAIN = Style(
    "plain",
    "separator lines, File: and Id: headers; body lines that look like separators escaped",
    render,
    "Each source is a section between lines of = signs whose Id: line names it (for example Id: src/app.py:10-80: a file and its line range), its text after them.",
)
