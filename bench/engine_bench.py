#!/usr/bin/env python3
"""Benchmark the embedded engine: start-up, prefill and decode, against transformers.

One process, one run, the project's own path end to end:

1. `import vllm` (with the environment `EngineConfig.environment()` sets), timed alone.
2. Prompts built as `scout-context ask` builds them: `pack` -> `_fitted_prompt` (rank, fit,
   lay out with `arrange`) -> `render_prompt` in the model's chat format, `stable` layout:
   examples/tiny-shop whole (about 2K SmolLM2 tokens with the tail), and flask's `src/`
   fitted to about 7K tokens (`--sizes`; the CPU default has an 8,192-token context).
3. transformers `AutoModelForCausalLM.generate` (fp32, CPU, greedy) on exactly the token ids
   vLLM gets: time to first token (a 1-token generate) and decode tokens/s (a generate of
   --max-tokens tokens, timed per token with a streamer). It runs before the
   vLLM engine starts, so neither holds memory the other needs, and with torch's default
   thread count (recorded).
4. The embedded vLLM engine (`open_engine`, the CPU defaults of `EngineConfig`): start-up
   (the first generate's wall time less that request's own time; a 1-token warm-up),
   then each prompt: prefill tokens/s (`Generation.prefill_tokens_per_s`, computed tokens
   over time to first token) and decode tokens/s (`Generation.decode_tokens_per_s`).
   Each backend runs every prompt --repeat times (default 2; the best run counts, the
   machine is shared and noisy); vLLM's prefix cache is emptied before each timed round.
5. A second question over the same corpus, fitted by `_fitted_prompt` on its own exactly as
   `ask` would, `stable` layout, in the same engine right after the first: `cached_tokens`
   against the prefix the two prompts' token ids share (only whole 128-token blocks can hit).

Prints a table and the vLLM/transformers ratios; raw results go to
bench/.work/engine-bench-<timestamp>.json.

    .venv/bin/python bench/engine_bench.py [--model smollm2] [--max-tokens 64] [--repeat 2] [--dry-run]

Never run it beside another vLLM engine on a small machine (2 cores, 24 GiB here).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import corpora  # noqa: E402
from bench.longctx.code import fitted_prompt  # noqa: E402

DEFAULT_WORK = BENCH_DIR / ".work"
TINY_SHOP = REPO_ROOT / "examples" / "tiny-shop"

QUESTION_1 = (
    "Explain step by step how a request is dispatched to a view function and how its return value becomes a response."
)
QUESTION_2 = "How are sessions stored and signed, and which configuration keys control the session cookie?"
SHOP_QUESTION = "Explain in detail how the cart total is computed, including tax and shipping."


@dataclass
class Row:
    """One prompt through both backends."""

    name: str
    corpus: str
    layout: str
    question: str
    prompt_tokens: int
    chunks: int
    vllm: dict[str, Any] = field(default_factory=dict)
    hf: dict[str, Any] = field(default_factory=dict)
    same_tokens: int = 0  # generated tokens equal between the two, from the start


class _Sized:
    """The engine seen with a smaller context, so `_fitted_prompt` fits a corpus to a
    target prompt size (it fits to `max_model_len - max_tokens`) exactly as `ask` does."""

    def __init__(self, engine: Any, max_model_len: int) -> None:
        self._engine = engine
        self.max_model_len = max_model_len

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_gib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def common_prefix(a: list[int] | tuple[int, ...], b: list[int] | tuple[int, ...]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2", help="registry name or model folder (default smollm2)")
    parser.add_argument("--max-tokens", type=int, default=64, help="new tokens per answer (greedy)")
    parser.add_argument("--sizes", default="7168", help="flask prompt targets in the model's tokens")
    parser.add_argument("--corpus", type=Path, default=None, help="the larger corpus (default flask's src/)")
    parser.add_argument("--no-hf", action="store_true", help="skip transformers")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per prompt and backend; the best counts")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--dry-run", action="store_true", help="build and count the prompts, run nothing")
    args = parser.parse_args()

    from scout_context.engine.config import EngineConfig, SamplingConfig

    config = EngineConfig.from_env(model=args.model)
    os.environ.update(config.environment())  # what VllmEngine sets before its import
    results: dict[str, Any] = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "load_start": os.getloadavg(),
        "config": {k: v for k, v in asdict(config).items() if k != "api_key"},
        "max_tokens": args.max_tokens,
        "repeat": args.repeat,
    }

    # 1. import vllm alone (it imports torch)
    torch_before = "torch" in sys.modules
    started = time.perf_counter()
    import vllm

    import_s = time.perf_counter() - started
    import torch

    results["import"] = {
        "vllm_s": round(import_s, 2),
        "torch_already_imported": torch_before,
        "vllm": vllm.__version__,
        "torch": torch.__version__,
    }
    log(f"import vllm: {import_s:.1f} s")

    # 2. prompts, the way `ask` builds them
    from scout_context.engine.base import Request
    from scout_context.engine.registry import open_engine
    from scout_context.pack.options import PackOptions
    from scout_context.pack.pipeline import pack
    from scout_context.store import Store
    from scout_context.tasks.ask import render_prompt

    engine: Any = open_engine(config)  # the embedded engine: its tokenizer and vllm.LLM are measured
    sampling = SamplingConfig(max_tokens=args.max_tokens)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    store = Store(work / "engine-bench-store.db")
    shop = pack([TINY_SHOP], PackOptions(), store=store)
    big = pack([args.corpus or corpora.ensure(corpora.CORPORA["flask"]) / "src"], PackOptions(), store=store)
    store.close()

    prompts: list[tuple[Row, str]] = []

    def add(name: str, packed: Any, question: str, target: int | None) -> None:
        sized = engine if target is None else _Sized(engine, target + sampling.max_tokens)
        arranged, prompt, tokens = fitted_prompt(packed, question, sized, sampling, "stable")
        corpus = Path(packed.sources[0].root).name if packed.sources else "?"
        prompts.append((Row(name, corpus, "stable", question, tokens, len(arranged.chunks)), prompt))

    add("tiny-shop", shop, SHOP_QUESTION, None)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for size in sizes:
        add(f"flask-{size // 1024}K", big, QUESTION_1, size)
    second = None
    if sizes:  # the second question, packed and fitted on its own exactly as `ask` does
        add("flask-q2", big, QUESTION_2, sizes[-1])
        second = prompts.pop()
    ids = {row.name: engine.tokenizer.encode(prompt, add_special_tokens=False) for row, prompt in prompts}
    for row, _ in [*prompts, *([second] if second else [])]:
        log(f"prompt {row.name}: {row.prompt_tokens:,} tokens, {row.chunks} chunks")
    if args.dry_run:
        return 0

    # 3. transformers, same ids, before the engine exists
    if not args.no_hf:
        results["hf"] = run_transformers(engine, prompts, ids, args.max_tokens, args.repeat)

    # 4. vLLM
    threads_before = torch.get_num_threads()
    started = time.perf_counter()
    warm = engine.generate([Request(render_prompt(engine, "Hello", None))], SamplingConfig(max_tokens=1))[0]
    first_wall = time.perf_counter() - started
    results["vllm_start"] = {
        "first_generate_s": round(first_wall, 2),
        "start_s": round(first_wall - warm.total_s, 2),
        "rss_gib_after_start": round(rss_gib(), 2),
        "torch_threads_before": threads_before,
        "torch_threads_after": torch.get_num_threads(),
    }
    log(f"vLLM start-up: {first_wall - warm.total_s:.1f} s (first generate {first_wall:.1f} s)")
    samples: dict[str, list[Any]] = {row.name: [] for row, _ in prompts}
    for repeat in range(args.repeat):
        # Every timed run computes its whole prompt: the prefix cache is emptied first (the
        # embedded engine's vllm.LLM; a bench may reach for it, the product never does).
        engine._llm.reset_prefix_cache()
        for row, prompt in prompts:
            g = engine.generate([Request(prompt)], sampling)[0]
            samples[row.name].append(g)
            log(
                f"vLLM {row.name} #{repeat + 1}: prefill {g.prefill_tokens_per_s:.0f} tok/s "
                f"({g.cached_tokens} cached), decode {g.decode_tokens_per_s:.1f} tok/s"
            )
    generations = {}
    for row, _ in prompts:
        runs = samples[row.name]
        g = generations[row.name] = max(runs, key=lambda run: run.prefill_tokens_per_s)
        row.vllm = {
            "prompt_tokens": g.prompt_tokens,
            "cached_tokens": g.cached_tokens,
            "first_token_s": round(min(r.first_token_s for r in runs), 3),
            "total_s": round(g.total_s, 3),
            "completion_tokens": g.completion_tokens,
            "finish_reason": g.finish_reason,
            "prefill_tok_s": round(max(r.prefill_tokens_per_s for r in runs), 1),
            "decode_tok_s": round(max(r.decode_tokens_per_s for r in runs), 2),
            "samples": [
                {
                    "first_token_s": round(r.first_token_s, 3),
                    "cached_tokens": r.cached_tokens,
                    "prefill_tok_s": round(r.prefill_tokens_per_s, 1),
                    "decode_tok_s": round(r.decode_tokens_per_s, 2),
                    "completion_tokens": r.completion_tokens,
                }
                for r in runs
            ],
            "answer": g.text,
        }
        hf = results.get("hf", {}).get(row.name)
        if hf:
            row.hf = hf
            row.same_tokens = common_prefix(list(g.token_ids), hf.get("token_ids", []))

    # 5. the second question right after the first (the last prompt run), same engine
    if second is not None:
        first_row, first_prompt = prompts[-1]
        row, prompt = second
        shared = common_prefix(ids[first_row.name], engine.tokenizer.encode(prompt, add_special_tokens=False))
        g = engine.generate([Request(prompt)], sampling)[0]
        at = common_prefix(first_prompt, prompt)  # type: ignore[arg-type]
        results["second_question"] = {
            "question_1": first_row.question,
            "question_2": row.question,
            "layout": "stable",
            "prompt_tokens": g.prompt_tokens,
            "shared_prefix_tokens": shared,
            "shared_prefix_of_prompt": round(shared / max(g.prompt_tokens, 1), 3),
            "cached_tokens": g.cached_tokens,
            "cached_of_shared": round(g.cached_tokens / shared, 3) if shared else 0.0,
            "cached_of_prompt": round(g.cached_tokens / max(g.prompt_tokens, 1), 3),
            "whole_blocks_of_shared": shared // 128 * 128,
            "first_token_s": round(g.first_token_s, 3),
            "first_token_s_question_1": round(min(r.first_token_s for r in samples[first_row.name]), 3),
            "chunks_q1": first_row.chunks,
            "chunks_q2": row.chunks,
            "prompts_part_at_char": at,
            "prompt_chars": len(first_prompt),
            "where_they_part": first_prompt[max(0, at - 60) : at + 60],
            "answer": g.text,
        }
        log(f"second question: {shared:,} shared tokens, {g.cached_tokens:,} cached")
    engine.close()
    results["rows"] = [asdict(row) for row, _ in prompts]
    results["peak_rss_gib"] = round(peak_rss_gib(), 2)
    results["load_end"] = os.getloadavg()
    print_report(results)
    out = work / f"engine-bench-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults: {out}")
    return 0


def run_transformers(
    engine: Any, prompts: list, ids: dict[str, list[int]], max_tokens: int, repeat: int
) -> dict[str, Any]:
    """Time to first token and decode tokens/s of `generate` on the same ids (fp32, greedy),
    best of `repeat` runs."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM
    from transformers.generation.streamers import BaseStreamer

    transformers.logging.set_verbosity_error()

    class Clock(BaseStreamer):
        """Records when each generated token arrives (the first `put` is the prompt)."""

        def __init__(self) -> None:
            self.times: list[float] = []
            self.calls = 0

        def put(self, value: Any) -> None:
            self.calls += 1
            if self.calls > 1:
                self.times.append(time.perf_counter())

        def end(self) -> None:
            pass

    started = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(engine.model_path, dtype=torch.float32)
    model.eval()
    load_s = time.perf_counter() - started
    tokenizer = engine.tokenizer
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out: dict[str, Any] = {
        "load_s": round(load_s, 2),
        "threads": torch.get_num_threads(),
        "transformers": transformers.__version__,
        "attn": model.config._attn_implementation,
    }

    def generate(input_ids: list[int], new: int, streamer: Any = None) -> tuple[float, list[int]]:
        tensor = torch.tensor([input_ids])
        begun = time.perf_counter()
        with torch.inference_mode():
            result = model.generate(
                tensor,
                attention_mask=torch.ones_like(tensor),
                max_new_tokens=new,
                min_new_tokens=new,
                do_sample=False,
                temperature=None,
                top_p=None,
                top_k=None,
                pad_token_id=pad,
                streamer=streamer,
            )
        return time.perf_counter() - begun, result[0, len(input_ids) :].tolist()

    generate(ids[prompts[0][0].name][:64], 2)  # warm-up (first allocations)
    log(f"transformers loaded in {load_s:.1f} s, {torch.get_num_threads()} threads")
    for row, _ in prompts:
        prompt_ids = ids[row.name]
        runs = []
        for _ in range(repeat):
            ttft, _ = generate(prompt_ids, 1)
            clock = Clock()
            begun = time.perf_counter()
            total, tokens = generate(prompt_ids, max_tokens, clock)
            decode_s = clock.times[-1] - clock.times[0] if len(clock.times) > 1 else 0.0
            runs.append(
                {
                    "first_token_s": round(ttft, 3),
                    "first_token_s_streamed": round(clock.times[0] - begun if clock.times else total, 3),
                    "total_s": round(total, 3),
                    "decode_tok_s": round((len(clock.times) - 1) / decode_s, 2) if decode_s else 0.0,
                }
            )
            log(f"transformers {row.name}: first token {ttft:.1f} s, decode {runs[-1]['decode_tok_s']:.1f} tok/s")
        ttft = min(min(r["first_token_s"], r["first_token_s_streamed"]) for r in runs)
        out[row.name] = {
            "prompt_tokens": len(prompt_ids),
            "first_token_s": ttft,
            "prefill_tok_s": round(len(prompt_ids) / ttft, 1),
            "completion_tokens": len(tokens),
            "decode_tok_s": max(r["decode_tok_s"] for r in runs),
            "samples": runs,
            "token_ids": tokens,
        }
    model = None  # the closure's reference too: free the weights before the next engine loads
    gc.collect()
    return out


