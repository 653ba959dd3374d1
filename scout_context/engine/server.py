"""`scout-context serve`: start, watch and stop a local vLLM OpenAI-compatible server.

`start` launches the server (`server_launch`) in its own session, its output in the log
file beside its state (`server_state`), and returns once it answers `/v1/models`; the
server outlives the caller until `stop` (or, in the foreground, Ctrl-C). One server per
port: a start takes the port's lock, refuses a port whose server still runs or that
another program holds, and clears a stale state first. A server that exits while
starting is one typed error, from its log's last lines: out of memory (exit 8), a model
vLLM cannot load (7), anything else (3).

`stop` sends SIGTERM to the server's process group (the API server and its engine core),
then SIGKILL after a grace period. `status` reads the server's `/metrics` for its prefix
cache's hits and queries and the KV cache in use.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from scout_context.engine.config import DEFAULT_MODEL, EngineConfig
from scout_context.engine.server_launch import server_launch
from scout_context.engine.server_state import (
    LOOPBACK,
    ServerState,
    answers,
    clear_state,
    is_running,
    live_servers,
    log_path,
    read_state,
    state_dir,
    write_state,
)
from scout_context.engine.vllm_local import OUT_OF_MEMORY
from scout_context.errors import EngineOutOfMemory, EngineUnreachable, ModelMissing, ScoutError, UsageError

START_TIMEOUT_S = 900.0
"""The longest wait for a new server to answer (a CPU start takes about a minute, a
compiled one several; Scout on GPUs loads 200 GB of weights)."""
STOP_GRACE_S = 30.0
_MODEL_FAILED = re.compile(
    r"No such file or directory|does not appear to have a file|not a valid model|Repo id must", re.I
)
_AN_ERROR = re.compile(r"error", re.I)
_NOT_A_REASON = re.compile(r"errors\.pydantic\.dev|^\s*For further information|See root cause above", re.I)
"""Lines that point elsewhere for the reason: pydantic ends a validation error with a link to
its docs (the reason is the line before), and vLLM's front end ends with "Engine core
initialization failed. See root cause above" (the reason is the engine core's error)."""
_LOG_PREFIX = re.compile(r"^\s*(\(\w+ pid=\d+\)\s*)?((ERROR|WARNING|INFO) [\d-]+ [\d:]+ \[[^\]]*\]\s*)?")
"""vLLM's `(APIServer pid=N) ERROR 12-06 15:25:56 [file.py:12] ` before the message."""
_METRICS = {
    "vllm:prefix_cache_queries": "prefix_cache_queries",
    "vllm:prefix_cache_hits": "prefix_cache_hits",
    "vllm:kv_cache_usage_perc": "kv_cache_usage",
}

Note = Callable[[str], None]


@dataclass
class Started:
    """A server that answers, and its process when this caller started it."""

    state: ServerState
    process: subprocess.Popen[bytes]
    seconds: float


def check_host(host: str, api_key: str | None) -> None:
    """`serve` listens beyond this machine only when told to, and then only with a key."""
    if host not in LOOPBACK and not api_key:
        raise UsageError(
            f"--host {host} makes the server reachable from other machines: it needs --api-key (or SCOUT_API_KEY)"
        )


def start(
    config: EngineConfig, host: str, port: int, api_key: str | None = None, note: Note = lambda _: None
) -> Started:
    """Launch a server for `config` on `host:port` and wait until it answers."""
    check_host(host, api_key)
    with _port_lock(port):
        _refuse_taken(host, port, note)
        launch = server_launch(config, host, port, api_key)
        launch.source.check_access()
        for line in launch.notes:
            note(line)
        log = log_path(port)
        with open(log, "wb") as output:
            process = subprocess.Popen(
                launch.argv, env={**os.environ, **launch.env}, stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True,  # its own process group: stop reaches its children
            )  # fmt: skip
        state = ServerState(
            pid=process.pid, port=port, host=host, model=_model_as_asked(config.model), served_model=launch.served_model,
            started=datetime.now(UTC).isoformat(timespec="seconds"), log=str(log), api_key=bool(api_key),
            settings=launch.settings,
        )  # fmt: skip
        write_state(state)
    started = time.monotonic()
    try:
        _wait_until_answering(state, process, api_key)
    except BaseException:  # a failed start, or Ctrl-C while waiting: nothing is left running
        terminate(state, process)
        raise
    return Started(state, process, time.monotonic() - started)


def stop(port: int | None, note: Note = lambda _: None) -> ServerState:
    """Stop the server on `port` (None: the only one running)."""
    state = running(port, note)
    terminate(state)
    return state


def running_servers(port: int | None, note: Note = lambda _: None) -> list[ServerState]:
    """The running servers (on `port`, if given), stale states cleared and noted;
    EngineUnreachable when there is none."""
    stale: list[ServerState] = []
    servers = live_servers(stale)
    for gone in stale:
        note(f"cleared the stale state of port {gone.port} (pid {gone.pid} is no longer its server)")
    if port is not None:
        servers = [state for state in servers if state.port == port]
    if not servers:
        where = f" on port {port}" if port is not None else ""
        raise EngineUnreachable(f"no scout-context server is running{where}")
    return servers


