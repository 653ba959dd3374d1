"""The `markdown` style: a `# Directory tree` section per source, then one `## <id>`
heading per chunk with its body in a fenced code block.

A body cannot close its fence: the fence is one backtick longer than the longest run of
backticks in what it holds (CommonMark closes a fence only with a run at least as long),
so a stranger's ```` ``` ```` followed by headings stays code. Headings are one line
(paths show control characters escaped) and neutralized.
"""

from __future__ import annotations

import re

from ...chunk import Chunk
from ..neutralize import neutralize
from ..result import Arranged
from .base import Rendered, Style, render_sections

_TICKS = re.compile(r"`+")
_LANGUAGE = re.compile(r"[A-Za-z0-9+-]{1,12}")


def fenced(text: str, info: str = "") -> str:
    """`text` in a fenced code block that nothing inside it can close."""
    fence = "`" * max(3, 1 + max((len(run) for run in _TICKS.findall(text)), default=0))
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{fence}{info}\n{body}{fence}\n"


def document(chunk: Chunk) -> str:
    suffix = chunk.path.rsplit(".", 1)[-1] if "." in chunk.path.rsplit("/", 1)[-1] else ""
    info = suffix if _LANGUAGE.fullmatch(suffix) else ""
    warning = f"> warning: {chunk.warning}\n\n" if chunk.warning else ""  # outside the fence: no body can write it
    return f"## {neutralize(chunk.id)}\n\n{warning}{fenced(chunk.text, info)}\n"


def render(pack: Arranged) -> Rendered:
    return render_sections(
        pack,
        document,
        lambda label, files, lines: f"# Directory tree: {neutralize(label)} ({files:,} files)\n\n{fenced(lines)}\n",
        lambda text: f"# Question\n\n{fenced(text)}\n",
    )


MARKDOWN = Style(
    "markdown",
    "a heading per chunk id, its body in a fence nothing inside can close",
    render,
    "Each source is a section headed by its id (for example ## src/app.py:10-80: a file and its line range), its text in a fenced code block.",
)
