"""Options of every command that generates (`ask`, `pr`, `batch`, `serve`): their flags, bounds
and help are `EngineConfig`'s and `SamplingConfig`'s fields (see `setting_options`). The sets of
them that several commands share (which engine; the hardware) are in `option_sets`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scout_context.engine import registry
from scout_context.engine.config import EngineConfig, SamplingConfig
from scout_context.errors import UsageError
from scout_context.tasks.jobs import JobFile

from .console import note, print_json
from .help_text import ENGINE, OUTPUT, choices
from .setting_options import option

EngineName = Annotated[
    str,
    option(
        EngineConfig,
        "backend",
        more=registry.option_help(),
        metavar=choices([registry.AUTO, *registry.names()]),
        rich_help_panel=ENGINE,
    ),
]
Model = Annotated[str | None, option(EngineConfig, "model", rich_help_panel=ENGINE)]
BaseUrl = Annotated[str | None, option(EngineConfig, "base_url", rich_help_panel=ENGINE)]
MaxModelLen = Annotated[int | None, option(EngineConfig, "max_model_len", rich_help_panel=ENGINE)]
MaxTokens = Annotated[int, option(SamplingConfig, "max_tokens", rich_help_panel=ENGINE)]
System = Annotated[str | None, option(JobFile, "system", metavar="TEXT", show_default=False, rich_help_panel=ENGINE)]
Images = Annotated[int, option(EngineConfig, "limit_images", rich_help_panel=ENGINE)]
Verbose = Annotated[bool, option(EngineConfig, "verbose", rich_help_panel=OUTPUT)]
Timeout = Annotated[float | None, option(EngineConfig, "timeout_s", show_default=False, rich_help_panel=ENGINE)]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Print the engine's settings (vLLM arguments, environment, plan) and start nothing.",
        rich_help_panel=ENGINE,
    ),
]


def engine_config(
    engine: str,
    model: str | None,
    base_url: str | None,
    max_model_len: int | None,
    verbose: bool,
    images: int = 5,
    timeout: float | None = None,
    hardware: dict[str, Any] | None = None,
) -> EngineConfig:
    if engine not in registry.BACKENDS and engine != registry.AUTO:
        raise typer.BadParameter(f"unknown engine {engine!r}: use {registry.either()}", param_hint="--engine")
    given: dict[str, Any] = {"backend": engine, "model": model, "base_url": base_url, "max_model_len": max_model_len}
    given |= {"verbose": verbose, "limit_images": images, "timeout_s": timeout}
    return EngineConfig.from_env(**given, **(hardware or {}))


def print_dry_run(config: EngineConfig) -> None:
    """`--dry-run`: the embedded engine's settings for `config` as JSON on stdout (`engine_args`,
    exactly what `vllm.LLM` would get; `env`; `plan`, with its derivation; `notes`), the notes
    on stderr too. Nothing starts; a registry model's checkpoint need not be here."""
    from scout_context.engine.engine_settings import engine_settings

    chosen = registry.choose(config)
    if chosen.backend != "vllm":
        raise UsageError(
            f"--dry-run shows the embedded engine's settings, and this run would ask the server at {chosen.base_url}; "
            "add --engine vllm to see them"
        )
    settings = engine_settings(config)
    for line in settings.notes:
        note(line)
    print_json(settings.as_json())
