"""A batch job's report as one self-contained HTML page.

It needs nothing from the network and runs nothing: style and chart (`report_chart`) are
inline, and a Content-Security-Policy forbids scripts and every fetch. The answers, which
the model wrote from sources strangers wrote, are rendered from Markdown by markdown-it-py
with raw HTML off (a `<script>` or `<img onerror>` in an answer shows as text) and images
off (a remote image would be a request the reader did not make); links markdown-it refuses
(`javascript:`, `data:`) stay text. Failed questions are labelled in words, not by colour.
"""

from __future__ import annotations

from html import escape

from markdown_it import MarkdownIt

from .batch import Answered, JobReport
from .citations import Citation
from .report_chart import FAILED_COLOUR, chart
from .report_marker import HTML_META
from .report_text import guard_line, marked, one_line, overview, usage

_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"]).disable("image")
_HEAD = (
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
)
_STYLE = f"""
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
h1 {{ font-size: 1.6rem; }} h2 {{ font-size: 1.2rem; margin-top: 2.2rem; border-top: 1px solid #ddd; padding-top: 1rem; }}
.question {{ color: #555; border-left: 3px solid #ccc; padding-left: .8rem; white-space: pre-wrap; }}
.answer {{ overflow-wrap: anywhere; }} .answer pre {{ overflow-x: auto; background: #f6f6f6; padding: .6rem; }}
.answer table {{ border-collapse: collapse; }} .answer td, .answer th {{ border: 1px solid #ccc; padding: .2rem .5rem; }}
.usage, .overview, .scale {{ color: #555; font-size: .9rem; }}
.failed {{ color: {FAILED_COLOUR}; font-weight: bold; }} .ok {{ color: #009E73; }} .bad {{ color: {FAILED_COLOUR}; }}
code {{ background: #f3f3f3; padding: 0 .25rem; border-radius: 3px; }}
svg.chart {{ max-width: 100%; height: auto; }}
svg text {{ font: 12px system-ui, sans-serif; fill: #222; }} svg text.note, svg text.value {{ fill: #444; font-size: 11px; }}
svg text.failed {{ fill: {FAILED_COLOUR}; font-weight: bold; }}
"""


def answer_html(text: str) -> str:
    """An answer's Markdown as HTML, with the stranger's markup shown, never obeyed."""
    return _MARKDOWN.render(text)


def html(report: JobReport) -> str:
    title = escape(report.job.title)
    toc = "".join(
        f'<li><a href="#q{i}">{escape(one_line(q.title))}</a>'
        f"{f' <span class=failed>{marked(q).strip()}</span>' if marked(q) else ''}</li>"
        for i, q in enumerate(report.questions, 1)
    )
    sections = "".join(_section(i, q) for i, q in enumerate(report.questions, 1))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{HTML_META}{_HEAD}<title>{title}</title>'
        f"<style>{_STYLE}</style></head><body>\n<h1>{title}</h1>\n"
        f"<p class=overview>{escape(overview(report))}.</p>\n"
        f"<h2>Tokens per question</h2>\n{chart(report.questions)}\n"
        "<p class=scale>Logarithmic scale: each grid line is ten times the one before, so a few hundred "
        "computed or answer tokens stay visible beside a prompt of 180,000 cached ones.</p>\n"
        f"<h2>Contents</h2>\n<ol>{toc}</ol>\n{sections}</body></html>\n"
    )


def _section(i: int, q: Answered) -> str:
    mark = f" <span class=failed>{marked(q).strip()}</span>" if marked(q) else ""
    parts = [f'<h2 id="q{i}">{i}. {escape(one_line(q.title))}{mark}</h2>']
    if q.question != q.title:
        parts.append(f"<p class=question>{escape(q.question)}</p>")
    if q.status == "failed":
        parts.append(f"<p class=failed>Failed: {escape(q.error)}</p>")
        return "\n".join(parts) + "\n"
    if q.withheld:
        parts += [f"<p class=failed>{escape(guard_line(q))}</p>", f"<p class=usage>{escape(usage(q))}</p>"]
        return "\n".join(parts) + "\n"
    parts.append(
        f"<div class=answer>{answer_html(q.answer.strip()) if q.answer.strip() else '<em>(empty answer)</em>'}</div>"
    )
    if q.citations:
        valid = sum(c.valid for c in q.citations)
        items = "".join(_citation(c) for c in q.citations)
        parts.append(f"<p><strong>Citations</strong> ({valid} of {len(q.citations)} check out)</p><ul>{items}</ul>")
    if q.verdict is not None:
        parts.append(f"<p class={'usage' if q.verdict.safe else 'failed'}>{escape(guard_line(q))}</p>")
    parts.append(f"<p class=usage>{escape(usage(q))}</p>")
    return "\n".join(parts) + "\n"


def _citation(c: Citation) -> str:
    mark = f"<span class={'ok' if c.valid else 'bad'}>{'✓' if c.valid else '✗ does not check out:'}</span>"
    quote = f" &quot;{escape(c.quote)}&quot;" if c.quote else ""
    reason = "" if c.valid else f" — {escape(c.reason)}"
    return f"<li>{mark} <code>{escape(c.id)}</code>{quote}{reason}</li>"
