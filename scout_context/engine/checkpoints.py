"""What a checkpoint weighs: Scout's configs as they ship (so a plan needs no download), the
precision a config's `quantization_config` says its weights are in, and their size.

Registry checkpoints of Scout (`SCOUT_CHECKPOINTS`): Meta's BF16 one and RedHatAI's
compressed-tensors FP8-dynamic and w4a16 ones, with their measured sizes. Any other
checkpoint is sized from its folder's safetensors when they are here, else estimated from
its config (`estimate_weights_gib`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scout_context.errors import UsageError

from .kv_cache import Architecture

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
    "torch_dtype": "bfloat16",
    "text_config": SCOUT_TEXT_CONFIG,
    "vision_config": {"model_type": "llama4_vision_model"},
}
# The `quantization_config` of RedHatAI's checkpoints (compressed-tensors), reduced to what is read here.
FP8_DYNAMIC: dict[str, Any] = {
    "quant_method": "compressed-tensors",
    "config_groups": {
        "group_0": {
            "weights": {"num_bits": 8, "type": "float", "strategy": "channel"},
            "input_activations": {"num_bits": 8, "type": "float", "dynamic": True},
        }
    },
}
W4A16: dict[str, Any] = {
    "quant_method": "compressed-tensors",
    "format": "pack-quantized",
    "config_groups": {
        "group_0": {"weights": {"num_bits": 4, "type": "int", "group_size": 128}, "input_activations": None}
    },
}


@dataclass(frozen=True)
class Checkpoint:
    repo: str
    gib: float  # size of the weights (vision tower included), as loaded
    config: dict[str, Any]


SCOUT_CHECKPOINTS: dict[str, Checkpoint] = {
    "bf16": Checkpoint("meta-llama/Llama-4-Scout-17B-16E-Instruct", 204.0, SCOUT_CONFIG),
    "fp8": Checkpoint(
        "RedHatAI/Llama-4-Scout-17B-16E-Instruct-FP8-dynamic",
        106.0,
        {**SCOUT_CONFIG, "quantization_config": FP8_DYNAMIC},
    ),
    "int4": Checkpoint(
        "RedHatAI/Llama-4-Scout-17B-16E-Instruct-quantized.w4a16", 57.5, {**SCOUT_CONFIG, "quantization_config": W4A16}
    ),
}

# Bytes per weight of the transformer blocks' linear layers (embeddings stay bf16), used to
# estimate checkpoints of unknown size; int4 is w4a16 with one bf16 scale per 128 weights.
# fp32 is for CPUs without bf16 units, where the engine runs in float32.
WEIGHT_BYTES: dict[str, float] = {"fp32": 4.0, "bf16": 2.0, "fp8": 1.0, "int4": 0.5 + 2 / 128}
_GIB = 1 << 30


def precision(config: dict[str, Any]) -> str:
    """The weights' precision (a key of WEIGHT_BYTES) from `quantization_config`, else the dtype.

    compressed-tensors groups give the weights' bits (4: w4a16, 8: FP8-dynamic); `quant_method`
    "fp8" is vLLM's own FP8. Unquantized weights are bf16 unless the config says float32.
    """
    quantization = config.get("quantization_config") or {}
    method = str(quantization.get("quant_method", "")).lower()
    if method == "fp8":
        return "fp8"
    if method == "compressed-tensors":
        bits = {
            (group.get("weights") or {}).get("num_bits") for group in (quantization.get("config_groups") or {}).values()
        }
        if bits == {4}:
            return "int4"
        if bits == {8}:
            return "fp8"
    if quantization:
        raise UsageError(f"quantization {method or quantization!r} is not one scout-context can plan (w4a16, fp8)")
    dtype = str(config.get("torch_dtype") or config.get("dtype") or "bfloat16")
    return "fp32" if dtype in ("float32", "float") else "bf16"


def weights_gib(repo: str, config: dict[str, Any], folder: Path | None) -> float:
    """The checkpoint's size: a registry checkpoint's measured one, a folder's safetensors, or an estimate."""
    known = next((c.gib for c in SCOUT_CHECKPOINTS.values() if c.repo == repo), None)
    if known is not None:
        return known
    files = list(folder.glob("*.safetensors")) if folder is not None else []
    if files:
        return sum(file.stat().st_size for file in files) / _GIB
    return estimate_weights_gib(config.get("text_config", config), precision(config))


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
