"""Options shared by the commands that pack sources (`pack`, `ask`), declared once."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from scout_context.pack.options import PackOptions
from scout_context.sources.defaults import DEFAULT_MAX_FILE_BYTES, describe

Include = Annotated[Optional[list[str]], typer.Option("--include", help="Only files matching this glob (gitignore syntax; repeatable).")]
Exclude = Annotated[Optional[list[str]], typer.Option("--exclude", help="Leave out files matching this glob (gitignore syntax; repeatable).")]
Compress = Annotated[bool, typer.Option("--compress", help="Keep signatures and docstrings, drop function bodies.")]
NoRedact = Annotated[bool, typer.Option("--no-redact", help="Keep values that look like credentials (redacted by default).")]
NoDefaultExcludes = Annotated[bool, typer.Option("--no-default-excludes", help=f"Also pack what is left out by default: {describe()}.")]
MaxFileSize = Annotated[int, typer.Option("--max-file-size", min=1, help="Skip files larger than this many bytes.")]
Password = Annotated[Optional[str], typer.Option("--password", help="Password for encrypted PDFs (or set SCOUT_PDF_PASSWORD).", envvar="SCOUT_PDF_PASSWORD", show_envvar=False)]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print a machine-readable result on stdout.")]


def pack_options(
    include: list[str] | None,
    exclude: list[str] | None,
    compress: bool,
    no_redact: bool,
    no_default_excludes: bool,
    max_file_size: int = DEFAULT_MAX_FILE_BYTES,
    budget: int | None = None,
    password: str | None = None,
) -> PackOptions:
    return PackOptions(
        include=tuple(include or ()),
        exclude=tuple(exclude or ()),
        default_excludes=not no_default_excludes,
        redact=not no_redact,
        compress=compress,
        max_file_bytes=max_file_size,
        budget=budget,
        pdf_password=password,
    )
