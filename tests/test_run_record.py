"""A run record logs itself to the store and reads back as the store's row, column for column."""

from __future__ import annotations

import json

from scout_context.store import Store
from scout_context.tasks.citations import Citation
from scout_context.tasks.run_record import RunRecord

CITATIONS = [
    Citation("app.py:1-9", "app.py:1-9", True, "def app"),
    Citation("x.py:3", "", False, reason="no such document"),
]


def test_citation_json_keeps_its_key_order_with_or_without_the_quote():
    full, logged = CITATIONS[0].as_json(), CITATIONS[0].as_json(quoted=False)
    assert list(full) == ["id", "source", "valid", "quote", "reason"] and full["quote"] == "def app"
    assert list(logged) == ["id", "source", "valid", "reason"]


def test_a_logged_record_reads_back_as_the_stored_row():
    record = RunRecord(
        "ask",
        "StubEngine",
        "stub",
        ["repo"],
        "why?",
        "because [app.py:1-9]",
        CITATIONS,
        {"prompt_tokens": 10, "cached_tokens": 0, "completion_tokens": 3},
        {"total_s": 0.5},
        "stop",
    )
    store = Store()
    try:
        run_id = record.log(store)
        [row] = store.runs(1)
        [read] = RunRecord.latest(store, 1)
    finally:
        store.close()
    assert run_id == record.id == row["id"] == read.id
    assert json.dumps(read.as_json()) == json.dumps(row)
    assert row["citations"] == [c.as_json(quoted=False) for c in CITATIONS]
    assert read.created_at == row["created_at"] and read.status == "stop"
