"""The screener interface: chunk texts in, per text a `Finding` or None out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

MODES = ("fence", "drop", "off")
"""What `--screen` does with a flagged chunk: keep it behind a warning, leave it out, or
screen nothing."""

_LINE_LIMIT = 200  # characters of the matching line kept for reports


@dataclass(frozen=True, slots=True)
class Finding:
    """Why a text was flagged: the kind of attack, the screener's score (0 to 1), the
    line that matched (control and invisible characters shown as escapes) and the rule or
    model that found it."""

    kind: str
    score: float
    line: str
    rule: str

    @property
    def mark(self) -> str:
        """How the directory tree and the summary name it: `flagged: injection 0.97`."""
        return f"flagged: {self.kind} {self.score:.2f}"


class Screener(Protocol):
    """Scores texts for prompt injection."""

    name: str
    """How reports name it (`rules`, or the model's id)."""

    @property
    def identity(self) -> str | None:
        """Everything its findings depend on (its code, rules, model and settings), hashed; the
        store keeps findings under it (`kept`). None: its findings are not kept."""
        ...

    def screen(self, texts: Sequence[str]) -> list[Finding | None]:
        """One entry per text: a finding when the text is flagged, else None."""
        ...


def shown_line(line: str) -> str:
    """`line` stripped and shortened for a report, with every character that is not
    printable (zero-width, bidi, tags) written as an escape, so a reader sees it."""
    visible = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in line.strip())
    return visible if len(visible) <= _LINE_LIMIT else visible[: _LINE_LIMIT - 1] + "…"


@dataclass(frozen=True, slots=True)
class Flagged:
    """A chunk of a pack that a screener flagged, and whether it was left out."""

    id: str
    source: str
    path: str
    finding: Finding
    dropped: bool

    def as_json(self) -> dict[str, object]:
        """As `--json` lists it: the chunk, and what was found in it."""
        finding = self.finding
        return {"id": self.id, "source": self.source} | {k: getattr(finding, k) for k in ("score", "line", "kind")}


def file_marks(flagged: Sequence[Flagged]) -> dict[str, str]:
    """Each flagged file's mark in the directory tree: its highest-scoring finding
    (`flagged: injection 0.97`), and `left out` when its flagged chunks were."""
    best: dict[str, Flagged] = {}
    for each in flagged:
        if each.path not in best or each.finding.score > best[each.path].finding.score:
            best[each.path] = each
    return {path: each.finding.mark + (", left out" if each.dropped else "") for path, each in best.items()}
