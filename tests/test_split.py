"""`pack --split-output N`: parts on file borders, each with its own tree and within N
tokens (counted on the written files), written through `write_output`; a file too big for
a part alone is refused before anything is written."""

from __future__ import annotations

import json
import os
import re

import pytest

from helpers import write
from scout_context.tokens import scout_tokenizer
from test_cli import EXAMPLE, cli, one_line_error

IDS = re.compile(r'<document path="[^"]*" id="([^"]*)">')


@pytest.mark.parametrize("style", ["xml", "markdown"])
def test_parts_hold_whole_files_with_their_own_tree_within_the_limit(tmp_path, style):
    whole = cli("pack", str(EXAMPLE), "--style", style).stdout
    out = tmp_path / "out" / "shop.txt"
    proc = cli("pack", str(EXAMPLE), "--split-output", "400", "-o", str(out), "--style", style, "--json")
    assert proc.returncode == 0, proc.stderr
    parts = sorted(out.parent.iterdir())
    assert [p.name for p in parts] == [f"shop.{n}.txt" for n in range(1, len(parts) + 1)] and len(parts) >= 3
    assert not out.exists()
    reported = json.loads(proc.stdout)["parts"]
    seen: list[str] = []
    for part, summary in zip(parts, reported, strict=True):
        text = part.read_text(encoding="utf-8")
        assert scout_tokenizer().count(text) == summary["tokens"] <= 400
        assert text.startswith("<directory_tree" if style == "xml" else "# Directory tree")
        if style == "xml":
            ids = IDS.findall(text)
            tree_files = int(re.search(r'files="(\d+)"', text)[1])
            assert tree_files == len({i.split(":")[0] for i in ids})  # the tree lists this part's files only
            seen += ids
    if style == "xml":
        assert seen == IDS.findall(whole)  # every chunk once, in the pack's order


def test_a_file_too_big_for_a_part_alone_is_refused_and_nothing_is_written(tmp_path):
    out = tmp_path / "shop.txt"
    proc = cli("pack", str(EXAMPLE), "--split-output", "200", "-o", str(out))
    assert proc.returncode == 4
    assert re.search(
        r"shop/\w+\.py takes [\d,]+ tokens in a part of its own, over --split-output 200", one_line_error(proc)
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [("--split-output", "500"), ("--split-output", "900", "-o", "x.txt", "-q", "fee")])
def test_split_needs_a_name_and_no_question(tmp_path, args):
    proc = cli("pack", str(EXAMPLE), *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert "--split-output" in one_line_error(proc)
    assert list(tmp_path.iterdir()) == []


def test_parts_go_through_links_and_are_never_packed_again(tmp_path):
    source = tmp_path / "repo"
    write(source, {"a.py": "def a():\n    return 1\n" * 40, "b.py": "def b():\n    return 2\n" * 40})
    target = tmp_path / "kept.txt"
    target.write_text("old\n", encoding="utf-8")
    (source / "pack.1.txt").symlink_to(target)
    first = cli("pack", str(source), "--split-output", "400", "-o", str(source / "pack.txt"))
    assert first.returncode == 0, first.stderr
    assert (source / "pack.1.txt").is_symlink() and target.read_text(encoding="utf-8").startswith("<directory_tree")
    again = cli("pack", str(source), "--split-output", "400", "-o", str(source / "pack.txt"))
    assert again.returncode == 0, again.stderr
    texts = [(source / f"pack.{n}.txt").read_text(encoding="utf-8") for n in (1, 2)]
    assert not any("pack.1.txt" in text or "pack.2.txt" in text for text in texts)
    assert os.readlink(source / "pack.1.txt") == str(target)
