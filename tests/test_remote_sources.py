"""Remote repositories as sources: real git over file://, fetched once per commit, a subfolder,
bad refs and addresses as one line, and a GitHub token that git gets but nobody sees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import git, write
from scout_context.sources.git import fetching_environment
from scout_context.sources.remote import ALLOWED_PROTOCOLS, _settings, parse_remote

EXE = shutil.which("scout-context", path=os.path.dirname(sys.executable)) or "scout-context"
TOKEN = "ghp_remoteToken0123456789abcdefABCDEF01"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture
def server(tmp_path: Path) -> Path:
    """A folder serving `org/repo.git` (bare): main has app.py and sub/folder/a.txt, tagged v1."""
    work = tmp_path / "work"
    write(work, {"app.py": "print('app')\n", "sub/folder/a.txt": "in the subfolder\n"})
    git(work, "init", "-q", "-b", "main")
    git(work, "add", ".")
    git(work, "commit", "-qm", "one")
    git(work, "tag", "v1")
    srv = tmp_path / "srv"
    (srv / "org").mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(srv / "org" / "repo.git")], check=True)
    return srv


def head(srv: Path) -> str:
    return git(srv / "org" / "repo.git", "rev-parse", "main").strip()


def one_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_a_commit_is_fetched_once_and_read_from_the_cache_after(server):
    url = f"file://{server}/org/repo.git"
    first = cli("pack", url)
    assert first.returncode == 0, first.stderr
    assert f'<directory_tree source="org/repo@{head(server)[:7]}" files="2">' in first.stdout
    assert "fetching" in first.stderr
    clones = list((Path(os.environ["SCOUT_CACHE_DIR"]) / "repos").glob("*/*"))
    assert [c.name for c in clones] == [head(server)]
    assert subprocess.run(["git", "-C", str(clones[0]), "rev-parse", "--is-shallow-repository"], capture_output=True, text=True).stdout == "true\n"  # fmt: skip
    # The server keeps its refs but loses every object: a second run that fetched anything would fail.
    shutil.rmtree(server / "org" / "repo.git" / "objects")
    (server / "org" / "repo.git" / "objects").mkdir()
    again = cli("pack", url)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout and "from the cache" in again.stderr


def test_tree_ref_sub_picks_a_subfolder_and_gh_names_a_ref(server):
    env = {"GITHUB_SERVER_URL": f"file://{server}"}
    proc = cli("pack", f"file://{server}/org/repo/tree/v1/sub/folder", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["files"] == ["a.txt"] and report["sources"][0]["label"] == f"org/repo@{head(server)[:7]}/sub/folder"
    short = cli("pack", "gh:org/repo@v1", "--json", env=env)
    assert json.loads(short.stdout)["files"] == ["app.py", "sub/folder/a.txt"]


def test_bad_refs_folders_and_addresses_are_one_line(server, tmp_path):
    env = {"GITHUB_SERVER_URL": f"file://{server}"}
    assert "no branch or tag nope" in one_line(cli("pack", f"file://{server}/org/repo.git#nope"))
    missing = cli("--quiet", "pack", f"file://{server}/org/repo/tree/main/nowhere", env=env)  # no "fetching" note
    assert "no folder nowhere" in one_line(missing)
    assert "a subfolder with . or .." in one_line(cli("pack", f"file://{server}/org/repo/tree/main/../..", env=env))
    for address in ("http://example.com/org/repo", "ext::sh -c touch% x", "ftp://example.com/repo.git", "gh:org"):
        assert "not a supported repository address" in one_line(cli("pack", address, env=env)), address
    assert not (tmp_path / "x").exists()
    # A bare repository whose HEAD names a branch it lacks (a push of `main` to a `master` HEAD).
    git(server / "org" / "repo.git", "symbolic-ref", "HEAD", "refs/heads/master")
    assert "has no default branch: name a ref (URL#REF" in one_line(cli("pack", f"file://{server}/org/repo.git"))


def test_the_token_reaches_git_for_github_only_and_is_never_stored_or_shown(server, tmp_path, monkeypatch):
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_SERVER_URL": "https://127.0.0.1:9"}  # nothing listens: a clean failure
    failed = cli("pack", "gh:org/private", env=env)
    assert "cannot fetch https://127.0.0.1:9/org/private.git" in one_line(failed) and TOKEN not in failed.stderr
    ok = cli("pack", f"file://{server}/org/repo.git", "--json", env=env)
    assert ok.returncode == 0 and TOKEN not in ok.stdout + ok.stderr
    (clone,) = (Path(os.environ["SCOUT_CACHE_DIR"]) / "repos").glob("*/*")
    stored = b"".join(p.read_bytes() for p in (clone / ".git").rglob("*") if p.is_file())
    assert TOKEN.encode() not in stored and b"Authorization" not in stored
    # git itself is given the header for GitHub's host, and for no other
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    git_env = fetching_environment(tmp_path, ALLOWED_PROTOCOLS, _settings(parse_remote("gh:org/private").url))
    seen = {
        url: subprocess.run(
            ["git", "-C", str(tmp_path), "config", "--get-urlmatch", "http.extraHeader", url],
            capture_output=True,
            text=True,
            env=git_env,
        ).stdout
        for url in ("https://127.0.0.1:9/org/private.git", "https://example.com/org/repo.git")
    }
    assert seen["https://127.0.0.1:9/org/private.git"].startswith("Authorization: Basic ")
    assert seen["https://example.com/org/repo.git"] == ""
