"""Options of every command that generates (`ask`, `pr`, `batch`), declared once."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from scout_context.engine import registry
from scout_context.engine.config import EngineConfig, SamplingConfig

EngineName = Annotated[str, typer.Option("--engine", help=registry.option_help())]
Model = Annotated[Optional[str], typer.Option("--model", help="A known model (see `scout-context models`) or a model folder; with --engine openai, the served model id (SCOUT_MODEL).")]
BaseUrl = Annotated[Optional[str], typer.Option("--base-url", help="The remote server, e.g. http://gpu-box:8000/v1 (SCOUT_BASE_URL; the key comes from SCOUT_API_KEY).")]
MaxModelLen = Annotated[Optional[int], typer.Option("--max-model-len", min=256, help="Context length to run the embedded engine with (default: the model's own for this machine).")]
MaxTokens = Annotated[int, typer.Option("--max-tokens", min=1, help="Most tokens in the answer (kept free in the context).")]
Temperature = Annotated[float, typer.Option("--temperature", min=0.0, help="Sampling temperature (0: greedy, reproducible).")]
Images = Annotated[int, typer.Option("--images", min=0, help="Most images to attach when the model reads images (Llama 4 Scout does; the rest are listed as skipped).")]
Verbose = Annotated[bool, typer.Option("--verbose", help="Show the engine's own log.")]
Timeout = Annotated[Optional[float], typer.Option("--timeout", min=0.1, help="With --engine openai: the longest wait, in seconds, for the server's next bytes, not a limit on the whole answer (SCOUT_TIMEOUT; default 600, since a million-token prompt can take minutes before its first token). GitHub's API waits at most 30 s.", show_default=False)]


def engine_config(
    engine: str, model: str | None, base_url: str | None, max_model_len: int | None, verbose: bool, images: int = 10,
    timeout: float | None = None,
) -> EngineConfig:
    if engine not in registry.BACKENDS and engine != registry.AUTO:
        raise typer.BadParameter(f"unknown engine {engine!r}: use {registry.either()}", param_hint="--engine")
    return EngineConfig.from_env(
        backend=engine, model=model, base_url=base_url, max_model_len=max_model_len, verbose=verbose, limit_images=images,
        timeout_s=timeout,
    )


def sampling_config(max_tokens: int, temperature: float) -> SamplingConfig:
    return SamplingConfig(temperature=temperature, max_tokens=max_tokens)
