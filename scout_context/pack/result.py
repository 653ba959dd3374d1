"""What packing produces and what arranging makes of it, as two types.

`PackResult` is a pack: the directory tree, the chunks in the pack's order, and what went
into it (files, outlines, what was skipped or redacted). `Arranged` is a pack as a
prompt for one question (`pack.arrange`): the chunks kept and their order, the text
before and after them, the ranking and what fitting shrank or left out. Both render the
same way (`write`, `text`) and count exactly (`tokens`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TextIO

from ..chunk import Chunk
from ..definition import Definition
from ..screen.base import Flagged, file_marks
from ..sources.files import Skipped
from ..tokens import scout_tokenizer
from .rank import Ranked
from .render import directory_tree, document


@dataclass(frozen=True, slots=True)
class SourceSummary:
    label: str
    root: str
    files: int
    tokens: int


@dataclass
class PackResult:
    """A pack: the header and the chunks in prompt order, and what went into it."""

    header: str
    chunks: list[Chunk]
    tokens: int
    files: list[str]
    file_tokens: dict[str, int]
    outlines: dict[str, tuple[Definition, ...]] = field(default_factory=dict)  # path -> its outline
    skipped: list[Skipped] = field(default_factory=list)
    redactions: list[tuple[str, str]] = field(default_factory=list)  # (where, e.g. "src/a.py:12", kind)
    notes: list[tuple[str, str]] = field(default_factory=list)
    sources: list[SourceSummary] = field(default_factory=list)
    file_labels: dict[str, str] = field(default_factory=dict)  # path -> its source's label
    flagged: list[Flagged] = field(default_factory=list)  # chunks the screen flagged (`screen.apply`)
    analysed: int = 0
    reused: int = 0
    digest: str = ""  # sha256 of the options and every chunk's id, path and body hash ("": not from `pack`)

    head = ""  # the text before the documents and after them: none in a pack (see `Arranged`)
    tail = ""

    def write(self, handle: TextIO) -> None:
        """Stream the rendered text (never built as one string)."""
        handle.write(self.header + self.head)
        for chunk in self.chunks:
            handle.write(document(chunk))
        handle.write(self.tail)

    @property
    def text(self) -> str:
        return self.header + self.head + "".join(document(chunk) for chunk in self.chunks) + self.tail


@dataclass
class Arranged(PackResult):
    """A pack arranged for a question: its chunks are those kept, in the layout's order,
    `header` the tree marked with what fitting changed, `tokens` the whole prompt's."""

    layout: str = ""  # the layout it is in ("stable" or "edges": `auto` resolved)
    head: str = ""
    tail: str = ""
    ranking: list[Ranked] = field(default_factory=list)
    shrunk: list[str] = field(default_factory=list)  # ids of the chunks replaced by their outline
    dropped: list[str] = field(default_factory=list)  # ids of the chunks left out
    status: dict[str, str] = field(default_factory=dict)  # path -> what fitting did to it (its tree mark)
    depth: int | None = None  # the tree's folding depth (see `header`)

    @classmethod
    def of(cls, result: PackResult, **changes: object) -> Arranged:
        """`result` as an arrangement, with `changes` to its fields."""
        return cls(**{**{f.name: getattr(result, f.name) for f in fields(PackResult)}, **changes})


def header(result: PackResult, status: Mapping[str, str] | None = None, depth: int | None = None) -> str:
    """One `<directory_tree>` per source: every packed file with the tokens its documents
    take in the prompt, and its `status` ("outline only", "left out") when fitting changed it;
    `depth` folds deeper folders into one line each (see `render.directory_tree`)."""
    return "".join(directory_tree(label, entries, depth) for label, entries in tree_entries(result, status))


TreeEntry = tuple[str, int, str]
"""A file as a tree shows it: (path within its source, tokens, status)."""


def tree_entries(
    result: PackResult, status: Mapping[str, str] | None = None, tokens: Mapping[str, int] | None = None
) -> list[tuple[str, list[TreeEntry]]]:
    """Per source, its label and its files as the tree shows them: each with the tokens of
    its chunks (or `tokens[path]`: a style's own figure) and its marks: the screen's, then `status`."""
    per_file: dict[str, int] = dict.fromkeys(result.files, 0)
    for chunk in result.chunks:
        per_file[chunk.path] += chunk.tokens
    if tokens is not None:
        per_file = {path: tokens.get(path, 0) for path in per_file}
    marks = file_marks(result.flagged)
    for path, mark in (status or {}).items():
        marks[path] = f"{marks[path]}, {mark}" if path in marks else mark
    trees = []
    for source in result.sources:
        prefix = f"{source.label}/" if len(result.sources) > 1 else ""
        entries = [
            (path.removeprefix(prefix), count, marks.get(path, ""))
            for path, count in per_file.items()
            if result.file_labels[path] == source.label
        ]
        trees.append((source.label, entries))
    return trees


def total_tokens(result: PackResult) -> int:
    """Exact tokens of `result.text`: its blocks' counts add up (see `tokens.py`)."""
    count = scout_tokenizer().count
    return count(result.header) + count(result.head) + sum(c.tokens for c in result.chunks) + count(result.tail)


def over_budget_message(result: PackResult, budget: int) -> str:
    """One line: how far over the budget the pack is, and what takes the most."""
    return f"the pack is {result.tokens:,} tokens, over the budget of {budget:,}; {biggest_consumers(result)}"


def biggest_consumers(result: PackResult) -> str:
    """The three biggest top-level folders and files, and how to narrow the pack."""
    folders: dict[str, int] = {}
    for path, tokens in result.file_tokens.items():
        if "/" in path:
            top = path.split("/", 1)[0] + "/"
            folders[top] = folders.get(top, 0) + tokens
    biggest = sorted(result.file_tokens.items(), key=lambda item: -item[1])[:3]
    biggest_folders = sorted(folders.items(), key=lambda item: -item[1])[:3]
    listing = ", ".join(f"{path} ({tokens:,})" for path, tokens in [*biggest_folders, *biggest])
    return f"biggest: {listing}; narrow it with --exclude, --include or --compress"
