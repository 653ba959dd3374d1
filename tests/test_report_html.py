"""The batch HTML report: answers rendered from Markdown with a stranger's markup shown, not
obeyed; a chart whose small bars stay visible beside 180K-token prompts; exact cached
shares; failed questions labelled; and the page in a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scout_context.tasks.batch import Answered, JobReport
from scout_context.tasks.jobs import Job, Question
from scout_context.tasks.report_html import html
from scout_context.tasks.report_marker import is_report
from scout_context.tasks.report_text import cached_percent

ROOT = Path(__file__).resolve().parent.parent
MODULES = Path(os.environ.get("SCOUT_BROWSER_MODULES", ROOT / "bench" / ".work" / "browser" / "node_modules"))
HOSTILE = (
    "The total is **computed** in `cart.py`.\n\n"
    '<script>window.__injected = true; alert("x")</script>\n\n'
    '<img src=x onerror="window.__injected = true">\n\n'
    "[click](javascript:window.__injected=true) and ![pixel](https://tracker.example/p.png)\n\n"
    "- one\n- two\n"
)


def report(tmp_path: Path) -> JobReport:
    questions = [
        Answered("Where is the total computed?", "Where is the total computed?", "done", HOSTILE,
                 prompt_tokens=181_350, cached_tokens=180_992, completion_tokens=412, seconds=3.2),
        Answered("What does the cart do with tax?", "What does the cart do with tax?", "failed",
                 error="the engine at the server failed: 500", exit_code=3),
        Answered("Is there a shipping threshold?", "Is there a shipping threshold?", "cached", "Yes: `100`.",
                 prompt_tokens=181_200, cached_tokens=181_200, completion_tokens=9, seconds=1.0),
    ]  # fmt: skip
    job = Job("shop", "The shop", "shop", tuple(Question(q.title, q.question) for q in questions),
              tmp_path / "shop.html", "html")  # fmt: skip
    return JobReport(job, "llama-4-scout", 180_000, 180_900, questions)


def test_cached_shares_are_exact_and_never_round_to_all_or_none() -> None:
    assert cached_percent(180_992, 181_350) == "99.8%"
    assert cached_percent(181_349, 181_350) == "99.9%" and cached_percent(181_350, 181_350) == "100%"
    assert cached_percent(1, 181_350) == "0.1%" and cached_percent(0, 181_350) == "0%" and cached_percent(0, 0) == "0%"


def test_an_answers_markup_is_shown_not_obeyed(tmp_path: Path) -> None:
    page = html(report(tmp_path))
    assert "<strong>computed</strong>" in page and "<code>cart.py</code>" in page and "<li>one</li>" in page
    assert "<script" not in page and "<img" not in page and re.search(r"<[^>]*onerror", page) is None
    assert "&lt;script&gt;window.__injected" in page and "&lt;img src=x onerror=" in page
    assert (
        'href="javascript:' not in page and '<a href="https://tracker.example/p.png">pixel</a>' in page
    )  # a link, no fetch
    assert "default-src 'none'" in page  # and a policy that forbids scripts and fetches besides


def test_the_page_is_labelled_sized_for_phones_and_still_a_report(tmp_path: Path) -> None:
    path = tmp_path / "shop.html"
    path.write_text(page := html(report(tmp_path)))
    assert is_report(path) and '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "181,350 prompt tokens (180,992, 99.8%, from the prefix cache)" in page and "99.8% cached" in page
    assert ">100%" not in page.split("Is there")[0]  # the first question is not rounded up
    assert "✗ failed: no answer" in page and "2. What does the cart do with tax? <span class=failed>(failed)" in page


def test_small_bars_stay_visible_beside_a_180k_prompt(tmp_path: Path) -> None:
    page = html(report(tmp_path))
    bars = re.findall(r'class="bar (\w+)" x="[\d.]+" y="\d+" width="([\d.]+)"', page)[:3]  # the first question's
    widths = {kind: float(width) for kind, width in bars}
    assert widths["cached"] > 300 and widths["computed"] > 150 and widths["answer"] > 150  # of a 420-pixel plot
    assert "358 computed" in page and "412 answer" in page


def _browse(page: Path, shot: Path, width: int) -> dict:
    proc = subprocess.run(
        ["node", str(ROOT / "tests" / "browser" / "check_page.js"), str(page), str(shot), str(width)],
        env={**os.environ, "NODE_PATH": str(MODULES)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.skipif(
    shutil.which("node") is None or not (MODULES / "@sparticuz" / "chromium").is_dir(),
    reason=f"needs node and `npm install @sparticuz/chromium@153.0.0 puppeteer-core --prefix {MODULES.parent}`",
)
def test_the_page_in_a_real_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "shop.html"
    page.write_text(html(report(tmp_path)))
    shots = Path(os.environ.get("SCOUT_SCREENSHOTS", tmp_path))
    desktop = _browse(page, shots / "report-desktop.png", 1000)
    assert desktop["console"] == [] and desktop["errors"] == [] and desktop["requests"] == []
    layout = desktop["layout"]
    assert layout["version"].startswith("HeadlessChrome/") and not layout["injected"]
    assert layout["scripts"] == 0 and layout["images"] == 0 and layout["failed_labels"] >= 2
    assert {bar["kind"] for bar in layout["bars"]} == {"bar cached", "bar computed", "bar answer"}
    assert min(bar["width"] for bar in layout["bars"]) > 40 and min(bar["height"] for bar in layout["bars"]) >= 10
    phone = _browse(page, shots / "report-phone.png", 390)["layout"]
    assert phone["viewport"] == 390 and phone["page_width"] <= 390 and phone["chart_width"] <= 390
