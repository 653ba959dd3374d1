"""What every engine offers, the result of one request, and how chat prompts are rendered.

Prompts travel as fully rendered text with special tokens spelled out (the packer counts
them exactly that way); the backends tokenize them without adding special tokens, so a
prompt that starts with `<|begin_of_text|>` gets exactly one BOS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from scout_context.engine.config import EngineConfig, SamplingConfig
from scout_context.pack.neutralize import BUILTIN_SPECIAL_TOKENS, special_token_escaper

if TYPE_CHECKING:
    from scout_context.sources.images import ImageInput

OnText = Callable[[int, str], None]
"""Called with (prompt index, new text) as an answer grows."""
OnDone = Callable[[int, "Generation"], None]
"""Called with (prompt index, its whole answer) as each answer finishes, before `generate`
returns: a caller can keep what is done even if a later answer fails."""


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
    """A model that answers rendered prompts: embedded vLLM or a remote vLLM server."""

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

    def render_chat(self, system: str, user: str, assistant: str = "") -> str:
        """The model's chat format for one turn, ready for the answer (`assistant` prefills it)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Exact token count of a rendered prompt for this engine's model."""
        ...

    def generate(
        self,
        prompts: Sequence[str],
        sampling: SamplingConfig,
        on_text: OnText | None = None,
        images: Sequence[Sequence[ImageInput]] | None = None,
        on_done: OnDone | None = None,
    ) -> list[Generation]:
        """Answer each prompt; `images[i]` (at most `max_images`) go with prompt i."""
        ...

    def close(self) -> None: ...


def llama4_chat(system: str, user: str, assistant: str = "") -> str:
    """Meta's Llama 4 format: no default system prompt, no date, so it is byte-stable."""
    turns = [("system", system)] if system else []
    rendered = "<|begin_of_text|>" + "".join(
        f"<|header_start|>{role}<|header_end|>\n\n{content}<|eot|>" for role, content in [*turns, ("user", user)]
    )
    return rendered + "<|header_start|>assistant<|header_end|>\n\n" + assistant


def template_chat(tokenizer: Any, system: str, user: str, assistant: str = "") -> str:
    """The format of a transformers tokenizer's own chat template (ChatML for SmolLM2); the
    spellings of its special and added tokens in the messages are escaped first."""
    escape = special_token_escaper((*BUILTIN_SPECIAL_TOKENS, *tokenizer.all_special_tokens, *tokenizer.get_added_vocab())).escape
    messages = [{"role": "system", "content": escape(system)}] if system else []
    messages.append({"role": "user", "content": escape(user)})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + assistant


def open_engine(config: EngineConfig) -> Engine:
    """The backend `config.backend` names; nothing heavy starts until it is first used."""
    if config.backend == "openai":
        from scout_context.engine.openai_remote import OpenAIEngine

        return OpenAIEngine(config)
    from scout_context.engine.vllm_local import VllmEngine

    return VllmEngine(config)
