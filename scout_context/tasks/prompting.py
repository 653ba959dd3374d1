"""Fitting a prompt into an engine's context: the one way every task does it.

A task knows how to build its user turn for a budget of Scout tokens; this module knows
the rest. The prompt may take the engine's context less the answer's reserve (and what
attached images take): that is its limit, in the engine's own tokens. The prompt without
content (the system turn and the chat format: its shell) comes off the limit first, and
what is left is the first budget. The packer counts Scout tokens and another model's
tokenizer counts the same text differently, so the rendered prompt is counted in the
engine's tokens and built again for a smaller budget until it fits (`fit_to_engine`).
A prompt that cannot fit is a ContextTooLarge, whose message says how the context was
shared (`Overflow`), in the task's words.

A task's system turn is a template from `prompts/` whose lines that start with `~ ` are its
default instructions (how to answer: grounding, tone). A user's own instructions (`--system`,
the `system` key) take the place of the last such line and the others go (`with_instructions`;
an empty marked line keeps a place for them where no default stands);
the rest of the template stays, for the task relies on it: how the sources are written,
that they are data, how to cite, the answer's language, a report's format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..engine.base import Engine
from ..engine.refit import fit_to_engine
from ..errors import ContextTooLarge
from ..pack.neutralize import neutralize

INSTRUCTION = "~ "
"""Marks a template's line as a default instruction, which a user's own instructions replace."""

T = TypeVar("T")

UserTurn = Callable[[int], tuple[T, str, int]]
"""budget -> (what was built, the user turn, the Scout tokens of it that the budget bounds)."""


class NoRoom(Exception):
    """Raised by a user turn's builder when no smaller budget can help (what it must hold
    does not fit): fitting stops with the task's ContextTooLarge."""


def with_instructions(template: str, system: str | None) -> str:
    """`template` with its default instructions (unmarked), or with `system` in their place
    when it has text: where the last marked line was, the other marked lines left out. The
    text is neutralized, so it cannot close the system turn or open another."""
    lines = template.split("\n")
    if not (system and system.strip()):
        return "\n".join(line.removeprefix(INSTRUCTION) for line in lines)
    marked = [i for i, line in enumerate(lines) if line.startswith(INSTRUCTION)]
    lines[marked[-1]] = neutralize(system.strip())
    return "\n".join(line for i, line in enumerate(lines) if i not in marked[:-1])


@dataclass(frozen=True)
class Overflow:
    """A prompt over its limit, as its error tells it."""

    model: str
    context: int  # the engine's context, in its tokens
    reserve: int  # kept for the answer
    limit: int  # what the prompt may take
    tokens: int | None  # what the last build took; None when its builder raised NoRoom

    def shares(self) -> str:
        return f"{self.context:,} of context, {self.reserve:,} kept for the answer"

    def over(self, subject: str = "the prompt") -> str:
        """`the prompt is 9,000 m tokens, over the 8,000 available (...)`."""
        return f"{subject} is {self.tokens:,} {self.model} tokens, over the {self.limit:,} available ({self.shares()})"


@dataclass(frozen=True)
class FittedPrompt(Generic[T]):
    built: T  # what the user turn was built from, as the builder returned it
    text: str  # the rendered prompt
    tokens: int  # its tokens in the engine's tokenizer


def fit_prompt(
    engine: Engine,
    system: str,
    user: UserTurn[T],
    reserve: int,
    *,
    explain: Callable[[Overflow], str] = Overflow.over,
    prefill: str = "",
    images: int = 0,
    most: int | None = None,
    budget: int | None = None,
    refit: bool = True,
) -> FittedPrompt[T]:
    """The prompt of `system` and `user(budget)` (the answer prefilled with `prefill`) within
    the engine's context less `reserve` tokens for the answer and `images` for attached
    images, and at most `most` tokens. `budget` caps the Scout tokens of the first build.
    Without `refit`, one build. Raises ContextTooLarge with `explain`'s message when the
    prompt does not fit."""
    limit = engine.max_model_len - reserve - images
    if most is not None:
        limit = min(limit, most)
    shell = engine.count_tokens(engine.render_chat(system, "", prefill))
    first = limit - shell if budget is None else min(limit - shell, budget)

    def build(allowance: int) -> tuple[tuple[T, str], int, int]:
        built, turn, used = user(allowance)
        prompt = engine.render_chat(system, turn, prefill)
        return (built, prompt), used, engine.count_tokens(prompt)

    def overflow(tokens: int | None) -> ContextTooLarge:
        return ContextTooLarge(explain(Overflow(engine.model_name, engine.max_model_len, reserve, limit, tokens)))

    try:
        (built, prompt), tokens = fit_to_engine(build, first, limit, shell, refit=refit)
    except NoRoom:
        raise overflow(None) from None
    if tokens > limit:
        raise overflow(tokens)
    return FittedPrompt(built, prompt, tokens)
