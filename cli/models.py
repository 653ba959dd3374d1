"""`scout-context models`: the known models, whether each is here, and the Llama 4 licence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from scout_context.engine.checkpoints import precision
from scout_context.engine.config import EngineConfig
from scout_context.engine.hardware import Hardware
from scout_context.engine.models import KNOWN, LLAMA4_LICENSE, ModelInfo, known_models
from scout_context.engine.profile import PlanRequest, smallest_fit
from scout_context.errors import ScoutError

from .console import err_console, markup, print_json
from .help_text import CACHE, ENGINES, teaches

H100_GIB = 79.18  # an H100 80GB as CUDA reports it


@teaches("scout-context models", "scout-context models --json", environment=ENGINES | CACHE)
def models_command(json_output: bool = typer.Option(False, "--json", help="Print the list as JSON on stdout.")) -> None:
    """List the known models: present or not, what each needs (GPUs, memory), context length, licence duties."""
    served, server_note = _served_scout()
    rows = [_row(info, served) for info in known_models()]
    if json_output:
        print_json(rows)
        return
    table = Table(title="Known models", title_justify="left")
    for column in ("name", "model", "present", "needs", "context", "where"):
        table.add_column(column, justify="right" if column == "context" else "left", overflow="fold")
    for row in rows:
        present = "yes" if row["present"] else "built on first use" if row["buildable"] else "from the hub"
        where = row["where"].replace(str(Path.home()), "~", 1)
        table.add_row(row["name"], row["title"], present, row["needs"], f"{row['context_length']:,}", markup(where))
    Console(emoji=False, soft_wrap=False).print(table)  # the result: stdout; the notes below are not
    if server_note:
        err_console.print(markup(server_note), highlight=False)
    llama4 = [row["name"] for row in rows if row["license"]]
    if llama4:
        err_console.print(f"[bold]{', '.join(llama4)}[/]: {LLAMA4_LICENSE}", highlight=False)


def _row(info: ModelInfo, served: str | None) -> dict[str, Any]:
    on_server = info.name == "scout" and served is not None
    return {
        "name": info.name,
        "title": info.title,
        "source": info.source,
        "present": info.present or on_server,
        "buildable": info.build is not None,
        "where": served if on_server and not info.present else str(info.path),
        "needs": _needs(info),
        "context_length": info.context_length,
        "default_max_model_len": info.default_max_model_len,
        "license": info.license,
    }


def _needs(info: ModelInfo) -> str:
    """The smallest hardware it runs on: the fewest H100 80GB GPUs its plan fits (`profile.smallest_fit`)."""
    if info.checkpoint is None:
        return "CPU"
    checkpoint = info.checkpoint
    request = PlanRequest(precision(checkpoint.config), model=checkpoint.repo, weights_gib=checkpoint.gib)
    smallest = smallest_fit(checkpoint.config, Hardware(1, H100_GIB, gpu_name="H100 80GB"), request)
    return f"{smallest.gpus} x H100 80GB ({checkpoint.gib:g} GiB of weights)" if smallest else "more than 64 GPUs"


def _served_scout() -> tuple[str | None, str]:
    """Where SCOUT_BASE_URL serves Scout ("url model-id"), if it is set and does; and a note
    when it cannot be asked."""
    config = EngineConfig.from_env(backend="openai", timeout_s=5.0)
    if not config.base_url:
        return None, ""
    from scout_context.engine.openai_remote import OpenAIEngine

    engine = OpenAIEngine(config)
    try:
        ids = engine.served_models()
    except ScoutError as error:
        return None, f"could not ask SCOUT_BASE_URL whether it serves Scout: {error}"
    finally:
        engine.close()
    scout = KNOWN["scout"].source.lower()
    match = next((model for model in ids if scout.split("/")[-1] in model.lower()), None)
    return (f"{engine.base_url} {match}" if match else None), ""
