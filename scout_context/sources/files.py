"""Which files of a directory go into a pack.

In a git work tree: what git would track (tracked plus untracked-not-ignored, so nested
`.gitignore`, `.git/info/exclude` and the global excludes file all apply). Outside git:
the same rules from the `.gitignore` files found while walking. On top of either: the
default excludes, the project's `.scoutignore`, and `--include`/`--exclude` globs, all
with gitignore semantics. Nothing outside the root is read: every candidate's real path
(each folder on the way resolved, symlinks included) must lie under the root's, so a
symlinked folder in the middle of a tracked path cannot pull a file in from elsewhere;
a file is then read by that real path, and never when that lies in a git directory (a
`.git` folder, or wherever the source's `.git` file points): a committed symlink to
`.git/config` would pack the credentials a CI checkout keeps there. Ignore files are read only when they are regular
files, never through a symlink (as git does). Anything that is not a regular file is
skipped. Every skipped path comes back with its reason.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

from .defaults import DEFAULT_EXCLUDES
from .git import run as run_git

SCOUTIGNORE = ".scoutignore"


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A file to read: `rel` is '/'-separated, relative to the source root, as the OS
    spells it; `shown` is the same path as a person reads it (see `display_path`)."""

    rel: str
    shown: str
    abspath: str
    size: int
    mtime_ns: int
    inode: int


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str


def display_path(rel: str) -> str:
    """A path as a person reads it: undecodable bytes as `\\xNN`, control characters escaped."""
    text = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def collect(
    root: Path,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    default_excludes: bool = True,
    max_file_bytes: int,
    listed: Sequence[str] | None = None,
) -> tuple[list[FileEntry], list[Skipped]]:
    """The files of `root` to pack, sorted by path, and the skipped ones with reasons;
    with `listed`, those of the listed paths (see `_listed`) instead of all of them."""
    root_real = os.path.realpath(root)
    ignore_lines = [
        *(DEFAULT_EXCLUDES if default_excludes else ()),
        *_read_lines(os.path.join(root_real, SCOUTIGNORE)),
        *exclude,
    ]
    ignore = _Spec(ignore_lines)
    wanted = _Spec(include) if include else None

    files: list[FileEntry] = []
    skipped: list[Skipped] = []
    if listed is None:
        candidates, git_dir = _git_files(root_real)
        if candidates is None:
            candidates = _walk(root_real, ignore)
    else:
        candidates, git_dir = _listed(root_real, listed, skipped), None
    folders: dict[str, str | None] = {"": root_real}
    for rel in candidates:
        if rel == SCOUTIGNORE or ignore.match(rel) or (wanted is not None and not wanted.match(rel)):
            continue
        entry, reason = _stat_entry(root_real, rel, max_file_bytes, folders, git_dir)
        if entry is not None:
            files.append(entry)
        elif reason:
            skipped.append(Skipped(display_path(rel), reason))
    files.sort(key=lambda f: f.rel)
    return files, skipped


def _git_files(root: str) -> tuple[list[str] | None, str | None]:
    """(paths git would track under `root`, the real path of its git directory), or
    (None, None) when `root` is not in a git work tree."""
    try:
        inside = run_git(root, "rev-parse", "--is-inside-work-tree", "--absolute-git-dir")
        answer = inside.stdout.split(b"\n")
        if inside.returncode != 0 or answer[0] != b"true":
            return None, None
        listed = run_git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
    except OSError:
        return None, None
    if listed.returncode != 0:
        return None, None
    names = {os.fsdecode(name) for name in listed.stdout.split(b"\0") if name}
    return sorted(names), os.path.realpath(os.fsdecode(answer[1]))


def _listed(root: str, names: Iterable[str], skipped: list[Skipped]) -> list[str]:
    """The listed paths (relative to `root`, or absolute) as paths under it, each once; a
    path outside it is skipped with its reason, and a folder is passed over (a list from
    `find` names its files too). Only `..` is resolved here: every symlink on the way is
    for `_stat_entry` to check, as for any folder's file."""
    found: dict[str, None] = {}
    for name in names:
        rel = os.path.relpath(os.path.normpath(os.path.join(root, name)), root)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            skipped.append(Skipped(display_path(name), "outside the current folder"))
        elif rel != os.curdir and not os.path.isdir(os.path.join(root, rel)):
            found[rel.replace(os.sep, "/")] = None
    return list(found)


