"""What every engine offers (`Engine`), what `generate` is asked (`Request`s, `Events` to
tell as answers grow and finish), and the result of one request (`Generation`).

Tasks ask the engine what depends on the model (its chat format, token counts, whether it
is Llama 4, what an image costs, how many calls it serves at once) rather than guess from
its name or backend. The backends are listed in `registry`; chat formats are `chat_format`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from scout_context.engine.config import SamplingConfig

if TYPE_CHECKING:
    from scout_context.engine.chat_format import Turn
    from scout_context.sources.images import ImageInput

OnText = Callable[[int, str], None]
"""Called with (request index, new text) as an answer grows."""
OnDone = Callable[[int, "Generation"], None]
"""Called with (request index, its whole answer) as each answer finishes, before `generate`
returns: a caller can keep what is done even if a later answer fails."""


@dataclass(frozen=True)
class Request:
    """One rendered prompt for `generate`, and the images that go with it (at most the
    engine's `max_images`)."""

    prompt: str
    images: tuple[ImageInput, ...] = ()


@dataclass(frozen=True)
class Events:
    """What a caller of `generate` is told as answers grow (`on_text`) and finish (`on_done`)."""

    on_text: OnText | None = None
    on_done: OnDone | None = None

    def text(self, index: int, piece: str) -> None:
        if self.on_text is not None:
            self.on_text(index, piece)

    def done(self, index: int, generation: Generation) -> None:
        if self.on_done is not None:
            self.on_done(index, generation)


@dataclass(frozen=True)
class Generation:
    """One answer and what it cost. Times are seconds from submission."""

    text: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    finish_reason: str
    first_token_s: float
    total_s: float
    token_ids: tuple[int, ...] = ()
    """The generated ids, where the backend reports them (the embedded one does)."""

    @property
    def prefill_tokens_per_s(self) -> float:
        """Prompt tokens computed (not served from the prefix cache) per second to the first token."""
        return (self.prompt_tokens - self.cached_tokens) / self.first_token_s if self.first_token_s else 0.0

    @property
    def decode_tokens_per_s(self) -> float:
        """Tokens per second after the first one."""
        decode_s = self.total_s - self.first_token_s
        return (self.completion_tokens - 1) / decode_s if self.completion_tokens > 1 and decode_s > 0 else 0.0


class Engine(Protocol):
    """A model that answers rendered prompts: embedded vLLM or a remote vLLM server (every
    backend, and every in-process test double, is checked against this in tests)."""

    @property
    def model_name(self) -> str: ...

    @property
    def max_model_len(self) -> int:
        """Largest prompt plus answer, in tokens."""
        ...

    @property
    def multimodal(self) -> bool:
        """Whether the model reads images."""
        ...

    @property
    def max_images(self) -> int:
        """Images one prompt may carry: 0 for a text-only model (or with images turned off)."""
        ...

    @property
    def is_llama4(self) -> bool:
        """Whether the model is Llama 4 (Scout, Maverick, tiny-llama4): Meta's chat format,
        Scout's tokenizer, and the licence's "Built with Llama"."""
        ...

    @property
    def concurrent_calls(self) -> int | None:
        """How many `generate` calls it serves at once, each from its own thread: 1 for an
        engine that runs one call at a time and batches that call's prompts itself (embedded
        vLLM); None for one without a limit of its own (a server schedules the requests it
        gets, so the caller chooses how many to keep in flight)."""
        ...

    def image_tokens(self, images: Sequence[ImageInput]) -> int:
        """Context that `images`, attached to one prompt, may take besides its text."""
        ...

    def render_chat(self, system: str, user: str, assistant: str = "", history: Sequence[Turn] = ()) -> str:
        """The model's chat format for `system`, the earlier exchanges of a conversation
        (`history`, oldest first: none for a single question) and `user`, ready for the
        answer (`assistant` prefills it). A prompt with history starts with the whole prompt
        of its first exchange, byte for byte, so the engine's prefix cache serves it."""
        ...

    def count_tokens(self, text: str) -> int:
        """Exact token count of a rendered prompt for this engine's model."""
        ...

    def generate(
        self, requests: Sequence[Request], sampling: SamplingConfig, events: Events | None = None
    ) -> list[Generation]:
        """Answer each request, in order; `events` hears of each as it grows and finishes."""
        ...

    def close(self) -> None: ...
