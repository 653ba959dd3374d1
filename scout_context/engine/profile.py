"""Scout's memory profile: the longest context given hardware holds, and the vLLM arguments for it.

Everything is arithmetic on the model's config (Hugging Face layout) and the hardware the user
names; nothing is tabulated per GPU. Per GPU, vLLM claims `gpu_memory_utilization` of the
memory; the weights (split over tensor x pipeline parallel ranks) and a fixed `Overhead` come out
of it, and the rest is KV cache. Its size in tokens depends on the KV layout (`kv_cache`):

- full: every layer keeps every token (vLLM with `--disable-hybrid-kv-cache-manager`, and what
  vLLM's Llama 4 launch figures were measured with: 1M tokens on 8 x H100, 3.6M on 8 x H200);
- hybrid: chunked-local layers keep at most one chunk plus the batched tokens per request and only
  the global (NoPE) layers grow with the context (vLLM's hybrid KV cache manager).

A config without `attention_chunk_size` (a plain Llama) has only global layers: one layout.
`Hardware(gpus=0, cpu_kv_space_gib=N)` plans vLLM's CPU backend: an N GiB KV cache
(`VLLM_CPU_KVCACHE_SPACE`), the model's own KV dtype (fp8 KV fails there), no GPU memory checks.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, replace
from typing import Any

from scout_context.errors import ContextTooLarge, EngineOutOfMemory, UsageError

from .checkpoints import SCOUT_CHECKPOINTS, WEIGHT_BYTES, estimate_weights_gib
from .hardware import Hardware
from .kv_cache import HYBRID_ENV, Architecture, KvShape, Layout

KV_DTYPES = ("auto", "fp8", "model")

GPU_BLOCK_SIZE = 16  # vLLM's KV block size on CUDA
CPU_BLOCK_SIZE = 128  # and on its CPU backend
LONG_CONTEXT = 1_000_000  # from here on, plans use the lower `long_context_batched_tokens`
TEMPERATURE_TUNING_ABOVE = 32768  # vLLM's own threshold for Llama 4's NoPE temperature tuning

_GIB = 1 << 30


@dataclass(frozen=True)
class Overhead:
    """GiB per GPU, inside vLLM's `gpu_memory_utilization` share, that is neither weights nor KV cache.

    Calibrated for Scout against vLLM's Llama 4 launch figures (vLLM 0.8.3, April 2025, blog.vllm.ai
    2025/04/05/llama4: bf16 weights and KV, `--tensor-parallel-size 8`, 1M tokens on 8 x H100 and
    3.6M on 8 x H200): with these constants the full-KV layout plans 1.22M and 3.61M tokens. Where
    each comes from:

    - `activations_gib`: the peak of vLLM's profiling forward pass at `max_num_batched_tokens`
      (8,192), which vLLM subtracts before sizing the KV cache; an estimate for Scout's MoE at
      tensor parallel 8 (hidden states, fused-MoE workspace, attention buffers).
    - `sampler_gib`: the profiling run samples for `max_num_seqs` dummy requests over the full
      vocabulary in fp32: 256 x 202,048 x 4 bytes = 0.19 GiB per copy (logits, probabilities,
      log-probabilities, the top-p/top-k sort): about 1.5 GiB [derived from vLLM's sampler].
    - `cuda_graphs_gib`: captured piecewise graphs (chunked attention runs outside them), as vLLM
      logs after capture for models of this size: about 1 GiB [estimate].
    - `non_torch_gib`: CUDA context, cuBLAS workspaces and allocator slack that torch does not
      count, which vLLM measures as "non-torch memory": about 2 GiB [estimate].
    - `parallel_gib`, with more than one GPU: NCCL communicators and the custom all-reduce buffers
      (about 3 GiB), plus 5.3 GiB fit to the launch figures: what vLLM 0.8.3 did not give to the KV
      cache beyond the terms above (the launch's vision profiling with `limit_mm_per_prompt`,
      fragmentation) [calibrated; checked against the published figures only, not on a GPU here].

    One GPU: 9.5 GiB; several: 17.8 GiB. The arithmetic of the KV cache (block size 16 on CUDA, the
    hybrid manager's switch) follows vLLM 0.11 to 0.32, the range the `gpu` extra allows.
    """

    activations_gib: float = 5.0
    sampler_gib: float = 1.5
    cuda_graphs_gib: float = 1.0
    non_torch_gib: float = 2.0
    parallel_gib: float = 8.3

    def per_gpu(self, gpus: int) -> float:
        shared = self.activations_gib + self.sampler_gib + self.cuda_graphs_gib + self.non_torch_gib
        return shared + (self.parallel_gib if gpus > 1 else 0.0)

    def parts(self, gpus: int) -> str:
        """The terms, for the derivation: "activations 5, sampler 1.5, ..."."""
        terms = {"activations": self.activations_gib, "sampler": self.sampler_gib}
        terms |= {"CUDA graphs": self.cuda_graphs_gib, "non-torch": self.non_torch_gib}
        if gpus > 1:
            terms["parallel"] = self.parallel_gib
        return ", ".join(f"{name} {value:g}" for name, value in terms.items())


@dataclass(frozen=True)
class PlanRequest:
    """What to plan: the weights, the KV cache and the limits the user chose.

    `weights` is a key of WEIGHT_BYTES; `model` defaults to Scout's checkpoint in that precision
    and `weights_gib` to that checkpoint's size (else an estimate from the config). `kv_dtype`:
    "auto" is fp8 on Hopper or newer GPUs and the model's dtype otherwise; "model" is the model's
    dtype (vLLM's "auto"). `context`: plan exactly that many tokens (default: the most that fit).
    `tensor_parallel_size`: default as many GPUs of a node as the heads allow.
    """

    weights: str
    kv_dtype: str = "auto"
    model: str | None = None
    weights_gib: float | None = None
    context: int | None = None
    hybrid_kv_cache: bool = True
    max_images: int = 5  # the seed tested up to 5 images per prompt
    gpu_memory_utilization: float = 0.9
    tensor_parallel_size: int | None = None
    max_num_seqs: int = 16
    overhead: Overhead = Overhead()
    max_num_batched_tokens: int = 8192
    long_context_batched_tokens: int = 4096


@dataclass(frozen=True)
class Plan:
    """A vLLM configuration for one long request, and how it was derived."""

    max_model_len: int
    kv_bytes_per_token: int
    tensor_parallel_size: int
    pipeline_parallel_size: int
    vllm_args: dict[str, Any]  # keyword arguments of `vllm.LLM` / `EngineArgs`
    env: dict[str, str]  # environment the engine needs
    layout: str  # the key of `layouts` that max_model_len comes from
    layouts: dict[str, Layout]
    nodes: int
    weights_gib: float  # the whole model
    usable_gib_per_gpu: float  # gpu_memory_utilization x memory (0 on a CPU)
    weights_gib_per_gpu: float
    overhead_gib_per_gpu: float
    kv_gib_per_gpu: float  # on a CPU: its KV cache space
    notes: tuple[str, ...] = ()

    def serve_command(self) -> str:
        """The `vllm serve` line equivalent to `vllm_args` and `env`, shell-quoted."""
        args = dict(self.vllm_args)
        words = [f"{name}={shlex.quote(value)}" for name, value in self.env.items()]
        words += ["vllm", "serve", shlex.quote(args.pop("model"))]
        for key, value in args.items():
            words += _flag(key, value)
        return " ".join(words)

    def launch_script(self) -> str:
        """The serve line; across nodes, preceded by the Ray cluster set-up vLLM documents."""
        if self.nodes == 1:
            return self.serve_command()
        gpus = self.tensor_parallel_size * self.pipeline_parallel_size
        return "\n".join(
            [
                (
                    f"# {self.nodes} nodes x {gpus // self.nodes} GPUs over Ray (vLLM docs: serving/parallelism_scaling);"
                    " the same vLLM version and model path on every node."
                ),
                "# 1. On the head node:",
                "VLLM_HOST_IP=<HEAD_NODE_IP> ray start --block --head --node-ip-address=<HEAD_NODE_IP> --port=6379",
                f"# 2. On each of the other {self.nodes - 1} node(s), with its own IP:",
                "VLLM_HOST_IP=<WORKER_NODE_IP> ray start --block --address=<HEAD_NODE_IP>:6379",
                f"# 3. On the head node, once `ray status` lists {gpus} GPUs:",
                self.serve_command(),
            ]
        )


def plan(model_config: dict[str, Any], hardware: Hardware, request: PlanRequest) -> Plan:
    """Plan vLLM for the longest single request `hardware` holds (or exactly `request.context` tokens).

    `model_config` is a Hugging Face config dict: a Llama 4 config (its `text_config` is read), a
    bare text config, or another Llama-like model's. The hybrid layout is used unless
    `request.hybrid_kv_cache` is False; both layouts are reported. Weights that do not fit raise
    EngineOutOfMemory naming the fewest GPUs of this memory that hold them.
    """
    _check_request(hardware, request)
    text = model_config.get("text_config", model_config)
    arch = Architecture.read(text)
    fp8_kv = request.kv_dtype == "fp8" or (request.kv_dtype == "auto" and hardware.hopper_or_newer)
    model, weights_gib = _weights(text, request)
    tp, pp = (1, 1) if hardware.is_cpu else _parallelism(arch, hardware, request.tensor_parallel_size)
    usable, weights_per_gpu, overhead_per_gpu, kv_per_gpu = _memory_per_gpu(hardware, tp * pp, weights_gib, request)
    shape = KvShape(
        arch,
        tp,
        pp,
        1 if fp8_kv else (4 if request.weights == "fp32" else 2),
        int(kv_per_gpu * _GIB),
        CPU_BLOCK_SIZE if hardware.is_cpu else GPU_BLOCK_SIZE,
    )
    chosen = "hybrid" if request.hybrid_kv_cache and arch.chunked_layers else "full"
    layouts, batched = _layouts(shape, chosen, request)
    max_model_len = _max_model_len(shape, layouts[chosen], request.context, kv_per_gpu)
    args, env = _vllm_settings(model_config, model, max_model_len, shape, hardware, fp8_kv, chosen, batched, request)
    notes = []
    if request.kv_dtype == "auto" and not hardware.is_cpu:
        why = "is Hopper or newer" if fp8_kv else "is not known as Hopper or newer: the model's dtype"
        notes.append(f"KV cache dtype {args['kv_cache_dtype']} from kv_dtype auto: {hardware.gpu_name} {why}")
    if batched < request.max_num_batched_tokens:
        notes.append(f"max_num_batched_tokens lowered to {batched} for a million-token context (activation memory)")
    if layouts[chosen].tokens > arch.max_positions:
        notes.append(f"capped at the model's {arch.max_positions:,} positions ({layouts[chosen].tokens:,} would fit)")
    return Plan(
        max_model_len=max_model_len,
        kv_bytes_per_token=layouts[chosen].kv_bytes_per_token,
        tensor_parallel_size=tp,
        pipeline_parallel_size=pp,
        vllm_args=args,
        env=env,
        layout=chosen,
        layouts=layouts,
        nodes=hardware.nodes,
        weights_gib=weights_gib,
        usable_gib_per_gpu=usable,
        weights_gib_per_gpu=weights_per_gpu,
        overhead_gib_per_gpu=overhead_per_gpu,
        kv_gib_per_gpu=kv_per_gpu,
        notes=tuple(notes),
    )


def smallest_fit(model_config: dict[str, Any], hardware: Hardware, request: PlanRequest) -> Hardware | None:
    """The fewest GPUs of `hardware`'s kind (one node up to 8, then whole nodes of 8) that hold
    the weights and a KV cache; None when even 64 do not."""
    for gpus in [*range(1, 9), *range(16, 65, 8)]:
        candidate = replace(hardware, gpus=gpus, nodes=max(1, gpus // 8), cpu_kv_space_gib=None)
        try:
            plan(model_config, candidate, replace(request, tensor_parallel_size=None, context=None))
        except (EngineOutOfMemory, ContextTooLarge, UsageError):
            continue
        return candidate
    return None


def _check_request(hardware: Hardware, request: PlanRequest) -> None:
    """UsageError for arguments `plan` cannot work with, before any arithmetic."""
    if request.weights not in WEIGHT_BYTES:
        raise UsageError(f"unknown weights {request.weights!r}: use {', '.join(WEIGHT_BYTES)}")
    if request.kv_dtype not in KV_DTYPES:
        raise UsageError(f"unknown KV dtype {request.kv_dtype!r}: use {', '.join(KV_DTYPES)}")
    if hardware.is_cpu and request.kv_dtype == "fp8":
        raise UsageError("fp8 KV cache does not run on vLLM's CPU backend: use --kv-dtype auto")
    if not 0 < request.gpu_memory_utilization <= 1:
        raise UsageError("GPU memory utilisation must be in (0, 1]")
    if request.context is not None and request.context < 1:
        raise UsageError("the context must be at least one token")


def _weights(text: dict[str, Any], request: PlanRequest) -> tuple[str, float]:
    """The model to load (default: Scout's checkpoint in the request's precision) and its size in
    GiB (default: that checkpoint's, or an estimate from the config)."""
    checkpoint = SCOUT_CHECKPOINTS.get(request.weights)
    model = request.model or (checkpoint or SCOUT_CHECKPOINTS["bf16"]).repo
    size = request.weights_gib
    if size is None:
        size = (
            checkpoint.gib if checkpoint and model == checkpoint.repo else estimate_weights_gib(text, request.weights)
        )
    return model, size


def _layouts(shape: KvShape, chosen: str, request: PlanRequest) -> tuple[dict[str, Layout], int]:
    """Both layouts and the batched tokens they were sized for: `long_context_batched_tokens`
    (less activation memory) once the context reaches LONG_CONTEXT."""
    batched = request.max_num_batched_tokens
    layouts = shape.layouts(batched)
    target = request.context or layouts[chosen].max_model_len
    if target >= LONG_CONTEXT and request.long_context_batched_tokens < batched:
        batched = request.long_context_batched_tokens
        layouts = shape.layouts(batched)
    return layouts, batched


def _max_model_len(shape: KvShape, chosen: Layout, context: int | None, kv_per_gpu: float) -> int:
    """`context`, or the longest the chosen layout holds; ContextTooLarge when it does not fit."""
    fits, positions = chosen.max_model_len, shape.arch.max_positions
    if fits < shape.block_size:
        raise EngineOutOfMemory(f"no room for a KV cache: {kv_per_gpu:.2f} GiB per GPU after weights and overhead")
    if context is not None and context > positions:
        raise ContextTooLarge(f"{context:,} tokens exceed the model's {positions:,} positions")
    if context is not None and context > fits:
        raise ContextTooLarge(f"{context:,} tokens do not fit: at most {fits:,} with the {chosen.name} KV layout")
    return context or fits


def _vllm_settings(
    model_config: dict[str, Any],
    model: str,
    max_model_len: int,
    shape: KvShape,
    hardware: Hardware,
    fp8_kv: bool,
    layout: str,
    batched: int,
    request: PlanRequest,
) -> tuple[dict[str, Any], dict[str, str]]:
    """`vllm.LLM` keyword arguments, in `vllm serve`'s order, and the environment they need."""
    args: dict[str, Any] = {"model": model, "max_model_len": max_model_len, "tensor_parallel_size": shape.tp}
    if shape.pp > 1:
        args["pipeline_parallel_size"] = shape.pp
    if hardware.nodes > 1:
        args["distributed_executor_backend"] = "ray"
    if request.weights == "fp32":
        args["dtype"] = "float32"
    args |= {
        "enable_prefix_caching": True,
        "enable_chunked_prefill": True,
        "max_num_batched_tokens": batched,
        "max_num_seqs": request.max_num_seqs,
        "kv_cache_dtype": "fp8" if fp8_kv else "auto",
    }
    env: dict[str, str] = {}
    if shape.arch.chunked_layers:
        args["disable_hybrid_kv_cache_manager"] = layout == "full"
        if layout == "hybrid":
            env[HYBRID_ENV] = "1"
    if shape.arch.nope_layers and max_model_len > TEMPERATURE_TUNING_ABOVE:
        args["override_generation_config"] = {"attn_temperature_tuning": True}
    if _multimodal(model_config):
        args["limit_mm_per_prompt"] = {"image": request.max_images}
    if hardware.is_cpu:
        env["VLLM_CPU_KVCACHE_SPACE"] = str(hardware.cpu_kv_space_gib)
    else:
        args["gpu_memory_utilization"] = request.gpu_memory_utilization
    return args, env


def _memory_per_gpu(
    hardware: Hardware, gpus: int, weights_gib: float, request: PlanRequest
) -> tuple[float, float, float, float]:
    """GiB per GPU of the `gpus` used: usable, weights, overhead, and what is left for the KV
    cache (CPU: its KV space). EngineOutOfMemory when nothing is left."""
    if hardware.is_cpu:
        return 0.0, 0.0, 0.0, float(hardware.cpu_kv_space_gib or 0)
    utilization = request.gpu_memory_utilization
    usable = hardware.gpu_memory_gib * utilization
    per_gpu, extra = weights_gib / gpus, request.overhead.per_gpu(gpus)
    if usable - per_gpu - extra <= 0:
        raise EngineOutOfMemory(
            f"{request.weights} weights ({weights_gib:.1f} GiB) do not fit: {per_gpu:.1f} GiB on each of {gpus} "
            f"GPU(s), but {utilization:.2f} x {hardware.gpu_memory_gib:g} GiB less {extra:g} GiB overhead leaves "
            f"{usable - extra:.1f} GiB"
        )
    return usable, per_gpu, extra, usable - per_gpu - extra


def _parallelism(arch: Architecture, hardware: Hardware, tensor_parallel_size: int | None) -> tuple[int, int]:
    """Tensor parallel over as many GPUs of a node as the heads allow (or as the user says);
    pipeline stages for the rest."""
    per_node = hardware.gpus // hardware.nodes

    def splits(n: int) -> bool:
        return arch.attention_heads % n == 0 and (arch.kv_heads % n == 0 or n % arch.kv_heads == 0)

    if tensor_parallel_size is not None:
        if tensor_parallel_size > per_node or per_node % tensor_parallel_size or not splits(tensor_parallel_size):
            raise UsageError(
                f"tensor parallel size {tensor_parallel_size} does not split {arch.attention_heads} heads"
                f" over {per_node} GPU(s) per node"
            )
        return tensor_parallel_size, hardware.gpus // tensor_parallel_size
    tp = next(n for n in range(per_node, 0, -1) if per_node % n == 0 and splits(n))
    pp = hardware.gpus // tp
    if pp > arch.layers:
        raise UsageError(f"{hardware.gpus} GPUs make {pp} pipeline stages for {arch.layers} layers: use fewer GPUs")
    return tp, pp


def _multimodal(model_config: dict[str, Any]) -> bool:
    """Llama 4's checkpoints (and other vision-language models) are `...ForConditionalGeneration`."""
    return any(name.endswith("ForConditionalGeneration") for name in model_config.get("architectures", ()))


def _flag(key: str, value: Any) -> list[str]:
    """`vllm serve` words for one `EngineArgs` keyword: booleans as --x/--no-x, dicts as JSON."""
    name = key.replace("_", "-")
    if isinstance(value, bool):
        return [f"--{name}" if value else f"--no-{name}"]
    if isinstance(value, dict | list):
        value = json.dumps(value)
    return [f"--{name}", shlex.quote(str(value))]
