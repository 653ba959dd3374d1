"""Typer options made from settings fields (`scout_context.settings`): flag, bounds and help
come from the dataclass; the command's signature gives the Python type and the default."""

from __future__ import annotations

from typing import Any

import typer

from scout_context.settings import settings


def option(cls: type, name: str, *, more: str = "", **extra: Any) -> Any:
    """The `typer.Option` of the field `name` of `cls`: its flag, its doc as help (then `more`,
    for what is known only at run time, such as a list of names), its minimum; `extra` goes
    to `typer.Option` as is (an environment variable, for example)."""
    each = settings(cls)[name]
    help_text = f"{each.doc} {more}".strip()
    if each.minimum is not None:
        extra["min"] = each.minimum
    return typer.Option(each.flag, help=help_text, **extra)
