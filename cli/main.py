"""Entry point: builds the typer app and turns every user-caused error into one line."""

from __future__ import annotations

import sys

import typer

from scout_context.errors import ScoutError

from .console import err_console
from .pack import pack_command

app = typer.Typer(
    name="scout-context",
    help="Long-context analysis with Llama 4 Scout: pack repositories into one exactly counted prompt.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("pack")(pack_command)


def main() -> None:
    """Console-script entry point; import-safe (vLLM spawns processes that re-import it)."""
    try:
        app(standalone_mode=False)
    except ScoutError as error:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except (typer.BadParameter, typer.Exit) as exit_:  # pragma: no cover - handled by click below
        raise exit_


if __name__ == "__main__":
    main()
