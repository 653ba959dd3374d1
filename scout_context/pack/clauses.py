"""The clauses of a question that asks two things.

"What does the server answer to an OPTIONS request, and where is that switched on?" asks
about two places, often in two files; the words of the longer clause can outweigh the
other's best place in the whole question's ranking. So ranking also ranks each clause by
its own words and keeps its best chunks near the top (`rank.CLAUSE_WEIGHT`). A clause
starts at a question word after a comma and a conjunction or after a semicolon (`..., and
where`, `..., or which`, `...; why`); a clause put first to set the scene ("When a user
mistypes an option, how ...") is part of the one thing asked.
"""

from __future__ import annotations

import re

_BORDER = re.compile(
    r"(?:,\s*(?:and|or|but)|;(?:\s*(?:and|or|but))?)\s+(?=(?:how|what|where|why|when|which|who|whose)\b)", re.I
)


def clauses(question: str) -> list[str]:
    """The clauses of `question` that ask their own thing, in order; [] when it asks one."""
    parts = [part.strip() for part in _BORDER.split(question)]
    parts = [part for part in parts if part]
    return parts if len(parts) > 1 else []
