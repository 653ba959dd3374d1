"""The configuration file's [pack], [ask] and [engine] tables, and `scout-context init`, through
the installed command run in real folders: CLI > environment > file > defaults."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from scout_context.sources.defaults import DEFAULT_MAX_FILE_BYTES
from scout_context.tasks.ask import ASK_MAX_TOKENS

EXE = shutil.which("scout-context", path=os.path.dirname(sys.executable)) or "scout-context"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "tiny-shop"
ENV = {key: value for key, value in os.environ.items() if not key.startswith("SCOUT_")}


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, cwd=cwd, env=ENV | env, timeout=300)


def one_line(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def packed(proc: subprocess.CompletedProcess) -> list[str]:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["files"]


def test_a_pack_key_of_the_file_is_a_default_that_the_command_line_beats(tmp_path: Path) -> None:
    (tmp_path / ".scout-context.toml").write_text('[pack]\nexclude = ["tests/"]\nmax-file-size = 10\n')
    from_file = run("pack", str(EXAMPLE), "--json", "--verbose", cwd=tmp_path)
    assert packed(from_file) == []
    assert "--max-file-size = 10 from .scout-context.toml:3" in from_file.stderr
    given = run("pack", str(EXAMPLE), "--json", "--max-file-size", "100000", "--verbose", cwd=tmp_path)
    files = packed(given)
    assert "shop/cart.py" in files and not any(f.startswith("tests/") for f in files)
    assert "--max-file-size = 100000 from command line" in given.stderr
    # The source's own file is never read: only the current folder's (or its git root's).
    source = tmp_path / "source"
    shutil.copytree(EXAMPLE, source)
    (source / ".scout-context.toml").write_text("[pack]\nmax_file_size = 10\n")
    assert "shop/cart.py" in packed(run("pack", str(source), "--json", cwd=EXAMPLE))


def test_an_engine_key_of_the_file_loses_to_the_environment_and_the_command_line(tmp_path: Path) -> None:
    (tmp_path / ".scout-context.toml").write_text('[engine]\nmodel = "/nowhere/from-file"\n')
    ask = ("ask", str(EXAMPLE), "q", "--dry-run", "--verbose")
    from_file = run(*ask, cwd=tmp_path)
    assert from_file.returncode != 0 and "/nowhere/from-file" in from_file.stderr
    assert "--model = '/nowhere/from-file' from .scout-context.toml:2" in from_file.stderr
    from_env = run(*ask, cwd=tmp_path, SCOUT_MODEL="/nowhere/from-env")
    assert "/nowhere/from-env" in from_env.stderr and "from-file" not in from_env.stderr
    assert "--model = '/nowhere/from-env' from SCOUT_MODEL" in from_env.stderr
    given = run(*ask, "--model", "/nowhere/from-cli", cwd=tmp_path, SCOUT_MODEL="/nowhere/from-env")
    assert "/nowhere/from-cli" in given.stderr and "from-env" not in given.stderr


def test_init_writes_every_key_at_the_commands_default_and_never_overwrites(tmp_path: Path) -> None:
    made = run("init", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    text = (tmp_path / ".scout-context.toml").read_text()
    assert "# Skip files larger than this many bytes.\nmax_file_size = " in text
    assert "# model =" in text and "base_url =" not in text  # no default: commented out; never from a file
    assert tomllib.loads(text) == {
        "pack": {
            "include": [],
            "exclude": [],
            "default_excludes": True,
            "redact": True,
            "compress": False,
            "max_file_size": DEFAULT_MAX_FILE_BYTES,
            "style": "xml",
        },
        "ask": {
            "max_tokens": ASK_MAX_TOKENS,
            "temperature": 0.0,
            "frequency_penalty": 0.3,
            "repetition_penalty": 1.0,
            "stop_repeats": 3,
            "layout": "auto",
        },
        "engine": {"engine": "auto", "images": 5},
    }
    # Read back, it changes nothing: the engine's settings are those without it.
    with_file = run("ask", str(EXAMPLE), "q", "--dry-run", cwd=tmp_path)
    without = run("ask", str(EXAMPLE), "q", "--dry-run", cwd=EXAMPLE)
    assert with_file.returncode == 0, with_file.stderr
    assert json.loads(with_file.stdout) == json.loads(without.stdout)

    (tmp_path / ".scout-context.toml").write_text("# mine\n")
    again = run("init", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in one_line(again)
    assert (tmp_path / ".scout-context.toml").read_text() == "# mine\n"
    assert run("init", "--force", cwd=tmp_path).returncode == 0
    assert (tmp_path / ".scout-context.toml").read_text() == text


def test_a_mistake_in_the_file_is_one_line_naming_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / ".scout-context.toml"
    for content, expected in (
        ("[pr]\ninclude = []\n\n[pack]\ncompres = true\n", ".scout-context.toml:5: [pack] unknown key 'compres'"),
        ("[ask]\ntemperature = 'hot'\n", ".scout-context.toml:2: [ask] temperature must be a number"),
        ("[engine]\nmax_model_len = 10\n", "max_model_len must be a whole number of at least 256"),
        (
            "[ask]\nstop_repeats = 1\n",
            ".scout-context.toml:2: [ask] stop_repeats must be 0 (never) or a count of at least 2, not 1",
        ),
        ("[paks]\n", ".scout-context.toml:1: unknown table [paks] (known: pack, ask, engine, pr)"),
        ('[engine]\nbase_url = "http://elsewhere"\n', "base_url is never read from a file"),
    ):
        config.write_text(content)
        proc = run("pack", str(EXAMPLE), "--json", cwd=tmp_path)
        assert proc.returncode == 2 and expected in one_line(proc), (content, proc.stderr)
        assert proc.stdout == ""
    assert run("--version", cwd=tmp_path).returncode == 0  # only the commands that use it read it


def test_the_table_in_the_git_roots_pyproject_is_read(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.scout-context.pack]\nmax_file_size = 10\n')
    below = tmp_path / "docs"
    below.mkdir()
    proc = run("pack", str(EXAMPLE), "--json", "--verbose", cwd=below)
    assert packed(proc) == []
    assert "from ../pyproject.toml:5" in proc.stderr


def test_a_former_key_still_works_with_one_warning_naming_the_new_one(tmp_path: Path) -> None:
    config = tmp_path / ".scout-context.toml"
    config.write_text("[engine]\ntimeout_s = 7\nlimit_images = 2\n")
    proc = run("ask", str(EXAMPLE), "q", "--dry-run", "--verbose", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    said = " ".join(proc.stderr.split())
    assert ".scout-context.toml:2: timeout_s is now timeout, the option's name" in said
    assert ".scout-context.toml:3: limit_images is now images, the option's name" in said
    assert "--timeout = 7.0 from .scout-context.toml:2" in said and "--images = 2 from .scout-context.toml:3" in said
    config.write_text("[engine]\nimages = 2\nlimit_images = 3\n")
    both = run("ask", str(EXAMPLE), "q", "--dry-run", cwd=tmp_path)
    assert both.returncode == 2 and "gives both limit_images and images: keep images" in one_line(both)


def test_layout_and_style_are_keys_and_each_table_configures_its_own_commands(tmp_path: Path) -> None:
    (tmp_path / ".scout-context.toml").write_text('[pack]\nstyle = "markdown"\n\n[ask]\nlayout = "stable"\n')
    packing = run("pack", str(EXAMPLE), "--verbose", cwd=tmp_path)
    assert packing.returncode == 0, packing.stderr
    assert "--style = 'markdown' from .scout-context.toml:2" in packing.stderr
    assert "--layout" not in packing.stderr  # [ask] is the questions': pack keeps its own default
    assert "<document" not in packing.stdout and "```" in packing.stdout
    asking = run("ask", str(EXAMPLE), "q", "--dry-run", "--verbose", cwd=tmp_path)
    assert "--layout = 'stable' from .scout-context.toml:5" in asking.stderr
    assert "--style = 'markdown' from .scout-context.toml:2" in asking.stderr


def test_serve_start_takes_the_engine_and_ask_tables(tmp_path: Path) -> None:
    (tmp_path / ".scout-context.toml").write_text('[ask]\nsystem = "Be terse."\n\n[engine]\nmax_model_len = 4096\n')
    proc = run("serve", "start", "--dry-run", "--verbose", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "--max-model-len 4096" in json.loads(proc.stdout)["command"]
    said = " ".join(proc.stderr.split())
    assert "--max-model-len = 4096 from .scout-context.toml:5" in said
    assert "--system = 'Be terse.' from .scout-context.toml:2" in said


def test_batch_takes_the_engine_table_under_its_job_files_own_keys(tmp_path: Path) -> None:
    (tmp_path / ".scout-context.toml").write_text('[engine]\nmodel = "/nowhere/from-file"\n')
    (tmp_path / "src").mkdir()
    jobs = tmp_path / "jobs.yaml"
    body = (
        "{engine}corpora:\n  c:\n    sources: [src]\njobs:\n  - {{name: j, corpus: c, questions: [q], output: r.md}}\n"
    )
    jobs.write_text(body.format(engine=""))
    from_file = run("batch", str(jobs), cwd=tmp_path)
    assert from_file.returncode == 7 and "no model '/nowhere/from-file'" in from_file.stderr
    jobs.write_text(body.format(engine="engine:\n  model: /nowhere/from-job\n"))
    from_job = run("batch", str(jobs), cwd=tmp_path)
    assert from_job.returncode == 7 and "no model '/nowhere/from-job'" in from_job.stderr
    jobs.write_text(body.format(engine=""))
    from_env = run("batch", str(jobs), cwd=tmp_path, SCOUT_MODEL="/nowhere/from-env")
    assert "no model '/nowhere/from-env'" in from_env.stderr  # the environment beats the file
