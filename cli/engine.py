"""`scout-context engine`: plan vLLM for the hardware at hand."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scout_context.engine.checkpoints import SCOUT_CONFIG, WEIGHT_BYTES
from scout_context.engine.engine_settings import plan_report
from scout_context.engine.hardware import Hardware
from scout_context.engine.model_source import read_config
from scout_context.engine.profile import KV_DTYPES, Plan, PlanRequest
from scout_context.errors import UsageError

from .console import err_console, print_json
from .help_text import choices, teaches

engine_app = typer.Typer(
    help="The inference engine: how much context your hardware holds, and the vLLM flags to serve it.",
    no_args_is_help=True,
)


@engine_app.command("plan")
@teaches(
    "scout-context engine plan --gpus 8 --weights bf16", "scout-context engine plan --gpus 1 --weights int4 --json"
)
def plan_command(
    gpus: Annotated[
        int,
        typer.Option(
            "--gpus",
            min=0,
            help="GPUs in all, over every node. 0 plans vLLM's CPU backend (needs --cpu-kv-space).",
            show_default=False,
        ),
    ],
    weights: Annotated[
        str,
        typer.Option(
            "--weights",
            metavar=choices(WEIGHT_BYTES),
            help="Weight precision: bf16, fp8 or int4 (Scout: Meta's BF16 checkpoint, RedHatAI's FP8-dynamic or w4a16 one); fp32 for CPUs without bf16 units.",
            show_default=False,
        ),
    ],
    gpu_memory: Annotated[
        float | None,
        typer.Option(
            "--gpu-memory",
            min=0,
            help="GiB per GPU as CUDA reports it (torch.cuda.mem_get_info): 79.18 on an H100 80GB, about 139.8 on an H200.",
            show_default=False,
        ),
    ] = None,
    kv_dtype: Annotated[
        str,
        typer.Option(
            "--kv-dtype",
            metavar=choices(KV_DTYPES),
            help="KV cache dtype: auto = fp8 on Hopper or newer (see --gpu-name), else the model's; fp8 (about twice the context; not on CPU); model = the model's dtype.",
        ),
    ] = "auto",
    gpu_name: Annotated[
        str,
        typer.Option(
            "--gpu-name",
            help="GPU model, only to decide what --kv-dtype auto means: Hopper or newer (H100, H200, H20, GH200, B200, GB200, 'hopper', 'blackwell') gets fp8. Name an older GPU (A100, L40S) to keep the model's dtype.",
        ),
    ] = "H100",
    nodes: Annotated[
        int,
        typer.Option(
            "--nodes",
            min=1,
            help="Machines the GPUs are spread over: tensor parallel inside a node, pipeline parallel across, Ray to launch.",
        ),
    ] = 1,
    hybrid_kv: Annotated[
        bool,
        typer.Option(
            "--hybrid-kv/--no-hybrid-kv",
            help="Size for vLLM's hybrid KV cache manager (chunked layers keep one chunk) or without it (every layer keeps every token, as vLLM's published 1M/3.6M figures). Both are shown.",
        ),
    ] = True,
    context: Annotated[
        int | None,
        typer.Option(
            "--context",
            min=1,
            help="Plan exactly this many tokens instead of the most that fit (fails with exit 4 if they do not).",
            show_default=False,
        ),
    ] = None,
    max_images: Annotated[
        int,
        typer.Option(
            "--max-images", min=0, help="Images per prompt for multimodal models (0: text only, no vision profiling)."
        ),
    ] = 5,
    gpu_memory_utilization: Annotated[
        float,
        typer.Option("--gpu-memory-utilization", min=0.05, max=1.0, help="Share of each GPU's memory vLLM may take."),
    ] = 0.9,
    cpu_kv_space: Annotated[
        int | None,
        typer.Option(
            "--cpu-kv-space", min=1, help="For --gpus 0: KV cache GiB (VLLM_CPU_KVCACHE_SPACE).", show_default=False
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="Checkpoint to serve (default: Scout's in the --weights precision).", show_default=False
        ),
    ] = None,
    model_config: Annotated[
        Path | None,
        typer.Option(
            "--model-config",
            help="A Hugging Face config.json (or its folder) to plan another model; needs --model.",
            show_default=False,
        ),
    ] = None,
    weights_gib: Annotated[
        float | None,
        typer.Option(
            "--weights-gib",
            min=0.001,
            help="Size of the weights in GiB (default: Scout's checkpoint size, else estimated from the config).",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the plan as one JSON object on stdout.")] = False,
) -> None:
    """Compute the longest context the hardware holds for one request and the vLLM settings for it.

    KV bytes per token come from the model's config (layers, KV heads, head dim, chunked and global
    layers); free memory per GPU is memory x utilisation, less the weights' share and a fixed
    overhead (9.5 GiB on one GPU, 17.8 GiB on several: see `profile.Overhead`). Prints the derivation on stderr and the
    `vllm serve` command (with the Ray set-up across nodes) on stdout.
    """
    if model_config is not None and model is None:
        raise UsageError("--model-config needs --model: the checkpoint to serve")
    config = SCOUT_CONFIG
    if model_config is not None:
        config = read_config(model_config / "config.json" if model_config.is_dir() else model_config)
    hardware = Hardware(gpus, gpu_memory or 0.0, nodes=nodes, gpu_name=gpu_name, cpu_kv_space_gib=cpu_kv_space)
    request = PlanRequest(weights, kv_dtype, model, weights_gib, context, hybrid_kv, max_images, gpu_memory_utilization)
    result, report = plan_report(config, hardware, request, model)
    if json_output:
        print_json(report)
        return
    err_console.print(_table(result, hardware, request))
    for note in result.notes:
        err_console.print(f"note: {note}", highlight=False, soft_wrap=True)
    sys.stdout.write(result.launch_script() + "\n")
    sys.stdout.flush()


def _table(result: Plan, hardware: Hardware, request: PlanRequest) -> Table:
    where = "CPU" if hardware.is_cpu else f"{hardware.gpus} x {hardware.gpu_name} ({hardware.gpu_memory_gib:g} GiB)"
    table = Table(title=f"{result.vllm_args['model']} on {where}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    gib = "{:.1f} GiB".format
    if hardware.is_cpu:
        table.add_row("weights", f"{gib(result.weights_gib)} in system memory")
        table.add_row("KV cache", f"{gib(result.kv_gib_per_gpu)} (VLLM_CPU_KVCACHE_SPACE)")
    else:
        table.add_row(
            "parallelism",
            f"tensor {result.tensor_parallel_size} x pipeline {result.pipeline_parallel_size}"
            f" on {result.nodes} node(s)",
        )
        table.add_row(
            "usable per GPU",
            f"{result.vllm_args['gpu_memory_utilization']:.2f} x {hardware.gpu_memory_gib:g}"
            f" = {gib(result.usable_gib_per_gpu)}",
        )
        table.add_row("weights", f"{gib(result.weights_gib)}, {gib(result.weights_gib_per_gpu)} per GPU")
        table.add_row(
            "overhead per GPU", f"{gib(result.overhead_gib_per_gpu)} ({request.overhead.parts(hardware.gpus)})"
        )
        table.add_row(
            "KV cache", f"{gib(result.kv_gib_per_gpu)} per GPU, {gib(result.kv_gib_per_gpu * hardware.gpus)} in all"
        )
    table.add_row("KV dtype", str(result.vllm_args["kv_cache_dtype"]))
    for layout in result.layouts.values():
        cost = f"{layout.kv_bytes_per_token / 1024:g} KiB/token"
        if layout.fixed_bytes:
            cost += f" + {layout.fixed_bytes / (1 << 30):.2f} GiB/request"
        chosen = r"  \[chosen]" if layout.name == result.layout else ""
        table.add_row(
            f"{layout.name} layout", f"{cost} -> {layout.tokens:,} tokens{chosen}\n  selected by: {layout.selected_by}"
        )
    table.add_row("max_model_len", f"{result.max_model_len:,} tokens ({result.layout} layout)")
    table.add_row("batched tokens", str(result.vllm_args["max_num_batched_tokens"]))
    return table