def running(port: int | None, note: Note = lambda _: None) -> ServerState:
    """The running server on `port` (None: the only one); EngineUnreachable when there is none."""
    servers = running_servers(port, note)
    if len(servers) > 1:
        ports = ", ".join(str(state.port) for state in servers)
        raise UsageError(f"servers run on ports {ports}: name one with --port")
    return servers[0]


def terminate(state: ServerState, process: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM to the server's process group, SIGKILL after `STOP_GRACE_S`; its state is cleared."""
    try:
        _signal_group(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while _alive(state, process) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(state, process):
            _signal_group(state.pid, signal.SIGKILL)
            if process is not None:
                process.wait(timeout=STOP_GRACE_S)
            while _alive(state, None) and time.monotonic() < deadline + STOP_GRACE_S:
                time.sleep(0.2)
    finally:
        clear_state(state.port)


def status(state: ServerState, api_key: str | None = None) -> dict[str, Any]:
    """What `serve status` shows of one server: address, model, pid, uptime, cache use."""
    started = datetime.fromisoformat(state.started)
    return {
        "url": state.url,
        "port": state.port,
        "pid": state.pid,
        "model": state.model,
        "served_model": state.served_model,
        "started": state.started,
        "uptime_s": round((datetime.now(UTC) - started).total_seconds()),
        "answering": answers(state, api_key),
        "log": state.log,
        "cache": metrics(state),
        "settings": state.settings,
    }


def metrics(state: ServerState) -> dict[str, float]:
    """The prefix cache's queries and hits (tokens, since start) and the share of the KV
    cache in use, from the server's Prometheus `/metrics` (summed over engines); {} when
    it does not answer."""
    try:
        reply = httpx.get(f"{state.url}/metrics", timeout=2.0)
    except httpx.HTTPError:
        return {}
    found: dict[str, float] = {}
    for line in reply.text.splitlines() if reply.status_code == 200 else []:
        name = line.partition("{")[0] if "{" in line else line.partition(" ")[0]
        key = _METRICS.get(name.removesuffix("_total"))
        if key is None or line.startswith("#"):
            continue
        try:
            found[key] = found.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
        except ValueError:
            continue
    return found


@contextmanager
def _port_lock(port: int) -> Iterator[None]:
    """Held while a start checks and claims `port`: two starts never both launch."""
    with open(state_dir() / f"{port}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _refuse_taken(host: str, port: int, note: Note) -> None:
    state = read_state(port)
    if state is not None and is_running(state):
        raise UsageError(
            f"a scout-context server already runs on port {port} (pid {state.pid}, {state.served_model}): "
            f"use it, or `scout-context serve stop --port {port}` first"
        )
    if state is not None:
        clear_state(port)
        note(f"cleared the stale state of port {port} (pid {state.pid} is no longer its server)")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # as the server will: a port left in TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError as error:
            raise UsageError(
                f"cannot listen on {host}:{port}: {error.strerror or error} (another program? choose --port)"
            ) from None


def _wait_until_answering(state: ServerState, process: subprocess.Popen[bytes], api_key: str | None) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not answers(state, api_key):
        code = process.poll()
        if code is not None:
            raise exited(state, code, "while starting")
        if time.monotonic() > deadline:
            raise EngineUnreachable(f"the server did not answer in {START_TIMEOUT_S:g} s of starting: see {state.log}")
        time.sleep(1.0)


def exited(state: ServerState, code: int, when: str = "") -> ScoutError:
    """The typed error for a server that exited (`when`: "while starting"), from its log."""
    try:
        lines = [line for line in log_tail(state.log) if line.strip()]
    except OSError:
        lines = []
    errors = [line for line in lines if _AN_ERROR.search(line) and not _NOT_A_REASON.search(line)] or lines
    errors = [line for line in errors if OUT_OF_MEMORY.search(line)] or errors
    last = " ".join(_LOG_PREFIX.sub("", errors[-1]).split())[:300] if errors else "no output"
    text = " ".join(lines)
    message = f"the server for {state.served_model} exited {when + ' ' if when else ''}(code {code}): {last} (log: {state.log})"
    if OUT_OF_MEMORY.search(text):
        return EngineOutOfMemory(message + "; lower --max-model-len or the KV cache space")
    if _MODEL_FAILED.search(text):
        return ModelMissing(message)
    return EngineUnreachable(message)


def log_tail(log: str, size: int = 16_384) -> list[str]:
    with open(log, "rb") as handle:
        handle.seek(max(0, os.path.getsize(log) - size))
        return handle.read().decode("utf-8", "replace").splitlines()


def _signal_group(pid: int, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(pid, sig)


def _alive(state: ServerState, process: subprocess.Popen[bytes] | None) -> bool:
    """Whether any process of the server's group still runs (its engine core outlives the
    API server for a moment); zombies do not count, since nobody may reap them here."""
    if process is not None:
        process.poll()  # reaps our own child
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return is_running(state)
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[2] == str(state.pid) and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            return True
    return False


def _model_as_asked(model: str | None) -> str:
    """The model as the state records it: a registry name as is, a folder as its absolute path."""
    model = model or DEFAULT_MODEL
    return os.path.abspath(model) if "/" in model else model
