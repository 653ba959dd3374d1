"""The one function from (model, hardware, the user's settings) to what the engine runs with:
`vllm.LLM`'s keyword arguments, the environment, and the plan they come from. The embedded
engine (`vllm_local`), `serve` (`server_launch`), `ask --dry-run` and `engine plan` all use it.

- On the CPU: what the CPU default has always run (`EngineConfig.llm_kwargs`): float32, eager,
  the engine core in this process, a `kv_cache_space_gib` KV cache, the model's KV dtype and its
  own context (or `max_model_len`).
- On GPUs: `profile.plan` for the checkpoint (its precision from `quantization_config`, its real
  size), then the checkpoint's dtype (bf16), CUDA graphs, tensor parallel over the GPUs (pipeline
  parallel across nodes), fp8 KV on Hopper and newer when `kv_cache_dtype` is auto, the hybrid KV
  cache with its environment switch, the planned batched tokens and sequences, and
  `max_model_len` = the smaller of the plan and the user's (a note says when it was lowered).
  Weights that do not fit stop with EngineOutOfMemory (exit 8) naming the smallest hardware
  that fits.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scout_context.errors import EngineOutOfMemory, UsageError

from . import models
from .checkpoints import SCOUT_CHECKPOINTS
from .config import DEFAULT_MODEL, EngineConfig
from .hardware import Hardware, detect
from .model_source import ModelSource, resolve
from .profile import KV_DTYPES, Plan, PlanRequest, plan, smallest_fit


@dataclass(frozen=True)
class EngineSettings:
    """What the engine runs with, and why."""

    engine_args: dict[str, Any]  # exactly the keyword arguments `vllm.LLM` gets
    env: dict[str, str]  # set before vLLM is imported
    plan: dict[str, Any]  # the derivation: hardware, memory per GPU, layouts (GPU); KV space (CPU)
    notes: tuple[str, ...]
    source: ModelSource
    hardware: Hardware
    planned: Plan | None = None  # on GPUs

    def as_json(self) -> dict[str, Any]:
        return {"engine_args": self.engine_args, "env": self.env, "plan": self.plan, "notes": list(self.notes)}


def engine_settings(
    config: EngineConfig,
    hardware: Hardware | None = None,
    *,
    source: ModelSource | None = None,
    plan_overrides: dict[str, Any] | None = None,
) -> EngineSettings:
    """The engine settings for `config` on `hardware` (default: as `config` gives it, else detected).

    `source` (default: `config.model` resolved) and `plan_overrides` (`PlanRequest` fields, such as
    an exact context or the full KV layout) are for `engine plan`, which plans a model's config for
    hardware elsewhere."""
    source = source or resolve(config.model or DEFAULT_MODEL)
    hardware = hardware or detect(config.gpus, config.gpu_memory_gib, config.kv_cache_space_gib)
    if hardware.is_cpu:
        return _cpu(config, source, hardware)
    return _gpus(config, source, hardware, plan_overrides or {})


def _cpu(config: EngineConfig, source: ModelSource, hardware: Hardware) -> EngineSettings:
    if config.kv_cache_dtype not in KV_DTYPES:
        raise UsageError(f"unknown KV cache dtype {config.kv_cache_dtype!r}: use {', '.join(KV_DTYPES)}")
    if config.kv_cache_dtype == "fp8":
        raise UsageError("fp8 KV cache does not run on vLLM's CPU backend: use --kv-cache-dtype auto")
    max_model_len = config.max_model_len or models.default_max_model_len(source.name, Path(source.load))
    images = config.limit_images if source.config.get("vision_config") else 0
    cpu = replace(config, limit_images=images, kv_cache_dtype="auto", kv_cache_space_gib=hardware.cpu_kv_space_gib or 2)
    derivation = {
        "hardware": hardware.describe(),
        "kv_cache_space_gib": cpu.kv_cache_space_gib,
        "max_model_len": max_model_len,
        "max_model_len_from": "--max-model-len" if config.max_model_len else "the model's default",
    }
    return EngineSettings(
        cpu.llm_kwargs(Path(source.load), max_model_len), cpu.environment(source.hub), derivation, (), source, hardware
    )


def _gpus(config: EngineConfig, source: ModelSource, hardware: Hardware, overrides: dict[str, Any]) -> EngineSettings:
    request = PlanRequest(
        source.weights,
        config.kv_cache_dtype,
        source.load,
        overrides["weights_gib"] if "weights_gib" in overrides else source.weights_gib(),
        max_images=config.limit_images,
        gpu_memory_utilization=config.gpu_memory_utilization,
        tensor_parallel_size=config.tensor_parallel_size,
        max_num_seqs=config.max_num_seqs,
    )
    request = replace(request, **overrides)
    planned = _fitting_plan(source, hardware, request)
    notes = list(planned.notes)
    wanted = config.max_model_len
    if wanted is not None and wanted < planned.max_model_len:
        planned = plan(source.config, hardware, replace(request, context=wanted))
    elif wanted is not None and wanted > planned.max_model_len:
        notes.append(
            f"--max-model-len {wanted:,} lowered to {planned.max_model_len:,}: the most {hardware.describe()} holds"
        )
    args = dict(planned.vllm_args)
    args |= {
        "dtype": "float32" if request.weights == "fp32" else "bfloat16",
        "enforce_eager": False,  # CUDA graphs (piecewise: chunked attention runs outside them)
        "enable_prefix_caching": config.enable_prefix_caching,
        "seed": config.seed,
        "use_tqdm_on_load": config.verbose,
    }
    env = {**config.environment(source.hub), "VLLM_ENABLE_V1_MULTIPROCESSING": "1", **planned.env}
    env.pop("VLLM_CPU_KVCACHE_SPACE")
    derivation = {
        "hardware": hardware.describe(),
        **dataclasses.asdict(planned),
        "serve_command": planned.launch_script(),
    }
    return EngineSettings(args, env, derivation, tuple(notes), source, hardware, planned)


def _fitting_plan(source: ModelSource, hardware: Hardware, request: PlanRequest) -> Plan:
    """The plan, or EngineOutOfMemory naming the smallest hardware of this kind that fits."""
    try:
        return plan(source.config, hardware, request)
    except EngineOutOfMemory as error:
        smallest = smallest_fit(source.config, hardware, request)
        fits = (
            f"the smallest that fits is {smallest.describe()}" if smallest else "no machine of up to 64 such GPUs fits"
        )
        raise EngineOutOfMemory(f"{source.name} on {hardware.describe()}: {error}; {fits}") from None


def plan_report(
    model_config: dict[str, Any], hardware: Hardware, request: PlanRequest, model: str | None = None
) -> tuple[Plan, dict[str, Any]]:
    """`engine plan`'s answer, for the CLI and the MCP tool alike: the plan and, as one JSON
    object, the plan's fields with its `serve_command`, `launch` script and, on GPUs, the
    `engine_args` and `env` the engines would run with. On a CPU it plans vLLM's CPU backend
    (what `ask` runs there is `EngineConfig.llm_kwargs`); on GPUs it is `engine_settings` with
    the plan's own choices (weights, layout, context) over it."""
    settings: dict[str, Any] = {}
    if hardware.is_cpu:
        result = plan(model_config, hardware, request)
    else:
        chosen = engine_settings(
            EngineConfig(kv_cache_dtype=request.kv_dtype, gpu_memory_utilization=request.gpu_memory_utilization),
            hardware,
            source=ModelSource(model or SCOUT_CHECKPOINTS["bf16"].repo, model or "", model_config, builtin=False),
            plan_overrides=dataclasses.asdict(request) | {"overhead": request.overhead},
        )
        assert chosen.planned is not None  # GPUs are always planned
        result, settings = chosen.planned, {"engine_args": chosen.engine_args, "env": chosen.env}
    report = {**dataclasses.asdict(result), "serve_command": result.serve_command(), "launch": result.launch_script()}
    return result, report | settings
