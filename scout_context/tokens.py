"""Llama 4 Scout's own tokenizer: exact token counts that compose.

The encoding is tiktoken over `llama_models/llama4/tokenizer.model` with Meta's O200K
pattern and 2,048 special ids, exactly as `llama_models.llama4.tokenizer.Tokenizer`
builds it. Long inputs are split before encoding, as Meta does, but only at *safe
points*: positions where no regex piece of the pattern can cross, so the split never
changes the tokens. A safe point is a position `p` with `text[p-1] == "\n"` and
`text[p]` neither whitespace nor `/` (the pattern's pieces that end in a newline can
only grow by whitespace, `\r`, `\n` or `/`, and no piece can start with a newline
followed by something else). The same property makes counts compose:
`count(a + b) == count(a) + count(b)` whenever `a` ends with a newline and `b` starts
with a character that is not whitespace and not `/`. The packer renders every
segment that way, so the count of a whole prompt is the sum of cached segment counts.

Runs of more than 25,000 whitespace or non-whitespace characters are split as Meta's
tokenizer does (tiktoken is quadratic on such runs); that only happens on pathological
input such as minified files.
"""

from __future__ import annotations

import binascii
import hashlib
import marshal
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

import tiktoken
from llama_models.llama4.tokenizer import (
    BASIC_SPECIAL_TOKENS,
    LLAMA4_SPECIAL_TOKENS,
    MAX_NO_WHITESPACES_CHARS,
    TIKTOKEN_MAX_ENCODE_CHARS,
    Tokenizer as _MetaTokenizer,
)

from .paths import cache_dir, cache_root

NUM_RESERVED_SPECIAL_TOKENS = 2048

# A newline followed by a character that starts a fresh regex piece in any context.
_SAFE_POINT = re.compile(r"\n(?=[^\s/])")
_LONG_RUN = re.compile(r"\s{%d,}|\S{%d,}" % (MAX_NO_WHITESPACES_CHARS + 1, MAX_NO_WHITESPACES_CHARS + 1))  # noqa: UP031 - {m,n}


