"""The one object for every engine knob, and the sampling settings of a request.

A field's doc is also its `--help` and its comment in the example job file (see `settings`).

Defaults suit the CPU default model (SmolLM2-135M on 2 cores): float32 (no bf16 matrix
units), eager mode (torch.compile recompiles at every start here), the engine core in
this process, a 2 GiB KV cache: `llm_kwargs`. On GPUs the engine's arguments come from the
plan instead (`engine_settings`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scout_context import paths
from scout_context.errors import UsageError
from scout_context.settings import check_excluded, setting

DEFAULT_MODEL = "smollm2"
AUTO = "auto"  # the backend: the server at `base_url`, else a running `scout-context serve`, else embedded


@dataclass(frozen=True)
class EngineConfig:
    """Every knob of both backends; the embedded backend turns it into `vllm.LLM` arguments."""

    backend: str = setting(
        AUTO, flag="--engine", former="backend"
    )  # AUTO or a name in `registry.BACKENDS`, which says what each is
    """The engine that runs the model."""
    model: str | None = setting(None, env="SCOUT_MODEL")
    """A known model, a Hugging Face id or a model folder; with the openai engine, the served model id. `scout-context models`
    lists the known ones (SCOUT_MODEL when none is given; without either: smollm2 locally, the server's
    only model remotely)."""
    max_model_len: int | None = setting(None, minimum=256)
    """Context length to run the embedded engine with (default: on GPUs the most the plan holds, lowered
    to it with a note when asked for more; on a CPU the model's own)."""
    gpus: int | None = setting(None, minimum=0)
    """The number of GPUs to run on, in all (default: the CUDA devices torch sees, else the CPU); with --gpu-memory, a
    machine that is not this one, to plan for it (0: the CPU)."""
    gpu_memory_gib: float | None = setting(None, flag="--gpu-memory", minimum=1.0)
    """Each GPU's memory in GiB as CUDA reports it (79.18 on an H100 80GB, 139.8 on an H200), with --gpus."""
    dtype: str = "float32"
    kv_cache_dtype: str = setting("auto", flag="--kv-cache-dtype")
    """KV cache dtype on GPUs: auto (fp8 on Hopper and newer, else the model's), fp8 (about twice the
    context) or model (the model's dtype); a CPU keeps the model's."""
    kv_cache_space_gib: int = 2
    """KV cache size on a CPU (VLLM_CPU_KVCACHE_SPACE); ignored on a GPU."""
    gpu_memory_utilization: float = setting(0.9, minimum=0.05)
    """Share of each GPU's memory vLLM may take (weights, overhead and KV cache)."""
    tensor_parallel_size: int | None = setting(None, minimum=1)
    """The number of GPUs one copy of the model is split over (default: as many of a node's as Scout's heads allow)."""
    enable_prefix_caching: bool = True
    enable_chunked_prefill: bool = True
    max_num_batched_tokens: int | None = None
    max_num_seqs: int = 16
    """Requests run at once. vLLM keeps host buffers of max_num_seqs x max_model_len x 5
    bytes (its default of 256 to 1024 sequences needs 13 to 53 GB of RAM at 10M tokens)."""
    limit_images: int = setting(5, flag="--images", minimum=0, former="limit_images")
    """Most images to attach when the model reads images (Llama 4 Scout does; the rest are listed as skipped)."""
    attn_temperature_tuning: bool | None = None
    """None: vLLM's rule (on when max_model_len > 32768); True/False forces it."""
    enforce_eager: bool = True
    in_process: bool = True
    """Run vLLM's engine core in this process (VLLM_ENABLE_V1_MULTIPROCESSING=0)."""
    seed: int = 0
    verbose: bool = False
    """Show the engine's own log, and where each setting that is not its default came from (command
    line, environment, configuration file)."""
    base_url: str | None = setting(None, env="SCOUT_BASE_URL")
    """The remote server, such as http://gpu-box:8000/v1 (SCOUT_BASE_URL; the key comes from SCOUT_API_KEY)."""
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = setting(600.0, flag="--timeout", minimum=0.1, env="SCOUT_TIMEOUT", former="timeout_s")
    """With the openai engine: the longest wait, in seconds, for the server's next bytes, not a limit on
    the whole answer (SCOUT_TIMEOUT; default 600, since a long answer streams for minutes and a
    million-token prompt can take minutes before its first token). GitHub's API waits at most 30 s."""

    @classmethod
    def from_env(cls, **overrides: Any) -> EngineConfig:
        """Defaults, then SCOUT_BASE_URL / SCOUT_API_KEY / SCOUT_MODEL / SCOUT_TIMEOUT, then
        `overrides` (None or empty values are ignored, so CLI options can be passed straight in)."""
        settings: dict[str, Any] = {
            "base_url": os.environ.get("SCOUT_BASE_URL"),
            "api_key": os.environ.get("SCOUT_API_KEY"),
            "model": os.environ.get("SCOUT_MODEL"),
            "timeout_s": os.environ.get("SCOUT_TIMEOUT"),
        }
        settings.update((key, value) for key, value in overrides.items() if value is not None)
        if isinstance(settings["timeout_s"], str) and settings["timeout_s"]:
            settings["timeout_s"] = _seconds(settings["timeout_s"], "SCOUT_TIMEOUT")
        return cls(**{key: value for key, value in settings.items() if value not in (None, "")})

    def environment(self, hub: bool = False) -> dict[str, str]:
        """Environment for vLLM, set before it is imported: caches under the scout cache
        dir (nothing in $HOME), no usage reporting, quiet logs; no hub access unless the
        model comes from the hub (`hub`), where the user's own HF_HUB_OFFLINE applies."""
        root = paths.cache_dir()
        return {
            "VLLM_CACHE_ROOT": str(root / "vllm"),
            "VLLM_CONFIG_ROOT": str(root / "vllm" / "config"),
            "TORCHINDUCTOR_CACHE_DIR": str(root / "vllm" / "inductor"),
            "VLLM_CPU_KVCACHE_SPACE": str(self.kv_cache_space_gib),
            "VLLM_ENABLE_V1_MULTIPROCESSING": "0" if self.in_process else "1",
            "VLLM_NO_USAGE_STATS": "1",
            "VLLM_DO_NOT_TRACK": "1",
            **({} if hub else {"HF_HUB_OFFLINE": "1"}),
            "TOKENIZERS_PARALLELISM": "false",
            "VLLM_LOGGING_LEVEL": "INFO" if self.verbose else "ERROR",
            "TORCH_CPP_LOG_LEVEL": "INFO" if self.verbose else "ERROR",
        }

    def llm_kwargs(self, model_path: Path, max_model_len: int) -> dict[str, Any]:
        """Keyword arguments for `vllm.LLM` for the model folder `model_path`."""
        kwargs: dict[str, Any] = {
            "model": str(model_path),
            "max_model_len": max_model_len,
            "dtype": self.dtype,
            "kv_cache_dtype": self.kv_cache_dtype,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "tensor_parallel_size": self.tensor_parallel_size or 1,
            "enable_prefix_caching": self.enable_prefix_caching,
            "enable_chunked_prefill": self.enable_chunked_prefill,
            "enforce_eager": self.enforce_eager,
            "max_num_seqs": self.max_num_seqs,
            "seed": self.seed,
            "limit_mm_per_prompt": {"image": self.limit_images},
            "use_tqdm_on_load": self.verbose,
        }
        if self.max_num_batched_tokens is not None:
            kwargs["max_num_batched_tokens"] = self.max_num_batched_tokens
        if self.attn_temperature_tuning is not None:
            kwargs["override_generation_config"] = {"attn_temperature_tuning": self.attn_temperature_tuning}
        return kwargs


def _seconds(text: str, name: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (0 < seconds < math.inf):
        raise UsageError(f"{name} must be a number of seconds above 0, not {text!r}")
    return seconds


SAMPLING_SETTINGS = ("max_tokens", "temperature", "frequency_penalty", "repetition_penalty", "stop_repeats")
"""The `SamplingConfig` fields that commands take as options and files as keys, in that order."""


@dataclass(frozen=True)
class SamplingConfig:
    """How to sample one answer: greedy by default, so answers are reproducible."""

    temperature: float = setting(0.0, minimum=0.0)
    """Sampling temperature; 0 is greedy and reproducible (and cacheable)."""
    max_tokens: int = setting(512, minimum=1)
    """Most tokens in the answer (kept free in the context)."""
    frequency_penalty: float = setting(0.3, minimum=-2.0)
    """Lowers a token's score by this much for each time the answer already has it (the answer's
    tokens only, not the sources'; 0: none); deterministic, so greedy answers stay reproducible,
    and a small model's answers end instead of looping."""
    repetition_penalty: float = setting(1.0, minimum=0.01)
    """vLLM's repetition penalty: lowers the score of every token the prompt or the answer
    already has (1: none). It counts the sources' tokens too, which an answer must quote."""
    stop_repeats: int = setting(3, minimum=0, excluded={1: "0 (never) or a count of at least 2"})
    """End an answer once a passage of 16 to 256 tokens has come this many times in a row, and keep
    one copy of it (0: never; at least 2). Only a looping answer changes."""
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_excluded(self)

    @classmethod
    def plain(cls, max_tokens: int) -> SamplingConfig:
        """Greedy decoding and nothing else: no penalty, no loop stop (the guard's verdicts;
        the baseline that the defaults are measured against)."""
        return cls(
            temperature=0.0, max_tokens=max_tokens, frequency_penalty=0.0, repetition_penalty=1.0, stop_repeats=0
        )
