"""Fitting a prompt to an engine whose tokenizer is not Scout's.

The packer counts Scout tokens. Another model's tokenizer counts the same text
differently, so a prompt built for a budget can come out over the engine's limit. The
tasks' prompting seam (`tasks/prompting.py`) builds for a budget, counts the rendered
prompt in the engine's own tokens, and builds again for a smaller budget until it fits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

ROUNDS = 4  # builds at most; the second one nearly always fits


def fit_to_engine(
    build: Callable[[int], tuple[T, int, int]], budget: int, limit: int, shell: int, *, refit: bool = True
) -> tuple[T, int]:
    """(what was built, its prompt's engine tokens): the first build within `limit`, or the
    last one tried (over `limit`: the caller says why). `build(budget)` returns what it
    built, the Scout tokens of it that the budget bounds, and the engine tokens of its
    rendered prompt; `shell` is the prompt without content. Without `refit`, one build."""
    built, used, tokens = build(budget)
    for _ in range(ROUNDS - 1 if refit else 0):
        if tokens <= limit:
            break
        budget = smaller_budget(budget, used, tokens, limit, shell)
        built, used, tokens = build(budget)
    return built, tokens


def smaller_budget(budget: int, used: int, prompt_tokens: int, limit: int, shell: int) -> int:
    """The next budget, in Scout tokens, after a prompt built from `used` of `budget`
    counted `prompt_tokens` in the engine's own tokenizer, over `limit` (`shell`: the
    prompt without content). What was used, scaled by the overshoot and 2% under it, so
    the next round shrinks whatever fitting left unused; always below `budget`."""
    return min(budget - 1, int(used * (limit - shell) / max(prompt_tokens - shell, 1) * 0.98))