class _Spec:
    """A gitignore-style pattern list with a one-regex prefilter: most paths match none of
    the patterns, and one combined regex tells so far faster than trying each in turn."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.spec = GitIgnoreSpec.from_lines(lines)
        parts = [
            re.sub(r"\(\?P<\w+>", "(?:", p.regex.pattern)
            for p in self.spec.patterns
            if p.include is not None and p.regex is not None
        ]
        self.prefilter = re.compile("|".join(parts)) if parts else None

    def match(self, rel: str) -> bool:
        return self.prefilter is not None and self.prefilter.match(rel) is not None and self.spec.match_file(rel)


def _walk(root: str, ignore: _Spec) -> list[str]:
    """Walk `root` without git: nested `.gitignore` files apply to their own subtree,
    a deeper file overriding a shallower one as in git; ignored folders are not entered."""
    found: list[str] = []
    stack: list[tuple[str, list[tuple[str, GitIgnoreSpec]]]] = [("", [])]
    while stack:
        rel_dir, specs = stack.pop()
        abs_dir = os.path.join(root, rel_dir) if rel_dir else root
        lines = _read_lines(os.path.join(abs_dir, ".gitignore"))
        if lines:
            specs = [*specs, (rel_dir, GitIgnoreSpec.from_lines(lines))]
        try:
            entries = list(os.scandir(abs_dir))
        except OSError:
            continue
        for entry in entries:
            if entry.name == ".git":
                continue
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if _gitignored(rel + "/" if is_dir else rel, specs):
                continue
            if is_dir:
                if not ignore.match(rel + "/"):
                    stack.append((rel, specs))
            else:
                found.append(rel)
    return found


def _gitignored(rel: str, specs: list[tuple[str, GitIgnoreSpec]]) -> bool:
    verdict = False
    for base, spec in specs:
        sub = rel[len(base) + 1 :] if base else rel
        result = spec.check_file(sub).include
        if result is not None:
            verdict = result
    return verdict


def _real_folder(root: str, folder: str, known: dict[str, str | None]) -> str | None:
    """The real path of `root`'s subfolder `folder` ('/'-separated, "" for the root), or
    None when a symlink on the way leads out of `root`; `known` caches it per folder."""
    if folder not in known:
        real = os.path.realpath(os.path.join(root, folder))
        known[folder] = real if _inside(real, root) else None
    return known[folder]


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _in_git_dir(path: str, root: str, git_dir: str | None) -> bool:
    """Whether the real path `path` (inside `root`) is a repository's own: under a `.git`
    folder, or under `git_dir`."""
    return ".git" in os.path.relpath(path, root).split(os.sep) or (git_dir is not None and _inside(path, git_dir))


def _stat_entry(
    root: str, rel: str, max_file_bytes: int, folders: dict[str, str | None], git_dir: str | None
) -> tuple[FileEntry | None, str]:
    """Stat one candidate by its real path; symlinks are resolved only when they stay inside
    `root` and out of its git directories."""
    folder, _, name = rel.rpartition("/")
    real_folder = _real_folder(root, folder, folders)
    if real_folder is None:
        return None, "path leaves the source through a symlink"
    path = os.path.join(real_folder, name)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None, "missing from the work tree"
    except OSError as error:
        return None, f"unreadable: {error.strerror or error}"
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.path.realpath(path, strict=True)
        except (OSError, RuntimeError):
            return None, "broken or looping symlink"
        if not _inside(target, root):
            return None, "symlink pointing outside the source"
        path = target
        try:
            info = os.stat(target)
        except OSError as error:
            return None, f"unreadable: {error.strerror or error}"
        if stat.S_ISDIR(info.st_mode):
            return None, "symlink to a folder (not followed)"
    if _in_git_dir(path, root, git_dir):
        return None, "inside the git directory"
    if stat.S_ISDIR(info.st_mode):
        return None, "submodule or nested repository (not packed)"
    if not stat.S_ISREG(info.st_mode):
        return None, "not a regular file"
    if info.st_size > max_file_bytes:
        return None, f"too large ({info.st_size:,} bytes > {max_file_bytes:,})"
    return FileEntry(rel, display_path(rel), path, info.st_size, info.st_mtime_ns, info.st_ino), ""


def _read_lines(path: str) -> list[str]:
    """An ignore file's lines; none when it is missing, a symlink or not a regular file
    (a FIFO would block, a device never end)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return []
    with open(fd, "rb") as handle:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return []
            return handle.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []
