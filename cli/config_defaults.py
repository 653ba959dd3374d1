"""The configuration file's `[pack]`, `[ask]` and `[engine]` tables as the commands' defaults.

Their keys are settings fields (`scout_context.settings`), the keys of job files; a key
becomes the default of the command option whose flag is the field's, in every command of
`COMMANDS` that has it (click's `default_map`), so the command line wins over the file, and
a variable that gives a setting (SCOUT_MODEL, SCOUT_TIMEOUT) wins too: the file's value is
then left out. The file is read only when one of these commands runs (`--version`, `init`
never stop at a broken one), and only from the current folder or its git root (see
`project_config.find_config`): never from a source being analysed. `base_url` and secrets
are never read from a file: a folder you analyse must not send its code elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.core import Command, Context, ParameterSource
from typer._click.globals import get_current_context as click_context
from typer.core import TyperOption as Option

from scout_context.engine.config import SAMPLING_SETTINGS, EngineConfig, SamplingConfig
from scout_context.pack.options import PackOptions, Presentation
from scout_context.project_config import Fields, Found, find_config, read_tables
from scout_context.settings import Setting, settings
from scout_context.tasks.jobs import CORPUS_SETTINGS, HARDWARE_SETTINGS, JobFile

from .console import err_console, markup, note

SECTIONS: dict[str, Fields] = {
    "pack": (*CORPUS_SETTINGS, (Presentation, ("style",))),
    "ask": (
        (SamplingConfig, SAMPLING_SETTINGS),
        (JobFile, ("answer_language", "system")),
        (Presentation, ("layout",)),
    ),
    "engine": ((EngineConfig, ("backend", "model", "max_model_len", *HARDWARE_SETTINGS, "limit_images", "timeout_s")),),
}
"""What `[pack]` (every command that packs), `[ask]` (the questions) and `[engine]` hold."""
READERS = {
    "pack": ("pack", "ask", "chat"),
    "ask": ("ask", "chat", "serve start"),
    "engine": ("ask", "chat", "serve start"),
}
"""The commands (by path) whose options take each table's keys: `pack --layout` keeps its own
default, since `[ask]` is the questions'; `serve start` primes with `[ask]`'s `system`, as
the questions will ask. `batch` takes `[engine]` under its job file's `engine:` (`table_values`)."""
COMMANDS = tuple(dict.fromkeys(name for names in READERS.values() for name in names))
OTHERS = ("pr",)
"""Tables of the file that others read (`pr`, from the base commit)."""
NEVER_FROM_FILE = {
    "base_url": "use --base-url or SCOUT_BASE_URL",
    "api_key": "use SCOUT_API_KEY",
    "password": "use --password or SCOUT_PDF_PASSWORD",
}
_ENV = {each.flag: each.env for cls in (EngineConfig, PackOptions) for each in settings(cls).values() if each.env}
# Shown as *** by --verbose: a password, and a URL that may hold one.
_HIDDEN = {settings(PackOptions)["pdf_password"].flag, settings(EngineConfig)["base_url"].flag}
VERBOSE = "scout_context.verbose"


def option_for(command: Command, each: Setting) -> Option | None:
    """The option of `command` that gives the setting `each`, if it has one."""
    return next((p for p in command.params if isinstance(p, Option) and each.flag in p.opts), None)


def as_option(each: Setting, value: Any) -> Any:
    """A setting's value as its option takes it: `redact = false` is `--no-redact`."""
    return not value if each.kind is bool and each.flag.startswith("--no-") else value


class ProjectDefaults(Mapping[str, dict[str, Any]]):
    """The `default_map` of the root command (by command name, by option name), read from
    the configuration file of `folder` when a command of `COMMANDS` first asks for it."""

    def __init__(self, root: Mapping[str, Command], folder: Path) -> None:
        self.root, self.folder = root, folder

    @cached_property
    def _tables(self) -> dict[str, list[Found]]:
        """The keys of each table read."""
        found = find_config(self.folder)
        if found is None:
            return {}
        path, prefix = found
        shown = os.path.relpath(path, self.folder)
        read = read_tables(path, prefix, SECTIONS, shown, others=OTHERS, never=NEVER_FROM_FILE)
        for each in (each for table in read.values() for each in table):
            if each.note:
                note(each.note)
        return read

    def _given(self, path: str) -> Iterator[tuple[str, Found]]:
        """(option name, its key in the file) for each key that the command `path` takes from it."""
        command = command_at(self.root, path)
        for found in (each for table, keys in self._tables.items() if path in READERS[table] for each in keys):
            option = option_for(command, found.setting)
            if option is not None and option.name and not _from_environment(found.setting):
                yield option.name, found

    def __getitem__(self, name: str) -> dict[str, Any]:
        """A command's defaults by option name; a group's, by subcommand (click's nesting)."""
        if name in COMMANDS:
            return {option: as_option(found.setting, found.value) for option, found in self._given(name)}
        below = {path.split(" ", 1)[1]: self[path] for path in COMMANDS if path.startswith(name + " ")}
        if not below:
            raise KeyError(name)  # the root's own options, other commands: no defaults here
        return below

    def origins(self, path: str) -> dict[str, str]:
        """Where the file sets each option of the command `path` that it sets: "file:line"."""
        return {name: found.where for name, found in self._given(path)}

    def table(self, table: str) -> dict[str, Any]:
        """The keys given in `table` by field name, less those whose variable is set (it wins)."""
        return {f.setting.name: f.value for f in self._tables.get(table, []) if not _from_environment(f.setting)}

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(path.split(" ", 1)[0] for path in COMMANDS))

    def __len__(self) -> int:
        return len(list(iter(self)))


