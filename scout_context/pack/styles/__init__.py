"""Output styles: how a pack is written for the model (or a program) to read, chosen by
name from one registry. Each style is a module here (`xml`, the default; `markdown`;
`plain`; `json_style`) with one `Style`; `base` holds what they share and states what
every style keeps: sources stay data, ids stay visible, counts are exact."""

from __future__ import annotations

from ...errors import UsageError
from .base import Rendered, Style
from .json_style import JSON
from .markdown import MARKDOWN
from .plain import PLAIN
from .xml import XML

STYLES: dict[str, Style] = {style.name: style for style in (XML, MARKDOWN, PLAIN, JSON)}
DEFAULT = XML.name

__all__ = ["DEFAULT", "STYLES", "Rendered", "Style", "style"]


def style(name: str) -> Style:
    """The style called `name`; UsageError naming the styles for any other name."""
    if name not in STYLES:
        raise UsageError(f"unknown style {name!r}: use {', '.join(STYLES)}")
    return STYLES[name]
