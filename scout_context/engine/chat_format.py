"""How a chat turn is written out for a model: Llama 4's own format (and its inverse, and
what an image costs in it), or the format of a transformers tokenizer's chat template.

Prompts travel as fully rendered text with special tokens spelled out (the packer counts
them exactly that way); the backends tokenize them without adding special tokens, so a
prompt that starts with `<|begin_of_text|>` gets exactly one BOS.
"""

from __future__ import annotations

from typing import Any

from scout_context.pack.neutralize import BUILTIN_SPECIAL_TOKENS, special_token_escaper

LLAMA4_IMAGE_TOKENS = 17 * 145
"""Context an attached image may take in Llama 4: up to 16 tiles and a global view of 144
patch tokens each, plus separators (vLLM's mllama4 processing)."""

_BOS = "<|begin_of_text|>"
_EOT = "<|eot|>"


def llama4_header(role: str) -> str:
    """What opens a turn of `role` in Llama 4's format."""
    return f"<|header_start|>{role}<|header_end|>\n\n"


def llama4_chat(system: str, user: str, assistant: str = "") -> str:
    """Meta's Llama 4 format: no default system prompt, no date, so it is byte-stable."""
    turns = [("system", system)] if system else []
    rendered = _BOS + "".join(f"{llama4_header(role)}{content}{_EOT}" for role, content in [*turns, ("user", user)])
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


def template_chat(tokenizer: Any, system: str, user: str, assistant: str = "") -> str:
    """The format of a transformers tokenizer's own chat template (ChatML for SmolLM2); the
    spellings of its special and added tokens in the messages are escaped first."""
    escape = special_token_escaper(
        (*BUILTIN_SPECIAL_TOKENS, *tokenizer.all_special_tokens, *tokenizer.get_added_vocab())
    ).escape
    messages = [{"role": "system", "content": escape(system)}] if system else []
    messages.append({"role": "user", "content": escape(user)})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + assistant
