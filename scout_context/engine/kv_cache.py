"""The KV cache's arithmetic: what of a model's config it depends on (`Architecture`), and how
many tokens each layout (full, hybrid: see `profile`) holds on the fullest pipeline stage's GPU
(`KvShape.layouts`). `profile.plan` chooses a layout and turns it into vLLM arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scout_context.errors import UsageError

HYBRID_ENV = "VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE"  # off by default in some releases


@dataclass(frozen=True)
class Layout:
    """One KV cache layout: what it costs and the context it gives."""

    name: str  # "hybrid" or "full"
    selected_by: str  # the vLLM switch, as on the command line
    kv_bytes_per_token: int  # whole model, per token of context
    fixed_bytes: int  # whole model, per request, whatever its length (chunked layers)
    tokens: int  # the longest context the KV cache holds
    max_model_len: int  # that, within the model's positions


@dataclass(frozen=True)
class Architecture:
    """The config fields the KV cache depends on."""

    layers: int
    kv_heads: int
    head_dim: int
    attention_heads: int
    max_positions: int
    chunk_size: int | None
    chunked_layers: int  # RoPE layers with chunked-local attention
    nope_layers: int  # layers without RoPE (global attention, temperature tuning)

    @property
    def global_layers(self) -> int:
        return self.layers - self.chunked_layers

    @classmethod
    def read(cls, text: dict[str, Any]) -> Architecture:
        try:
            layers, heads = text["num_hidden_layers"], text["num_attention_heads"]
            head_dim = text.get("head_dim") or text["hidden_size"] // heads
            max_positions = text["max_position_embeddings"]
        except KeyError as missing:
            raise UsageError(f"the model config lacks {missing}: not a Hugging Face decoder config") from None
        chunk = text.get("attention_chunk_size")
        interval = text.get("no_rope_layer_interval", 4)  # transformers' default pattern for Llama 4
        rope = text.get("no_rope_layers") or (
            [int((i + 1) % interval != 0) for i in range(layers)] if chunk else [1] * layers
        )
        if len(rope) != layers:
            raise UsageError(f"no_rope_layers has {len(rope)} entries for {layers} layers")
        return cls(
            layers=layers,
            kv_heads=text.get("num_key_value_heads") or heads,
            head_dim=head_dim,
            attention_heads=heads,
            max_positions=max_positions,
            chunk_size=chunk,
            chunked_layers=sum(rope) if chunk else 0,
            nope_layers=layers - sum(rope),
        )


@dataclass(frozen=True)
class KvShape:
    """The KV cache of the fullest pipeline stage on one GPU."""

    arch: Architecture
    tp: int
    pp: int
    value_bytes: int
    free_bytes: int  # per GPU
    block_size: int

    def layouts(self, batched_tokens: int) -> dict[str, Layout]:
        a = self.arch
        per_layer = 2 * a.kv_heads * a.head_dim * self.value_bytes  # K and V, one token, whole model
        gpu_layer_block = 2 * max(1, a.kv_heads // self.tp) * a.head_dim * self.value_bytes * self.block_size
        stage_global, stage_chunked = math.ceil(a.global_layers / self.pp), math.ceil(a.chunked_layers / self.pp)

        full_tokens = self.free_bytes // ((stage_global + stage_chunked) * gpu_layer_block) * self.block_size
        layouts = {"full": self._layout("full", a.layers * per_layer, 0, full_tokens)}
        if not a.chunked_layers or a.chunk_size is None:
            return layouts
        kept = math.ceil((a.chunk_size + batched_tokens) / self.block_size)  # blocks per chunked layer
        room = self.free_bytes - stage_chunked * gpu_layer_block * kept
        if room <= 0:
            hybrid_tokens = 0
        elif stage_global:
            hybrid_tokens = room // (stage_global * gpu_layer_block) * self.block_size
        else:  # nothing grows with the context
            hybrid_tokens = a.max_positions
        fixed = a.chunked_layers * per_layer * kept * self.block_size
        # Below one chunk plus a batch, chunked layers keep every token: no worse than the full layout.
        layouts["hybrid"] = self._layout("hybrid", a.global_layers * per_layer, fixed, max(hybrid_tokens, full_tokens))
        return layouts

    def _layout(self, name: str, per_token: int, fixed: int, tokens: int) -> Layout:
        # As `vllm serve` spells `disable_hybrid_kv_cache_manager` (see `profile.Plan.serve_command`).
        selected_by = (
            "--disable-hybrid-kv-cache-manager"
            if name == "full"
            else (f"{HYBRID_ENV}=1 --no-disable-hybrid-kv-cache-manager")
        )
        return Layout(name, selected_by, per_token, fixed, tokens, min(tokens, self.arch.max_positions))
