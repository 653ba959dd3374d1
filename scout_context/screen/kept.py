"""Screening once per text: findings kept in the store by a hash of the text and the
screener (`Screener.identity`), so a pack screened again (every `chat --screen` start, each
`ask --screen` over the same corpus) screens only the texts it has not seen. A screener
without an identity, or a pack without a store, screens every text. A kept value that
cannot be read is screened again.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .base import Finding, Screener

if TYPE_CHECKING:
    from ..store import Store


def screen_kept(screener: Screener, texts: Sequence[str], store: Store | None) -> list[Finding | None]:
    """`screener.screen(texts)`, through the findings `store` keeps."""
    identity = screener.identity
    if store is None or identity is None:
        return screener.screen(texts)
    keys = [_key(identity, text) for text in texts]
    found: dict[str, Finding | None] = {}
    for key, value in store.screenings(set(keys)).items():
        try:
            found[key] = _loaded(value)
        except ValueError:  # damaged: screened again below
            continue
    todo = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
    if todo:
        fresh = dict(zip(todo, screener.screen(list(todo.values())), strict=True))
        store.save_screenings({key: _dumped(finding) for key, finding in fresh.items()})
        found.update(fresh)
    return [found[key] for key in keys]


def _key(identity: str, text: str) -> str:
    digest = hashlib.sha256(identity.encode())
    digest.update(b"\0")
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def _dumped(finding: Finding | None) -> str:
    return "" if finding is None else json.dumps([finding.kind, finding.score, finding.line, finding.rule])


def _loaded(value: object) -> Finding | None:
    """The kept finding (None: the text was clean); ValueError when `value` cannot be read
    (whatever it holds: the store is a file anyone with the account can write)."""
    if value == "":
        return None
    try:
        kind, score, line, rule = json.loads(value)  # type: ignore[arg-type]
        score = float(score) if isinstance(score, int | float) and not isinstance(score, bool) else math.nan
    except (TypeError, ValueError, RecursionError, OverflowError):
        raise ValueError("unreadable") from None
    if not (all(isinstance(field, str) for field in (kind, line, rule)) and 0.0 <= score <= 1.0):
        raise ValueError("unreadable")
    return Finding(kind, score, line, rule)
