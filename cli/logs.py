"""`scout-context logs`: the runs recorded in the store."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from scout_context.store import Store
from scout_context.tasks.run_record import RunRecord

from .console import err_console, markup, print_json
from .options import JsonOutput


def logs_command(
    count: Annotated[int, typer.Option("-n", "--count", min=1, help="How many of the latest runs.")] = 20,
    json_output: JsonOutput = False,
) -> None:
    """List the latest runs (newest first): command, model, question, answer, usage."""
    store = Store()
    try:
        runs = RunRecord.latest(store, count)
    finally:
        store.close()
    if json_output:
        print_json([run.as_json() for run in runs])
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "when", "command", "model", "question", "answer", "tokens", "first token"):
        table.add_column(column, overflow="fold")
    for run in runs:
        tokens = run.usage or {}
        table.add_row(
            str(run.id),
            run.created_at,
            run.command,
            markup(run.model or ""),
            markup((run.question or "")[:60]),
            markup((run.answer or "").strip()[:80]),
            f"{tokens.get('prompt_tokens', 0):,}+{tokens.get('completion_tokens', 0):,} ({tokens.get('cached_tokens', 0):,} cached)",
            _first_token(run.timings),
        )
    err_console.print(table if runs else "no runs yet")


def _first_token(timings: dict | None) -> str:
    """Seconds to the first token of the answer, where the run recorded it."""
    seconds = (timings or {}).get("first_token_s")
    return f"{seconds:.1f} s" if isinstance(seconds, (int, float)) else ""
