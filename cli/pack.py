"""`scout-context pack`: write sources as the model will see them, with exact Scout tokens."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from scout_context.output import write_output
from scout_context.pack.arrange import arrange
from scout_context.pack.pipeline import pack
from scout_context.pack.result import Arranged
from scout_context.sources.defaults import DEFAULT_MAX_FILE_BYTES
from scout_context.store import Store

from .console import err_console, print_json
from .options import (
    Compress,
    Exclude,
    Include,
    JsonOutput,
    LayoutOption,
    MaxFileSize,
    NoDefaultExcludes,
    NoFit,
    NoRedact,
    Password,
    Question,
    layout_option,
    pack_options,
)
from .sources import FromStdin, NulSeparated, Sources, resolve_sources
from .summary import pack_progress, print_summary


def pack_command(
    sources: Sources,
    from_stdin: FromStdin = False,
    null: NulSeparated = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the packed text here (default: stdout, or nowhere with --json): a file is replaced whole and keeps its mode; a link's target, a device, a FIFO or /dev/stdout is written through.",
        ),
    ] = None,
    json_output: JsonOutput = False,
    include: Include = None,
    exclude: Exclude = None,
    compress: Compress = False,
    budget: Annotated[
        int | None, typer.Option("--budget", min=1, help="Fit the pack in this many tokens (see --no-fit).")
    ] = None,
    question: Question = None,
    layout: LayoutOption = None,
    no_fit: NoFit = False,
    no_redact: NoRedact = False,
    no_default_excludes: NoDefaultExcludes = False,
    max_file_size: MaxFileSize = DEFAULT_MAX_FILE_BYTES,
    password: Password = None,
) -> None:
    """Pack SOURCES into one prompt: a directory tree with a token map, then one <document> per chunk.

    The file set is what git would track (plus .scoutignore and --include/--exclude); secrets are
    redacted; counts use Llama 4 Scout's own tokenizer; a re-pack only re-reads changed files.
    """
    specs = resolve_sources(sources, stdin=from_stdin, null=null)
    options = pack_options(include, exclude, compress, no_redact, no_default_excludes, max_file_size, password)
    chosen_layout = layout_option(layout, "stable")
    started = time.perf_counter()
    store = Store()
    try:
        with pack_progress(err_console) as progress:
            result = pack(specs, options, store=store, progress=progress, ignore_files=[output] if output else [])
        result = arrange(
            result, question=question or "", layout=chosen_layout, budget=budget, fit_to_budget=not no_fit, store=store
        )
    finally:
        store.close()
    if output is not None:
        write_output(output, result.write)
    elif not json_output:
        result.write(sys.stdout)
        sys.stdout.flush()
    seconds = time.perf_counter() - started
    print_summary(err_console, result, output, seconds, json_output)
    if json_output:
        print_json(_as_json(result, output, seconds))


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
        "sources": [{"label": s.label, "root": s.root, "files": s.files, "tokens": s.tokens} for s in result.sources],
        "file_tokens": result.file_tokens,
        "cache": {"analysed": result.analysed, "reused": result.reused},
        **({"ranking": ranking_json(result)} if result.ranking and result.head + result.tail else {}),
        "shrunk": result.shrunk,
        "dropped": result.dropped,
        "output": str(output) if output else None,
        "seconds": round(seconds, 3),
    }
