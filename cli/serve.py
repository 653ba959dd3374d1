"""`scout-context serve`: a managed local vLLM server that `ask`, `pr` and `batch` use by themselves.

Exit codes besides the usual: 2 a port that is taken (by our server or another program)
or --host beyond this machine without an API key; 3 no server running (`status`, `stop`)
or one that stopped answering; 7 a model vLLM cannot load; 8 a model that does not fit.
"""

from __future__ import annotations

import os
import shlex
import signal
from typing import Annotated, Any

import typer

from scout_context.engine import server
from scout_context.engine.config import EngineConfig
from scout_context.engine.registry import open_engine
from scout_context.engine.server_launch import server_launch
from scout_context.engine.server_state import DEFAULT_PORT, clear_state
from scout_context.pack.options import PackOptions
from scout_context.sources.spec import SourceSpec
from scout_context.store import Store
from scout_context.tasks.ask import prime

from .console import err_console, markup, note, print_json
from .engine_options import MaxModelLen, Model, System, Verbose, engine_config
from .help_text import CACHE, ENGINES, teaches
from .option_sets import HardwareChoice, with_option_sets
from .options import Exclude, Include, JsonOutput, pack_options
from .sources import resolve_sources

serve_app = typer.Typer(
    help="A local vLLM server that keeps the model and its prefix cache between commands: "
    "ask, pr and batch use it by themselves while it runs.",
    no_args_is_help=True,
)

Port = Annotated[int, typer.Option("--port", min=1, max=65535, help="The port it listens on (one server per port).")]
SomePort = Annotated[
    int | None,
    typer.Option(
        "--port", min=1, max=65535, help="The server's port (default: the only one running).", show_default=False
    ),
]


@serve_app.command("start")
@teaches(
    "scout-context serve start --detach --model scout",
    'scout-context serve start . --port 8001 --host 0.0.0.0 --api-key "$KEY"',
    environment={"SCOUT_API_KEY": "the key clients must send (as --api-key)"}
    | {name: ENGINES[name] for name in ("SCOUT_MODEL", "HF_TOKEN", "HF_HUB_OFFLINE")}
    | CACHE,
)
@with_option_sets
def start_command(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Sources whose prefix to compute now (folders, files, remote repositories: as for ask), laid out "
            "as `ask --layout stable` lays them out.",
            show_default=False,
        ),
    ] = None,
    model: Model = None,
    port: Port = DEFAULT_PORT,
    host: Annotated[
        str, typer.Option("--host", help="The address it listens on; beyond 127.0.0.1 it needs --api-key.")
    ] = "127.0.0.1",
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="The key clients must send (SCOUT_API_KEY); required with --host beyond this machine.",
            show_default=False,
        ),
    ] = None,
    detach: Annotated[
        bool,
        typer.Option(
            "--detach", help="Return once the server answers, leaving it running (stop it with `serve stop`)."
        ),
    ] = False,
    max_model_len: MaxModelLen = None,
    include: Include = None,
    exclude: Exclude = None,
    verbose: Verbose = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the server's command and environment and start nothing.")
    ] = False,
    hardware: HardwareChoice = HardwareChoice(),
    system: System = None,
) -> None:
    """Start vLLM's OpenAI-compatible server with the embedded engine's settings (prefix
    caching and cached-token reports on); its log is kept in the cache folder.

    In the foreground it runs until Ctrl-C; with --detach it returns once it answers.
    """
    api_key = api_key or os.environ.get("SCOUT_API_KEY") or None
    config = engine_config("vllm", model, None, max_model_len, verbose, hardware=hardware.given())
    if dry_run:
        launch = server_launch(config, host, port, api_key)
        for line in launch.notes:
            note(line)
        env = {name: value for name, value in launch.env.items() if name != "VLLM_API_KEY"}
        print_json({"command": shlex.join(launch.argv), "argv": launch.argv, "env": env})
        return
    specs = resolve_sources(sources) if sources else []  # a source that cannot be read stops before the server
    started = server.start(config, host, port, api_key, note=note)
    state = started.state
    note(
        f"{state.served_model} answers at {state.url}/v1 (pid {state.pid}, started in {started.seconds:.0f} s; log {state.log})"
    )
    try:
        if specs:
            _prime(
                state.url,
                state.served_model,
                api_key,
                specs,
                pack_options(include, exclude, False, False, False),
                system,
            )
    except BaseException:
        server.terminate(state, started.process)
        raise
    if detach:
        note(f"stop it with `scout-context serve stop --port {port}`")
        return
    note("serving until Ctrl-C")
    signal.signal(signal.SIGTERM, _interrupt)  # a plain kill stops the server too
    try:
        code = started.process.wait()
    except KeyboardInterrupt:
        note("stopping the server")
        server.terminate(state, started.process)
        return
    clear_state(port)
    raise server.exited(state, code)


@serve_app.command("status")
def status_command(port: SomePort = None, json_output: JsonOutput = False) -> None:
    """The running server(s): model, address, pid, uptime and prefix-cache use. Exit 3 when none runs."""
    report = [server.status(state, os.environ.get("SCOUT_API_KEY")) for state in server.running_servers(port, note)]
    if json_output:
        print_json({"servers": report})
        return
    for entry in report:
        err_console.print(_describe(entry), highlight=False, soft_wrap=True)


@serve_app.command("stop")
def stop_command(port: SomePort = None) -> None:
    """Stop the server on --port (default: the only one running). Exit 3 when none runs."""
    state = server.stop(port, note)
    note(f"stopped {state.served_model} at {state.url} (pid {state.pid})")


def _prime(
    url: str, served: str, api_key: str | None, sources: list[SourceSpec], options: PackOptions, system: str | None
) -> None:
    """Compute the prefix that `ask --layout stable [--system TEXT]` questions over `sources` share."""
    engine = open_engine(EngineConfig(backend="openai", base_url=url, model=served, api_key=api_key))
    store = Store()
    try:
        generation = prime(sources, engine=engine, store=store, options=options, system=system)
    finally:
        store.close()
        engine.close()
    note(f"primed {generation.prompt_tokens:,} prompt tokens in {generation.first_token_s:.1f} s")


def _describe(entry: dict[str, Any]) -> str:
    minutes, seconds = divmod(entry["uptime_s"], 60)
    lines = [
        f"[bold]{markup(entry['served_model'])}[/] at {markup(entry['url'])}/v1, pid {entry['pid']}, "
        f"up {minutes // 60}h {minutes % 60:02d}m {seconds:02d}s"
        + ("" if entry["answering"] else " [red](not answering)[/]")
    ]
    cache = entry["cache"]
    if "prefix_cache_queries" in cache:
        queries, hits = cache["prefix_cache_queries"], cache.get("prefix_cache_hits", 0.0)
        share = f" ({hits / queries:.0%})" if queries else ""
        lines.append(f"  prefix cache: {hits:,.0f} of {queries:,.0f} prompt tokens served from it{share}")
    if "kv_cache_usage" in cache:
        lines.append(f"  KV cache: {cache['kv_cache_usage']:.1%} in use")
    lines.append(f"  log: {markup(entry['log'])}")
    return "\n".join(lines)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt
