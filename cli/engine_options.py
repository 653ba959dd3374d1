"""Options of every command that generates (`ask`, `pr`, `batch`): their flags, bounds and help
are `EngineConfig`'s and `SamplingConfig`'s fields (see `setting_options`)."""

from __future__ import annotations

from typing import Annotated

import typer

from scout_context.engine import registry
from scout_context.engine.config import EngineConfig, SamplingConfig

from .setting_options import option

EngineName = Annotated[str, option(EngineConfig, "backend", more=registry.option_help())]
Model = Annotated[str | None, option(EngineConfig, "model")]
BaseUrl = Annotated[str | None, option(EngineConfig, "base_url")]
MaxModelLen = Annotated[int | None, option(EngineConfig, "max_model_len")]
MaxTokens = Annotated[int, option(SamplingConfig, "max_tokens")]
Temperature = Annotated[float, option(SamplingConfig, "temperature")]
Images = Annotated[int, option(EngineConfig, "limit_images")]
Verbose = Annotated[bool, option(EngineConfig, "verbose")]
Timeout = Annotated[float | None, option(EngineConfig, "timeout_s", show_default=False)]


def engine_config(
    engine: str,
    model: str | None,
    base_url: str | None,
    max_model_len: int | None,
    verbose: bool,
    images: int = 10,
    timeout: float | None = None,
) -> EngineConfig:
    if engine not in registry.BACKENDS and engine != registry.AUTO:
        raise typer.BadParameter(f"unknown engine {engine!r}: use {registry.either()}", param_hint="--engine")
    return EngineConfig.from_env(
        backend=engine,
        model=model,
        base_url=base_url,
        max_model_len=max_model_len,
        verbose=verbose,
        limit_images=images,
        timeout_s=timeout,
    )


def sampling_config(max_tokens: int, temperature: float) -> SamplingConfig:
    return SamplingConfig(temperature=temperature, max_tokens=max_tokens)
