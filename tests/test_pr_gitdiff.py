"""Reading a pull request from git: refs, the merge base through merges, changes, hunks, blobs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers import git, write
from scout_context.errors import UsageError
from scout_context.sources import gitdiff


def commit(repo: Path, message: str, files: dict[str, str | bytes] | None = None) -> str:
    write(repo, files or {})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def branched(make_repo):
    """main and feature diverge; main is merged into feature once; main moves on after."""
    repo = make_repo(
        {"app.py": "def f():\n    return 1\n", "old.txt": "one\ntwo\nthree\n" * 20, "notes.md": "# Notes\n"}
    )
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "feature: change f", {"app.py": "def f():\n    return 2\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, "main: docs", {"notes.md": "# Notes\n\nMore.\n"})
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "--no-edit", "main")
    git(repo, "mv", "old.txt", "renamed.txt")
    commit(repo, "feature: rename, binary", {"logo.bin": b"\x00\x01\x02", "new.py": "X = 1\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, "main: later", {"later.py": "Y = 2\n"})
    return repo


def test_the_diff_is_against_the_merge_base_through_merges(branched: Path) -> None:
    base, head = gitdiff.resolve(branched, "main"), gitdiff.resolve(branched, "feature")
    merge_base = gitdiff.merge_base(branched, base, head)
    assert merge_base == gitdiff.resolve(branched, "main~1")  # main was merged into feature
    changes = {c.path: c for c in gitdiff.changes(branched, merge_base, head)}
    assert set(changes) == {"app.py", "renamed.txt", "logo.bin", "new.py"}  # not main's notes.md or later.py
    assert (changes["app.py"].status, changes["app.py"].added, changes["app.py"].deleted) == ("M", 1, 1)
    renamed = changes["renamed.txt"]
    assert (renamed.status, renamed.old_path, renamed.similarity) == ("R", "old.txt", 100)
    assert changes["logo.bin"].binary and changes["new.py"].status == "A"
    assert [c.subject for c in gitdiff.commits(branched, merge_base, head)] == [
        "feature: change f", "Merge branch 'main' into feature", "feature: rename, binary",
    ]  # fmt: skip


def test_hunks_between_blobs_and_blobs_by_id(make_repo) -> None:
    repo = make_repo({"a.py": "".join(f"line {i}\n" for i in range(1, 21))})
    old = gitdiff.tree(repo, "HEAD")[0].blob
    lines = [f"line {i}\n" for i in range(1, 21)]
    lines[4] = "changed 5\n"
    del lines[10:13]
    lines.insert(17, "added\n")
    commit(repo, "edit", {"a.py": "".join(lines)})
    new = gitdiff.tree(repo, "HEAD")[0].blob
    hunks = gitdiff.hunks(repo, old, new)
    assert [(h.old_start, h.old_count, h.new_start, h.new_count) for h in hunks] == [
        (5, 1, 5, 1),
        (11, 3, 10, 0),
        (20, 0, 18, 1),
    ]
    assert hunks[0].removed == ("line 5",) and hunks[0].added == ("changed 5",)
    assert hunks[1].deletion_only and hunks[1].removed == ("line 11", "line 12", "line 13")
    assert gitdiff.blobs(repo, [new, "0" * 40])[new] == "".join(lines).encode()
    assert gitdiff.read_file(repo, "HEAD~1", "a.py") == "".join(f"line {i}\n" for i in range(1, 21)).encode()
    assert gitdiff.read_file(repo, "HEAD", "missing.py") is None


def test_unusual_paths_are_read_as_written(make_repo) -> None:
    repo = make_repo({"ünïcode dir/file name.py": "x = 1\n", "tab\there.txt": "t\n"})
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "edit", {"ünïcode dir/file name.py": "x = 2\n", "tab\there.txt": "u\n"})
    changes = gitdiff.changes(repo, gitdiff.resolve(repo, "main"), gitdiff.resolve(repo, "feature"))
    assert sorted(c.path for c in changes) == ["tab\\there.txt", "ünïcode dir/file name.py"]


def test_unknown_refs_and_shallow_clones_are_usage_errors(branched: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown revision 'nope'"):
        gitdiff.resolve(branched, "nope")
    with pytest.raises(UsageError, match="not a git revision"):
        gitdiff.resolve(branched, "--output=/tmp/x")
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{branched}", str(shallow)], check=True
    )
    with pytest.raises(UsageError, match="fetch-depth: 0") as caught:
        gitdiff.check_repository(shallow)
    assert caught.value.exit_code == 2
    with pytest.raises(UsageError, match="not a git repository"):
        gitdiff.check_repository(tmp_path)


def test_no_hook_or_diff_driver_of_the_repository_runs(make_repo, tmp_path: Path) -> None:
    """A repository that asks for an external diff, a textconv and a hook gets none of them."""
    marker = tmp_path / "ran"
    script = tmp_path / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\necho evil\n")
    script.chmod(0o755)
    repo = make_repo({".gitattributes": "*.py diff=evil\n", "a.py": "x = 1\n"})
    git(repo, "config", "diff.evil.command", str(script))
    git(repo, "config", "diff.evil.textconv", str(script))
    git(repo, "config", "core.fsmonitor", str(script))
    hooks = repo / ".git" / "hooks"
    for hook in ("post-checkout", "reference-transaction"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (hooks / hook).chmod(0o755)
    commit(repo, "edit", {"a.py": "x = 2\n"})
    marker.unlink(missing_ok=True)  # the test's own commit ran the repository's hooks
    gitdiff.check_repository(repo)
    base, head = gitdiff.resolve(repo, "HEAD~1"), gitdiff.resolve(repo, "HEAD")
    [change] = gitdiff.changes(repo, gitdiff.merge_base(repo, base, head), head)
    assert gitdiff.hunks(repo, change.old_blob, change.new_blob)[0].added == ("x = 2",)
    gitdiff.blobs(repo, [e.blob for e in gitdiff.tree(repo, head)])
    gitdiff.commits(repo, base, head)
    gitdiff.read_file(repo, head, "a.py")
    assert not marker.exists()
