"""`scout-context pack`: write sources as the model will see them, with exact Scout tokens."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from scout_context.errors import UsageError
from scout_context.output import write_output
from scout_context.pack.arrange import arrange
from scout_context.pack.pipeline import pack
from scout_context.pack.result import Arranged
from scout_context.pack.split import part_paths, split
from scout_context.pack.styles import DEFAULT, Rendered, style
from scout_context.pack.token_tree import token_tree
from scout_context.sources.defaults import DEFAULT_MAX_FILE_BYTES
from scout_context.store import Store

from .console import err_console, inert, markup, print_json
from .help_text import CACHE, FITTING, OUTPUT, SOURCES, teaches
from .option_sets import ScreenChoice, SourceFilters, with_option_sets
from .options import (
    JsonOutput,
    LayoutOption,
    MaxFileSize,
    NoFit,
    Password,
    Question,
    StyleOption,
    layout_option,
)
from .sources import FromStdin, NulSeparated, Sources, resolve_sources
from .summary import TOP, pack_progress, print_summary

_TOKEN_TREE_HELP = (
    "Print the token map (each file's tokens in the chosen style, under its folders) on stdout instead of the "
    "pack (with --json: as its token_tree), leaving out files under MIN_TOKENS (default 0); -o still writes the pack."
)
_SPLIT_HELP = (
    "Write the pack as -o's NAME.1.EXT, NAME.2.EXT, …: whole files, each part with its own tree and at most "
    "N_TOKENS in the chosen style; a file that cannot fit in a part alone exits 4."
)
TokenTree = Annotated[
    int | None,
    typer.Option("--token-tree", min=0, metavar="[MIN_TOKENS]", help=_TOKEN_TREE_HELP, rich_help_panel=OUTPUT),
]
SplitOutput = Annotated[
    int | None, typer.Option("--split-output", min=1, metavar="N_TOKENS", help=_SPLIT_HELP, rich_help_panel=OUTPUT)
]


@teaches(
    "scout-context pack . -o pack.txt --budget 200000",
    "git ls-files '*.py' | scout-context pack --stdin --style markdown --token-tree 500",
    environment=SOURCES | CACHE,
)
@with_option_sets
def pack_command(
    sources: Sources,
    from_stdin: FromStdin = False,
    null: NulSeparated = False,
    filters: SourceFilters = SourceFilters(),
    screening: ScreenChoice = ScreenChoice(),
    budget: Annotated[
        int | None,
        typer.Option(
            "--budget", min=1, help="Fit the pack in this many tokens (see --no-fit).", rich_help_panel=FITTING
        ),
    ] = None,
    question: Question = None,
    layout: LayoutOption = "stable",
    no_fit: NoFit = False,
    max_file_size: MaxFileSize = DEFAULT_MAX_FILE_BYTES,
    password: Password = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the packed text here (default: stdout, or nowhere with --json): a file is replaced whole and keeps its mode; a link's target, a device, a FIFO or /dev/stdout is written through.",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    json_output: JsonOutput = False,
    style_name: StyleOption = DEFAULT,
    token_tree_min: TokenTree = None,
    split_output: SplitOutput = None,
    top_files: Annotated[
        int,
        typer.Option(
            "--top-files", min=0, help="Rows of the summary's biggest consumers (0: none).", rich_help_panel=OUTPUT
        ),
    ] = TOP,
) -> None:
    """Pack SOURCES into one prompt: a directory tree with a token map, then one <document> per chunk.

    The file set is what git would track (plus .scoutignore and --include/--exclude); secrets are
    redacted; counts use Llama 4 Scout's own tokenizer; a re-pack only re-reads changed files.
    """
    specs = resolve_sources(sources, stdin=from_stdin, null=null)
    options = screening.applied(filters.options(password, max_file_size))
    chosen_layout = layout_option(layout)
    chosen_style = style(style_name)
    if split_output is not None and output is None:
        raise UsageError("--split-output needs -o NAME: the parts are written beside it as NAME.1.EXT, NAME.2.EXT, …")
    written = _earlier_parts(output) if split_output is not None and output is not None else []
    started = time.perf_counter()
    store = Store()
    try:
        with pack_progress(err_console) as progress:
            result = pack(
                specs, options, store=store, progress=progress, ignore_files=[output, *written] if output else []
            )
        result = arrange(
            result, question=question or "", layout=chosen_layout, budget=budget, fit_to_budget=not no_fit, store=store
        )
    finally:
        store.close()
    rendered = chosen_style.render(result)
    result = replace(result, tokens=rendered.tokens)  # the summary's figure is the written text's
    parts: list[tuple[Path, Rendered]] = []
    if split_output is not None and output is not None:
        pieces = split(result, chosen_style, split_output)
        parts = list(zip(part_paths(output, len(pieces)), pieces, strict=True))
        for path, piece in parts:
            write_output(path, piece.text)
        result = replace(result, tokens=sum(piece.tokens for _, piece in parts))
    elif output is not None:
        write_output(output, rendered.text)
    elif not json_output and token_tree_min is None:
        sys.stdout.write(rendered.text)
    tree = token_tree(result, rendered, token_tree_min) if token_tree_min is not None else None
    if tree is not None and not json_output:
        sys.stdout.write(inert(tree, lines=True))
    sys.stdout.flush()
    seconds = time.perf_counter() - started
    print_summary(err_console, result, output, seconds, json_output, top=top_files, style=chosen_style.name)
    _print_parts(parts, written)
    if json_output:
        extra = {"parts": [{"path": str(p), "tokens": r.tokens} for p, r in parts]} if parts else {}
        print_json({**_as_json(result, output, seconds), **extra, **({"token_tree": tree} if tree else {})})


def _earlier_parts(output: Path) -> list[Path]:
    """The parts an earlier split left beside `output` (NAME.1.EXT on, while they exist):
    never packed as sources, and listed when this split leaves some of them behind."""
    found: list[Path] = []
    while os.path.lexists(path := part_paths(output, len(found) + 1)[-1]):
        found.append(path)
    return found


def _print_parts(parts: list[tuple[Path, Rendered]], earlier: list[Path]) -> None:
    for path, piece in parts:
        err_console.print(f"  part {markup(str(path))}: {piece.tokens:,} tokens")
    stale = earlier[len(parts) :]
    if parts and stale:
        names = ", ".join(str(path) for path in stale)
        err_console.print(f"[yellow]note[/] left as they were, from an earlier split: {markup(names)}", soft_wrap=True)


def ranking_json(result: Arranged, top: int = 50) -> list[dict]:
    return [{"id": r.chunk.id, "source": r.chunk.source, "score": round(r.score, 4)} for r in result.ranking[:top]]


def _as_json(result: Arranged, output: Path | None, seconds: float) -> dict:
    return {
        "tokens": result.tokens,
        "files": result.files,
        "skipped": [{"path": s.path, "reason": s.reason} for s in result.skipped],
        "chunks": len(result.chunks),
        "redactions": len(result.redactions),
        "redacted": [{"where": where, "kind": kind} for where, kind in result.redactions],
        "notes": [{"path": p, "note": note} for p, note in result.notes],
        "flagged": [each.as_json() for each in result.flagged],
        "sources": [{"label": s.label, "root": s.root, "files": s.files, "tokens": s.tokens} for s in result.sources],
        "file_tokens": result.file_tokens,
        "cache": {"analysed": result.analysed, "reused": result.reused},
        **({"ranking": ranking_json(result)} if result.ranking and result.head + result.tail else {}),
        "shrunk": result.shrunk,
        "dropped": result.dropped,
        "output": str(output) if output else None,
        "seconds": round(seconds, 3),
    }
