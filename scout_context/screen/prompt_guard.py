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

from collections.abc import Sequence
from dataclasses import dataclass
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
    ids: list[int]  # with special tokens
    span: tuple[int, int]  # characters of the text it covers


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
        self._body = min(window, self._tokenizer.model_max_length) - self._tokenizer.num_special_tokens_to_add()
        self._step = max(1, self._body - overlap)
        self._batch = batch
        self._threshold = threshold
        labels = {str(name).upper(): index for index, name in self._model.config.id2label.items()}
        self._benign = labels.get("BENIGN", labels.get("LABEL_0", 0))

    def screen(self, texts: Sequence[str]) -> list[Finding | None]:
        windows = [w for index, text in enumerate(texts) for w in self._windows(index, text)]
        scores = self._scores([w.ids for w in windows])
        best: dict[int, tuple[float, _Window]] = {}
        for each, score in zip(windows, scores, strict=True):
            if score > best.get(each.text, (-1.0, each))[0]:
                best[each.text] = score, each
        found: list[Finding | None] = [None] * len(texts)
        for index, (score, each) in best.items():
            if score >= self._threshold:
                line = self._matching_line(texts[index][each.span[0] : each.span[1]])
                found[index] = Finding("injection", round(score, 4), shown_line(line), self.name)
        return found

    def _windows(self, index: int, text: str) -> list[_Window]:
        encoded = self._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
        windows = []
        for start in range(0, max(len(ids) - self._body, 0) + self._step, self._step):
            piece = ids[start : start + self._body]
            if not piece:
                break
            span = offsets[start][0], offsets[start + len(piece) - 1][1]
            windows.append(_Window(index, self._tokenizer.build_inputs_with_special_tokens(piece), span))
            if start + self._body >= len(ids):
                break
        return windows

    def _scores(self, inputs: list[list[int]]) -> list[float]:
        """Each input's probability of not being benign, in batches padded to their longest."""
        torch = self._torch
        pad = self._tokenizer.pad_token_id or 0
        scores: list[float] = []
        for start in range(0, len(inputs), self._batch):
            batch = inputs[start : start + self._batch]
            longest = max(map(len, batch))
            ids = torch.tensor([row + [pad] * (longest - len(row)) for row in batch], device=self._device)
            mask = torch.tensor([[1] * len(row) + [0] * (longest - len(row)) for row in batch], device=self._device)
            with torch.inference_mode():
                logits: Any = self._model(input_ids=ids, attention_mask=mask).logits
            probabilities = torch.softmax(logits.float(), dim=-1)
            scores.extend((1.0 - probabilities[:, self._benign]).tolist())
        return scores

    def _matching_line(self, text: str) -> str:
        lines = [line for line in text.splitlines() if line.strip()][:_MAX_LINES]
        if not lines:
            return ""
        encode = self._tokenizer.build_inputs_with_special_tokens
        ids = [encode(self._tokenizer(line, add_special_tokens=False)["input_ids"][: self._body]) for line in lines]
        scores = self._scores(ids)
        return lines[max(range(len(lines)), key=scores.__getitem__)]
