"""Sources from stdin, through real pipes: a list of files (`--stdin`, `-0`) and `-` (one document)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from fake_vllm import KEY
from helpers import git, write

EXE = shutil.which("scout-context", path=os.path.dirname(sys.executable)) or "scout-context"
SECRET = "sk-live-abcdef0123456789abcdef01234567"


def piped(*args: str, stdin: bytes, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [EXE, *args], input=stdin, capture_output=True, cwd=cwd, timeout=300, env={**os.environ, **(env or {})}
    )


def one_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.decode().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr.decode(), proc.stderr
    return lines[0]


def test_git_ls_files_through_stdin_packs_what_the_folder_packs(tmp_path):
    repo = tmp_path / "shop"
    write(repo, {"README.md": "# shop\n", "shop/cart.py": "def total(x):\n    return x\n", "notes.txt": "hi\n"})
    git(repo, "init", "-q")
    git(repo, "add", ".")
    listed = subprocess.run(["git", "-C", str(repo), "ls-files"], capture_output=True, check=True).stdout
    through_stdin = piped("pack", "--stdin", stdin=listed, cwd=repo)
    assert through_stdin.returncode == 0, through_stdin.stderr
    assert through_stdin.stdout == piped("pack", ".", stdin=b"", cwd=repo).stdout
    assert b'<directory_tree source="shop" files="3">' in through_stdin.stdout


def test_a_list_picks_only_its_files_and_nul_separation_keeps_odd_names(tmp_path):
    write(tmp_path, {"a.py": "A = 1\n", "b.py": "B = 2\n", "odd\nname.py": "C = 3\n", "sub/d.py": "D = 4\n"})
    proc = piped("pack", "--stdin", "-0", "--json", stdin=b"./a.py\0odd\nname.py\0sub\0sub/d.py\0", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["files"] == ["a.py", "odd\\nname.py", "sub/d.py"] and report["skipped"] == []
    by_line = piped("pack", "--stdin", "--json", stdin=b"b.py\r\n\nsub/d.py\n", cwd=tmp_path)
    assert json.loads(by_line.stdout)["files"] == ["b.py", "sub/d.py"]


def test_listed_paths_pass_the_same_checks_as_a_folders_files(tmp_path):
    outside = tmp_path / "outside"
    write(outside, {"secret.txt": "top secret\n", "dir/x.txt": "elsewhere\n"})
    work = tmp_path / "work"
    write(work, {"ok.py": f'API_KEY = "{SECRET}"\n', "blob.bin": b"\x00\x01" * 100, "package-lock.json": "{}\n"})
    (work / "link.txt").symlink_to(outside / "secret.txt")
    (work / "out").symlink_to(outside / "dir")
    git(work, "init", "-q")
    listing = [
        "ok.py", "blob.bin", "link.txt", "out/x.txt", "../outside/secret.txt", str(outside / "secret.txt"),
        ".git/config", "missing.py", "package-lock.json",
    ]  # fmt: skip
    proc = piped("pack", "--stdin", "--json", stdin="\n".join(listing).encode(), cwd=work)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["files"] == ["ok.py"]
    assert [r["kind"] for r in report["redacted"]] and SECRET.encode() not in proc.stdout
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert reasons == {
        "blob.bin": "binary (NUL bytes)",
        "link.txt": "symlink pointing outside the source",
        "out/x.txt": "path leaves the source through a symlink",
        "../outside/secret.txt": "outside the current folder",
        str(outside / "secret.txt"): "outside the current folder",
        ".git/config": "inside the git directory",
        "missing.py": "missing from the work tree",
    }  # package-lock.json: a default exclude, as in a folder
    assert b"top secret" not in proc.stdout and b"elsewhere" not in proc.stdout


def test_dash_reads_one_document_from_stdin(tmp_path):
    proc = piped("pack", "-", stdin=f"notes from a pipe\ntoken = {SECRET}\n".encode(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert b'<document path="stdin" id="stdin:1-2">\nnotes from a pipe\n' in proc.stdout
    assert SECRET.encode() not in proc.stdout and b"[REDACTED:" in proc.stdout
    write(tmp_path, {"a.py": "A = 1\n"})
    both = piped("pack", "-", "a.py", "--json", stdin=b"\x00\x01binary", cwd=tmp_path)
    report = json.loads(both.stdout)
    assert report["files"] == ["a.py"] and report["skipped"] == [{"path": "stdin", "reason": "binary (NUL bytes)"}]


def test_stdin_is_read_once_and_a_command_needs_sources(tmp_path):
    assert "stdin can be read once" in one_line(piped("pack", "-", "--stdin", stdin=b"", cwd=tmp_path))
    assert "no sources" in one_line(piped("pack", stdin=b"", cwd=tmp_path))
    assert "goes with --stdin" in one_line(piped("pack", ".", "-0", stdin=b"", cwd=tmp_path))
    for args in (["pack", "-", "--stdin"], ["pack"], ["pack", ".", "-0"]):
        assert piped(*args, stdin=b"", cwd=tmp_path).returncode == 2


def test_ask_takes_a_list_on_stdin(tmp_path, vllm_server):
    write(tmp_path, {"wanted.py": "LIMIT = 100\n", "unwanted.py": "OTHER = 7\n"})
    env = {"SCOUT_BASE_URL": f"http://127.0.0.1:{vllm_server.server_port}/v1", "SCOUT_API_KEY": KEY}
    vllm_server.requests.clear()
    proc = piped(
        "ask", "--stdin", "What is LIMIT?", "--engine", "openai", "--model", "smol", "--json",
        stdin=b"wanted.py\n", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"] == ["wanted.py"]
    prompt = json.dumps([body for path, body in vllm_server.requests if path.endswith("/completions")])
    assert "LIMIT = 100" in prompt and "OTHER = 7" not in prompt
