"""Where a job file's paths may point: the checks `jobs.load_job_file` makes before anything runs.

Job files are written by strangers. Paths are compared as real paths (symlinks resolved):
every path must lie inside the job file's folder unless the caller allows paths outside it
(`--allow-outside`; a job file cannot grant itself that, or its author could create any
file on the machine with lines of their choice); and a report may not be written over the
job file, a corpus's source (a path inside a source folder is allowed only when the
corpus's own `exclude` list leaves it out) or a folder, whatever the options; nor over an
existing file that is not a report of ours (`report_marker`) unless `overwrite`.

Each check answers why a path is refused, as the end of a sentence that starts with the
path, or None; the job file's reader adds the file, line and key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from pathspec import GitIgnoreSpec

from ..pack.options import PackOptions
from ..sources.remote import Remote
from .report_marker import is_report

OUTSIDE_HINT = "run `scout-context batch --allow-outside` to allow it"


class Corpus(Protocol):
    """What these checks need of a corpus (`jobs.Corpus`): its name, sources and excludes."""

    @property
    def name(self) -> str: ...
    @property
    def sources(self) -> tuple[Path | Remote, ...]: ...
    @property
    def options(self) -> PackOptions: ...


def outside(root: Path, relative: str) -> str | None:
    """Why `relative` (really: links resolved) is refused for lying outside the folder `root`."""
    if _within(os.path.realpath(root / relative), str(root)):
        return None
    return f"is outside the job file's folder {root}; {OUTSIDE_HINT}"


def unwritable(root: Path, output: str, job_path: Path, corpora: Iterable[Corpus], *, overwrite: bool) -> str | None:
    """Why a report at `output` (relative to `root`) would overwrite an input or a folder, or
    a file that is not a report without `overwrite`."""
    real = os.path.realpath(root / output)
    if reason := input_at(real, job_path, corpora):
        return reason
    if os.path.isdir(real):
        return "is a folder: name a file"
    if ".git" in Path(real).parts:  # a new ref or config there would change the repository
        return "is inside a git directory: name a file outside .git"
    if os.path.exists(real) and not overwrite and not is_report(real):
        return "exists and is not a scout-context report: name another output, or run with --overwrite to replace it"
    return None


def input_at(real: str, job_path: Path, corpora: Iterable[Corpus]) -> str | None:
    """Why the real path `real` is an input (the job file, a source, a path a corpus reads)."""
    if real == os.path.realpath(job_path):
        return "is the job file: name another output"
    for corpus in corpora:
        for source in corpus.sources:
            if isinstance(source, Remote):
                continue  # fetched into the cache when packed: no path of the job's folder
            root = os.path.realpath(source)
            if real == root:
                return f"is a source of corpus {corpus.name}: name another output"
            if _within(real, root) and not _excluded(os.path.relpath(real, root), corpus.options.exclude):
                return (
                    f"is inside the sources of corpus {corpus.name}: name another output, "
                    f"or add its folder to corpora.{corpus.name}.exclude"
                )
    return None


def _excluded(relative: str, exclude: tuple[str, ...]) -> bool:
    """Whether the corpus's own `exclude` globs leave `relative` out (as packing matches them)."""
    return bool(exclude) and GitIgnoreSpec.from_lines(exclude).match_file(relative.replace(os.sep, "/"))


def _within(path: str, folder: str) -> bool:
    """Whether the real path `path` is `folder` or inside it."""
    return os.path.commonpath([path, folder]) == folder
