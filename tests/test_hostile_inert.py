"""Hostile data stays data: source text is never a format string, nothing from a source or a
model reaches a terminal or a CI log as control sequences, markup or workflow commands, a
pull request comment loads no external image, citations hold only for the lines they name,
and an empty PDF is skipped with a reason."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from pypdf import PdfWriter

from fake_vllm import KEY, SCOUT, FakeVllm
from helpers import git, serving, write
from scout_context.pack.options import PackOptions
from scout_context.pack.pipeline import pack
from scout_context.store import Store
from scout_context.tasks.citations import check_citations
from scout_context_cli.console import InertStream, inert
from test_cli import EXAMPLE, EXE
from test_pdf import make_pdf, rewrite, text_page
from test_pr_cli import actions_env, run

SECRET = "gh" + "p_" + "Zq3vT8wLk2RmN5xYb7CdE9fGh1JkL4mNp6Qr"  # a GitHub token's shape
FIXTURES = Path(__file__).parent / "fixtures" / "chat"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\x9d", "\u202e", "\x08")


def env(**extra: str) -> dict[str, str]:
    """The test's environment without anything that would make rich colour its output."""
    base = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "CLICOLOR_FORCE")}
    return {**base, "NO_COLOR": "1", **extra}


def cli(*args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=300, env=env(**extra))


def chatgpt_export(*titles: str) -> str:
    """A real ChatGPT conversations.json: the fixture's first conversation once per title,
    each with a credential in its first user message."""
    template = json.loads((FIXTURES / "chatgpt" / "conversations.json").read_text(encoding="utf-8"))[0]
    conversations = []
    for i, title in enumerate(titles):
        conversation = json.loads(json.dumps(template))
        conversation["title"] = title
        conversation["create_time"] += i * 86_400
        conversation["mapping"]["u1"]["message"]["content"]["parts"] = [f"deploy with {SECRET} please"]
        conversations.append(conversation)
    return json.dumps(conversations)


def no_raw_controls(text: str) -> None:
    for control in RAW_CONTROLS:
        assert control not in text, f"raw {control!r} in {text!r}"


# --- item 5: data is never a format string ---------------------------------------------------


