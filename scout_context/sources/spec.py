"""What a source named on the command line can be, and the name each one is shown by.

- a `Path`: a folder (git-aware, see `sources.files`) or a file;
- `Listed`: files named in a list (`find … | scout-context pack --stdin`), relative to a
  folder; each listed path passes the same checks as a folder's files (it stays inside the
  folder, through no symlink that leaves it, out of git directories; the filters and the
  size limit apply); folders in the list are passed over (`find` lists the files too);
- `Piped`: one document read from stdin (`-`), shown as `stdin`;
- `Checkout`: a folder fetched from elsewhere (a remote repository's checkout), shown by
  its own name (`org/repo@abc1234`) instead of its folder's.

Reading stdin and fetching belong to the caller (the CLI): these are the results.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .files import display_path


@dataclass(frozen=True, slots=True)
class Listed:
    """Files named one by one, relative to `root` (or absolute, inside it)."""

    root: Path
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Piped:
    """One document's bytes, read from stdin; `complete` is false when there was more than
    the caller read."""

    data: bytes
    complete: bool = True


@dataclass(frozen=True, slots=True)
class Checkout:
    """A folder (or file) known to the user by `label`, not by its place in the cache."""

    path: Path
    label: str


SourceSpec = Path | Listed | Piped | Checkout

STDIN_LABEL = "stdin"


def parse_list(data: bytes, *, nul: bool = False) -> tuple[str, ...]:
    """The paths of a file list: one a line (a CR before the newline dropped), or separated
    by NUL bytes (`find -print0`); empty entries ignored; bytes that are not UTF-8 kept as
    the OS spells them."""
    parts = data.split(b"\0") if nul else [line.removesuffix(b"\r") for line in data.split(b"\n")]
    return tuple(os.fsdecode(part) for part in parts if part)


def local_path(spec: SourceSpec) -> Path | None:
    """The folder or file on disk that `spec` names, if it names one."""
    if isinstance(spec, Path):
        return spec
    return spec.path if isinstance(spec, Checkout) else None


def described(spec: SourceSpec) -> str:
    """`spec` in words, for run records and messages."""
    if isinstance(spec, Listed):
        return f"{len(spec.names)} listed paths in {spec.root}"
    if isinstance(spec, Piped):
        return "-"
    return spec.label if isinstance(spec, Checkout) else str(spec)


def source_labels(specs: Sequence[SourceSpec]) -> list[str]:
    """A short, unique name per source (its folder or file name, as `display_path` shows
    it; a list's folder; `stdin`; a checkout's label): ids and trees use it, and it is the
    path of a file named on the command line."""
    labels: list[str] = []
    for spec in specs:
        if isinstance(spec, Piped):
            base = STDIN_LABEL
        elif isinstance(spec, Checkout):
            base = spec.label
        else:
            base = display_path(Path(os.path.abspath(spec.root if isinstance(spec, Listed) else spec)).name) or "root"
        label, n = base, 2
        while label in labels:
            label, n = f"{base}-{n}", n + 1
        labels.append(label)
    return labels
