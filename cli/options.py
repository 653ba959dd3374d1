"""Options shared by the commands that pack sources (`pack`, `ask`), declared once: those that
are `PackOptions` fields take their flag, bounds and help from it (see `setting_options`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, cast

import typer

from scout_context.pack.arrange import LAYOUTS, Layout
from scout_context.pack.options import PackOptions, Presentation
from scout_context.pack.styles import STYLES
from scout_context.screen import MODES
from scout_context.sources.defaults import DEFAULT_MAX_FILE_BYTES, describe

from .help_text import FITTING, INPUT, OUTPUT, choices
from .setting_options import option

Include = Annotated[list[str] | None, option(PackOptions, "include", rich_help_panel=INPUT)]
Exclude = Annotated[list[str] | None, option(PackOptions, "exclude", rich_help_panel=INPUT)]
Compress = Annotated[bool, option(PackOptions, "compress", rich_help_panel=FITTING)]
NoRedact = Annotated[bool, option(PackOptions, "redact", rich_help_panel=INPUT)]
NoDefaultExcludes = Annotated[
    bool, option(PackOptions, "default_excludes", more=f"{describe()}.", rich_help_panel=INPUT)
]
MaxFileSize = Annotated[int, option(PackOptions, "max_file_bytes", rich_help_panel=INPUT)]
Password = Annotated[
    str | None,
    option(PackOptions, "pdf_password", envvar="SCOUT_PDF_PASSWORD", show_envvar=False, rich_help_panel=INPUT),
]
Question = Annotated[
    str | None,
    typer.Option(
        "--question",
        "-q",
        help="Rank the chunks for this question (adds `ranking` to --json) and lay the prompt out for it.",
        rich_help_panel=FITTING,
    ),
]
LayoutOption = Annotated[str, option(Presentation, "layout", metavar=choices(LAYOUTS), rich_help_panel=FITTING)]
NoFit = Annotated[
    bool,
    typer.Option(
        "--no-fit",
        help="Over the budget, fail (exit 4) instead of shrinking chunks to outlines and leaving out the least relevant.",
        rich_help_panel=FITTING,
    ),
]
JsonOutput = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable result on stdout.", rich_help_panel=OUTPUT)
]


def layout_option(layout: str) -> Layout:
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


StyleOption = Annotated[
    str,
    option(
        Presentation,
        "style",
        more=f"{'; '.join(f'{s.name}: {s.help}' for s in STYLES.values())}.",
        metavar=choices(STYLES),
        rich_help_panel=OUTPUT,
    ),
]

# Options whose value may be left out: `--token-tree` alone means `--token-tree 0`. The
# parser needs a value, so `optional_values` supplies it before parsing.
# `--screen` alone means `--screen fence`. Each names its value when left out and what a
# value given looks like (anything else after it is an argument, never the option's value).
OPTIONAL_VALUES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "--token-tree": ("0", str.isdigit),
    "--screen": ("fence", MODES.__contains__),
}


def optional_values(args: list[str]) -> list[str]:
    """`args` with the default value inserted after an option of OPTIONAL_VALUES that is
    not followed by one of its values."""
    out: list[str] = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg == "--":
            return out + args[i + 1 :]
        if arg in OPTIONAL_VALUES:
            value, is_value = OPTIONAL_VALUES[arg]
            if not (i + 1 < len(args) and is_value(args[i + 1])):
                out.append(value)
    return out
