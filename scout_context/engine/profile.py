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
import re
import shlex
from dataclasses import dataclass
from typing import Any

from scout_context.errors import ContextTooLarge, UsageError

from .kv_cache import HYBRID_ENV, Architecture, KvShape, Layout

# Llama 4 Scout's `text_config` (meta-llama/Llama-4-Scout-17B-16E-Instruct): 17B active and
# 109B total parameters follow from it (16 routed experts + 1 shared on all 48 layers, top-1).
SCOUT_TEXT_CONFIG: dict[str, Any] = {
    "model_type": "llama4_text",
    "num_hidden_layers": 48,
    "hidden_size": 5120,
    "num_attention_heads": 40,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 202048,
    "intermediate_size": 8192,
    "intermediate_size_mlp": 16384,
    "num_local_experts": 16,
    "num_experts_per_tok": 1,
    "interleave_moe_layer_step": 1,
    "attention_chunk_size": 8192,
    "no_rope_layers": [1, 1, 1, 0] * 12,
    "max_position_embeddings": 10485760,
    "rope_theta": 500000.0,
    "attn_temperature_tuning": True,
    "floor_scale": 8192,
    "attn_scale": 0.1,
    "tie_word_embeddings": False,
}
SCOUT_CONFIG: dict[str, Any] = {
    "model_type": "llama4",
    "architectures": ["Llama4ForConditionalGeneration"],
    "text_config": SCOUT_TEXT_CONFIG,
}


@dataclass(frozen=True)
class Checkpoint:
    repo: str
    gib: float  # size of the weights (vision tower included), as loaded


SCOUT_CHECKPOINTS: dict[str, Checkpoint] = {
    "bf16": Checkpoint("meta-llama/Llama-4-Scout-17B-16E-Instruct", 204.0),
    "fp8": Checkpoint("RedHatAI/Llama-4-Scout-17B-16E-Instruct-FP8-dynamic", 106.0),
    "int4": Checkpoint("RedHatAI/Llama-4-Scout-17B-16E-Instruct-quantized.w4a16", 57.5),
}

# Bytes per weight of the transformer blocks' linear layers (embeddings stay bf16), used to
# estimate checkpoints of unknown size; int4 is w4a16 with one bf16 scale per 128 weights.
# fp32 is for CPUs without bf16 units, where the engine runs in float32.
WEIGHT_BYTES: dict[str, float] = {"fp32": 4.0, "bf16": 2.0, "fp8": 1.0, "int4": 0.5 + 2 / 128}
KV_DTYPES = ("auto", "fp8", "model")

GPU_BLOCK_SIZE = 16  # vLLM's KV block size on CUDA
CPU_BLOCK_SIZE = 128  # and on its CPU backend
LONG_CONTEXT = 1_000_000  # from here on, plans use the lower `long_context_batched_tokens`
TEMPERATURE_TUNING_ABOVE = 32768  # vLLM's own threshold for Llama 4's NoPE temperature tuning

_HOPPER_OR_NEWER = re.compile(r"\b(G?H(20|100|200|800)|G?B(100|200|300)|HOPPER|BLACKWELL)\b", re.IGNORECASE)
_GIB = 1 << 30


