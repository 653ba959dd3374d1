"""An option set is declared once and spread into each command that takes it: its options
stand in the command's --help where the set's parameter stands, and the command is called
with the set built from the flags given."""

from __future__ import annotations

import re

import typer
from typer.testing import CliRunner

from scout_context.pack.options import PackOptions
from scout_context_cli.option_sets import EngineChoice, SourceFilters, with_option_sets


def _app(seen: list[tuple[str, EngineChoice, bool, SourceFilters]]) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @with_option_sets
    def command(name: str, engine: EngineChoice, filters: SourceFilters, verbose: bool = False) -> None:
        seen.append((name, engine, verbose, filters))

    return app


def test_a_command_is_called_with_its_option_sets_built_from_the_flags() -> None:
    seen: list[tuple[str, EngineChoice, bool, SourceFilters]] = []
    flags = ["x", "--model", "smol", "--exclude", "docs/", "--exclude", "*.lock", "--no-redact", "--verbose"]
    result = CliRunner().invoke(_app(seen), flags)
    assert result.exit_code == 0, result.output
    filters = SourceFilters(exclude=["docs/", "*.lock"], no_redact=True)
    assert seen == [("x", EngineChoice(model="smol"), True, filters)]
    assert filters.options() == PackOptions(exclude=("docs/", "*.lock"), redact=False)
    assert CliRunner().invoke(_app(seen), ["x"]).exit_code == 0
    assert seen[-1] == ("x", EngineChoice(), False, SourceFilters())  # the fields' defaults


def test_the_sets_options_stand_in_the_help_where_the_set_stands() -> None:
    result = CliRunner().invoke(_app([]), ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    listed = re.findall(r"^\S (--[\w-]+)", result.output, re.MULTILINE)  # a row of the options table
    # each option in its declaration's panel (Engine, Input, Fitting), panels in the order they first stand
    assert re.findall(r"─ (\w+) ─", result.output) == ["Arguments", "Options", "Engine", "Input", "Fitting"]
    start = listed.index("--engine")
    assert listed[start:] == [
        *("--engine", "--model", "--base-url", "--max-model-len"),
        *("--include", "--exclude", "--no-redact", "--no-default-excludes"),
        "--compress",
    ]


def test_the_hardware_options_are_the_job_files_hardware_keys() -> None:
    """What `--gpus` and its set give on the command line, a job file gives under the same
    settings: one list, so neither can grow alone."""
    import dataclasses

    from cli.option_sets import HardwareChoice
    from scout_context.tasks.jobs import HARDWARE_SETTINGS

    assert tuple(field.name for field in dataclasses.fields(HardwareChoice)) == HARDWARE_SETTINGS
    assert HardwareChoice(gpus=8, kv_cache_dtype="fp8").given() == {"gpus": 8, "kv_cache_dtype": "fp8"}
