"""Reports of a batch: Markdown, JSON, and one self-contained HTML page per job.

Each starts with the marker that tells a report of ours (`report_marker`), then has the
questions with their answers, checked citations and usage (prompt tokens, how many of
them came from the prefix cache, answer tokens). The HTML page needs nothing
from the network: its style and its chart (an inline SVG of tokens per question) are in it.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from ..output import write_output
from .batch import Answered, BatchResult, JobReport
from .citations import Citation
from .report_marker import HTML_META, JSON_KEY, MARKDOWN

_COLORS = {"cached": "#3b8f5a", "computed": "#e0913a", "answer": "#4a72b8"}
_LEGEND = {"cached": "prefix cache", "computed": "computed prompt", "answer": "answer"}


def write_reports(result: BatchResult) -> None:
    """Each job's report, in its format, at its output path."""
    render = {"markdown": markdown, "json": json_report, "html": html}
    for report in result.jobs:
        write_output(report.job.output, render[report.job.format](report))


def summary_json(result: BatchResult) -> dict[str, Any]:
    """What `batch --json` prints: every job with its questions, and the totals."""
    questions = [q for report in result.jobs for q in report.questions]
    return {
        "jobs": [job_json(report) for report in result.jobs],
        "totals": {
            **{status: sum(q.status == status for q in questions) for status in ("done", "cached", "failed")},
            "prompt_tokens": sum(q.prompt_tokens for q in questions if q.status == "done"),
            "cached_tokens": sum(q.cached_tokens for q in questions if q.status == "done"),
        },
        "seconds": result.seconds,
        "exit_code": result.exit_code,
    }


def json_report(report: JobReport) -> str:
    return json.dumps(dict([JSON_KEY], **job_json(report)), ensure_ascii=False, indent=2) + "\n"


def job_json(report: JobReport) -> dict[str, Any]:
    job = report.job
    return {
        "name": job.name,
        "title": job.title,
        "corpus": job.corpus,
        "model": report.model,
        "output": str(job.output),
        "format": job.format,
        "corpus_tokens": report.corpus_tokens,
        "prefix_tokens": report.prefix_tokens,
        "questions": [_question_json(q) for q in report.questions],
    }


def _question_json(q: Answered) -> dict[str, Any]:
    return {
        "title": q.title,
        "question": q.question,
        "status": q.status,
        "prompt_tokens": q.prompt_tokens,
        "cached_tokens": q.cached_tokens,
        "completion_tokens": q.completion_tokens,
        "finish_reason": q.finish_reason,
        "seconds": q.seconds,
        "answer": q.answer,
        "citations": [c.as_json() for c in q.citations],
        "error": q.error,
    }


def _overview(report: JobReport) -> str:
    counts = {status: sum(q.status == status for q in report.questions) for status in ("done", "cached", "failed")}
    return (
        f"corpus {report.job.corpus} ({report.corpus_tokens:,} tokens, a shared prefix of {report.prefix_tokens:,} "
        f"{report.model} tokens), {len(report.questions)} questions: {counts['done']} answered now, "
        f"{counts['cached']} from earlier runs, {counts['failed']} failed"
    )


def _usage(q: Answered) -> str:
    if q.status == "failed":
        return "failed"
    earlier = ", answered in an earlier run" if q.status == "cached" else ""
    return (
        f"{q.prompt_tokens:,} prompt tokens ({q.cached_tokens:,} from the prefix cache), "
        f"{q.completion_tokens:,} answer tokens, done {q.seconds:.1f} s after it was sent{earlier}"
    )


# --- Markdown -----------------------------------------------------------------------


def markdown(report: JobReport) -> str:
    lines = [MARKDOWN, f"# {report.job.title}", "", _overview(report) + ".", "", "## Contents", ""]
    for i, q in enumerate(report.questions, 1):
        lines.append(f"{i}. [{_one_line(q.title)}](#q{i}){' (failed)' if q.status == 'failed' else ''}")
    for i, q in enumerate(report.questions, 1):
        lines += ["", f'<a id="q{i}"></a>', "", f"## {i}. {_one_line(q.title)}", ""]
        if q.question != q.title:
            lines += ["> " + line for line in q.question.splitlines()] + [""]
        if q.status == "failed":
            lines += [f"**Failed:** {q.error}"]
            continue
        lines += [q.answer.strip() or "*(empty answer)*", ""]
        if q.citations:
            valid = sum(c.valid for c in q.citations)
            lines += [f"**Citations** ({valid} of {len(q.citations)} check out)", ""]
            for c in q.citations:
                quote = f' "{c.quote}"' if c.quote else ""
                lines.append(f"- {'✓' if c.valid else '✗'} `{c.id}`{quote}{'' if c.valid else ' — ' + c.reason}")
            lines.append("")
        lines.append(f"*{_usage(q)}*")
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- HTML ---------------------------------------------------------------------------

