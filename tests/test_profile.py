"""The engine plan against Scout's published figures, its arithmetic, its flags and the CLI."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from scout_context.engine.checkpoints import SCOUT_CHECKPOINTS, SCOUT_CONFIG, SCOUT_TEXT_CONFIG, estimate_weights_gib
from scout_context.engine.config import EngineConfig
from scout_context.engine.engine_settings import engine_settings
from scout_context.engine.hardware import Hardware
from scout_context.engine.profile import Overhead, PlanRequest, plan
from scout_context.errors import ContextTooLarge, EngineOutOfMemory, UsageError

try:
    from scout_context_cli.engine import engine_app
except ModuleNotFoundError:  # not installed: the source tree's `cli` package
    from cli.engine import engine_app

POSITIONS = SCOUT_TEXT_CONFIG["max_position_embeddings"]
H100 = 79.1  # GiB of an H100 80GB as CUDA reports it (79.18 measured), rounded down
H200 = 139.8  # of an H200 141GB, likewise
SMOLLM2 = {  # a plain Llama (SmolLM2-135M-Instruct): no chunked attention, no NoPE layers
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "num_hidden_layers": 30,
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "vocab_size": 49152,
    "max_position_embeddings": 8192,
    "tie_word_embeddings": True,
}


def scout(gpus: int, memory: float, weights: str = "bf16", **kwargs: Any):
    hardware = Hardware(gpus, memory, nodes=kwargs.pop("nodes", 1), gpu_name=kwargs.pop("gpu_name", "H100"))
    return plan(SCOUT_CONFIG, hardware, PlanRequest(weights, **kwargs))


@pytest.mark.parametrize(
    ("memory", "gpu", "low", "high"), [(H100, "H100", 1_000_000, 1_350_000), (H200, "H200", 3_400_000, 3_800_000)]
)
def test_calibrated_to_the_published_figures(memory: float, gpu: str, low: int, high: int) -> None:
    # vLLM's Llama 4 launch: bf16 weights and KV cache, 8 GPUs, before the hybrid KV cache manager:
    # 1M tokens on 8 x H100, 3.6M on 8 x H200. The plan must be neither far below nor above them.
    result = scout(8, memory, kv_dtype="model", gpu_name=gpu, hybrid_kv_cache=False)
    assert result.layout == "full"
    assert result.vllm_args["disable_hybrid_kv_cache_manager"] is True
    assert result.vllm_args["kv_cache_dtype"] == "auto"
    assert low <= result.max_model_len <= high
    assert result.layouts["hybrid"].tokens > 3 * result.layouts["full"].tokens


def test_the_calibration_is_tight_on_both_sides() -> None:
    # 8 x H200 at 3.6M: one GiB per GPU more or less moves the plan out of the published range's middle
    def h200(overhead: float) -> int:
        request = PlanRequest("bf16", kv_dtype="model", hybrid_kv_cache=False, overhead=Overhead(parallel_gib=overhead))
        return plan(SCOUT_CONFIG, Hardware(8, H200, gpu_name="H200"), request).max_model_len

    assert h200(Overhead().parallel_gib) >= 3_600_000
    assert h200(Overhead().parallel_gib + 1) < 3_600_000 < h200(Overhead().parallel_gib - 1)


@pytest.mark.parametrize(
    ("hardware", "weights"),
    [
        (Hardware(1, H100), "int4"),
        *(
            (hardware, weights)
            for weights in ("bf16", "fp8", "int4")
            for hardware in (Hardware(8, H100), Hardware(8, H200, gpu_name="H200"), Hardware(16, H100, nodes=2))
        ),
    ],
)
def test_never_beyond_the_model_positions(hardware: Hardware, weights: str) -> None:
    result = plan(SCOUT_CONFIG, hardware, PlanRequest(weights))
    assert 0 < result.max_model_len <= POSITIONS
    assert all(layout.max_model_len <= POSITIONS for layout in result.layouts.values())
    assert result.layouts["hybrid"].tokens > result.layouts["full"].tokens


def test_kv_bytes_per_token_from_the_config() -> None:
    result = scout(8, H100, kv_dtype="model")
    assert result.layouts["full"].kv_bytes_per_token == 192 * 1024  # 48 layers x 2 x 8 x 128 x 2 bytes
    assert result.layouts["hybrid"].kv_bytes_per_token == 48 * 1024  # the 12 NoPE layers
    assert result.kv_bytes_per_token == 48 * 1024
    # the 36 chunked layers keep one chunk plus a batch per request
    batched = result.vllm_args["max_num_batched_tokens"]
    assert result.layouts["hybrid"].fixed_bytes == 36 * 4096 * (8192 + batched)


def test_hybrid_layout_is_larger_and_named_by_its_switch() -> None:
    hybrid, full = scout(8, H100, kv_dtype="model"), scout(8, H100, kv_dtype="model", hybrid_kv_cache=False)
    assert hybrid.max_model_len > 3 * full.max_model_len
    assert hybrid.vllm_args["disable_hybrid_kv_cache_manager"] is False
    assert hybrid.env == {"VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE": "1"}
    assert full.env == {}
    assert "--no-disable-hybrid-kv-cache-manager" in hybrid.layouts["hybrid"].selected_by
    assert full.layouts["full"].selected_by == "--disable-hybrid-kv-cache-manager"


def test_fp8_kv_roughly_doubles_the_context() -> None:
    bf16 = scout(8, H100, kv_dtype="model", hybrid_kv_cache=False)
    fp8 = scout(8, H100, kv_dtype="fp8", hybrid_kv_cache=False)
    assert fp8.vllm_args["kv_cache_dtype"] == "fp8"
    assert 1.9 < fp8.max_model_len / bf16.max_model_len < 2.1


@pytest.mark.parametrize(
    ("gpu", "kv"),
    [
        ("H100", "fp8"),
        ("NVIDIA H100 80GB HBM3", "fp8"),
        ("H200", "fp8"),
        ("GH200", "fp8"),
        ("B200", "fp8"),
        ("hopper", "fp8"),
        ("A100", "auto"),
        ("NVIDIA A100-SXM4-80GB", "auto"),
        ("L40S", "auto"),
    ],
)
def test_auto_kv_dtype_is_fp8_from_hopper_on(gpu: str, kv: str) -> None:
    assert scout(8, H100, gpu_name=gpu).vllm_args["kv_cache_dtype"] == kv


def test_temperature_tuning_above_32k_only() -> None:
    def flag(context: int) -> Any:
        return scout(1, H100, "int4", kv_dtype="fp8", context=context).vllm_args.get("override_generation_config")

    assert flag(32768) is None
    assert flag(32769) == {"attn_temperature_tuning": True}
    assert scout(8, H100).vllm_args["override_generation_config"] == {"attn_temperature_tuning": True}
    small = scout(1, H100, "int4", kv_dtype="model", hybrid_kv_cache=False)  # about 31K tokens
    assert small.max_model_len <= 32768 and "override_generation_config" not in small.vllm_args


def test_batched_tokens_lowered_for_million_token_plans() -> None:
    long, short = scout(8, H100), scout(1, H100, "int4")
    assert long.max_model_len >= 1_000_000 and short.max_model_len < 1_000_000
    assert long.vllm_args["max_num_batched_tokens"] < short.vllm_args["max_num_batched_tokens"] == 8192


def test_scout_flags() -> None:
    args = scout(8, H100).vllm_args
    assert args["model"] == SCOUT_CHECKPOINTS["bf16"].repo
    assert args["tensor_parallel_size"] == 8 and "pipeline_parallel_size" not in args
    assert args["enable_prefix_caching"] is True and args["enable_chunked_prefill"] is True
    assert args["limit_mm_per_prompt"] == {"image": 5}  # the seed tested up to 5 images
    assert args["gpu_memory_utilization"] == 0.9
    assert scout(1, H100, "int4").vllm_args["model"] == SCOUT_CHECKPOINTS["int4"].repo


def test_multi_node_is_tensor_inside_pipeline_across() -> None:
    result = scout(16, H100, nodes=2)
    assert (result.tensor_parallel_size, result.pipeline_parallel_size) == (8, 2)
    assert result.vllm_args["distributed_executor_backend"] == "ray"
    script = result.launch_script()
    assert "ray start --block --head" in script
    assert "ray start --block --address=<HEAD_NODE_IP>:6379" in script
    assert script.splitlines()[-1] == result.serve_command()
    assert "--tensor-parallel-size 8 --pipeline-parallel-size 2 --distributed-executor-backend ray" in script
    # two nodes hold twice the KV cache of one (the weights take less of each GPU)
    assert result.layouts["full"].tokens > 2 * scout(8, H100).layouts["full"].tokens


def test_heads_decide_the_tensor_parallel_size() -> None:
    result = scout(6, H100)  # 40 heads split 2 ways, not 6: tensor 2 x pipeline 3
    assert (result.tensor_parallel_size, result.pipeline_parallel_size) == (2, 3)


def test_weights_that_do_not_fit() -> None:
    with pytest.raises(EngineOutOfMemory, match=r"bf16 weights .* do not fit"):
        scout(1, H100, "bf16")
    with pytest.raises(UsageError, match="unknown weights"):
        scout(8, H100, "int3")


def test_context_that_does_not_fit() -> None:
    with pytest.raises(ContextTooLarge, match="positions"):
        scout(8, H200, context=POSITIONS + 1)
    with pytest.raises(ContextTooLarge, match="do not fit"):
        scout(1, H100, "int4", context=1_000_000)
    assert scout(8, H100, context=131072).max_model_len == 131072


def test_invalid_hardware() -> None:
    with pytest.raises(UsageError, match="CPU plan"):
        Hardware(0, 80.0)
    with pytest.raises(UsageError, match="split evenly"):
        Hardware(12, 80.0, nodes=5)
    with pytest.raises(UsageError, match="GPU"):
        Hardware(8)


def test_serve_line_round_trips_the_vllm_args() -> None:
    for result in (
        scout(8, H100),
        scout(16, H100, nodes=2, hybrid_kv_cache=False),
        plan(SMOLLM2, Hardware(0, cpu_kv_space_gib=1), PlanRequest("fp32", model="/models/smol lm")),
    ):
        env, args = _parse_serve(result.serve_command())
        assert env == result.env
        assert args == result.vllm_args


def test_a_bare_text_config_plans_like_the_full_config() -> None:
    bare = plan(SCOUT_TEXT_CONFIG, Hardware(8, H100), PlanRequest("bf16"))
    assert bare.layouts == scout(8, H100).layouts
    assert "limit_mm_per_prompt" not in bare.vllm_args  # a text config is a text-only model


def test_a_plain_llama_has_only_global_layers() -> None:
    result = plan(
        SMOLLM2, Hardware(1, 24.0, gpu_name="L4"), PlanRequest("bf16", model="HuggingFaceTB/SmolLM2-135M-Instruct")
    )
    assert list(result.layouts) == ["full"] and result.layout == "full"
    assert result.max_model_len == 8192
    assert result.kv_bytes_per_token == 30 * 2 * 3 * 64 * 2
    args = result.vllm_args
    assert "disable_hybrid_kv_cache_manager" not in args and result.env == {}
    assert "override_generation_config" not in args and "limit_mm_per_prompt" not in args
    assert args["kv_cache_dtype"] == "auto"


def test_cpu_plan_keeps_the_default_kv_dtype() -> None:
    result = plan(SMOLLM2, Hardware(0, cpu_kv_space_gib=1), PlanRequest("fp32", model="smol"))
    assert result.vllm_args["kv_cache_dtype"] == "auto" and result.vllm_args["dtype"] == "float32"
    assert result.env == {"VLLM_CPU_KVCACHE_SPACE": "1"}
    assert "gpu_memory_utilization" not in result.vllm_args
    assert result.max_model_len == 8192
    tiny = plan(SCOUT_TEXT_CONFIG, Hardware(0, cpu_kv_space_gib=1), PlanRequest("fp32"))
    assert tiny.max_model_len == (1 << 30) // (48 * 2 * 8 * 128 * 4) // 128 * 128  # whole 128-token blocks
    with pytest.raises(UsageError, match="CPU"):
        plan(SMOLLM2, Hardware(0, cpu_kv_space_gib=1), PlanRequest("bf16", kv_dtype="fp8"))


@pytest.mark.parametrize("weights", ["bf16", "fp8", "int4"])
def test_weight_estimate_is_close_to_the_checkpoints(weights: str) -> None:
    estimate, measured = estimate_weights_gib(SCOUT_TEXT_CONFIG, weights), SCOUT_CHECKPOINTS[weights].gib
    assert 0.94 < estimate / measured < 1.0  # the vision tower is not counted


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(engine_app, name="engine")
    return app


def test_cli_json() -> None:
    result = CliRunner().invoke(
        _app(),
        [
            "engine",
            "plan",
            "--gpus",
            "8",
            "--gpu-memory",
            str(H100),
            "--weights",
            "bf16",
            "--kv-dtype",
            "model",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["max_model_len"] == scout(8, H100, kv_dtype="model").max_model_len
    assert payload["vllm_args"]["tensor_parallel_size"] == 8
    assert payload["layouts"]["full"]["tokens"] >= 1_000_000
    # the same function as the engines': `ask --model scout` on that hardware runs with these arguments
    config = EngineConfig(model="scout", kv_cache_dtype="model")
    assert payload["engine_args"] == engine_settings(config, Hardware(8, H100)).engine_args
    assert payload["engine_args"]["enforce_eager"] is False and payload["engine_args"]["dtype"] == "bfloat16"


def test_cli_prints_the_serve_line_on_stdout() -> None:
    result = CliRunner().invoke(
        _app(), ["engine", "plan", "--gpus", "16", "--nodes", "2", "--gpu-memory", "80", "--weights", "fp8"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == scout(16, 80.0, "fp8", nodes=2).serve_command()
    assert any(line.startswith("VLLM_HOST_IP=<HEAD_NODE_IP> ray start") for line in lines)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--gpus", "0", "--gpu-memory", "80", "--weights", "bf16"], UsageError),
        (["--gpus", "1", "--gpu-memory", "80", "--weights", "bf16"], EngineOutOfMemory),
        (["--gpus", "8", "--gpu-memory", "80", "--weights", "nf4"], UsageError),
        (["--gpus", "8", "--gpu-memory", "80", "--weights", "bf16", "--context", "20000000"], ContextTooLarge),
    ],
)
def test_cli_errors_are_typed(argv: list[str], error: type[Exception]) -> None:
    result = CliRunner().invoke(_app(), ["engine", "plan", *argv])
    assert isinstance(result.exception, error)
    assert "\n" not in str(result.exception)


def _parse_serve(line: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Read a `vllm serve` line back: env assignments, the model, then --flag [value] pairs."""
    words = shlex.split(line)
    env = {}
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    assert words[:2] == ["vllm", "serve"]
    args: dict[str, Any] = {"model": words[2]}
    rest = words[3:]
    while rest:
        key = rest.pop(0).removeprefix("--").replace("-", "_")
        if rest and not rest[0].startswith("--"):
            text = rest.pop(0)
            try:
                args[key] = json.loads(text)
            except ValueError:
                args[key] = text
        elif key.startswith("no_"):
            args[key.removeprefix("no_")] = False
        else:
            args[key] = True
    return env, args
