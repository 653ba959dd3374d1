"""Stage one of `pack`: what a source named on the command line holds, and how to read it.

A folder is a tree of files (git-aware, see `sources.files`); a file stands alone; a
folder that is a chat export (Slack) is one archive of its JSON; a list names files of a
folder; stdin is one document (see `sources.spec`). Each becomes a `Source`:
its files, what was skipped listing them, the size a file may have and how to read one,
so a new kind of source is one more case in `open_source` and nothing in later stages.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..sources import chat
from ..sources.files import FileEntry, Skipped, collect, display_path
from ..sources.read import read_bytes
from ..sources.spec import STDIN_LABEL, Checkout, Listed, Piped, SourceSpec
from .analyze import skip_by_head
from .options import PackOptions

# A file or export named on the command line may be this large (a sanity bound, 2 GiB).
NAMED_FILE_LIMIT = 2**31

Reader = Callable[[FileEntry, int], "bytes | str"]
"""(file, most bytes wanted) -> the bytes (one more than that when it is bigger), or why not."""


def read_file(entry: FileEntry, limit: int) -> bytes | str:
    """A file's bytes up to `limit`, or why not; a binary file stops after its head."""
    return read_bytes(entry.abspath, entry.size, limit, lambda head: skip_by_head(head, entry.rel))


def read_export_folder(entry: FileEntry, limit: int) -> bytes | str:
    return chat.folder_archive(entry.abspath, limit)


@dataclass(frozen=True, slots=True)
class Source:
    """The files of one named path, relative to `root`, and how to read them."""

    root: Path
    files: list[FileEntry]
    skipped: list[Skipped]
    limit: int  # bytes a file may have
    reader: Reader = read_file
    named: bool = False  # a file (or export) named on the command line: its label is its path

    def read(self, entry: FileEntry) -> bytes | str:
        return self.reader(entry, self.limit)


def open_source(spec: SourceSpec, options: PackOptions) -> Source:
    """`spec` as a source: a folder's files, or a list's, within the options' filters and
    size limit; a named file, a chat-export folder or stdin alone and exempt from the limit
    (the user named it)."""
    if isinstance(spec, Piped):
        return _piped(spec)
    path = spec.path if isinstance(spec, Checkout) else spec
    if isinstance(path, Listed) or (path.is_dir() and not chat.detect_folder(path)):
        root = path.root if isinstance(path, Listed) else path
        files, skipped = collect(
            root,
            include=options.include,
            exclude=options.exclude,
            default_excludes=options.default_excludes,
            max_file_bytes=options.max_file_bytes,
            listed=path.names if isinstance(path, Listed) else None,
        )
        return Source(root, files, skipped, options.max_file_bytes)
    parent = path.resolve().parent
    try:
        info = path.stat()
    except OSError as error:
        return Source(
            parent,
            [],
            [Skipped(display_path(path.name), f"unreadable: {error.strerror or error}")],
            NAMED_FILE_LIMIT,
            named=True,
        )
    folder = stat.S_ISDIR(info.st_mode)
    if not folder and not stat.S_ISREG(info.st_mode):  # a FIFO would block the read, a device never end
        return Source(
            parent, [], [Skipped(display_path(path.name), "not a regular file")], NAMED_FILE_LIMIT, named=True
        )
    size = (
        -1 if folder else info.st_size
    )  # -1: never trusted by the stat index (a folder's content can change under it)
    entry = FileEntry(path.name, display_path(path.name), str(path.resolve()), size, info.st_mtime_ns, info.st_ino)
    return Source(parent, [entry], [], NAMED_FILE_LIMIT, read_export_folder if folder else read_file, named=True)


def _piped(piped: Piped) -> Source:
    """Stdin as one named document (never trusted by the stat index: size -1)."""
    entry = FileEntry(STDIN_LABEL, STDIN_LABEL, "-", -1, 0, 0)
    whole = piped.data if piped.complete else f"too large (over {len(piped.data):,} bytes)"
    return Source(Path("-"), [entry], [], NAMED_FILE_LIMIT, lambda _entry, _limit: whole, named=True)
