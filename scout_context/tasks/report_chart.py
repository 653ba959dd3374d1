"""The HTML report's chart: an inline SVG with, per question, three bars on one logarithmic
scale: prompt tokens from the prefix cache, prompt tokens computed, answer tokens.

Split bars on a log scale keep a few hundred computed or answer tokens visible beside a
180K-token cached prompt (on a linear stacked bar they are a pixel wide). Each kind has an
Okabe-Ito colour (told apart with the common colour-vision deficiencies), a pattern of its
own, and its name written beside its number, so nothing depends on colour alone. A failed
question has a labelled row and no bars.
"""

from __future__ import annotations

import math
from html import escape

from .batch import Answered
from .report_text import cached_percent, one_line, usage

KINDS = (  # kind, label, Okabe-Ito colour, fill
    ("cached", "prefix cache", "#0072B2", "#0072B2"),
    ("computed", "computed prompt", "#E69F00", "url(#hatch)"),
    ("answer", "answer", "#CC79A7", "url(#dots)"),
)
FAILED_COLOUR = "#D55E00"  # Okabe-Ito vermillion; always with the word "failed"

_WIDTH, _LABELS, _PLOT, _TOP = 760, 210, 420, 58
_BAR, _GAP, _ROW_GAP = 11, 3, 14
_PATTERNS = (
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#E69F00"/><rect width="2" height="6" fill="#ffffff"/></pattern>'
    '<pattern id="dots" width="5" height="5" patternUnits="userSpaceOnUse">'
    '<rect width="5" height="5" fill="#CC79A7"/><circle cx="2.5" cy="2.5" r="1.2" fill="#ffffff"/></pattern></defs>'
)


def chart(questions: list[Answered]) -> str:
    """The SVG, sized by its viewBox so that it shrinks with a narrow screen."""
    decades = max(1, math.ceil(math.log10(1 + max([_most(q) for q in questions] + [1]))))
    rows, y = [], _TOP
    for i, q in enumerate(questions, 1):
        row, y = _row(i, q, y, decades)
        rows.append(row)
    height = y + 4
    return (
        f'<svg class=chart viewBox="0 0 {_WIDTH} {height}" width="{_WIDTH}" height="{height}" role="img" '
        f'aria-label="tokens per question, logarithmic scale">{_PATTERNS}{_legend()}{_axis(decades, height)}'
        f"{''.join(rows)}</svg>"
    )


def _most(q: Answered) -> int:
    return max(q.cached_tokens, q.prompt_tokens - q.cached_tokens, q.completion_tokens)


def _x(tokens: int, decades: int) -> float:
    return _LABELS + _PLOT * math.log10(1 + max(tokens, 0)) / decades


def _legend() -> str:
    return "".join(
        f'<rect x="{_LABELS + k * 150}" y="4" width="14" height="14" fill="{fill}" stroke="{colour}"/>'
        f'<text x="{_LABELS + k * 150 + 19}" y="16">{label}</text>'
        for k, (_, label, colour, fill) in enumerate(KINDS)
    )


def _axis(decades: int, height: int) -> str:
    ticks = []
    for power in range(decades + 1):
        x = _x(10**power - 1, decades) if power else float(_LABELS)
        ticks.append(
            f'<line x1="{x:.1f}" y1="{_TOP - 12}" x2="{x:.1f}" y2="{height}" stroke="#d0d0d0"/>'
            f'<text x="{x:.1f}" y="{_TOP - 16}" text-anchor="middle">{_short(10**power)}</text>'
        )
    return "".join(ticks)


def _short(n: int) -> str:
    for size, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "K")):
        if n >= size:
            return f"{n // size}{suffix}"
    return str(n)


def _row(i: int, q: Answered, y: int, decades: int) -> tuple[str, int]:
    name = one_line(q.title)
    label = escape(f"{i}. {name[:27]}{'…' if len(name) > 27 else ''}")
    parts = [
        f"<g><title>{escape(f'{i}. {name[:80]}: {usage(q)}')}</title>",
        f'<text x="0" y="{y + _BAR}">{label}</text>',
    ]
    if q.status == "failed":
        parts.append(f'<text x="{_LABELS}" y="{y + _BAR}" class=failed>✗ failed: no answer</text></g>')
        return "".join(parts), y + _BAR + _ROW_GAP + 6
    share = f"{cached_percent(q.cached_tokens, q.prompt_tokens)} cached"
    earlier = ", earlier run" if q.status == "cached" else ""
    parts.append(f'<text x="14" y="{y + 2 * _BAR + _GAP}" class=note>{share}{earlier}</text>')
    amounts = (q.cached_tokens, q.prompt_tokens - q.cached_tokens, q.completion_tokens)
    for k, ((kind, _, colour, fill), tokens) in enumerate(zip(KINDS, amounts, strict=True)):
        top, end = y + k * (_BAR + _GAP), _x(tokens, decades)
        if tokens > 0:
            parts.append(
                f'<rect class="bar {kind}" x="{_LABELS}" y="{top}" width="{end - _LABELS:.1f}" height="{_BAR}" '
                f'fill="{fill}" stroke="{colour}"/>'
            )
        parts.append(f'<text x="{end + 5:.1f}" y="{top + _BAR - 1}" class=value>{tokens:,} {kind}</text>')
    parts.append("</g>")
    return "".join(parts), y + 3 * (_BAR + _GAP) + _ROW_GAP
