"""Sources are data: text inside a file can never act as prompt structure.

Two kinds of sequences could: spellings of special tokens (`<|eot|>`, `<|header_start|>`,
any `<|...`) and the packer's own delimiters (`<document`, `</document`,
`<directory_tree`, `</directory_tree`). Each gets one backslash after its `<`:
`<|eot|>` becomes `<\\|eot|>`, `</document>` becomes `<\\/document>`. The change is
visible to a reader and reversible: a `<` already followed by backslashes gets one more,
and `restore` removes exactly one. A prompt with tags of its own outside the documents
(the layouts' tails, the pull-request prompt) escapes those too, with `tag_escaper`.

A model of another family has special tokens of other spellings (`<start_of_turn>`,
`[INST]`, `<｜User｜>`); the engine that renders its prompt escapes them the same way,
with `special_token_escaper` (its served tokenizer's spellings and BUILTIN_SPECIAL_TOKENS).
Llama 4's prompts never change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

DELIMITERS = ("document", "directory_tree")

_TAIL = rf"(?:\||/?(?i:{'|'.join(DELIMITERS)})\b)"
_ESCAPE = re.compile(rf"<(\\*)(?={_TAIL})")
_RESTORE = re.compile(rf"<\\(\\*)(?={_TAIL})")


def neutralize(text: str) -> str:
    """`text` with every structural sequence escaped (a no-op for ordinary text)."""
    if "<" not in text:
        return text
    return _ESCAPE.sub(r"<\\\1", text)


def restore(text: str) -> str:
    """The inverse of `neutralize`."""
    return _RESTORE.sub(r"<\1", text)


def tag_escaper(*tags: str) -> Callable[[str], str]:
    """A function that escapes the open and close forms of `tags` (`<question>`,
    `</question>`, in any case) the way `neutralize` escapes the packer's delimiters;
    apply it to text that is already neutralized (chunk bodies are)."""
    pattern = re.compile(rf"<(\\*)(?=/?(?i:{'|'.join(tags)})\b)")
    return lambda text: pattern.sub(r"<\\\1", text)


# Spellings of other families' special tokens (Llama 4's, and ChatML, Phi, Command-R and
# Granite ones, all `<|...`, are `neutralize`'s). `<｜` covers every DeepSeek token.
BUILTIN_SPECIAL_TOKENS = (
    "<s>",
    "</s>",
    "<unk>",
    "<pad>",
    "<mask>",
    "<bos>",
    "<eos>",
    "<eot>",
    "<sep>",
    "<cls>",
    "<start_of_turn>",
    "<end_of_turn>",
    "<start_of_image>",
    "<end_of_image>",  # Gemma
    "[INST]",
    "[/INST]",
    "[SYSTEM_PROMPT]",
    "[/SYSTEM_PROMPT]",
    "[TOOL_CALLS]",
    "[AVAILABLE_TOOLS]",  # Mistral
    "[/AVAILABLE_TOOLS]",
    "[TOOL_RESULTS]",
    "[/TOOL_RESULTS]",
    "[TOOL_CONTENT]",
    "[THINK]",
    "[/THINK]",
    "[IMG]",
    "[IMG_BREAK]",
    "[IMG_END]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "[PAD]",
    "[UNK]",
    "<<SYS>>",
    "<</SYS>>",  # Llama 2
    "<｜",  # DeepSeek: <｜User｜>, <｜Assistant｜>, <｜begin▁of▁sentence｜>, <｜tool▁calls▁begin｜>, ...
    "<think>",
    "</think>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",  # Qwen, Hermes
    "<start_of_role>",
    "<end_of_role>",
    "<sop>",
    "<eop>",
    "[gMASK]",
    "[sMASK]",  # Granite, GLM
)
_OPENERS = "<["


@dataclass(frozen=True)
class SpecialTokenEscaper:
    """`escape` and its inverse `restore` for one model's special-token spellings."""

    escape: Callable[[str], str]
    restore: Callable[[str], str]


def special_token_escaper(spellings: Iterable[str]) -> SpecialTokenEscaper:
    """The escape for another model family's special tokens, for text `neutralize` has
    already escaped: one backslash after the spelling's first character (`<start_of_turn>`
    becomes `<\\start_of_turn>`, `[INST]` becomes `[\\INST]`), one more where backslashes
    are already there, exactly one removed by `restore`. Kept: spellings that start with
    `<` or `[`, have no space or backslash, and are not broken by `neutralize` or by
    another kept spelling inside them already (`<|im_start|>`); a spelling that overlaps
    the start of another is left out, so that every escape is undone exactly."""
    kept = _unbroken({s for s in spellings if 1 < len(s) <= 100 and s[0] in _OPENERS and not _NO_SPELLING.search(s)})
    if not kept:
        return SpecialTokenEscaper(lambda text: text, lambda text: text)
    rests = {opener: sorted(s[1:] for s in kept if s[0] == opener) for opener in _OPENERS}
    sites = "|".join(rf"{re.escape(o)}(?=\\*{_trie(r)})" for o, r in rests.items() if r)
    escape = re.compile(sites)
    undo = re.compile(sites.replace("(?=", r"\\(?="))
    return SpecialTokenEscaper(
        lambda text: escape.sub(lambda m: m[0] + "\\", text) if any(o in text for o in rests) else text,
        lambda text: undo.sub(lambda m: m[0][0], text) if "\\" in text else text,
    )


_NO_SPELLING = re.compile(r"[\s\\]")


def _unbroken(spellings: set[str]) -> set[str]:
    """`spellings` less those whose own escape could not be undone or is not needed: ones
    `neutralize` breaks, ones holding another spelling after their first character (that
    one's escape breaks them), ones whose end is the start of another (the two escapes
    would cross)."""
    prefixes = {s[:n] for s in spellings for n in range(1, len(s) + 1)}
    kept = set()
    for s in spellings:
        if _ESCAPE.search(s):
            continue
        inner = (s[j:] for j in range(1, len(s) - 1) if s[j] in _OPENERS)
        if not any(rest in prefixes or any(rest[:n] in spellings for n in range(2, len(rest) + 1)) for rest in inner):
            kept.add(s)
    return kept


def _trie(words: list[str]) -> str:
    """A regex that matches any of `words` at a position, common prefixes factored out
    (a served tokenizer lists thousands of spellings)."""
    root: dict = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict) -> str:
        branches = [re.escape(char) + render(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        group = "(?:" + "|".join(branches) + ")"
        return group + "?" if "" in node else group

    return render(root)
