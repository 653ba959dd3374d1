"""Reports of a batch: Markdown, JSON, and one self-contained HTML page per job.

Each starts with the marker that tells a report of ours (`report_marker`), then has the
questions with their answers, checked citations and usage (prompt tokens, how many of
them came from the prefix cache, answer tokens: `report_text`). The HTML page is
`report_html`'s, its chart `report_chart`'s.
"""

from __future__ import annotations

import json
from typing import Any

from ..output import write_output
from .batch import Answered, BatchResult, JobReport
from .report_html import html
from .report_marker import JSON_KEY, MARKDOWN
from .report_text import guard_line, marked, one_line, overview, usage


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
            "not_found_safe": sum(q.verdict is not None and not q.verdict.safe for q in questions),
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
        "answer": None if q.withheld else q.answer,
        "citations": [] if q.withheld else [c.as_json() for c in q.citations],
        "error": q.error,
        "guard": None if q.verdict is None else q.verdict.as_json() | {"withheld": q.withheld},
    }


# --- Markdown -----------------------------------------------------------------------


def markdown(report: JobReport) -> str:
    lines = [MARKDOWN, f"# {report.job.title}", "", overview(report) + ".", "", "## Contents", ""]
    for i, q in enumerate(report.questions, 1):
        lines.append(f"{i}. [{one_line(q.title)}](#q{i}){marked(q)}")
    for i, q in enumerate(report.questions, 1):
        lines += ["", f'<a id="q{i}"></a>', "", f"## {i}. {one_line(q.title)}", ""]
        if q.question != q.title:
            lines += ["> " + line for line in q.question.splitlines()] + [""]
        if q.status == "failed":
            lines += [f"**Failed:** {q.error}"]
            continue
        if q.withheld:
            lines += [f"**{guard_line(q)}**", "", f"*{usage(q)}*"]
            continue
        lines += [q.answer.strip() or "*(empty answer)*", ""]
        if q.citations:
            valid = sum(c.valid for c in q.citations)
            lines += [f"**Citations** ({valid} of {len(q.citations)} check out)", ""]
            for c in q.citations:
                quote = f' "{c.quote}"' if c.quote else ""
                lines.append(f"- {'✓' if c.valid else '✗'} `{c.id}`{quote}{'' if c.valid else ' — ' + c.reason}")
            lines.append("")
        if q.verdict is not None:
            lines += [f"**{guard_line(q)}**" if not q.verdict.safe else f"*{guard_line(q)}*", ""]
        lines.append(f"*{usage(q)}*")
    return "\n".join(lines) + "\n"
