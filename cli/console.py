"""Terminal output: rich on stderr for people, plain JSON on stdout for scripts.

Text that comes from data (file names, chat titles, answers, server replies) reaches a
terminal or a CI log only through `inert` (plain writes), `markup` (inside rich markup),
`InertStream` (a streamed answer) or `json_text`: control characters (C0 but newline and
tab where lines are kept, DEL, C1) and bidi overrides are shown as escapes (`\\x1b`,
`\\u202e`), rich markup and emoji codes are not interpreted, and nothing can be read by
GitHub Actions as a workflow command (`::cmd` at a line start, `##[cmd` anywhere): each
gets a backslash (`\\::cmd`, `#\\#[cmd`), which Markdown does not show.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape

err_console = Console(stderr=True, emoji=False)

_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"  # all but \t and \n
_CONTROL = re.compile(f"[{_UNSAFE}\t\n]")
_CONTROL_IN_LINES = re.compile(f"[{_UNSAFE}]")
_LINE_COMMAND = re.compile(r"^([^\S\n]*):(?=:)", re.MULTILINE)  # the runner trims leading whitespace
_ANY_COMMAND = re.compile(r"(?<=:)(?=:)|(?<=#)(?=#\[)")  # every `::`, every `##[`
_LEGACY_COMMAND = re.compile(r"#(?=#\[)")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]|#(?=#\\[)")


def inert(text: str, *, lines: bool = False, line_start: bool = True) -> str:
    """`text` safe to write to a terminal or CI log as plain text. `lines` keeps newlines
    and tabs; `line_start` says whether `text` begins a line (see `InertStream`)."""
    text = (_CONTROL_IN_LINES if lines else _CONTROL).sub(_escaped, text)
    text = _LINE_COMMAND.sub(lambda m: m.group(0) if m.start() == 0 and not line_start else m.group(1) + "\\:", text)
    return _LEGACY_COMMAND.sub("#\\\\", text)


def markup(text: str) -> str:
    """`text` as literal text inside rich markup: inert, on one line, and safe wherever
    rich wraps it (so every `::` and `##[` gets its backslash, not only a line's first)."""
    return escape(_ANY_COMMAND.sub("\\\\", inert(text)))


class InertStream:
    """A streamed answer written inertly as it comes. A line's start is held back until it
    can no longer become a workflow command (`::` after optional blanks), and so is a
    trailing `#` or `##` (a `##[` may follow); `close` writes what is left."""

    def __init__(self, write: Callable[[str], object]) -> None:
        self._write = write
        self._held = ""
        self._line_start = True

    def write(self, text: str) -> None:
        text = self._held + text
        newline = text.rfind("\n")
        tail = text[newline + 1 :]
        if (newline >= 0 or self._line_start) and tail.lstrip() in ("", ":"):
            cut = newline + 1
        else:
            cut = len(text) - min(2, len(text) - len(text.rstrip("#")))
        self._held = text[cut:]
        self._emit(text[:cut])

    def close(self) -> None:
        self._emit(self._held)
        self._held = ""

    @property
    def at_line_start(self) -> bool:
        """Whether what was written ends a line (or nothing was): no newline is owed."""
        return self._line_start and not self._held

    def _emit(self, text: str) -> None:
        if text:
            self._write(inert(text, lines=True, line_start=self._line_start))
            self._line_start = text.endswith("\n")


def json_text(payload: Any) -> str:
    """`payload` as indented JSON that a terminal or CI log shows inertly and that decodes
    to the same values: what json leaves raw (C1 controls, bidi overrides, `##[`) is
    written as `\\uXXXX`, which only ever occurs inside JSON strings."""
    text = json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)[0]):04x}", text)


def note(message: str) -> None:
    """One dim line on stderr: what a command chose or did on the way (never its result)."""
    err_console.print(f"[dim]{markup(message)}[/]", highlight=False, soft_wrap=True)


def print_json(payload: Any) -> None:
    sys.stdout.write(json_text(payload))
    sys.stdout.flush()


def _escaped(match: re.Match[str]) -> str:
    return match.group(0).encode("unicode_escape").decode("ascii")