def test_chat_titles_with_braces_are_not_format_strings(tmp_path: Path) -> None:
    write(tmp_path, {"conversations.json": chatgpt_export("Fix {config} parsing", "{0.__class__}", "{}{}{")})
    proc = cli("pack", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    where = [r["where"] for r in report["redacted"]]
    assert len(where) == 3 and all(r["kind"] == "github-token" for r in report["redacted"])
    assert any("chatgpt:Fix {config} parsing@" in w for w in where)
    assert any("chatgpt:{0.__class__}@" in w for w in where)
    assert any("chatgpt:{}{}{@" in w for w in where)
    assert "<class" not in proc.stdout + proc.stderr


def test_pdf_page_label_with_braces_is_not_a_format_string(tmp_path: Path) -> None:
    def label(writer: PdfWriter) -> None:
        writer.set_page_label(0, 0, prefix="{x}")
        writer.set_page_label(1, 1, prefix="{0.__class__}")

    pdf = rewrite(make_pdf(text_page(f"token {SECRET}"), text_page(f"again {SECRET}")), label)
    write(tmp_path, {"doc.pdf": pdf})
    proc = cli("pack", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["redacted"] == [
        {"where": "doc.pdf#p{x}", "kind": "github-token"},
        {"where": "doc.pdf#p{0.__class__}", "kind": "github-token"},
    ]
    assert "doc.pdf#p{x}" in proc.stderr  # the summary shows the literal braces too


# --- item 6: terminal output is inert --------------------------------------------------------


def test_pack_summary_shows_hostile_names_and_titles_escaped(tmp_path: Path) -> None:
    source = tmp_path / "src"
    write(source, {
        "evil\x1b]0;pwned\x07.py": f"TOKEN = '{SECRET}'\n",
        "[bold]x.py": "A = 1\n",
        "[link=mailto:a@b]y.py": "B = 2\n",
        ":smile: \u202egnp.py": "C = 3\n",
        "conversations.json": chatgpt_export("Red \x1b[31mALERT\x1b]8;;https://evil.example\x07 \x9b2J\u202e"),
    })  # fmt: skip
    proc = cli("pack", str(source), "-o", str(tmp_path / "out.txt"), COLUMNS="200")
    assert proc.returncode == 0, proc.stderr
    no_raw_controls(proc.stderr)
    assert "evil\\x1b]0;pwned\\x07.py" in proc.stderr
    assert "Red \\x1b[31mALERT\\x1b]8;;https://evil.example\\x07 \\x9b2J\\u202e" in proc.stderr
    assert "[bold]x.py" in proc.stderr and "[link=mailto:a@b]y.py" in proc.stderr
    assert ":smile:" in proc.stderr and "😄" not in proc.stderr


FAKE_ANSWER = [
    "Hi \x1b]0;pwned\x07 there\x08\x08\x08\x08\x08 and\r overwritten\n",
    "::set-output name=x::1\n  ::add-mask::secret\n\n:",
    ":warning::split across pieces\n",
    "##[set-output name=y;]2 and \x9b2J \u202eevil\tcolumn\n",
]


def ask(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    with serving(FakeVllm, pieces=FAKE_ANSWER) as server:
        return cli(
            "ask", str(EXAMPLE), "What is the tax rate?", "--engine", "openai", "--model", SCOUT,
            "--base-url", f"http://127.0.0.1:{server.server_port}/v1", *extra, SCOUT_API_KEY=KEY,
        )  # fmt: skip


def test_streamed_answer_escapes_controls_and_workflow_commands(tmp_path: Path) -> None:
    proc = ask(tmp_path)
    assert proc.returncode == 0, proc.stderr
    no_raw_controls(proc.stdout)
    assert "\r" not in proc.stdout
    assert "Hi \\x1b]0;pwned\\x07 there\\x08" in proc.stdout and "\\x9b2J \\u202eevil\tcolumn\n" in proc.stdout
    for line in proc.stdout.split("\n"):
        assert not line.lstrip().startswith("::"), line
    assert "##[" not in proc.stdout
    assert "\\::set-output name=x::1\n  \\::add-mask::secret\n\n\\::warning::split across pieces\n" in proc.stdout
    no_raw_controls(proc.stderr)


def test_json_answer_is_exact_and_has_no_raw_controls(tmp_path: Path) -> None:
    proc = ask(tmp_path, "--json")
    assert proc.returncode == 0, proc.stderr
    no_raw_controls(proc.stdout)
    assert "##[" not in proc.stdout
    assert json.loads(proc.stdout)["answer"] == "".join(FAKE_ANSWER)  # escaped, not changed


def test_logs_table_shows_answers_escaped(tmp_path: Path) -> None:
    assert ask(tmp_path).returncode == 0
    proc = cli("logs", COLUMNS="300")
    assert proc.returncode == 0, proc.stderr
    no_raw_controls(proc.stdout)  # the table is the command's result
    assert "Hi \\x1b]0;pwned\\x07" in proc.stdout


PR_ANSWER = (
    " Adds a setting.\n::set-output name=approved::true\n  ::error::forged\n![](http://x/y.png) and "
    '<img src="http://x/t.png"> and <IMG\nsrc=http://x/u.png> and ![logo][1] and ![shortcut]\n\n'
    "[1]: http://x/z.png\n[shortcut]: http://x/s.png\n"
    "FILES:\n- shop/cart.py: uses THRESHOLD ![x](http://x/row.png)\nRISK:\n- ##[add-mask]v \x1b]0;t\x07 [shop/cart.py:4]\n"
    "TESTS: none.\nEFFORT: 2\n"
)


def test_pr_log_has_no_workflow_commands_and_comment_no_external_images(pr_repo: Path, tmp_path: Path) -> None:
    git(pr_repo, "checkout", "-q", "feature")
    write(pr_repo, {"docs/a`` ![p](http:\\x\\path.png) ``b.md": "note\n"})  # a path cannot add Markdown either
    git(pr_repo, "add", "-A")
    git(pr_repo, "commit", "-qm", "docs")
    git(pr_repo, "checkout", "-q", "main")
    with serving(FakeVllm, pieces=[PR_ANSWER]) as server:
        proc = run("--engine", "openai", env=env(**actions_env(tmp_path, pr_repo, server)), cwd=pr_repo)
    assert proc.returncode == 0, proc.stderr
    for stream in (proc.stdout, proc.stderr):
        no_raw_controls(stream)
        assert "##[" not in stream
        for line in stream.split("\n"):
            assert not line.lstrip().startswith("::") or line.startswith("::warning title=scout-context pr::"), line
    assert "\\::set-output name=approved::true" in proc.stdout
    summary = (tmp_path / "step-summary.md").read_text(encoding="utf-8")
    html = MarkdownIt("commonmark", {"html": True}).render(summary)
    assert "<img" not in html.lower() and "Adds a setting." in html
    assert 'href="http://x/y.png"' in html and 'href="http://x/z.png"' in html  # shown as links
    assert "http://x/t.png" in html and "http://x/row.png" in html  # visible as text, not loaded
    assert "path.png" in html  # the hostile path is listed, as code


# --- item 18: citations are checked exactly --------------------------------------------------


@pytest.fixture(scope="module")
def shop_chunks() -> list:
    store = Store()
    try:
        return pack([EXAMPLE], PackOptions(), store=store).chunks
    finally:
        store.close()


def checked(answer: str, chunks: list) -> list[tuple[str, bool, str]]:
    return [(c.id, c.valid, c.reason) for c in check_citations(answer, chunks)]


def test_ranges_outside_the_file_or_reversed_are_invalid(shop_chunks: list) -> None:
    assert "shop/config.py:1-6" in {c.id for c in shop_chunks}
    results = checked(
        "[shop/config.py:1-99999] [shop/config.py:6-1] [shop/config.py:0-2] [shop/config.py:7] [shop/config.py:2-5]",
        shop_chunks,
    )
    assert [(cited, valid) for cited, valid, _ in results] == [
        ("shop/config.py:1-99999", False), ("shop/config.py:6-1", False), ("shop/config.py:0-2", False),
        ("shop/config.py:7", False), ("shop/config.py:2-5", True),
    ]  # fmt: skip
    assert all(reason for _, valid, reason in results if not valid)


def test_a_quote_must_be_on_the_cited_lines(shop_chunks: list) -> None:
    answer = (
        '[shop/config.py:5 "FREE_SHIPPING_THRESHOLD = 50.0"] [shop/config.py:3 "FREE_SHIPPING_THRESHOLD = 50.0"] '
        '[shop/config.py:4-5 "0.2 FREE_SHIPPING"] [shop/config.py:3-4 "FREE_SHIPPING"] '
        '[shop/config.py:1-6 "SHIPPING_FEE = 4.95"] [shop/config.py "TAX_RATE = 0.2"] [shop/config.py:1-2 "TAX_RATE"]'
    )
    results = check_citations(answer, shop_chunks)
    assert [(c.id, c.valid) for c in results] == [
        ("shop/config.py:5", True), ("shop/config.py:3", False), ("shop/config.py:4-5", True),
        ("shop/config.py:3-4", False), ("shop/config.py:1-6", True), ("shop/config.py", True),
        ("shop/config.py:1-2", False),
    ]  # fmt: skip
    assert results[1].reason == "quote not found on the cited lines"
    assert results[2].source == "shop/config.py:1-6"


def test_a_range_over_adjacent_chunks_holds_and_a_quote_may_cross_their_border(tmp_path: Path) -> None:
    body = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(1, 9))
    write(tmp_path, {"many.py": body})
    store = Store()
    try:
        chunks = pack([tmp_path], PackOptions(chunk_chars=60), store=store).chunks
    finally:
        store.close()
    spans = sorted((c.start_line, c.end_line) for c in chunks)
    assert len(spans) > 2 and all(b[0] == a[1] + 1 for a, b in itertools.pairwise(spans))
    lines = body.split("\n")
    border, last = spans[0][1], spans[-1][1]
    before = max(n for n in range(1, border + 1) if lines[n - 1].strip())
    after = min(n for n in range(border + 1, last + 1) if lines[n - 1].strip())
    quote = f"{lines[before - 1].strip()} {lines[after - 1].strip()}"
    answer = (
        f'[many.py:1-{last}] [many.py:{before}-{after} "{quote}"] [many.py:{before} "{quote}"] [many.py:1-{last + 1}]'
    )
    assert [c.valid for c in check_citations(answer, chunks)] == [True, True, False, False]


def test_pages_and_chats_have_no_line_ranges(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"doc.pdf": make_pdf(text_page("alpha"), text_page("beta")), "conversations.json": chatgpt_export("Trip")},
    )
    store = Store()
    try:
        chunks = pack([tmp_path], PackOptions(), store=store).chunks
    finally:
        store.close()
    assert {"doc.pdf#p1", "doc.pdf#p2"} <= {c.id for c in chunks}
    assert [(c.id, c.valid) for c in check_citations('[doc.pdf:1-2] [doc.pdf#p2 "beta"] [doc.pdf:2 "beta"]', chunks)] == [
        ("doc.pdf:1-2", False), ("doc.pdf#p2", True), ("doc.pdf:2", False),
    ]  # fmt: skip


# --- item 19: empty PDFs ---------------------------------------------------------------------


def test_empty_and_near_empty_pdfs_are_skipped_with_a_reason(tmp_path: Path) -> None:
    source = tmp_path / "src"
    write(source, {
        "pkg/__init__.py": "", "empty.pdf": b"", "one.pdf": b"%", "blank.pdf": b"  \n\t \n", "app.py": "A = 1\n",
        "notes.txt": "",
    })  # fmt: skip
    write(tmp_path / "earlier", {"__init__.py": ""})  # an empty file the cache has seen before
    assert cli("pack", str(tmp_path / "earlier"), "--json").returncode == 0
    for attempt in range(2):  # the second run answers from the cache: the same
        proc = cli("pack", str(source), "--json", "-o", str(tmp_path / "out.txt"))
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        skipped = {s["path"]: s["reason"] for s in report["skipped"]}
        assert skipped["empty.pdf"] == "PDF: empty file", attempt
        assert not {"empty.pdf", "one.pdf", "blank.pdf"} & set(report["files"])
        assert {"pkg/__init__.py", "notes.txt", "app.py"} <= set(report["files"]), skipped  # empty, but not PDFs
        assert skipped["blank.pdf"] == "PDF: empty file (whitespace only)", attempt
        assert skipped["one.pdf"].startswith("PDF: not a PDF"), attempt
        assert ".pdf" not in (tmp_path / "out.txt").read_text(encoding="utf-8")


def test_a_stream_cut_anywhere_reads_as_the_whole_text() -> None:
    text = "".join(FAKE_ANSWER) + "x ##\n#[no] :\n \t::a\n#"
    whole = inert(text, lines=True)
    for cuts in [(i,) for i in range(len(text))] + [tuple(range(0, len(text), 1)), tuple(range(0, len(text), 3))]:
        written: list[str] = []
        stream = InertStream(written.append)
        for start, end in zip((0, *cuts), (*cuts, len(text)), strict=False):
            stream.write(text[start:end])
        stream.close()
        assert "".join(written) == whole, cuts


def test_a_stream_knows_whether_its_last_line_is_ended() -> None:
    # `ask` ends an answer's line only where the answer did not: no blank line after it
    for text, ended in (("", True), ("answer", False), ("answer\n", True), ("a\n::", False), ("a ##", False)):
        stream = InertStream(lambda _: None)
        stream.write(text)
        stream.close()
        assert stream.at_line_start is ended, text
