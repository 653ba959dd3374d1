"""`engine_settings`: the one function from (model, hardware, the user's settings) to vLLM's
arguments, environment and plan, pinned for Scout on the GPU machines it is planned for and for
the CPU; the dry run that prints them; the embedded engine and the server that use them; and the
bad input it stops on. Nothing starts: registry configs ship with the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scout_context.engine.checkpoints import FP8_DYNAMIC, SCOUT_CHECKPOINTS, W4A16, precision
from scout_context.engine.config import EngineConfig
from scout_context.engine.engine_settings import engine_settings
from scout_context.engine.hardware import Hardware
from scout_context.engine.model_source import resolve
from scout_context.engine.vllm_local import VllmEngine
from scout_context.errors import EngineOutOfMemory, ModelMissing, UsageError

EXE = str(Path(sys.executable).with_name("scout-context"))
SHOP = Path(__file__).parent.parent / "examples" / "tiny-shop"
H100, H200 = 79.18, 139.8  # GiB per GPU as CUDA reports them
REPO = {precision: checkpoint.repo for precision, checkpoint in SCOUT_CHECKPOINTS.items()}


def _gpu_args(model: str, max_model_len: int, tp: int, batched: int, **more: Any) -> dict[str, Any]:
    """The engine arguments every GPU plan of Scout has, in order, with what differs."""
    args: dict[str, Any] = {"model": model, "max_model_len": max_model_len, "tensor_parallel_size": tp}
    args |= more.pop("parallel", {})
    args |= {
        "enable_prefix_caching": True,
        "enable_chunked_prefill": True,
        "max_num_batched_tokens": batched,
        "max_num_seqs": 16,
        "kv_cache_dtype": "fp8",  # auto on Hopper
        "disable_hybrid_kv_cache_manager": False,
    }
    if max_model_len > 32768:
        args["override_generation_config"] = {"attn_temperature_tuning": True}
    args |= {"limit_mm_per_prompt": {"image": 5}, "gpu_memory_utilization": 0.9, "dtype": "bfloat16"}
    return args | {"enforce_eager": False, "seed": 0, "use_tqdm_on_load": False}


PINNED = {
    "1xH100 int4": ("scout-int4", Hardware(1, H100), _gpu_args(REPO["int4"], 137_056, 1, 8192)),
    "2xH100 fp8": ("scout-fp8", Hardware(2, H100), _gpu_args(REPO["fp8"], 10_080, 2, 8192)),
    "8xH100 bf16": ("scout", Hardware(8, H100), _gpu_args(REPO["bf16"], 9_736_560, 8, 4096)),
    "8xH200 bf16": ("scout", Hardware(8, H200, gpu_name="H200"), _gpu_args(REPO["bf16"], 10_485_760, 8, 4096)),
    "2x8xH100 bf16": (
        "scout",
        Hardware(16, H100, nodes=2),
        _gpu_args(
            REPO["bf16"],
            10_485_760,
            8,
            4096,
            parallel={"pipeline_parallel_size": 2, "distributed_executor_backend": "ray"},
        ),
    ),
}


@pytest.mark.parametrize("case", PINNED)
def test_pinned_gpu_settings(case: str) -> None:
    model, hardware, expected = PINNED[case]
    settings = engine_settings(EngineConfig(model=model), hardware)
    assert settings.engine_args == expected
    assert list(settings.engine_args) == list(expected)  # the order `vllm serve` flags are printed in
    assert settings.env["VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE"] == "1"
    assert settings.env["VLLM_ENABLE_V1_MULTIPROCESSING"] == "1"
    assert "HF_HUB_OFFLINE" not in settings.env and "VLLM_CPU_KVCACHE_SPACE" not in settings.env
    assert settings.plan["weights_gib"] == SCOUT_CHECKPOINTS[settings.source.weights].gib
    assert settings.plan["serve_command"].endswith(settings.plan["serve_command"].splitlines()[-1])


def test_pinned_cpu_settings_are_what_ran_before(tmp_path: Path) -> None:
    folder = tmp_path / "smol"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "max_position_embeddings": 4096}))
    config = EngineConfig(model=str(folder))
    settings = engine_settings(config, Hardware(0, cpu_kv_space_gib=2))
    assert settings.engine_args == replace(config, limit_images=0).llm_kwargs(folder, 4096)  # a text model
    assert settings.engine_args == {
        "model": str(folder),
        "max_model_len": 4096,
        "dtype": "float32",
        "kv_cache_dtype": "auto",
        "gpu_memory_utilization": 0.9,
        "tensor_parallel_size": 1,
        "enable_prefix_caching": True,
        "enable_chunked_prefill": True,
        "enforce_eager": True,
        "max_num_seqs": 16,
        "seed": 0,
        "limit_mm_per_prompt": {"image": 0},
        "use_tqdm_on_load": False,
    }
    assert settings.env == config.environment() and settings.env["HF_HUB_OFFLINE"] == "1"
    assert settings.plan["hardware"] == "CPU" and settings.plan["kv_cache_space_gib"] == 2
    with pytest.raises(UsageError, match="CPU backend"):
        engine_settings(EngineConfig(model=str(folder), kv_cache_dtype="fp8"), Hardware(0, cpu_kv_space_gib=2))


@pytest.mark.parametrize("case", PINNED)
def test_the_embedded_engine_and_the_server_take_exactly_those(case: str) -> None:
    from scout_context.engine.server_launch import server_launch

    model, hardware, expected = PINNED[case]
    given = {"gpus": hardware.gpus, "gpu_memory_gib": hardware.gpu_memory_gib}
    if hardware.nodes == 1 and hardware.gpu_name == "H100":  # what `--gpus N --gpu-memory G` gives
        assert VllmEngine(EngineConfig(model=model, **given)).llm_kwargs() == expected
        launch = server_launch(EngineConfig(model=model, **given), "127.0.0.1", 8000)
        assert launch.settings == {key: value for key, value in expected.items() if key != "use_tqdm_on_load"}
    engine = VllmEngine(EngineConfig(model=model))
    engine.__dict__["settings"] = engine_settings(EngineConfig(model=model), hardware)
    assert engine.llm_kwargs() == expected and engine.max_model_len == expected["max_model_len"]
    assert engine.is_llama4 and engine.multimodal


def test_dry_run_prints_the_settings_and_starts_nothing(isolated_cache: Path) -> None:
    argv = [EXE, "ask", str(SHOP), "Where is the fee?", "--model", "scout", "--gpus", "8", "--gpu-memory", str(H100)]
    done = subprocess.run([*argv, "--dry-run", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["engine_args"] == PINNED["8xH100 bf16"][2]
    expected = engine_settings(EngineConfig(model="scout", gpus=8, gpu_memory_gib=H100)).as_json()
    assert printed == json.loads(json.dumps(expected))
    assert printed["plan"]["layout"] == "hybrid" and printed["plan"]["tensor_parallel_size"] == 8
    assert "max_num_batched_tokens lowered to 4096" in done.stderr
    assert not (isolated_cache / "models" / "llama-4-scout-17b-16e-instruct").exists()  # nothing fetched


def test_serve_dry_run_prints_the_command() -> None:
    argv = [EXE, "serve", "start", "--model", "scout-int4", "--gpus", "1", "--gpu-memory", str(H100)]
    done = subprocess.run([*argv, "--max-model-len", "1000000", "--dry-run"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    command = json.loads(done.stdout)["command"]
    assert f"--model {REPO['int4']} --max-model-len 137056 --tensor-parallel-size 1" in command
    assert "--kv-cache-dtype fp8" in command and "--served-model-name scout-int4" in command
    assert "--max-model-len 1,000,000 lowered to 137,056" in done.stderr


def test_a_shorter_max_model_len_is_planned_for() -> None:
    settings = engine_settings(EngineConfig(model="scout", max_model_len=131072), Hardware(8, H100))
    assert settings.engine_args["max_model_len"] == 131072 and not settings.notes[2:]
    assert settings.engine_args["max_num_batched_tokens"] == 8192  # not a million-token context: full batches


def test_tensor_parallel_and_kv_dtype_overrides() -> None:
    config = EngineConfig(model="scout", tensor_parallel_size=4, kv_cache_dtype="model", gpu_memory_utilization=0.95)
    args = engine_settings(config, Hardware(8, H100)).engine_args
    assert (args["tensor_parallel_size"], args["pipeline_parallel_size"]) == (4, 2)
    assert args["kv_cache_dtype"] == "auto" and args["gpu_memory_utilization"] == 0.95
    with pytest.raises(UsageError, match="tensor parallel size 3"):
        engine_settings(EngineConfig(model="scout", tensor_parallel_size=3), Hardware(8, H100))


def test_what_does_not_fit_names_the_smallest_hardware_that_does() -> None:
    with pytest.raises(EngineOutOfMemory, match=r"smallest that fits is 4 x H100 \(79.18 GiB\)"):
        engine_settings(EngineConfig(model="scout"), Hardware(1, H100))
    with pytest.raises(EngineOutOfMemory, match=r"smallest that fits is 2 x H100"):
        engine_settings(EngineConfig(model="scout-fp8"), Hardware(1, H100))
    done = subprocess.run(
        [EXE, "ask", str(SHOP), "Q", "--model", "scout", "--gpus", "2", "--gpu-memory", "80", "--dry-run"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 8 and done.stderr.count("\n") == 1 and "4 x H100" in done.stderr


def test_quantized_checkpoints_are_recognised_from_their_config() -> None:
    assert precision({"quantization_config": W4A16}) == "int4"
    assert precision({"quantization_config": FP8_DYNAMIC}) == "fp8"
    assert precision({"quantization_config": {"quant_method": "fp8"}}) == "fp8"
    assert precision({"torch_dtype": "bfloat16"}) == precision({}) == "bf16"
    assert precision({"torch_dtype": "float32"}) == "fp32"
    with pytest.raises(UsageError, match="awq"):
        precision({"quantization_config": {"quant_method": "awq"}})


def test_a_quantized_folder_is_planned_with_its_real_size(tmp_path: Path) -> None:
    folder = tmp_path / "scout-w4a16"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(SCOUT_CHECKPOINTS["int4"].config))
    (folder / "model-00001.safetensors").write_bytes(b"\0" * 4096)
    source = resolve(str(folder))
    assert source.weights == "int4" and not source.hub
    assert source.weights_gib() == 4096 / (1 << 30)  # its files, not an estimate
    settings = engine_settings(EngineConfig(model=str(folder)), Hardware(1, H100))
    assert settings.engine_args["model"] == str(folder.resolve()) and settings.env["HF_HUB_OFFLINE"] == "1"


def test_models_that_cannot_be_had_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelMissing, match="not in the Hugging Face cache and HF_HUB_OFFLINE is set"):
        resolve("nobody-here/no-such-model")
    with pytest.raises(ModelMissing, match=r"has no config\.json"):
        resolve(str(tmp_path))
    with pytest.raises(ModelMissing, match="no model 'nonsense'"):
        resolve("nonsense")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(ModelMissing, match=r"gated: accept the Llama 4 licence at https://huggingface.co/meta-llama/"):
        resolve("scout").check_access()
    resolve("scout-int4").check_access()  # RedHatAI's are not gated
    monkeypatch.setenv("HF_TOKEN", "hf_x")
    resolve("scout").check_access()
    done = subprocess.run(
        [EXE, "ask", str(SHOP), "Q", "--model", str(tmp_path), "--dry-run"],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 7 and done.stderr.count("\n") == 1


def test_job_files_take_the_same_keys(tmp_path: Path) -> None:
    from scout_context.tasks.jobs import load_job_file

    (tmp_path / "src").mkdir()
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "engine:\n  model: scout\n  gpus: 8\n  gpu_memory: 79.18\n  tensor_parallel_size: 8\n"
        "  kv_cache_dtype: fp8\n  gpu_memory_utilization: 0.85\n"
        "corpora:\n  c:\n    sources: [src]\njobs:\n  - name: j\n    corpus: c\n    questions: [Why]\n    output: o.md\n"
    )
    engine = load_job_file(jobs).engine
    assert (engine.gpus, engine.gpu_memory_gib, engine.tensor_parallel_size) == (8, 79.18, 8)
    assert (engine.kv_cache_dtype, engine.gpu_memory_utilization) == ("fp8", 0.85)
    assert engine_settings(engine).engine_args["gpu_memory_utilization"] == 0.85


@pytest.mark.parametrize("command", [["ask"], ["pr"], ["batch"], ["serve", "start"]])
def test_every_generating_command_takes_the_hardware_options(command: list[str]) -> None:
    shown = subprocess.run(
        [EXE, *command, "--help"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}
    )
    assert shown.returncode == 0, shown.stderr
    for flag in ("--gpus", "--gpu-memory", "--tensor-parallel-size", "--kv-cache-dtype", "--gpu-memory-utilization"):
        assert flag in shown.stdout
