"""Writing a file the user named: `pack -o`, `pr --output`, batch reports and exports, `batch --init`.

Every output goes through `write_output`, whose contract is:

- A regular file, existing or new, is replaced atomically: the text goes to a temporary
  file in the same folder, which then takes the name, so a reader sees the old text or the
  new, never half of it. An existing file keeps its mode, and its owner and group (a run as
  root does not take a user's file over); a new one gets what the umask leaves of 0o666,
  as `open` would. Missing folders on the way to a path that is not a link are created.
  (A hard link to the old file keeps the old text: the name gets a new file.)
- A symlink is followed, link after link: the links stay, the final target gets the text.
  A dangling link creates its target when the target's folder exists.
- Anything else (a character or block device, a FIFO, `/dev/stdout`, `/dev/fd/N`,
  `/proc/self/fd/N`) is opened and written in place, appending, and is never replaced,
  created or removed. A path that names an open descriptor is written in place even when
  the descriptor is a regular file, so `-o /dev/stdout >> log` appends to the log.
- A failure while writing leaves the old content and removes the temporary file. An
  output that cannot be written is a UsageError (exit 2) naming it; a closed pipe is
  BrokenPipeError, as for stdout.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TextIO

from .errors import UsageError

Writer = Callable[[TextIO], object]  # what it returns is ignored (TextIO.write gives a count)
"""Writes the content to the stream it is given."""

_MAX_LINKS = 40  # the kernel's own limit on links in one lookup
_DESCRIPTOR = re.compile(r"/proc/(?:self|thread-self|\d+)(?:/task/\d+)?/fd/[^/]+")


def write_output(path: Path | str, content: str | Writer) -> None:
    """Write `content` (text, or a function that writes it) to `path` as the module says."""
    write: Writer = (lambda stream: stream.write(content)) if isinstance(content, str) else content
    target, in_place, followed = _follow(Path(path))
    try:
        if in_place:
            _write_in_place(target, write)
        else:
            _replace(target, write, make_folders=not followed)
    except BrokenPipeError:
        raise
    except OSError as error:
        through = f" (through the link to {target})" if followed else ""
        raise UsageError(f"cannot write {path}{through}: {error.strerror or error}") from None


def _follow(path: Path) -> tuple[str, bool, bool]:
    """(the name the text goes to, whether to write it in place, whether a link led there)."""
    current = os.path.abspath(path)
    followed = False
    for _ in range(_MAX_LINKS):
        folder, name = os.path.split(current)
        current = os.path.join(os.path.realpath(folder), name)
        if _DESCRIPTOR.fullmatch(current):  # a link the kernel resolves to an open file, whatever it is
            return current, True, followed
        try:
            info = os.lstat(current)
            if not stat.S_ISLNK(info.st_mode):
                return current, not stat.S_ISREG(info.st_mode), followed
            current = os.path.join(os.path.dirname(current), os.readlink(current))  # an absolute target replaces it
        except FileNotFoundError:
            return current, False, followed
        except OSError as error:
            raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
        followed = True
    raise UsageError(f"cannot write {path}: more than {_MAX_LINKS} symbolic links (a loop?)")


def _write_in_place(target: str, write: Writer) -> None:
    """Open what is there (never creating or truncating it) and write to it."""
    handle = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_NOCTTY | os.O_CLOEXEC)
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
        write(stream)


def _replace(target: str, write: Writer, *, make_folders: bool) -> None:
    """Write a temporary file beside `target` with `target`'s mode and owner, then rename it."""
    folder, name = os.path.split(target)
    if make_folders:
        os.makedirs(folder, exist_ok=True)
    try:
        existing: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        existing = None
    # An existing file's temporary starts readable by its owner (us) alone, so no one can
    # open it before it has the file's owner and mode; a new one gets the umask's mode.
    handle, temporary = _temporary(folder, name, 0o666 if existing is None else 0o600)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            if existing is not None:
                with suppress(PermissionError):  # only root may give a file away; others keep a group they are in
                    os.fchown(handle, existing.st_uid if os.geteuid() == 0 else -1, existing.st_gid)
                os.fchmod(handle, stat.S_IMODE(existing.st_mode))  # after chown, which clears set-id bits
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())  # the new name must never point at text still in flight
        os.replace(temporary, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _temporary(folder: str, name: str, mode: int) -> tuple[int, str]:
    """A new, empty file in `folder`, created with `mode` less the umask (as `open` does)."""
    for _ in range(100):
        path = os.path.join(folder, f".{name[:200]}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")
