"""`scout-context init`: write a commented `.scout-context.toml` with every key of its
`[pack]`, `[ask]` and `[engine]` tables, each with its option's help and the command's default
(taken from the declared options, so the file says what the commands do without it)."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.core import Command

from scout_context.errors import UsageError
from scout_context.output import write_output
from scout_context.project_config import CONFIG_FILE
from scout_context.settings import Setting, settings

from .config_defaults import NEVER_FROM_FILE, READERS, SECTIONS, as_option, command_at, option_for
from .console import markup, note

_HEADER = """\
# scout-context configuration: `pack`, `ask` and `chat` read it from the current folder or
# its git root (as [tool.scout-context.pack] and so on in pyproject.toml too). Options on
# the command line win, then SCOUT_MODEL and SCOUT_TIMEOUT, then this file, then the
# defaults written below; `--verbose` shows where each setting came from. Keys are those
# of `batch` job files (`-` or `_`); base_url and secrets are never read from a file:
{never}."""


def init_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The file to write.")] = Path(CONFIG_FILE),
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Write a commented configuration file with every setting at its default.

    Example: scout-context init, then uncomment and change what your project needs.
    """
    if os.path.lexists(path) and not force:
        raise UsageError(f"{path} exists: `scout-context init --force` replaces it")
    root = ctx.find_root().command
    write_output(path, config_text(getattr(root, "commands", {})))
    note(f"wrote {markup(str(path))}")


def config_text(commands: Mapping[str, Command]) -> str:
    """The file: each table's keys, each after its help, at the default of the commands."""
    never = "; ".join(f"{key}: {how}" for key, how in NEVER_FROM_FILE.items())
    lines = [_HEADER.format(never=textwrap.fill(never, 88, initial_indent="# ", subsequent_indent="# "))]
    for table, fields in SECTIONS.items():
        lines.append(f"\n[{table}]")
        for cls, names in fields:
            for each in map(settings(cls).__getitem__, names):
                help_text, default = _declared(commands, table, each)
                lines += textwrap.wrap(help_text, 88, initial_indent="# ", subsequent_indent="# ")
                lines.append(f"# {each.key} =" if default is None else f"{each.key} = {json.dumps(default)}")
    return "\n".join(lines) + "\n"


def _declared(commands: Mapping[str, Command], table: str, each: Setting) -> tuple[str, Any]:
    """The doc and the default of the first option that gives `each` among the commands that
    read `table` (a setting no command takes: its field's default)."""
    for name in READERS[table]:
        option = option_for(command_at(commands, name), each) if name.split()[0] in commands else None
        if option is not None:
            default = as_option(each, option.default)
            return _whole(each.doc), list(default or ()) if each.kind is tuple else default
    return _whole(each.doc), each.default


def _whole(doc: str) -> str:
    """A doc without a last sentence that the option's help completes at run time ("the list:")."""
    return doc.rsplit(". ", 1)[0] + "." if doc.endswith(":") else doc
