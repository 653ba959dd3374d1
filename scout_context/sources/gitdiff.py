"""A pull request's changes, read from git without running anything of the repository's.

Refs are resolved to commits, the diff is taken from the merge base to the head, and
files are read as blobs of the head commit (never from the work tree, which may hold
anything). Every call runs `git` made inert by `sources.git` (nothing the repository
configures runs, nothing is fetched); diffs and logs add `--no-ext-diff --no-textconv`,
so no attribute can name a driver to run, and blobs are read without filters.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from .files import display_path
from .git import run as run_git

_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
EMPTY_BLOB = "0" * 40
SHALLOW_HINT = "fetch the full history (actions/checkout with `fetch-depth: 0`, or `git fetch --unshallow`)"


@dataclass(frozen=True, slots=True)
class Hunk:
    """One change: old lines `old_start..+old_count` became new lines `new_start..+new_count`.
    With a count of 0, the start is the line after which lines were removed or added."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    removed: tuple[str, ...]
    added: tuple[str, ...]

    @property
    def deletion_only(self) -> bool:
        return self.new_count == 0


@dataclass(frozen=True, slots=True)
class FileChange:
    """A changed path between the merge base and the head (`path` as a person reads it)."""

    path: str
    status: str  # A, M, D, R (renamed), C (copied), T (type changed)
    old_path: str = ""
    similarity: int = 0
    old_mode: str = ""
    new_mode: str = ""
    old_blob: str = EMPTY_BLOB
    new_blob: str = EMPTY_BLOB
    added: int = 0
    deleted: int = 0
    binary: bool = False
    rel: str = field(default="", repr=False)  # the path as the OS spells it

    @property
    def kind(self) -> str:
        """ "symlink", "submodule" or "file" (by the head's mode, the base's when deleted)."""
        mode = self.new_mode if self.status != "D" else self.old_mode
        return {"120000": "symlink", "160000": "submodule"}.get(mode, "file")


@dataclass(frozen=True, slots=True)
class TreeEntry:
    rel: str
    path: str
    mode: str
    blob: str
    size: int


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    subject: str
    body: str


def git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """Run one inert git command in `repo`; its stdout. A failure is a UsageError naming git's reason."""
    try:
        done = run_git(repo, *args, stdin=stdin)
    except OSError as error:
        raise UsageError(f"cannot run git: {error.strerror or error}") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"git {args[0]} failed in {repo}: {reason[-1] if reason else f'exit {done.returncode}'}")
    return done.stdout


def is_shallow(repo: Path) -> bool:
    return git(repo, "rev-parse", "--is-shallow-repository").strip() == b"true"


def check_repository(repo: Path) -> None:
    """A UsageError unless `repo` is a git repository with its full history."""
    if not repo.is_dir():
        raise UsageError(f"no such folder: {repo}")
    try:
        git(repo, "rev-parse", "--git-dir")
    except UsageError:
        raise UsageError(f"{repo} is not a git repository") from None
    if is_shallow(repo):
        raise UsageError(f"{repo} is a shallow clone, so the merge base cannot be found: {SHALLOW_HINT}")


def resolve(repo: Path, ref: str) -> str:
    """The commit id `ref` names."""
    if not ref or ref.startswith("-"):
        raise UsageError(f"not a git revision: {ref!r}")
    try:
        return git(repo, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}").decode().strip()
    except UsageError:
        raise UsageError(f"unknown revision {ref!r} in {repo} (fetch it first, with the full history)") from None


def merge_base(repo: Path, base: str, head: str) -> str:
    try:
        return git(repo, "merge-base", base, head).decode().strip()
    except UsageError:
        raise UsageError(f"{base[:12]} and {head[:12]} have no common ancestor in {repo}") from None


