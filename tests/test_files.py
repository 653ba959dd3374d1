"""The file set: what git would track, the same rules outside git, and the skip reasons."""

from __future__ import annotations

import os
from pathlib import Path

from helpers import git, write
from scout_context.sources.files import collect, display_path

LIMIT = 1_000_000


def rels(root: Path, **kwargs) -> list[str]:
    files, _ = collect(root, max_file_bytes=LIMIT, **kwargs)
    return [f.rel for f in files]


TREE = {
    ".gitignore": "*.log\nsecret/\n",
    "app.py": "print(1)\n",
    "debug.log": "noise\n",
    "secret/key.txt": "k\n",
    "pkg/.gitignore": "generated.py\n!keep.log\n",
    "pkg/mod.py": "x = 1\n",
    "pkg/generated.py": "y = 2\n",
    "pkg/keep.log": "kept\n",
    "package-lock.json": "{}\n",
    "node_modules/dep/index.js": "x\n",
    "web/app.min.js": "x\n",
}
EXPECTED = [".gitignore", "app.py", "pkg/.gitignore", "pkg/keep.log", "pkg/mod.py"]


def test_git_work_tree_tracks_what_git_would(make_repo):
    repo = make_repo(TREE, commit=False)
    git(repo, "add", "app.py")  # tracked
    (repo / ".git" / "info" / "exclude").write_text("untracked_excluded.py\n")
    write(repo, {"untracked_excluded.py": "z\n", "new_untracked.py": "n\n"})
    assert rels(repo) == [*EXPECTED[:2], "new_untracked.py", *EXPECTED[2:]]


def test_tracked_file_matching_gitignore_is_still_packed(make_repo):
    repo = make_repo({"a.py": "1\n"})
    write(repo, {"forced.log": "x\n"})
    git(repo, "add", "-f", "forced.log")
    write(repo, {".gitignore": "*.log\n"})
    assert "forced.log" in rels(repo)


def test_outside_git_the_same_rules_apply(tmp_path):
    write(tmp_path, TREE)
    assert rels(tmp_path) == EXPECTED


def test_scoutignore_include_exclude_and_defaults(tmp_path):
    write(tmp_path, {**TREE, ".scoutignore": "pkg/mod.py\n"})
    assert rels(tmp_path) == [".gitignore", "app.py", "pkg/.gitignore", "pkg/keep.log"]
    assert rels(tmp_path, include=["*.py"]) == ["app.py"]
    assert rels(tmp_path, exclude=["pkg/"]) == [".gitignore", "app.py"]
    without_defaults = rels(tmp_path, default_excludes=False)
    assert {"package-lock.json", "node_modules/dep/index.js", "web/app.min.js"} <= set(without_defaults)


def test_scoutignore_can_reinclude_a_default_exclude(tmp_path):
    write(tmp_path, {"a.py": "1\n", "yarn.lock": "x\n", ".scoutignore": "!yarn.lock\n"})
    assert rels(tmp_path) == ["a.py", "yarn.lock"]


def test_symlinks_never_leave_the_root(tmp_path):
    root = tmp_path / "root"
    write(root, {"real.py": "1\n"})
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    os.symlink(outside, root / "out_link.txt")
    os.symlink("/etc", root / "etc_link")
    os.symlink("real.py", root / "in_link.py")
    os.symlink("loop_b", root / "loop_a")
    os.symlink("loop_a", root / "loop_b")
    os.symlink(root, root / "self_dir")
    files, skipped = collect(root, max_file_bytes=LIMIT)
    assert [f.rel for f in files] == ["in_link.py", "real.py"]
    reasons = {s.path: s.reason for s in skipped}
    assert reasons["out_link.txt"] == "symlink pointing outside the source"
    assert reasons["etc_link"] == "symlink pointing outside the source"
    assert reasons["loop_a"] == reasons["loop_b"] == "broken or looping symlink"
    assert reasons["self_dir"] == "symlink to a folder (not followed)"


def test_size_limit_fifo_and_deep_nesting(tmp_path):
    deep = "/".join(f"d{i}" for i in range(60))
    write(tmp_path, {"big.txt": "x" * 2000, "small.txt": "y\n", f"{deep}/leaf.py": "z = 1\n"})
    os.mkfifo(tmp_path / "pipe")
    files, skipped = collect(tmp_path, max_file_bytes=1000)
    assert sorted(f.rel for f in files) == sorted([f"{deep}/leaf.py", "small.txt"])
    reasons = {s.path: s.reason for s in skipped}
    assert reasons["big.txt"].startswith("too large (2,000 bytes")
    assert reasons["pipe"] == "not a regular file"


def test_odd_file_names_are_displayed_safely(tmp_path):
    weird = os.fsencode(tmp_path) + b"/bad\xffname.py"
    with open(weird, "wb") as handle:
        handle.write(b"x = 1\n")
    (tmp_path / "new\nline.py").write_text("y = 2\n")
    names = sorted(display_path(rel) for rel in rels(tmp_path))
    assert names == ["bad\\xffname.py", "new\\nline.py"]
