"""How a chat is written out for a model: Llama 4's own format (and the inverse of one turn,
and what an image costs in it), or the format of a transformers tokenizer's chat template.
A chat is the system turn, earlier exchanges (`Turn`, oldest first) and the user turn to
answer; a conversation's every prompt starts with the whole of the one before it.

Prompts travel as fully rendered text with special tokens spelled out (the packer counts
them exactly that way); the backends tokenize them without adding special tokens, so a
prompt that starts with `<|begin_of_text|>` gets exactly one BOS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scout_context.pack.neutralize import BUILTIN_SPECIAL_TOKENS, special_token_escaper

LLAMA4_IMAGE_TOKENS = 17 * 145
"""Context an attached image may take in Llama 4: up to 16 tiles and a global view of 144
patch tokens each, plus separators (vLLM's mllama4 processing)."""


@dataclass(frozen=True)
class Turn:
    """An earlier exchange of a conversation: what the user said and what the model answered."""

    user: str
    assistant: str


def messages(system: str, user: str, history: Sequence[Turn] = ()) -> list[dict[str, str]]:
    """The chat as OpenAI-style messages (role, content), oldest first."""
    chat = [{"role": "system", "content": system}] if system else []
    for turn in history:
        chat += [{"role": "user", "content": turn.user}, {"role": "assistant", "content": turn.assistant}]
    return [*chat, {"role": "user", "content": user}]


_BOS = "<|begin_of_text|>"
_EOT = "<|eot|>"


def llama4_header(role: str) -> str:
    """What opens a turn of `role` in Llama 4's format."""
    return f"<|header_start|>{role}<|header_end|>\n\n"


def llama4_chat(system: str, user: str, assistant: str = "", history: Sequence[Turn] = ()) -> str:
    """Meta's Llama 4 format: no default system prompt, no date, so it is byte-stable."""
    turns = messages(system, user, history)
    rendered = _BOS + "".join(f"{llama4_header(m['role'])}{m['content']}{_EOT}" for m in turns)
    return rendered + llama4_header("assistant") + assistant


def llama4_turns(prompt: str) -> tuple[str, str, str]:
    """(system, user, assistant prefill) of a prompt rendered by `llama4_chat`; ValueError
    for anything else."""
    head, sep, assistant = prompt.rpartition(_EOT + llama4_header("assistant"))
    if sep and head.startswith(_BOS):
        head, system = head[len(_BOS) :], ""
        if head.startswith(llama4_header("system")):
            system, _, head = head[len(llama4_header("system")) :].partition(_EOT)
        user = head.removeprefix(llama4_header("user"))
        if llama4_chat(system, user, assistant) == prompt:
            return system, user, assistant
    raise ValueError("the prompt is not one Llama 4 chat turn (images travel as chat messages)")


def template_chat(tokenizer: Any, system: str, user: str, assistant: str = "", history: Sequence[Turn] = ()) -> str:
    """The format of a transformers tokenizer's own chat template (ChatML for SmolLM2); the
    spellings of its special and added tokens in the messages are escaped first."""
    escape = special_token_escaper(
        (*BUILTIN_SPECIAL_TOKENS, *tokenizer.all_special_tokens, *tokenizer.get_added_vocab())
    ).escape
    chat = [{**m, "content": escape(m["content"])} for m in messages(system, user, history)]
    return tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) + assistant
