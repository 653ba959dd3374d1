"""Unix habits of the installed command: a closed pipe, --version, --quiet, completion, `python -m`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from helpers import write

EXE = shutil.which("scout-context", path=os.path.dirname(sys.executable)) or "scout-context"


def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    # Far more than a pipe buffer (64 KiB), so the writer is still writing when the reader goes.
    write(tmp_path, {f"n{n}.txt": "".join(f"line {i} of note {n}\n" for i in range(2500)) for n in range(2)})
    proc = subprocess.Popen([EXE, "pack", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100).startswith(b"<directory_tree")
    proc.stdout.close()  # what `| head` does
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, stderr
    assert "Traceback" not in stderr and "Broken pipe" not in stderr and "error" not in stderr.lower()
