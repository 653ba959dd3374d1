"""The Prompt Guard screener: Meta's Llama Prompt Guard 2 classifier through transformers.

`meta-llama/Llama-Prompt-Guard-2-86M` (or `-22M`, or a folder holding either) is a
DeBERTa sequence classifier that scores a text up to 512 tokens for injection and
jailbreak. A chunk is longer, so it is cut into windows of at most 512 tokens (its special
tokens included) that overlap by `overlap` tokens, so a sentence across a border is seen
whole in one of them; the windows of all texts are scored together in batches, on the GPU
when there is one. A text's score is its best window's; for a flagged text the lines of
that window are scored one by one to name the matching line. A model that cannot be loaded
(absent and not fetchable: offline, gated, a wrong name) is ModelMissing, one line.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelMissing
from .base import Finding, shown_line

WINDOW = 512
OVERLAP = 64
BATCH = 16
THRESHOLD = 0.5
_MAX_LINES = 64  # lines of a flagged window scored to find the matching one


@dataclass(frozen=True)
class _Window:
    text: int  # which text it belongs to
    span: tuple[int, int]  # the characters of the text it covers


class PromptGuard:
    """`Screener` by a Prompt Guard (or any binary injection) sequence classifier."""

    def __init__(
        self,
        model: str,
        *,
        window: int = WINDOW,
        overlap: int = OVERLAP,
        batch: int = BATCH,
        threshold: float = THRESHOLD,
    ) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(model)
            self._model = AutoModelForSequenceClassification.from_pretrained(model)
        except (OSError, ValueError) as error:
            reason = (str(error).strip().splitlines() or ["not found"])[0]
            raise ModelMissing(
                f"the screen model {model} cannot be loaded ({reason}); give a folder or a Hugging Face id "
                "you can fetch (HF_TOKEN for meta-llama's gated models), or leave out --screen-model for the rules"
            ) from None
        self.name = model
        self._torch = torch
        self._device = "cuda" if torch.cuda.is_available() else "cpu"
        self._model.to(self._device).eval()
        self._window = min(window, self._tokenizer.model_max_length)
        self._body = self._window - self._tokenizer.num_special_tokens_to_add()
        self._step = max(1, self._body - overlap)
        self._batch = batch
        self._threshold = threshold
        labels = {str(name).upper(): index for index, name in self._model.config.id2label.items()}
        self._benign = labels.get("BENIGN", labels.get("LABEL_0", 0))
        self.identity = _identity(model, self._model.config, (self._window, overlap, threshold))

    def screen(self, texts: Sequence[str]) -> list[Finding | None]:
        windows = [w for index, text in enumerate(texts) for w in self._windows(index, text)]
        scores = self._scores([texts[w.text][w.span[0] : w.span[1]] for w in windows])
        best: dict[int, tuple[float, _Window]] = {}
        for each, score in zip(windows, scores, strict=True):
            if each.text not in best or score > best[each.text][0]:
                best[each.text] = score, each
        found: list[Finding | None] = [None] * len(texts)
        for index, (score, each) in best.items():
            if score >= self._threshold:
                line = self._matching_line(texts[index][each.span[0] : each.span[1]])
                found[index] = Finding("injection", round(score, 4), shown_line(line), self.name)
        return found

    def _windows(self, index: int, text: str) -> list[_Window]:
        """`text` cut into spans of at most `_body` tokens, each starting `_step` tokens after
        the last, the last one reaching the end."""
        offsets = self._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        starts = range(0, max(len(offsets) - self._body, 0) + self._step, self._step)
        return [
            _Window(index, (offsets[start][0], offsets[min(start + self._body, len(offsets)) - 1][1]))
            for start in starts
            if start < len(offsets)
        ]

    def _scores(self, texts: list[str]) -> list[float]:
        """Each text's probability of not being benign, scored in batches (each truncated
        to the window: a span re-tokenized alone can come out a token longer)."""
        torch = self._torch
        scores: list[float] = []
        for start in range(0, len(texts), self._batch):
            batch = self._tokenizer(
                texts[start : start + self._batch],
                truncation=True,
                max_length=self._window,
                padding=True,
                return_tensors="pt",
            ).to(self._device)
            with torch.inference_mode():
                logits: Any = self._model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            probabilities = torch.softmax(logits.float(), dim=-1)
            scores.extend((1.0 - probabilities[:, self._benign]).tolist())
        return scores

    def _matching_line(self, text: str) -> str:
        lines = [line for line in text.splitlines() if line.strip()][:_MAX_LINES]
        if not lines:
            return ""
        scores = self._scores(lines)
        return lines[max(range(len(lines)), key=scores.__getitem__)]


def _identity(model: str, config: Any, settings: tuple[int, int, float]) -> str | None:
    """What the findings depend on: this code and `base`'s (which writes a finding's line),
    the libraries' versions, the settings, and the weights: a hub model's commit, or a
    folder's files (names, sizes, times). None (findings not kept) when neither is known."""
    import tokenizers
    import torch
    import transformers

    from . import base

    digest = hashlib.sha256()
    for module in (__file__, base.__file__):
        digest.update(Path(module).read_bytes())
    versions = (transformers.__version__, tokenizers.__version__, torch.__version__)
    digest.update(repr((model, settings, versions)).encode())
    commit = getattr(config, "_commit_hash", None)
    if os.path.isdir(model):
        for entry in sorted(os.scandir(model), key=lambda e: e.name):
            try:
                stat = entry.stat()
                digest.update(f"{entry.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            except OSError:  # a dangling link, say: not part of the model
                digest.update(f"{entry.name}\0unreadable\n".encode())
    elif commit:
        digest.update(str(commit).encode())
    else:
        return None
    return "prompt-guard:" + digest.hexdigest()
