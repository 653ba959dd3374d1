#!/usr/bin/env python3
"""A check of the engine plan on real hardware: plan, start, compare, needles, one JSON file.

    python bench/gpu_check.py [--model scout] [--gpus N --gpu-memory GiB] [--max-model-len N]
        [--kv-cache-dtype auto] [--corpus sympy] [--out FILE] [--dry-run]

1. Plans with `engine_settings` (the one function from model and hardware to `vllm.LLM`'s
   arguments, environment and plan) for the hardware detected, or given with --gpus/--gpu-memory.
   `--dry-run` prints that and the planned KV capacity, and starts nothing.
2. Starts `VllmEngine` with exactly those settings (checked: the engine's arguments and
   environment equal the plan's) and reads the KV capacity vLLM reports: its cache config's
   `kv_cache_size_tokens` (what vLLM logs as "KV cache size: N tokens": the requests of
   `max_model_len` its blocks hold at once, times `max_model_len`), beside `num_gpu_blocks` and
   `block_size`. It compares that with the plan's tokens: the ratio, and whether it is within 10%.
3. Asks a single needle (depth 0.5, naive layout: bench/longctx's needle code and haystacks) at
   128K and at the planned maximum (`max_model_len`, less the answer), with timings.

On a CUDA machine the model is Scout (default `scout`) and the haystack sympy's source (bench/corpora.py:
millions of tokens). On a CPU the same steps run with the tiny random-weight Llama 4 at a short
context (`tiny-llama4`, 4,096 tokens, needles of 1K and the maximum, haystack: this repository's
package): its answers are noise, so they are recorded and not scored. The JSON goes to --out
(default bench/.work/gpu_check/gpu-check-<model>-<time>.json); its path is printed on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.longctx import needles as nd
from bench.longctx.run import HAYSTACK_CHUNK_CHARS, _fitted_cases, haystack_root, log

REPO_ROOT = Path(__file__).resolve().parents[1]
WORK = REPO_ROOT / "bench" / ".work" / "gpu_check"
LONG = 128 * 1024
TOLERANCE = 0.10
ANSWER_TOKENS = 24
CPU = {"model": "tiny-llama4", "max_model_len": 4096, "short": 1024, "corpus": "self"}
GPU = {"model": "scout", "corpus": "sympy"}
CPU_BLOCK = 128  # vLLM's KV block size on its CPU backend
CPU_BATCHED = 4096  # vLLM's max_num_batched_tokens on its CPU backend when none is given (arg_utils)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python bench/gpu_check.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="default: scout on GPUs, tiny-llama4 on a CPU")
    parser.add_argument("--gpus", type=int, default=None, help="plan for N GPUs in all (with --gpu-memory)")
    parser.add_argument("--gpu-memory", type=float, default=None, help="GiB per GPU, as CUDA reports it")
    parser.add_argument("--max-model-len", type=int, default=None, help="default: the plan's (CPU: 4,096)")
    parser.add_argument("--kv-cache-dtype", default="auto")
    parser.add_argument("--gpu-memory-utilization", type=float, default=None)
    parser.add_argument("--tensor-parallel-size", type=int, default=None)
    parser.add_argument("--corpus", default=None, help="needle haystack (bench/longctx --corpus); default by device")
    parser.add_argument("--out", type=Path, default=None, help="the JSON file to write")
    parser.add_argument("--dry-run", action="store_true", help="plan and print; start nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the check; a failure the user can fix (no checkpoint, no licence, a plan that does not
    fit) is one line and the CLI's exit code."""
    from scout_context.errors import ScoutError

    try:
        return check(parse_args(argv))
    except ScoutError as error:
        log(f"gpu_check: {error}")
        return error.exit_code


