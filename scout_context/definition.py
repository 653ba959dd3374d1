"""One entry of a file's outline, the record that sources, the store, the packer and the
pull-request context share.

A named tuple, not a dataclass: the store keeps an outline as JSON lists in field order,
`(kind, name, start_line, end_line, signature, doc)`, and reads it back with
`Definition._make`, so caches written before and after read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple


class Definition(NamedTuple):
    """A definition in a file (or a document's heading, or a PDF page); lines are 1-based
    and inclusive."""

    kind: str
    name: str
    start_line: int
    end_line: int
    signature: str
    doc: str = ""  # the first line of its docstring, or of the comment right above it


Outlines = Mapping[str, tuple[Definition, ...]]  # shown path -> its outline, in document order
