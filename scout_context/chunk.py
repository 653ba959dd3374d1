"""The one record that flows through the pipeline: a chunk of a source, with a stable id."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a source as it goes into the prompt.

    `id` is a stable string a person can follow back (`src/app.py:10-80`); `text` is the
    body exactly as rendered (redacted and neutralized); `tokens` is the exact Scout
    token count of the rendered block that carries it, `warning` included.
    """

    id: str
    source: str
    path: str
    start_line: int
    end_line: int
    text: str
    tokens: int
    warning: str = ""
    """The screen's fence (`screen.apply`): shown in the chunk's header by every style."""