@dataclass(frozen=True)
class Hardware:
    """What the engine runs on: `gpus` in all, over `nodes`; or `gpus=0` and a CPU KV space."""

    gpus: int
    gpu_memory_gib: float = 0.0  # per GPU, as CUDA reports it (H100 80GB: 79.18)
    nodes: int = 1
    gpu_name: str = "H100"  # decides what kv_dtype "auto" means
    cpu_kv_space_gib: int | None = None

    def __post_init__(self) -> None:
        if self.gpus < 0 or self.nodes < 1:
            raise UsageError("GPU and node counts must be positive (0 GPUs for a CPU plan)")
        if self.gpus == 0:
            if self.cpu_kv_space_gib is None or self.cpu_kv_space_gib < 1 or self.gpu_memory_gib or self.nodes > 1:
                raise UsageError(
                    "0 GPUs is a CPU plan: give its KV cache space in whole GiB (--cpu-kv-space), no GPU memory, one node"
                )
            return
        if self.cpu_kv_space_gib is not None:
            raise UsageError("a CPU KV cache space only applies to a CPU plan (0 GPUs)")
        if self.gpu_memory_gib <= 0:
            raise UsageError("give each GPU's memory in GiB (--gpu-memory)")
        if self.gpus % self.nodes:
            raise UsageError(f"{self.gpus} GPUs do not split evenly over {self.nodes} nodes")

    @property
    def is_cpu(self) -> bool:
        return self.gpus == 0

    @property
    def hopper_or_newer(self) -> bool:
        return not self.is_cpu and bool(_HOPPER_OR_NEWER.search(self.gpu_name))


@dataclass(frozen=True)
class Overhead:
    """GiB per GPU, inside vLLM's `gpu_memory_utilization` share, that is neither weights nor KV cache.

    The defaults total 8 GiB on one GPU and 11 GiB on several: the range vLLM leaves at 0.90.
    """

    activations_gib: float = 5.0  # peak of vLLM's profiling forward pass at max_num_batched_tokens
    cuda_graphs_gib: float = 1.0  # captured graphs (piecewise: chunked attention stays eager)
    non_torch_gib: float = 2.0  # CUDA context, allocator slack
    parallel_gib: float = 3.0  # NCCL communicators and all-reduce buffers, with more than one GPU

    def per_gpu(self, gpus: int) -> float:
        shared = self.activations_gib + self.cuda_graphs_gib + self.non_torch_gib
        return shared + (self.parallel_gib if gpus > 1 else 0.0)


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


def plan(
    model_config: dict[str, Any],
    hardware: Hardware,
    *,
    weights: str,
    kv_dtype: str = "auto",
    model: str | None = None,
    weights_gib: float | None = None,
    context: int | None = None,
    hybrid_kv_cache: bool = True,
    max_images: int = 10,
    gpu_memory_utilization: float = 0.9,
    overhead: Overhead = Overhead(),
    max_num_batched_tokens: int = 8192,
    long_context_batched_tokens: int = 4096,
) -> Plan:
    """Plan vLLM for the longest single request `hardware` holds (or exactly `context` tokens).

    `model_config` is a Hugging Face config dict: a Llama 4 config (its `text_config` is read), a
    bare text config, or another Llama-like model's. `model` defaults to Scout's checkpoint in
    `weights` precision; `weights_gib` to that checkpoint's size, or an estimate from the config.
    `kv_dtype`: "auto" is fp8 on Hopper or newer GPUs and the model's dtype otherwise; "model" is
    the model's dtype (vLLM's "auto"). The hybrid layout is used unless `hybrid_kv_cache` is False;
    both layouts are reported. `max_images` limits images per prompt for multimodal models.
    """
    _check_request(hardware, weights, kv_dtype, gpu_memory_utilization, context)
    text = model_config.get("text_config", model_config)
    arch = Architecture.read(text)
    fp8_kv = kv_dtype == "fp8" or (kv_dtype == "auto" and hardware.hopper_or_newer)
    model, weights_gib = _weights(text, weights, model, weights_gib)
    tp, pp = (1, 1) if hardware.is_cpu else _parallelism(arch, hardware)
    usable, weights_per_gpu, overhead_per_gpu, kv_per_gpu = _memory_per_gpu(
        hardware, weights, weights_gib, gpu_memory_utilization, overhead
    )
    shape = KvShape(
        arch,
        tp,
        pp,
        1 if fp8_kv else (4 if weights == "fp32" else 2),
        int(kv_per_gpu * _GIB),
        CPU_BLOCK_SIZE if hardware.is_cpu else GPU_BLOCK_SIZE,
    )
    chosen = "hybrid" if hybrid_kv_cache and arch.chunked_layers else "full"
    layouts, batched = _layouts(shape, chosen, context, max_num_batched_tokens, long_context_batched_tokens)
    max_model_len = _max_model_len(shape, layouts[chosen], context, kv_per_gpu)
    args, env = _vllm_settings(
        model_config,
        model,
        max_model_len,
        shape,
        hardware,
        weights=weights,
        fp8_kv=fp8_kv,
        layout=chosen,
        batched=batched,
        max_images=max_images,
        gpu_memory_utilization=gpu_memory_utilization,
    )
    notes = []
    if kv_dtype == "auto" and not hardware.is_cpu:
        why = "is Hopper or newer" if fp8_kv else "is not known as Hopper or newer: the model's dtype"
        notes.append(f"KV cache dtype {args['kv_cache_dtype']} from kv_dtype auto: {hardware.gpu_name} {why}")
    if batched < max_num_batched_tokens:
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


