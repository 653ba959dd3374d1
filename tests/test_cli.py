"""The installed `scout-context` command: output, JSON, exit codes, never a traceback."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import write
from scout_context.store import Store
from scout_context.tasks.run_record import RunRecord
from scout_context.tokens import scout_tokenizer

EXE = shutil.which("scout-context", path=os.path.dirname(sys.executable)) or "scout-context"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "tiny-shop"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_pack_writes_file_and_json_counts_it_exactly(tmp_path):
    out = tmp_path / "pack.txt"
    proc = cli("pack", str(EXAMPLE), "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert {"tokens", "files", "skipped", "chunks", "redactions"} <= report.keys()
    assert report["tokens"] == scout_tokenizer().count(out.read_text(encoding="utf-8"))
    assert "shop/cart.py" in report["files"] and report["chunks"] >= 6
    assert "tokens" in proc.stderr and "biggest consumers" in proc.stderr


def test_pack_to_stdout_is_the_text(tmp_path):
    proc = cli("pack", str(EXAMPLE))
    assert proc.returncode == 0
    assert proc.stdout.startswith('<directory_tree source="tiny-shop"')
    assert '<document path="shop/config.py" id="shop/config.py:1-6">' in proc.stdout


def test_output_inside_the_source_is_not_packed_again(tmp_path):
    write(tmp_path, {"a.py": "x = 1\n"})
    for _ in range(2):
        proc = cli("pack", str(tmp_path), "-o", str(tmp_path / "out.txt"), "--json")
        assert json.loads(proc.stdout)["files"] == ["a.py"]


def test_missing_source_exits_2_with_one_line(tmp_path):
    proc = cli("pack", str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert "no such file or folder" in one_line_error(proc)


def test_over_budget_fits_or_exits_4_naming_the_biggest(tmp_path):
    proc = cli("pack", str(EXAMPLE), "--budget", "600", "--json", "-o", str(tmp_path / "out.txt"))
    report = json.loads(proc.stdout)
    assert report["tokens"] <= 600 and report["dropped"] and report["chunks"] >= 1
    assert report["tokens"] == scout_tokenizer().count((tmp_path / "out.txt").read_text())
    for args in (["--budget", "600", "--no-fit"], ["--budget", "100"]):
        proc = cli("pack", str(EXAMPLE), *args)
        assert proc.returncode == 4
        line = one_line_error(proc)
        assert "over the budget of" in line and "shop/cart.py" in line


def test_hostile_tree_exits_0_and_lists_skips(tmp_path):
    deep = "/".join(["d"] * 60)
    write(
        tmp_path,
        {
            "ok.py": "def f():\n    return '<|eot|>'\n",
            "image.py": b"\x89PNG\r\n\x1a\n\x00\x00binary",
            "bad.txt": b"caf\xe9 \xff\xfe ok\n",
            f"{deep}/deep.py": "x = 1\n",
            "big.js": "a" * 50_000_000,
        },
    )
    os.symlink("/etc", tmp_path / "etc")
    os.symlink("loop", tmp_path / "loop")
    (tmp_path / "new\nline.py").write_text("y = 1\n")
    with open(os.fsencode(tmp_path) + b"/\xff\xfe.py", "wb") as handle:
        handle.write(b"z = 1\n")
    proc = cli("pack", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert skipped["image.py"].startswith("binary")
    assert skipped["big.js"].startswith("too large")
    assert skipped["etc"] == "symlink pointing outside the source"
    assert skipped["loop"] == "broken or looping symlink"
    assert {"ok.py", "bad.txt", f"{deep}/deep.py", "new\\nline.py", "\\xff\\xfe.py"} <= set(report["files"])


@pytest.mark.parametrize("args", [["pack"], ["pack", ".", "--budget", "0"], ["nope"]])
def test_usage_errors_exit_2(args, tmp_path):
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_engine_down_is_exit_3_and_wrong_engine_is_exit_2(tmp_path):
    proc = cli("ask", str(EXAMPLE), "hi?", "--engine", "openai", "--base-url", "http://127.0.0.1:9/v1")
    assert proc.returncode == 3
    assert "127.0.0.1:9" in one_line_error(proc)
    assert cli("ask", str(EXAMPLE), "hi?", "--engine", "nope").returncode == 2


def test_result_tables_go_to_stdout_and_summaries_to_stderr():
    store = Store()
    try:
        RunRecord("ask", "StubEngine", "stub", ["repo"], "why?", "because", [], {}, {}, "stop").log(store)
    finally:
        store.close()
    logs = cli("logs")
    assert logs.returncode == 0 and logs.stderr == ""
    assert "why?" in logs.stdout and "because" in logs.stdout and "│" in logs.stdout
    models = subprocess.run(
        [EXE, "models"], capture_output=True, text=True, timeout=300, env=os.environ | {"SCOUT_BASE_URL": ""}
    )
    assert models.returncode == 0, models.stderr
    assert "Known models" in models.stdout and "scout" in models.stdout
    assert "Known models" not in models.stderr and "│" not in models.stderr
    assert "Llama 4 Community License" in models.stderr  # a duty to know, not the list


def test_progress_leaves_no_blank_line_when_stderr_is_not_a_terminal(tmp_path):
    proc = cli("pack", str(EXAMPLE), "-o", str(tmp_path / "pack.txt"))
    assert proc.returncode == 0 and proc.stderr.startswith("tokens"), proc.stderr[:200]
    assert "\n\n" not in proc.stderr


def wide(*args: str) -> subprocess.CompletedProcess:
    """`cli` on a terminal wide enough that rich wraps no line."""
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, timeout=300, env=os.environ | {"COLUMNS": "200"}
    )


def test_engine_plan_marks_the_chosen_layout():
    proc = wide("engine", "plan", "--gpus", "1", "--gpu-memory", "79.18", "--weights", "int4")
    assert proc.returncode == 0, proc.stderr
    [chosen] = [line for line in proc.stderr.splitlines() if "[chosen]" in line]
    assert "hybrid layout" in chosen


HELP = {  # each command's help: its panels, choices with their defaults, environment it reads
    ("pack",): [
        "─ Input ",
        "─ Fitting ",
        "─ Output ",
        "[auto|stable|edges]",
        "[default: stable]",
        "[xml|markdown|plain|json]",
        "GITHUB_TOKEN",
    ],
    ("ask",): [
        "─ Input ",
        "─ Fitting ",
        "─ Engine ",
        "─ Output ",
        "[default: auto]",
        "[auto|vllm|openai]",
        "[default: auto]",
        "[auto|fp8|model]",
        "SCOUT_BASE_URL",
        "HF_TOKEN",
        "SCOUT_CACHE_DIR",
    ],
    ("chat",): ["─ Engine ", "[auto|stable|edges]", "SCOUT_MODEL"],
    ("batch",): ["─ Engine ", "[auto|fp8|model]", "SCOUT_API_KEY"],
    ("pr",): ["─ Engine ", "GITHUB_EVENT_PATH", "SCOUT_TIMEOUT"],
    ("engine", "plan"): ["[fp32|bf16|fp8|int4]", "[auto|fp8|model]", "[default: auto]"],
    ("serve", "start"): ["─ Engine ", "HF_HUB_OFFLINE"],
    ("models",): ["SCOUT_CACHE_DIR"],
    ("logs",): ["─ Output ", "SCOUT_CACHE_DIR"],
    ("mcp",): ["GITHUB_TOKEN"],
}


@pytest.mark.parametrize("command", list(HELP), ids=" ".join)
def test_help_groups_options_shows_choices_examples_and_environment(command):
    proc = wide(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    examples = proc.stdout.split(" Examples ", 1)[1]
    assert f"$ scout-context {' '.join(command)}" in examples
    for shown in HELP[command]:
        assert shown in proc.stdout, (command, shown)


def test_a_choice_outside_the_choices_is_a_usage_error():
    for option, value in (("--layout", "middle"), ("--style", "yaml")):
        proc = cli("pack", str(EXAMPLE), option, value)
        assert proc.returncode == 2 and f"{value}'" in proc.stderr and "Traceback" not in proc.stderr


def _examples(command, path=()):
    """(command path, example command line) for every example in `command`'s help, recursively."""
    for name, sub in getattr(command, "commands", {}).items():
        yield from _examples(sub, (*path, name))
    for line in (command.help or "").splitlines():
        if line.strip().startswith("[cyan]$ "):
            yield path, line.strip().removeprefix("[cyan]$ ").removesuffix("[/]").replace("\\[", "[")


def test_every_example_in_the_help_parses_as_that_command():
    """An example a new user copies from `--help` names only options and values its command
    takes (it is parsed, not run)."""
    import shlex

    import typer
    from typer._click.exceptions import ClickException

    from cli.main import app

    root = typer.main.get_command(app)
    found = list(_examples(root))
    assert len(found) >= 10
    for path, example in found:
        command_line = re.sub(r"\s+\(.*\)$", "", example.split(" | ")[-1])  # the piped-to command, no remark
        words = shlex.split(command_line)
        while "=" in words[0]:  # VARIABLE=value before the command
            words.pop(0)
        assert words[0] == "scout-context" and words[1 : 1 + len(path)] == list(path), example
        command, args, parent = root, words[1:], None
        try:
            for name in path:  # down the groups (typer's own click: resolved by name)
                parent = command.make_context(command.name or "scout-context", args, parent=parent)
                command, args = command.commands[name], args[1:]  # type: ignore[attr-defined]
            command.make_context(command.name, args, parent=parent)
        except ClickException as error:
            pytest.fail(f"{example}: {error.format_message()}")
