"""Entry point: builds the typer app and turns every error into one line and an exit code.

Import-safe: nothing runs at import time (vLLM spawns processes that re-import modules).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption
from typer.exceptions import TyperException

from scout_context import __version__
from scout_context.errors import ScoutError

from .ask import ask_command
from .batch import batch_command
from .chat import chat_command
from .config_defaults import COMMANDS, ProjectDefaults, command_at, trace_origins
from .console import err_console, markup
from .engine import engine_app
from .init import init_command
from .logs import logs_app
from .mcp_command import mcp_command
from .models import models_command
from .options import optional_values
from .pack import pack_command
from .pr import pr_command
from .serve import serve_app

app = typer.Typer(
    name="scout-context",
    help="Long-context analysis with Llama 4 Scout: pack repositories, PDFs and chats into one exactly "
    "counted prompt, and ask, summarize pull requests or run batches of questions over it.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion and --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.command("pack")(pack_command)
app.command("ask")(ask_command)
app.command("chat")(chat_command)
app.command("batch")(batch_command)

app.command("models")(models_command)
app.command("mcp")(mcp_command)
app.command("pr")(pr_command)
app.command("init")(init_command)
app.add_typer(engine_app, name="engine")
app.add_typer(serve_app, name="serve")
app.add_typer(logs_app, name="logs")


def _show_version(value: bool) -> None:
    if value:
        print(f"scout-context {__version__}")
        raise typer.Exit()


def _be_quiet(value: bool) -> None:
    if value:
        err_console.quiet = True  # errors are printed with it turned back on (`_fail`)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, expose_value=False, help="Print the version and exit."
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            callback=_be_quiet,
            expose_value=False,
            help="No progress, notes or summaries on stderr (errors are still shown).",
        ),
    ] = False,
) -> None:
    """Long-context analysis with Llama 4 Scout."""


def _command() -> TyperGroup:
    """The app as a command, every subcommand given the root's --quiet (so that it may come
    after the subcommand's name too)."""
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    quiet = next(p for p in root.params if isinstance(p, TyperOption) and p.name == "quiet")
    groups = [root]
    while groups:
        for sub in groups.pop().commands.values():
            if isinstance(sub, TyperGroup):
                groups.append(sub)
            if isinstance(sub, TyperGroup | TyperCommand):
                sub.params.append(quiet)
    for path in COMMANDS:
        trace_origins(command_at(root.commands, path))
    return root


def main() -> None:
    """Console-script entry point. Exit codes: see `scout_context.errors.EXIT_CODES`."""
    try:
        root = _command()
        defaults = ProjectDefaults(root.commands, Path.cwd())  # the configuration file's
        code = root.main(args=optional_values(sys.argv[1:]), standalone_mode=False, default_map=defaults, obj=defaults)
    except ScoutError as error:
        _fail(str(error), error.exit_code)
    except TyperException as error:  # bad arguments: typer's own usage message, exit 2
        error.show() if hasattr(error, "show") else err_console.print(error.format_message())
        sys.exit(error.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", 130)
    except BrokenPipeError:
        _reader_gone()
    except SystemExit as leaving:
        # typer meets a closed stdout before we do, and leaves with exit code 1
        if isinstance(leaving.__context__, BrokenPipeError):
            _reader_gone()
        raise
    except Exception as error:  # a bug: still one line, the traceback only on request
        if os.environ.get("SCOUT_DEBUG"):
            raise
        _fail(f"internal error: {type(error).__name__}: {error} (set SCOUT_DEBUG=1 for the traceback)", 1)
    sys.exit(code if isinstance(code, int) else 0)


def _reader_gone() -> None:
    """The reader of stdout left (`| head`): not an error. What is still buffered goes to
    /dev/null, so the interpreter's last flush does not complain."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.__stdout__.fileno() if sys.__stdout__ else 1)
    sys.exit(0)


def _fail(message: str, code: int) -> None:
    err_console.quiet = False
    err_console.print(f"[bold red]error:[/] {markup(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
