"""Unix habits of the installed command: a closed pipe, --version, --quiet, completion, `python -m`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import scout_context
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


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}, cwd=cwd
    )


def test_version_is_one_line_on_stdout_and_python_m_is_the_same_command():
    proc = run("--version")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == f"scout-context {scout_context.__version__}\n"
    module = subprocess.run(
        [sys.executable, "-m", "scout_context_cli", "--version"], capture_output=True, text=True, timeout=300
    )
    assert module.returncode == 0 and module.stdout == proc.stdout


def test_quiet_leaves_stderr_empty_but_still_shows_errors(tmp_path):
    write(tmp_path / "src", {"a.py": "x = 1\n"})
    loud = run("pack", str(tmp_path / "src"), "-o", str(tmp_path / "out.txt"))
    assert loud.returncode == 0 and "tokens" in loud.stderr
    for args in (["pack", str(tmp_path / "src"), "--quiet"], ["--quiet", "pack", str(tmp_path / "src")]):
        quiet = run(*args, "-o", str(tmp_path / "out.txt"))
        assert quiet.returncode == 0 and quiet.stderr == "", args
    failed = run("pack", str(tmp_path / "missing"), "--quiet")
    assert failed.returncode == 2 and failed.stderr.startswith("error: no such file or folder")


def test_shell_completion_completes_commands_and_options():
    def complete(*words: str) -> list[str]:
        env = {
            "_SCOUT_CONTEXT_COMPLETE": "complete_bash",
            "COMP_WORDS": " ".join(words),
            "COMP_CWORD": str(len(words) - 1),
        }
        proc = run(env=env)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    assert complete("scout-context", "pa") == ["pack"]
    assert "--quiet" in complete("scout-context", "ask", "--qu")
    # The script that --show-completion prints for the shell it detects (typer 0.29 with click
    # 8.5 takes no shell name there), asked for by name so the test does not depend on its parents.
    script = run(env={"_SCOUT_CONTEXT_COMPLETE": "source_bash"})
    assert script.returncode == 0 and "_SCOUT_CONTEXT_COMPLETE=complete_bash" in script.stdout


def test_every_command_shows_its_help():
    for command in ("pack", "ask", "batch", "pr", "logs", "models", "engine", "serve"):
        proc = run(command, "--help")
        assert proc.returncode == 0 and "--quiet" in proc.stdout, (command, proc.stderr)