class ScoutTokenizer:
    """Encode, decode and count with Llama 4's tokenizer (202,048 ids)."""

    def __init__(self) -> None:
        ranks = _load_ranks()
        names = BASIC_SPECIAL_TOKENS + LLAMA4_SPECIAL_TOKENS
        names += [f"<|reserved_special_token_{i}|>" for i in range(NUM_RESERVED_SPECIAL_TOKENS - len(names))]
        self.special_tokens: dict[str, int] = {name: len(ranks) + i for i, name in enumerate(names)}
        self._encoding = tiktoken.Encoding(
            name="llama4",
            pat_str=_MetaTokenizer.O200K_PATTERN,
            mergeable_ranks=ranks,
            special_tokens=self.special_tokens,
        )
        self.vocab_size = len(ranks) + len(names)
        self.bos_id = self.special_tokens["<|begin_of_text|>"]
        self.eot_id = self.special_tokens["<|eot|>"]
        self.stop_ids = (
            self.special_tokens["<|end_of_text|>"],
            self.special_tokens["<|eom|>"],
            self.eot_id,
        )

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`; spellings of special tokens become those tokens."""
        ids: list[int] = []
        for piece in _pieces(text):
            ids.extend(self._encode_piece(piece))
        return ids

    def count(self, text: str) -> int:
        """Exact number of tokens of `text` (special tokens counted as one each)."""
        return sum(len(self._encode_piece(piece)) for piece in _pieces(text))

    def _encode_piece(self, piece: str) -> list[int]:
        # Passing the 2,048 special tokens costs about 0.3 ms a call: only when one may occur.
        if "<|" in piece:
            return self._encoding.encode(piece, allowed_special="all")
        return self._encoding.encode_ordinary(piece)

    def decode(self, ids: Sequence[int]) -> str:
        return self._encoding.decode(list(ids))

    def join_count(self, left: str, right: str, left_count: int, right_count: int) -> int:
        """`count(left + right)` from the parts' counts, re-tokenizing only the seam: the
        text from `left`'s last safe point to `right`'s first one."""
        if is_safe_join(left, right):
            return left_count + right_count
        last = _last_safe_point(left, 0, len(left))
        first = _SAFE_POINT.search(right)
        seam_left, seam_right = left[last:], right[: first.end() if first else len(right)]
        return (
            left_count
            + right_count
            - self.count(seam_left)
            - self.count(seam_right)
            + self.count(seam_left + seam_right)
        )


def _load_ranks() -> dict[bytes, int]:
    """Meta's `load_bpe_file`: 200,000 lines of `base64 rank`. Parsed once, then kept in the
    cache folder by the file's hash (marshal reads it back in a quarter of the time a parse
    takes: a tenth of a second per process), behind its own SHA-256; a kept copy that does
    not match it is parsed and written again, and one that cannot be written is not kept."""
    data = (resources.files("llama_models.llama4") / "tokenizer.model").read_bytes()
    kept = cache_root() / f"llama4-ranks-{hashlib.sha256(data).hexdigest()[:16]}-m{marshal.version}.marshal"
    try:
        stored = kept.read_bytes()
        if hashlib.sha256(stored[32:]).digest() == stored[:32]:
            return marshal.loads(stored[32:])
    except (OSError, ValueError, EOFError, TypeError):
        pass
    ranks = {
        binascii.a2b_base64(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)
    }
    body = marshal.dumps(ranks)
    _write_atomically(kept, hashlib.sha256(body).digest() + body)
    return ranks


def _write_atomically(path: Path, data: bytes) -> None:
    """`data` in `path` whole or not at all (a full disk, a read-only folder: nothing left)."""
    try:
        fd, partial = tempfile.mkstemp(dir=cache_dir(), prefix=f".{path.name}.")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(partial, path)
    except OSError:
        Path(partial).unlink(missing_ok=True)


def is_safe_join(left: str, right: str) -> bool:
    """True when `count(left + right) == count(left) + count(right)` is guaranteed."""
    return not left or not right or (left.endswith("\n") and not right[0].isspace() and right[0] != "/")


def _pieces(text: str) -> Iterator[str]:
    """Split `text` at safe points into slices of at most 400K characters, then split
    over-long runs as Meta's tokenizer does."""
    start, n = 0, len(text)
    while n - start > TIKTOKEN_MAX_ENCODE_CHARS:
        limit = start + TIKTOKEN_MAX_ENCODE_CHARS
        end = _last_safe_point(text, start + 1, limit) or limit
        yield from _split_long_runs(text[start:end])
        start = end
    if start < n or n == 0:
        yield from _split_long_runs(text[start:])


def _last_safe_point(text: str, lo: int, hi: int) -> int:
    """The last safe point `p` with `lo <= p < hi`, or 0 when there is none."""
    cut = text.rfind("\n", max(lo - 1, 0), hi - 1)
    while cut >= 0:
        if _SAFE_POINT.match(text, cut):
            return cut + 1
        cut = text.rfind("\n", max(lo - 1, 0), cut)
    return 0


def _split_long_runs(text: str) -> Iterator[str]:
    """Meta's `_split_whitespaces_or_nonwhitespaces`, done with a regex scan instead of
    a per-character loop: every run longer than 25,000 characters is cut every 25,000."""
    if len(text) <= MAX_NO_WHITESPACES_CHARS:  # no run can be too long: skip the scan
        yield text
        return
    start = 0
    for run in _LONG_RUN.finditer(text):
        for cut in range(run.start() + MAX_NO_WHITESPACES_CHARS, run.end(), MAX_NO_WHITESPACES_CHARS):
            yield text[start:cut]
            start = cut
    yield text[start:]


@cache
def scout_tokenizer() -> ScoutTokenizer:
    """The process-wide tokenizer (loading the 200K ranks takes about 0.3 s)."""
    return ScoutTokenizer()
