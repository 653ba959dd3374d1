"""Reading a file as text: binary detection, decoding, and what went wrong, never raising."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass

# Bytes probed for NUL; git uses the first 8,000 the same way.
_PROBE = 8000
# A file that is not UTF-8 is treated as binary above these shares of control bytes or
# of replacement characters; below them it is text in another encoding (latin-1, cp1252).
_MAX_CONTROL = 0.01
_MAX_REPLACED = 0.3
_CONTROL = bytes(range(9)) + bytes(range(14, 32)) + b"\x7f"
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text of a file, or the reason it has none. `note` flags a lossy decode."""

    text: str | None
    reason: str = ""
    note: str = ""


def read_bytes(path: str, size: int, limit: int, skip_head: Callable[[bytes], str] = lambda head: "") -> bytes | str:
    """The bytes of a file of `size` bytes (as stat saw it) up to `limit`, one more when it
    grew past that; or a skip reason: too large, vanished, unreadable, or what `skip_head`
    says of its first PROBE bytes (so a huge binary file costs one small read). The buffer
    asked for is the file's size, not the limit: a limit-sized buffer per file, kept until
    it is analysed, runs a process out of memory maps on a big tree."""
    if size > limit:
        return f"too large ({size:,} bytes > {limit:,})"
    try:
        with open(path, "rb") as handle:
            head = handle.read(_PROBE)
            if reason := skip_head(head):
                return reason
            data = head + handle.read(max(0, size + 1 - len(head)))
            if len(data) > size:  # it grew since stat: read on to the limit, not past it
                data += handle.read(max(0, limit + 1 - len(data)))
            return data
    except FileNotFoundError:
        return "vanished while reading"
    except PermissionError:
        return "unreadable: permission denied"
    except OSError as error:
        return f"unreadable: {error.strerror or error}"


def decode(data: bytes) -> Decoded:
    """Decode `data`: UTF-8 (or a BOM-marked encoding); otherwise UTF-8 with replacement,
    reported; binary (a NUL in the probe, or mostly undecodable) gives a reason instead."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(_normalize(data.decode(encoding)))
            except UnicodeDecodeError:
                return Decoded(None, "binary (invalid text after a byte-order mark)")
    if reason := binary_head(data):
        return Decoded(None, reason)
    try:
        return Decoded(_normalize(data.decode("utf-8")))
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd")
    control = len(data) - len(data.translate(None, _CONTROL))
    if control > _MAX_CONTROL * len(data) or replaced > _MAX_REPLACED * len(text):
        return Decoded(None, "binary (not valid text)")
    return Decoded(_normalize(text), note=f"not valid UTF-8: {replaced:,} bytes replaced with U+FFFD")


def binary_head(data: bytes) -> str:
    """ "binary (NUL bytes)" when the start of `data` alone shows that `decode` finds no text
    in it (a NUL in the probe, no byte-order mark), else ""."""
    if data.startswith(tuple(bom for bom, _ in _BOMS)) or b"\0" not in data[:_PROBE]:
        return ""
    return "binary (NUL bytes)"


def _normalize(text: str) -> str:
    """CRLF and lone CR line ends become LF (line numbers then match what editors show);
    NUL characters are dropped (they cannot be sent to a model)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in text:
        text = text.replace("\0", "")
    return text
