"""What `scout-context serve` keeps about its servers: one state file per port,
`<cache>/serve/<port>.json`, with the server's log beside it (`<port>.log`).

A state file holds the server's pid, address, model (as asked and as served), start time,
log path, whether it needs an API key (never the key) and the `vllm.LLM` settings it runs
with. A state whose pid is gone, or is now another program (a reused pid), is stale:
`live_servers` clears it. `find_server` is how `ask`, `pr` and `batch` find a running server
for their model (`registry.choose`).
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx

from scout_context import paths
from scout_context.engine.config import DEFAULT_MODEL
from scout_context.engine.server_launch import SERVER_MODULE

DEFAULT_PORT = 8000
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class ServerState:
    pid: int
    port: int
    host: str
    model: str
    """The model as `serve start` was given it (a registry name or a folder)."""
    served_model: str
    started: str
    """When it was started, ISO 8601 in UTC."""
    log: str
    api_key: bool
    """Whether the server asks for an API key (the key itself is not kept)."""
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The server's address for clients (a server on every interface is reached on 127.0.0.1)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"


def state_dir() -> Path:
    """The folder of state files and logs, created when missing (by `serve start`)."""
    folder = paths.cache_dir() / "serve"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def state_path(port: int) -> Path:
    """Where the state of `port` is; nothing is created (looking for servers writes nothing)."""
    return paths.cache_root() / "serve" / f"{port}.json"


def log_path(port: int) -> Path:
    return state_dir() / f"{port}.log"


def write_state(state: ServerState) -> None:
    """Written whole, then renamed into place: a reader never sees half a state."""
    path = state_dir() / f"{state.port}.json"
    scratch = path.with_suffix(".json.tmp")
    scratch.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
    scratch.replace(path)


def read_state(port: int) -> ServerState | None:
    """The state recorded for `port`, or None (none, or unreadable: treated as none)."""
    try:
        data = json.loads(state_path(port).read_text(encoding="utf-8"))
        return ServerState(**data)
    except (OSError, ValueError, TypeError):
        return None


def clear_state(port: int) -> None:
    with suppress(OSError):  # a read-only cache: the state stays stale, and is detected as such again
        state_path(port).unlink(missing_ok=True)


def is_running(state: ServerState) -> bool:
    """Whether `state.pid` is still our server: alive (not a zombie) and, where /proc tells,
    running vLLM's API server on that port (so a reused pid is not taken for it)."""
    if state.pid <= 0:
        return False
    try:
        os.kill(state.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours
        return False
    proc = Path("/proc") / str(state.pid)
    if not proc.is_dir():
        return True  # no /proc here: alive is all that can be told
    try:
        status = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        argv = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    port = str(state.port).encode()
    return (
        status != "Z"
        and SERVER_MODULE.encode() in argv
        and any(flag == b"--port" and value == port for flag, value in pairwise(argv))
    )


def live_servers(stale: list[ServerState] | None = None) -> list[ServerState]:
    """Every recorded server still running, the default port first; stale states are
    cleared (and appended to `stale` when given, so the caller can say so)."""
    found = []
    folder = paths.cache_root() / "serve"
    ports = sorted(
        (int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit()), key=lambda p: (p != DEFAULT_PORT, p)
    )
    for port in ports:
        state = read_state(port)
        if state is not None and is_running(state):
            found.append(state)
            continue
        clear_state(port)
        if state is not None and stale is not None:
            stale.append(state)
    return found


def answers(state: ServerState, api_key: str | None = None, timeout_s: float = 2.0) -> bool:
    """Whether the server answers `/v1/models` with its model (it does once it has started)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        reply = httpx.get(f"{state.url}/v1/models", headers=headers, timeout=timeout_s)
        ids = [card.get("id") for card in reply.json().get("data", [])] if reply.status_code == 200 else []
    except (httpx.HTTPError, ValueError, AttributeError):
        return False
    return state.served_model in ids


def find_server(model: str | None, api_key: str | None) -> ServerState | None:
    """A running, answering server for `model` (None: the default model) that this caller
    can use (one that needs a key only when the caller has one)."""
    for state in live_servers():
        if _same_model(state.model, model) and (api_key or not state.api_key) and answers(state, api_key):
            return state
    return None


def _same_model(served: str, asked: str | None) -> bool:
    asked = asked or DEFAULT_MODEL
    if served == asked:
        return True
    return "/" in served and "/" in asked and os.path.realpath(served) == os.path.realpath(asked)
