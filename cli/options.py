"""Options shared by the commands that pack sources (`pack`, `ask`), declared once."""

from __future__ import annotations

from typing import Annotated, cast

import typer

from scout_context.pack.arrange import LAYOUTS, Layout
from scout_context.pack.options import PackOptions
from scout_context.sources.defaults import DEFAULT_MAX_FILE_BYTES, describe

Include = Annotated[list[str] | None, typer.Option("--include", help="Only files matching this glob (gitignore syntax; repeatable).")]
Exclude = Annotated[list[str] | None, typer.Option("--exclude", help="Leave out files matching this glob (gitignore syntax; repeatable).")]
Compress = Annotated[bool, typer.Option("--compress", help="Keep signatures and docstrings, drop function bodies.")]
NoRedact = Annotated[bool, typer.Option("--no-redact", help="Keep values that look like credentials (redacted by default).")]
NoDefaultExcludes = Annotated[bool, typer.Option("--no-default-excludes", help=f"Also pack what is left out by default: {describe()}.")]
MaxFileSize = Annotated[int, typer.Option("--max-file-size", min=1, help="Skip files larger than this many bytes.")]
Password = Annotated[str | None, typer.Option("--password", help="Password for encrypted PDFs (or set SCOUT_PDF_PASSWORD).", envvar="SCOUT_PDF_PASSWORD", show_envvar=False)]
Question = Annotated[str | None, typer.Option("--question", "-q", help="Rank the chunks for this question (adds `ranking` to --json) and lay the prompt out for it.")]
LayoutOption = Annotated[str | None, typer.Option("--layout", help="stable: the corpus does not depend on the question (prefix caching pays across questions), a short tail names the relevant chunks; edges: the most relevant chunks at the start and the end, the question before and after.")]
NoFit = Annotated[bool, typer.Option("--no-fit", help="Over the budget, fail (exit 4) instead of shrinking chunks to outlines and leaving out the least relevant.")]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print a machine-readable result on stdout.")]


def layout_option(layout: str | None, default: Layout) -> Layout:
    if layout is None:
        return default
    if layout not in LAYOUTS:
        raise typer.BadParameter(f"unknown layout {layout!r}: use {' or '.join(LAYOUTS)}", param_hint="--layout")
    return cast(Layout, layout)  # one of LAYOUTS


def pack_options(
    include: list[str] | None,
    exclude: list[str] | None,
    compress: bool,
    no_redact: bool,
    no_default_excludes: bool,
    max_file_size: int = DEFAULT_MAX_FILE_BYTES,
    password: str | None = None,
) -> PackOptions:
    return PackOptions(
        include=tuple(include or ()),
        exclude=tuple(exclude or ()),
        default_excludes=not no_default_excludes,
        redact=not no_redact,
        compress=compress,
        max_file_bytes=max_file_size,
        pdf_password=password,
    )