def print_report(results: dict[str, Any]) -> None:
    start = results["vllm_start"]
    print(
        f"\nimport vllm {results['import']['vllm_s']:.1f} s | vLLM start-up {start['start_s']:.1f} s "
        f"(first generate {start['first_generate_s']:.1f} s) | RSS after start {start['rss_gib_after_start']:.1f} GiB "
        f"| torch threads {start['torch_threads_before']} -> {start['torch_threads_after']} "
        f"| transformers load {results.get('hf', {}).get('load_s', '-')} s, {results.get('hf', {}).get('threads', '-')} threads"
    )
    head = (
        f"{'prompt':<12} {'tokens':>7} {'cached':>6} | {'vLLM TTFT s':>11} {'prefill t/s':>11} {'decode t/s':>10} {'new':>4} "
        f"| {'HF TTFT s':>9} {'prefill t/s':>11} {'decode t/s':>10} | {'prefill x':>9} {'decode x':>8} {'same':>5}"
    )
    print(head)
    print("-" * len(head))
    for row in results["rows"]:
        v, h = row["vllm"], row["hf"]
        px = v["prefill_tok_s"] / h["prefill_tok_s"] if h and h.get("prefill_tok_s") else None
        dx = v["decode_tok_s"] / h["decode_tok_s"] if h and h.get("decode_tok_s") else None
        print(
            f"{row['name']:<12} {v['prompt_tokens']:>7,} {v['cached_tokens']:>6,} | {v['first_token_s']:>11.2f} "
            f"{v['prefill_tok_s']:>11.0f} {v['decode_tok_s']:>10.2f} {v['completion_tokens']:>4} | "
            f"{h.get('first_token_s', float('nan')):>9.2f} {h.get('prefill_tok_s', float('nan')):>11.0f} "
            f"{h.get('decode_tok_s', float('nan')):>10.2f} | "
            f"{'-' if px is None else f'{px:.2f}':>9} {'-' if dx is None else f'{dx:.2f}':>8} {row['same_tokens']:>5}"
        )
    second = results.get("second_question")
    if second:
        print(
            f"\nsecond question, stable layout, same engine: {second['prompt_tokens']:,} prompt tokens, "
            f"{second['shared_prefix_tokens']:,} shared with the first ({second['shared_prefix_of_prompt']:.0%}), "
            f"{second['cached_tokens']:,} cached = {second['cached_of_shared']:.0%} of the shared prefix "
            f"(whole 128-token blocks of it: {second['whole_blocks_of_shared']:,}; {second['cached_of_prompt']:.0%} of the prompt); "
            f"first token {second['first_token_s']:.2f} s vs {second['first_token_s_question_1']:.2f} s for the first question"
        )
    print(
        f"ratios: 'prefill x' and 'decode x' are vLLM tokens/s over transformers tokens/s (best of "
        f"{results['repeat']} runs each); 'same' counts greedy tokens equal between the two from the start"
    )


if __name__ == "__main__":
    sys.exit(main())