def _check_request(hardware: Hardware, weights: str, kv_dtype: str, utilization: float, context: int | None) -> None:
    """UsageError for arguments `plan` cannot work with, before any arithmetic."""
    if weights not in WEIGHT_BYTES:
        raise UsageError(f"unknown weights {weights!r}: use {', '.join(WEIGHT_BYTES)}")
    if kv_dtype not in KV_DTYPES:
        raise UsageError(f"unknown KV dtype {kv_dtype!r}: use {', '.join(KV_DTYPES)}")
    if hardware.is_cpu and kv_dtype == "fp8":
        raise UsageError("fp8 KV cache does not run on vLLM's CPU backend: use --kv-dtype auto")
    if not 0 < utilization <= 1:
        raise UsageError("GPU memory utilisation must be in (0, 1]")
    if context is not None and context < 1:
        raise UsageError("the context must be at least one token")


def _weights(text: dict[str, Any], weights: str, model: str | None, weights_gib: float | None) -> tuple[str, float]:
    """The model to load (default: Scout's checkpoint in `weights` precision) and its size in GiB
    (default: that checkpoint's, or an estimate from the config)."""
    checkpoint = SCOUT_CHECKPOINTS.get(weights)
    model = model or (checkpoint or SCOUT_CHECKPOINTS["bf16"]).repo
    if weights_gib is None:
        weights_gib = checkpoint.gib if checkpoint and model == checkpoint.repo else estimate_weights_gib(text, weights)
    return model, weights_gib


def _layouts(
    shape: KvShape, chosen: str, context: int | None, batched: int, long_context_batched: int
) -> tuple[dict[str, Layout], int]:
    """Both layouts and the batched tokens they were sized for: `long_context_batched` (less
    activation memory) once the context reaches LONG_CONTEXT."""
    layouts = shape.layouts(batched)
    target = context or layouts[chosen].max_model_len
    if target >= LONG_CONTEXT and long_context_batched < batched:
        batched = long_context_batched
        layouts = shape.layouts(batched)
    return layouts, batched