def changes(repo: Path, old: str, new: str) -> list[FileChange]:
    """Every changed path from `old` to `new`, renames detected, in git's order."""
    raw = git(repo, "diff", "--no-ext-diff", "--no-textconv", "--raw", "--no-abbrev", "-M", "-z", old, new).split(b"\0")
    stats = git(repo, "diff", "--no-ext-diff", "--no-textconv", "--numstat", "-M", "-z", old, new).split(b"\0")
    found: list[FileChange] = []
    i = j = 0
    while i < len(raw) and raw[i].startswith(b":"):
        old_mode, new_mode, old_blob, new_blob, status = raw[i][1:].decode().split()
        paths = [os.fsdecode(raw[i + 1])]
        i += 2
        if status[0] in "RC":
            paths.append(os.fsdecode(raw[i]))
            i += 1
        counts = stats[j].split(b"\t")
        j += 3 if counts[2] == b"" else 1  # a rename's numstat: "a\td\t\0old\0new\0"
        binary = counts[0] == b"-"
        found.append(FileChange(
            path=display_path(paths[-1]), status=status[0], rel=paths[-1],
            old_path=display_path(paths[0]) if len(paths) > 1 else "",
            similarity=int(status[1:] or 0), old_mode=old_mode, new_mode=new_mode,
            old_blob=old_blob, new_blob=new_blob, binary=binary,
            added=0 if binary else int(counts[0]), deleted=0 if binary else int(counts[1]),
        ))  # fmt: skip
    return found


def hunks(repo: Path, old_blob: str, new_blob: str) -> list[Hunk]:
    """The hunks between two blobs, without context (by blob id: no path, no attributes)."""
    patch = git(repo, "diff", "--no-ext-diff", "--no-textconv", "--no-color", "-U0", old_blob, new_blob)
    found: list[Hunk] = []
    header: re.Match[bytes] | None = None
    removed: list[str] = []
    added: list[str] = []

    def close() -> None:
        if header is not None:
            a, b, c, d = header.groups()
            found.append(Hunk(int(a), int(b or 1), int(c), int(d or 1), tuple(removed), tuple(added)))

    for line in patch.split(b"\n"):
        match = _HUNK.match(line)
        if match:
            close()
            header, removed, added = match, [], []
        elif header is not None and line[:1] in (b"-", b"+"):
            (removed if line[:1] == b"-" else added).append(line[1:].decode("utf-8", "replace").removesuffix("\r"))
    close()
    return found


def tree(repo: Path, commit: str) -> list[TreeEntry]:
    """Every blob, symlink and submodule of the commit's tree, by path."""
    entries = []
    for record in git(repo, "ls-tree", "-r", "-z", "--long", "--full-tree", commit).split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, _kind, blob, size = meta.decode().split()
        rel = os.fsdecode(name)
        entries.append(TreeEntry(rel, display_path(rel), mode, blob, int(size) if size.isdigit() else -1))
    return entries


def blobs(repo: Path, ids: Iterable[str]) -> dict[str, bytes]:
    """The contents of blobs by id, in one `git cat-file --batch`; missing ones are left out."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    out = git(repo, "cat-file", "--batch", stdin="".join(f"{blob}\n" for blob in wanted).encode())
    found: dict[str, bytes] = {}
    at = 0
    for _ in wanted:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[header[0].decode()] = out[at : at + size]
            at += size + 1
        elif len(header) == 3:
            at += int(header[2]) + 1
    return found


def read_file(repo: Path, commit: str, path: str) -> bytes | None:
    """A file's bytes at `commit`, or None when it has no such file."""
    for record in git(repo, "ls-tree", "-z", commit, "--", path).split(b"\0"):
        meta, _, name = record.partition(b"\t")
        fields = meta.decode().split()
        if os.fsdecode(name) == path and fields[1:2] == ["blob"]:
            return blobs(repo, [fields[2]]).get(fields[2])
    return None


def commits(repo: Path, old: str, new: str, limit: int = 250) -> list[Commit]:
    """The commits in `old..new`, oldest first (at most `limit`, the newest)."""
    out = git(
        repo, "log", "--no-ext-diff", "--no-textconv", f"--max-count={limit}", "--no-decorate",
        "--format=%H%x00%s%x00%b%x1e", f"{old}..{new}",
    )  # fmt: skip
    found = []
    for record in out.decode("utf-8", "replace").split("\x1e"):
        parts = record.strip("\n").split("\x00")
        if len(parts) == 3:
            found.append(Commit(parts[0], parts[1].strip(), parts[2].strip()))
    return found[::-1]
