"""The SOURCES of every command that reads sources (`pack`, `ask`, …), declared once.

A source argument is a path (a folder or a file), a remote repository (a URL or
`gh:org/repo@ref`: see `scout_context.sources.remote`), or `-` for one document read from stdin;
`--stdin` reads a list of files from stdin instead (one a line, or NUL-separated with
`-0`), relative to the current folder. `resolve_sources` turns them into the
`scout_context.sources.spec` values that `pack` takes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from scout_context.errors import UsageError
from scout_context.pack.collect import NAMED_FILE_LIMIT
from scout_context.sources.remote import fetch, looks_remote, parse_remote
from scout_context.sources.spec import Checkout, Listed, Piped, SourceSpec, parse_list

from .console import note
from .help_text import INPUT

Sources = Annotated[
    list[str],
    typer.Argument(
        default_factory=list,  # none with --stdin
        help="Folders (git-aware), files, remote repositories (https://github.com/ORG/REPO, …/tree/REF/SUB, gh:ORG/REPO@REF, any https, ssh or file:// git URL, URL#REF for a ref); `-` reads one document from stdin.",
        show_default=False,
        metavar="SOURCES",
    ),
]
FromStdin = Annotated[
    bool,
    typer.Option(
        "--stdin",
        help="Also read the files to use from stdin, one path a line, relative to the current folder (`git ls-files | …`, `find . -name '*.py' | …`). Each passes the same checks as a folder's files.",
        rich_help_panel=INPUT,
    ),
]
NulSeparated = Annotated[
    bool,
    typer.Option(
        "-0",
        "--null",
        help="With --stdin: the paths are separated by NUL bytes (`find -print0`).",
        rich_help_panel=INPUT,
    ),
]


def resolve_sources(arguments: list[str], *, stdin: bool = False, null: bool = False) -> list[SourceSpec]:
    """The sources named by `arguments` and `--stdin`, in that order. UsageError when there
    are none, or when stdin is asked for twice."""
    if null and not stdin:
        raise UsageError("-0 (--null) goes with --stdin: it says how the list on stdin is separated")
    if (stdin and "-" in arguments) or arguments.count("-") > 1:
        raise UsageError("stdin can be read once: give either `-` (one document) or --stdin (a list of files)")
    if not arguments and not stdin:
        raise UsageError("no sources: name folders or files, `-` for stdin, or pipe a list of files with --stdin")
    specs = [_source(argument) for argument in arguments]
    if stdin:
        specs.append(Listed(Path.cwd(), parse_list(sys.stdin.buffer.read(), nul=null)))
    return specs


def _source(argument: str) -> SourceSpec:
    if argument == "-":
        return _piped()
    if looks_remote(argument):
        return Checkout(*fetch(parse_remote(argument), announce=note))
    return Path(argument)


def _piped() -> Piped:
    data = sys.stdin.buffer.read(NAMED_FILE_LIMIT + 1)
    return Piped(data[:NAMED_FILE_LIMIT], complete=len(data) <= NAMED_FILE_LIMIT)