def _max_model_len(shape: KvShape, chosen: Layout, context: int | None, kv_per_gpu: float) -> int:
    """`context`, or the longest the chosen layout holds; ContextTooLarge when it does not fit."""
    fits, positions = chosen.max_model_len, shape.arch.max_positions
    if fits < shape.block_size:
        raise ContextTooLarge(f"no room for a KV cache: {kv_per_gpu:.2f} GiB per GPU after weights and overhead")
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
    *,
    weights: str,
    fp8_kv: bool,
    layout: str,
    batched: int,
    max_images: int,
    gpu_memory_utilization: float,
) -> tuple[dict[str, Any], dict[str, str]]:
    """`vllm.LLM` keyword arguments, in `vllm serve`'s order, and the environment they need."""
    args: dict[str, Any] = {
        "model": model,
        "max_model_len": max_model_len,
        "tensor_parallel_size": shape.tp,
    }
    if shape.pp > 1:
        args["pipeline_parallel_size"] = shape.pp
    if hardware.nodes > 1:
        args["distributed_executor_backend"] = "ray"
    if weights == "fp32":
        args["dtype"] = "float32"
    args |= {
        "enable_prefix_caching": True,
        "enable_chunked_prefill": True,
        "max_num_batched_tokens": batched,
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
        args["limit_mm_per_prompt"] = {"image": max_images}
    if hardware.is_cpu:
        env["VLLM_CPU_KVCACHE_SPACE"] = str(hardware.cpu_kv_space_gib)
    else:
        args["gpu_memory_utilization"] = gpu_memory_utilization
    return args, env


def estimate_weights_gib(text_config: dict[str, Any], weights: str) -> float:
    """Size of the text model's weights in `weights` precision, counted from its config.

    Linear layers of the blocks take `WEIGHT_BYTES[weights]`, embeddings and output head bf16 (as
    quantized checkpoints keep them); norms and a vision tower are left out (a few percent).
    """
    arch = Architecture.read(text_config)
    t = text_config
    try:
        hidden, vocab, intermediate = t["hidden_size"], t["vocab_size"], t["intermediate_size"]
    except KeyError as missing:
        raise UsageError(f"cannot size the weights, the config lacks {missing}: give their size in GiB") from None
    embeddings = vocab * hidden * (1 if t.get("tie_word_embeddings", False) else 2)
    attention = hidden * arch.head_dim * 2 * (arch.attention_heads + arch.kv_heads)
    experts, step = t.get("num_local_experts", 0), t.get("interleave_moe_layer_step", 1)
    moe_layers = len(t.get("moe_layers") or range(step - 1, arch.layers, step)) if experts > 1 else 0
    shared = 1 if str(t.get("model_type", "")).startswith("llama4") else 0  # Llama 4's shared expert
    moe = 3 * hidden * intermediate * (experts + shared) + hidden * experts
    dense = 3 * hidden * t.get("intermediate_size_mlp", intermediate)
    blocks = arch.layers * attention + moe_layers * moe + (arch.layers - moe_layers) * dense
    return (blocks * WEIGHT_BYTES[weights] + embeddings * WEIGHT_BYTES["bf16"]) / _GIB


def _memory_per_gpu(
    hardware: Hardware, weights: str, weights_gib: float, utilization: float, overhead: Overhead
) -> tuple[float, float, float, float]:
    """GiB per GPU: usable, weights, overhead, and what is left for the KV cache (CPU: its KV space)."""
    if hardware.is_cpu:
        return 0.0, 0.0, 0.0, float(hardware.cpu_kv_space_gib or 0)
    usable = hardware.gpu_memory_gib * utilization
    per_gpu, extra = weights_gib / hardware.gpus, overhead.per_gpu(hardware.gpus)
    if usable - per_gpu - extra <= 0:
        raise UsageError(
            f"{weights} weights ({weights_gib:.1f} GiB) do not fit: {per_gpu:.1f} GiB on each of {hardware.gpus} "
            f"GPU(s), but {utilization:.2f} x {hardware.gpu_memory_gib:g} GiB less {extra:g} GiB overhead leaves "
            f"{usable - extra:.1f} GiB; use more GPUs or smaller weights"
        )
    return usable, per_gpu, extra, usable - per_gpu - extra


def _parallelism(arch: Architecture, hardware: Hardware) -> tuple[int, int]:
    """Tensor parallel over as many GPUs of a node as the heads allow; pipeline stages for the rest."""
    per_node = hardware.gpus // hardware.nodes
    tp = next(
        n
        for n in range(per_node, 0, -1)
        if per_node % n == 0 and arch.attention_heads % n == 0 and (arch.kv_heads % n == 0 or n % arch.kv_heads == 0)
    )
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
