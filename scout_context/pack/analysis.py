"""The record of what reading one file's content produced: the pack's own unit of caching.

The store keeps it by (content hash, options key) and reads it back as is; `pack.analyze`
makes it, `pack.cached` reuses or makes it, and the pipeline and a pull request's
snapshot turn it into chunks. It imports nothing but `Definition`, so the store can
read it without the packer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..definition import Definition


@dataclass(frozen=True, slots=True)
class Analysis:
    """What a file's content produced under one set of options."""

    reason: str = ""  # non-empty: skipped, e.g. "binary (NUL bytes)"
    note: str = ""  # e.g. a lossy decode
    language: str = ""
    parsed_ok: bool = True
    outline: tuple[Definition, ...] = ()
    redactions: tuple[tuple[str, str], ...] = ()  # (where: ":12" for a line, "#p4" for a page, kind)
    chunks: tuple[tuple[int, int, str, int, str], ...] = ()  # (start, end, body hash, render.body_tokens, label)
    skipped_parts: tuple[tuple[str, str], ...] = ()  # (where, reason): pages without text, broken pages
