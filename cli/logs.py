"""`scout-context logs`: the runs recorded in the store, as `llm logs` shows its own: the
latest first, narrowed by model, text, time or conversation, a conversation's turns together
and in order. The table (or `--json`) is the command's result, so it goes to stdout."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from scout_context.paths import store_path
from scout_context.store import Store
from scout_context.tasks.run_record import RunRecord

from .console import markup, print_json
from .help_text import CACHE, teaches
from .options import JsonOutput

logs_app = typer.Typer()  # its help is the callback's, with the examples

_AGO = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@logs_app.callback(invoke_without_command=True)
@teaches("scout-context logs -n 5 -q shipping", "scout-context logs --cid 3 --json", environment=CACHE)
def logs_command(
    context: typer.Context,
    count: Annotated[int, typer.Option("-n", "--count", min=1, help="How many of the latest runs.")] = 20,
    model: Annotated[
        str | None, typer.Option("-m", "--model", help="Only runs of this model (its served name).")
    ] = None,
    query: Annotated[
        str | None, typer.Option("-q", "--query", help="Only runs whose question or answer holds this text.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only runs since this UTC time (2026-12-01, 2026-12-01T09:30) or for this long (30m, 2h, 7d, 1w).",
        ),
    ] = None,
    conversation: Annotated[
        int | None, typer.Option("--cid", "--conversation", help="Only the turns of this conversation.")
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """The runs recorded in the store (ask, chat, pr, batch): `logs` lists them, `logs path` names the store.

    The list: conversation and turn, command, model, question, answer, tokens, the latest first.
    """
    if context.invoked_subcommand is not None:
        return
    store = Store()
    try:
        runs = RunRecord.latest(store, count, model=model, text=query, since=_since(since), conversation=conversation)
    finally:
        store.close()
    runs = grouped(runs)
    if json_output:
        print_json([run.as_json() for run in runs])
        return
    _print_table(runs)


@logs_app.command("path")
def path_command() -> None:
    """Print the path of the store that holds the log."""
    typer.echo(store_path())


def grouped(runs: list[RunRecord]) -> list[RunRecord]:
    """`runs` (newest first) with each conversation's turns together, in turn order, where
    its newest turn stands; runs outside a conversation stay where they are."""
    groups: dict[object, list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(run.conversation_id if run.conversation_id is not None else ("run", run.id), []).append(run)
    return [run for group in groups.values() for run in sorted(group, key=lambda run: run.turn or 0)]


def _since(value: str | None) -> str | None:
    """`--since` as the store writes times (UTC, ISO 8601, seconds)."""
    if value is None:
        return None
    if ago := _AGO.fullmatch(value.strip()):
        moment = datetime.now(UTC) - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(
                f"{value!r} is no time: use 2026-12-01, 2026-12-01T09:30 or 30m, 2h, 7d, 1w", param_hint="--since"
            ) from None
        moment = moment.replace(tzinfo=moment.tzinfo or UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _print_table(runs: list[RunRecord]) -> None:
    console = Console(emoji=False, soft_wrap=False)
    if not runs:
        console.print("no runs")
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "when", "turn", "command", "model", "question", "answer", "tokens", "first token"):
        table.add_column(column, overflow="fold")
    for previous, run in zip([None, *runs], runs, strict=False):
        if previous is not None and (run.conversation_id is None or run.conversation_id != previous.conversation_id):
            table.add_section()
        tokens = run.usage or {}
        answer = (run.answer or "").strip()[:80] + (" [failed]" if run.status == "failed" else "")
        table.add_row(
            str(run.id),
            run.created_at,
            f"c{run.conversation_id} #{run.turn}" if run.conversation_id is not None else "",
            run.command,
            markup(run.model or ""),
            markup((run.question or "")[:60]),
            markup(answer),
            f"{tokens.get('prompt_tokens', 0):,}+{tokens.get('completion_tokens', 0):,} ({tokens.get('cached_tokens', 0):,} cached)",
            _first_token(run.timings),
        )
    console.print(table)


def _first_token(timings: dict | None) -> str:
    """Seconds to the first token of the answer, where the run recorded it."""
    seconds = (timings or {}).get("first_token_s")
    return f"{seconds:.1f} s" if isinstance(seconds, (int, float)) else ""