_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; border-top: 1px solid #ddd; padding-top: 1rem; }
.question { color: #555; border-left: 3px solid #ccc; padding-left: .8rem; white-space: pre-wrap; }
.answer { white-space: pre-wrap; }
.usage, .overview { color: #666; font-size: .9rem; }
.failed { color: #b3261e; } .ok { color: #3b8f5a; } .bad { color: #b3261e; }
code { background: #f3f3f3; padding: 0 .25rem; border-radius: 3px; }
svg text { font: 12px system-ui, sans-serif; fill: #333; }
"""


def html(report: JobReport) -> str:
    title = escape(report.job.title)
    toc = "".join(
        f'<li><a href="#q{i}">{escape(_one_line(q.title))}</a>'
        f"{' <span class=failed>(failed)</span>' if q.status == 'failed' else ''}</li>"
        for i, q in enumerate(report.questions, 1)
    )
    sections = "".join(_html_section(i, q) for i, q in enumerate(report.questions, 1))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{HTML_META}<title>{title}</title>'
        f"<style>{_STYLE}</style></head><body>\n<h1>{title}</h1>\n"
        f"<p class=overview>{escape(_overview(report))}.</p>\n"
        f"<h2>Tokens per question</h2>\n{chart(report.questions)}\n"
        f"<h2>Contents</h2>\n<ol>{toc}</ol>\n{sections}</body></html>\n"
    )


def _html_section(i: int, q: Answered) -> str:
    parts = [f'<h2 id="q{i}">{i}. {escape(_one_line(q.title))}</h2>']
    if q.question != q.title:
        parts.append(f"<p class=question>{escape(q.question)}</p>")
    if q.status == "failed":
        parts.append(f"<p class=failed><strong>Failed:</strong> {escape(q.error)}</p>")
        return "\n".join(parts) + "\n"
    parts.append(f"<div class=answer>{escape(q.answer.strip()) or '<em>(empty answer)</em>'}</div>")
    if q.citations:
        valid = sum(c.valid for c in q.citations)
        items = "".join(_html_citation(c) for c in q.citations)
        parts.append(f"<p><strong>Citations</strong> ({valid} of {len(q.citations)} check out)</p><ul>{items}</ul>")
    parts.append(f"<p class=usage>{escape(_usage(q))}</p>")
    return "\n".join(parts) + "\n"


def _html_citation(c: Citation) -> str:
    mark = f"<span class={'ok' if c.valid else 'bad'}>{'✓' if c.valid else '✗'}</span>"
    quote = f" &quot;{escape(c.quote)}&quot;" if c.quote else ""
    reason = "" if c.valid else f" — {escape(c.reason)}"
    return f"<li>{mark} <code>{escape(c.id)}</code>{quote}{reason}</li>"


def chart(questions: list[Answered]) -> str:
    """An inline SVG: per question, its prompt tokens split into those from the prefix
    cache and those computed, then its answer tokens."""
    width, left, right, row, top = 720, 40, 110, 24, 30
    scale = (width - left - right) / max([q.prompt_tokens + q.completion_tokens for q in questions] + [1])
    legend = "".join(
        f'<rect x="{left + k * 150}" y="4" width="12" height="12" fill="{_COLORS[kind]}"/>'
        f'<text x="{left + k * 150 + 16}" y="15">{label}</text>'
        for k, (kind, label) in enumerate(_LEGEND.items())
    )
    bars = []
    for i, q in enumerate(questions):
        y = top + i * row
        tip = escape(f"{i + 1}. {_one_line(q.title)[:80]}: {_usage(q)}")
        bars.append(f'<g><title>{tip}</title><text x="0" y="{y + 14}">{i + 1}</text>')
        x = float(left)
        for kind, tokens in (
            ("cached", q.cached_tokens),
            ("computed", q.prompt_tokens - q.cached_tokens),
            ("answer", q.completion_tokens),
        ):
            if tokens > 0:
                size = f'width="{tokens * scale:.1f}" height="{row - 6}"'
                bars.append(f'<rect x="{x:.1f}" y="{y}" {size} fill="{_COLORS[kind]}"/>')
                x += tokens * scale
        if q.prompt_tokens:
            share = f"{q.cached_tokens / q.prompt_tokens:.0%} cached"
            bars.append(f'<text x="{width - right + 8}" y="{y + 14}">{share}</text>')
        bars.append("</g>")
    height = top + len(questions) * row
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="tokens per question">{legend}{"".join(bars)}</svg>'
    )
