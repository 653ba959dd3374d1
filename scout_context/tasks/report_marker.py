"""How a batch report this tool wrote is told from any other file.

Each format carries a marker at its very start, so a report that was moved or renamed is
still recognised, and recognising one reads only the first bytes of the file:
Markdown opens with the line `MARKDOWN`, a JSON report's first key is `JSON_KEY`, and an
HTML page opens its head with `HTML_META` (the standard generator meta tag). `batch` may
write a report over a file only when it is one of these (or with `--overwrite`).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

MARKDOWN = "<!-- scout-context:batch-report -->"  # as `pr` marks its summary
JSON_KEY = ("generator", "scout-context")
HTML_META = '<meta name="generator" content="scout-context">'

_HEAD_BYTES = 512
_MARKED = re.compile(
    rf"{re.escape(MARKDOWN)}\r?\n"
    rf'|\{{\s*"{JSON_KEY[0]}"\s*:\s*"{JSON_KEY[1]}"'
    rf'|<!DOCTYPE html>\s*<html[^>]*>\s*<head>\s*<meta charset="utf-8">\s*{re.escape(HTML_META)}'
)


def is_report(path: Path | str) -> bool:
    """Whether `path` is a regular file that starts with a report marker. Never blocks on
    a FIFO and never reads more than the head."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return False
        head = os.read(handle, _HEAD_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    finally:
        os.close(handle)
    return _MARKED.match(head) is not None