def command_at(root: Mapping[str, Command], path: str) -> Command:
    """The command at `path` ("serve start") below the root's commands `root`."""
    first, *rest = path.split()
    command = root[first]
    for name in rest:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


def table_values(table: str) -> dict[str, Any]:
    """The running command's configuration file's `table`, by field name (see `ProjectDefaults.table`)."""
    ctx = click_context(silent=True)
    defaults = ctx.find_root().obj if ctx is not None else None
    return defaults.table(table) if isinstance(defaults, ProjectDefaults) else {}


def not_given(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Of `values` (fields of `cls` by name, read from a file), those that neither the running
    command's line nor the environment gives: the command line and the environment win."""
    ctx = click_context()
    kept = {}
    for name, value in values.items():
        each = settings(cls)[name]
        option = option_for(ctx.command, each)
        if option is not None and option.name and ctx.get_parameter_source(option.name) in _GIVEN:
            continue
        if not _from_environment(each):
            kept[name] = value
    return kept


_GIVEN = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def _from_environment(each: Setting) -> bool:
    return bool(each.env and os.environ.get(each.env))


def show_origins(ctx: Context, origins: dict[str, str]) -> None:
    """`--verbose`: each option that is not its default, its value and where it came from."""
    for param in ctx.command.params:
        if not isinstance(param, Option) or not param.name or param.name in ("verbose", "quiet"):
            continue
        source, value = ctx.get_parameter_source(param.name), ctx.params.get(param.name)
        env = _ENV.get(next((flag for flag in param.opts if flag in _ENV), ""), "")
        if source is ParameterSource.COMMANDLINE:
            where = "command line"
        elif source is ParameterSource.ENVIRONMENT:
            where = str(param.envvar)
        elif source is ParameterSource.DEFAULT_MAP:
            where = origins.get(param.name, "configuration file")
        elif env and os.environ.get(env):
            where, value = env, os.environ[env]
        else:
            continue
        shown = "***" if _HIDDEN & set(param.opts) else str(value) if isinstance(value, Path) else value
        err_console.print(f"[dim]setting {param.opts[0]} = {markup(repr(shown))} from {markup(where)}[/]")


def trace_origins(command: Command) -> None:
    """Make `command` print where its settings came from when run with --verbose (the
    option is added when the command has none)."""
    if not any(param.name == "verbose" for param in command.params):
        command.params.append(_verbose_option())
    invoke = command.invoke

    def invoke_tracing(ctx: Context) -> Any:
        if ctx.params.get("verbose") or ctx.meta.get(VERBOSE):
            defaults = ctx.find_root().obj  # main() gives it as the default_map and the obj
            path = " ".join(ctx.command_path.split()[1:])  # "serve start", without the program's name
            show_origins(ctx, defaults.origins(path) if isinstance(defaults, ProjectDefaults) else {})
        return invoke(ctx)

    command.invoke = invoke_tracing  # type: ignore[method-assign]


def _verbose_option() -> Option:
    """`--verbose` for a command that has none: it only says so in `ctx.meta`."""
    helper = typer.Typer(add_completion=False)

    @helper.command()
    def verbose(
        verbose: Annotated[
            bool,
            typer.Option(
                "--verbose",
                callback=_remember_verbose,
                expose_value=False,
                help="Show where each setting that is not its default came from.",
            ),
        ] = False,
    ) -> None:
        """Only its option is used."""

    (option,) = typer.main.get_command(helper).params
    assert isinstance(option, Option)
    return option


def _remember_verbose(ctx: typer.Context, value: bool) -> None:
    ctx.meta[VERBOSE] = value
