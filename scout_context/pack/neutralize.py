"""Sources are data: text inside a file can never act as prompt structure.

Two kinds of sequences could: spellings of special tokens (`<|eot|>`, `<|header_start|>`,
any `<|...`) and the packer's own delimiters (`<document`, `</document`,
`<directory_tree`, `</directory_tree`). Each gets one backslash after its `<`:
`<|eot|>` becomes `<\\|eot|>`, `</document>` becomes `<\\/document>`. The change is
visible to a reader and reversible: a `<` already followed by backslashes gets one more,
and `restore` removes exactly one. A prompt with tags of its own outside the documents
(the layouts' tails, the pull-request prompt) escapes those too, with `tag_escaper`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

DELIMITERS = ("document", "directory_tree")

_TAIL = r"(?:\||/?(?i:%s)\b)" % "|".join(DELIMITERS)
_ESCAPE = re.compile(r"<(\\*)(?=%s)" % _TAIL)
_RESTORE = re.compile(r"<\\(\\*)(?=%s)" % _TAIL)


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
    pattern = re.compile(r"<(\\*)(?=/?(?i:%s)\b)" % "|".join(tags))
    return lambda text: pattern.sub(r"<\\\1", text)