def check(args: argparse.Namespace) -> int:
    from scout_context.engine.config import EngineConfig
    from scout_context.engine.engine_settings import engine_settings
    from scout_context.engine.hardware import detect

    hardware = detect(args.gpus, args.gpu_memory, EngineConfig.kv_cache_space_gib)
    defaults = CPU if hardware.is_cpu else GPU
    config = EngineConfig.from_env(
        backend="vllm",
        model=args.model or defaults["model"],
        gpus=args.gpus,
        gpu_memory_gib=args.gpu_memory,
        max_model_len=args.max_model_len or defaults.get("max_model_len"),
        kv_cache_dtype=args.kv_cache_dtype,
        gpu_memory_utilization=args.gpu_memory_utilization,
        tensor_parallel_size=args.tensor_parallel_size,
    )
    settings = engine_settings(config, hardware)
    planned = planned_capacity(settings)
    record: dict[str, Any] = {
        "created": datetime.now().isoformat(timespec="seconds"),
        "dry_run": args.dry_run,
        "model": config.model,
        "hardware": {**asdict(hardware), "describe": hardware.describe(), **_versions()},
        "settings": settings.as_json(),
        "capacity": {"planned": planned, "reported": None, "ratio": None, "within_10pct": None},
        "needles": [],
        "notes": list(planned.pop("notes")),
    }
    if args.dry_run:
        print(json.dumps(record, indent=2, default=str))
        return 0
    out = args.out or WORK / f"gpu-check-{_slug(str(config.model))}-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    run_checks(record, config, settings, args.corpus or defaults["corpus"], out)
    print(out)
    return 0


def run_checks(record: dict[str, Any], config: Any, settings: Any, corpus: str, out: Path) -> None:
    """Start the engine with `settings`, read its capacity, run the needles; write `out` after each step."""
    from scout_context.engine.vllm_local import VllmEngine

    engine = VllmEngine(config)
    engine.settings = settings  # the plan above, not a second one
    if engine.llm_kwargs() != settings.engine_args:
        raise SystemExit("the engine would not start with the planned arguments")
    started = time.perf_counter()
    llm = engine._start()  # the start alone, timed apart from the first prompt
    record["start_s"] = round(time.perf_counter() - started, 1)
    record["engine_env_is_planned"] = all(os.environ.get(key) == value for key, value in settings.env.items())
    capacity = record["capacity"]
    capacity["reported"] = reported_capacity(llm)
    if capacity["reported"]["tokens_from"] != "kv_cache_size_tokens":
        record["notes"].append(
            "this vLLM does not report kv_cache_size_tokens: blocks x block size is used, which for a "
            "hybrid KV cache counts every group's blocks as context (an overestimate)"
        )
    capacity["ratio"] = round(capacity["reported"]["tokens"] / capacity["planned"]["tokens"], 4)
    capacity["within_10pct"] = abs(capacity["ratio"] - 1) <= TOLERANCE
    _write(out, record)
    try:
        for label, length in needle_lengths(engine, settings.hardware.is_cpu):
            record["needles"].append(
                run_needle(engine, label, length, corpus, out.parent, not settings.hardware.is_cpu)
            )
            _write(out, record)
    finally:
        engine.close()
    _write(out, record)


def planned_capacity(settings: Any) -> dict[str, Any]:
    """The plan's KV capacity in tokens, counted as vLLM counts its own (see `reported_capacity`).

    GPUs: the chosen layout's tokens (the plan's max_model_len is that, within the model's
    positions, so one request of max_model_len fills it). CPU: vLLM's CPU backend gets
    `kv_cache_space_gib` and runs the model's layout (the hybrid one for chunked attention), so the
    plan's arithmetic (`KvShape`) over that space, as requests of max_model_len at once times
    max_model_len: at 4,096 tokens the chunked layers' fixed blocks take most of each request."""
    if settings.planned is not None:
        plan = settings.planned
        tokens = plan.layouts[plan.layout].tokens
        notes = []
        if plan.layout == "hybrid" and tokens > plan.max_model_len:
            notes.append(
                f"the plan's {tokens:,} tokens are one request; vLLM counts requests of max_model_len "
                f"({plan.max_model_len:,}), each with its chunked layers' blocks, so it reports a little less"
            )
        return {
            "tokens": tokens,
            "layout": plan.layout,
            "max_model_len": plan.max_model_len,
            "kv_gib_per_gpu": plan.kv_gib_per_gpu,
            "notes": notes,
        }
    from scout_context.engine.kv_cache import Architecture, KvShape

    text = settings.source.config.get("text_config", settings.source.config)
    args = settings.engine_args
    space = int(settings.plan["kv_cache_space_gib"]) << 30
    value_bytes = 4 if args["dtype"] == "float32" else 2
    batched = args.get("max_num_batched_tokens") or CPU_BATCHED
    layouts = KvShape(Architecture.read(text), 1, 1, value_bytes, space, CPU_BLOCK).layouts(batched)
    layout = layouts["hybrid"] if "hybrid" in layouts else layouts["full"]
    max_model_len = int(args["max_model_len"])
    per_request = math.ceil(max_model_len / CPU_BLOCK) * CPU_BLOCK * layout.kv_bytes_per_token + layout.fixed_bytes
    return {
        "tokens": space // per_request * max_model_len,
        "layout": layout.name,
        "max_model_len": max_model_len,
        "kv_cache_space_gib": settings.plan["kv_cache_space_gib"],
        "longest_one_request": layout.tokens,
        "notes": [
            (
                f"CPU: planned tokens are whole requests of max_model_len ({max_model_len:,}) in "
                f"{settings.plan['kv_cache_space_gib']} GiB with the {layout.name} layout, block {CPU_BLOCK}, "
                f"{batched:,} batched tokens; one request alone could hold {layout.tokens:,}. vLLM reports more "
                "when max_model_len < chunk + batched tokens: it caps a chunked layer's blocks per request at "
                "max_model_len, the plan (made for long contexts) does not, and it counts partial requests"
            )
        ],
    }


