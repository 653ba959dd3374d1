"""Which screener screens: Prompt Guard when a model is named, else the rules."""

from __future__ import annotations

from functools import cache

from .base import Screener
from .rules import RulesScreener


@cache  # one model load per process: chat and batch screen many packs
def screener(model: str | None) -> Screener:
    """The Prompt Guard screener of `model` (a Hugging Face id or a folder; ModelMissing
    when it cannot be loaded), or the rules screener when `model` is None or empty."""
    if not model:
        return RulesScreener()
    from .prompt_guard import PromptGuard  # imports torch: only when a model is named

    return PromptGuard(model)
