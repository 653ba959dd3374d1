"""The sentences every batch report format shares: a job's overview, a question's usage,
and the share of a prompt that came from the prefix cache.

The share is exact to a tenth of a percent and never rounds to a claim the numbers do not
make: 180,992 of 181,350 tokens is 99.8%, only all of them is 100%, only none is 0%.
"""

from __future__ import annotations

import math

from .batch import Answered, JobReport


def one_line(text: str) -> str:
    return " ".join(text.split())


def cached_percent(cached: int, prompt: int) -> str:
    """`cached` of `prompt` tokens as a percentage with one decimal, rounded down, never to
    100% unless all are cached and never to 0% unless none are."""
    if prompt <= 0 or cached <= 0:
        return "0%"
    if cached >= prompt:
        return "100%"
    tenths = min(max(math.floor(cached * 1000 / prompt), 1), 999)
    return f"{tenths / 10:.1f}%"


def overview(report: JobReport) -> str:
    counts = {status: sum(q.status == status for q in report.questions) for status in ("done", "cached", "failed")}
    return (
        f"corpus {report.job.corpus} ({report.corpus_tokens:,} tokens, a shared prefix of {report.prefix_tokens:,} "
        f"{report.model} tokens), {len(report.questions)} questions: {counts['done']} answered now, "
        f"{counts['cached']} from earlier runs, {counts['failed']} failed"
    )


def usage(q: Answered) -> str:
    if q.status == "failed":
        return "failed"
    earlier = ", answered in an earlier run" if q.status == "cached" else ""
    return (
        f"{q.prompt_tokens:,} prompt tokens ({q.cached_tokens:,}, {cached_percent(q.cached_tokens, q.prompt_tokens)}, "
        f"from the prefix cache), {q.completion_tokens:,} answer tokens, done {q.seconds:.1f} s after it was sent{earlier}"
    )


def guard_line(q: Answered) -> str:
    """What the guard said of the answer, in words ("" without --guard)."""
    if q.verdict is None:
        return ""
    if q.verdict.safe:
        return f"Checked by {q.verdict.model}: safe."
    if q.withheld:
        return f"Withheld: {q.verdict.model} did not find this answer safe ({q.verdict.described()}); --show-unsafe shows it."
    return f"Not found safe by {q.verdict.model} ({q.verdict.described()}); shown with --show-unsafe."


def marked(q: Answered) -> str:
    """The contents entry's mark: " (failed)", " (withheld)", or ""."""
    return " (failed)" if q.status == "failed" else " (withheld)" if q.withheld else ""