def reported_capacity(llm: Any) -> dict[str, Any]:
    """What the started vLLM reports: its cache config, filled in by the engine core after it
    sized the KV cache (the client copies it across processes: vllm/v1/engine/core_client.py)."""
    vllm_config = llm.llm_engine.vllm_config
    cache = vllm_config.cache_config
    blocks, block_size = cache.num_gpu_blocks, cache.block_size
    tokens = getattr(cache, "kv_cache_size_tokens", None)
    return {
        "tokens": int(tokens) if tokens is not None else int(blocks * block_size),
        "tokens_from": "kv_cache_size_tokens" if tokens is not None else "num_gpu_blocks x block_size",
        "max_concurrency": getattr(cache, "kv_cache_max_concurrency", None),
        "num_gpu_blocks": blocks,
        "block_size": block_size,
        "max_model_len": vllm_config.model_config.max_model_len,
        "max_num_batched_tokens": vllm_config.scheduler_config.max_num_batched_tokens,
    }


def needle_lengths(engine: Any, cpu: bool) -> list[tuple[str, int]]:
    """(label, haystack tokens): 128K (on a CPU: 1K) and the most the context holds."""
    most = engine.max_model_len - ANSWER_TOKENS
    short = CPU["short"] if cpu else LONG
    lengths = [("128K" if not cpu else "short", short)] if short < most else []
    return [*lengths, ("planned maximum", most)]


def run_needle(engine: Any, label: str, length: int, corpus: str, work: Path, scored: bool) -> dict[str, Any]:
    """One single needle at depth 0.5 in a haystack of `length` (shrunk to fit, as bench/longctx does)."""
    from scout_context.engine.base import Request
    from scout_context.engine.config import SamplingConfig
    from scout_context.pack.options import PackOptions
    from scout_context.pack.pipeline import pack
    from scout_context.store import Store

    started = time.perf_counter()
    packed = pack(
        [haystack_root(corpus)], PackOptions(chunk_chars=HAYSTACK_CHUNK_CHARS), store=Store(work / "store.db")
    )
    limit = engine.max_model_len - ANSWER_TOKENS
    try:
        _, cases = _fitted_cases(packed, engine, length, [0.5], ["naive"], ["single"], 0, limit, 1)
    except SystemExit as error:  # the corpus is too small for this length
        return {"label": label, "length": length, "skipped": str(error)}
    if not cases:
        return {"label": label, "length": length, "skipped": f"does not fit a context of {engine.max_model_len:,}"}
    case = cases[0]
    build_s = time.perf_counter() - started
    [answer] = engine.generate([Request(case.prompt)], SamplingConfig(max_tokens=ANSWER_TOKENS))
    return {
        "label": label,
        "length": length,
        "prompt_tokens": answer.prompt_tokens,
        "haystack_tokens": case.haystack_tokens,
        "depth": case.placement[0]["depth"],
        "expected": case.expected,
        "answer": answer.text,
        "score": nd.score(case, answer.text) if scored else None,
        "scored": scored,
        "build_s": round(build_s, 1),
        "first_token_s": round(answer.first_token_s, 2),
        "total_s": round(answer.total_s, 2),
    }


def _versions() -> dict[str, Any]:
    found: dict[str, Any] = {}
    try:
        import torch

        found["torch"] = torch.__version__
        found["cuda"] = torch.version.cuda
        if torch.cuda.is_available():
            found["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    try:
        import vllm

        found["vllm"] = vllm.__version__
    except ImportError:
        found["vllm"] = None
    return found


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in name.rsplit("/", 1)[-1])[:40]


def _write(path: Path, record: dict[str, Any]) -> None:
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")


if __name__ == "__main__":
    log("gpu_check: plan, start, capacity, needles")
    sys.exit(main())
