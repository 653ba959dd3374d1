#!/usr/bin/env python3
"""Benchmark `batch` against separate `ask` runs: ten questions over one corpus, one run.

One process, one embedded engine (started and warmed up first, so no mode pays its
start), one fresh store:

1. `batch`: a job of ten questions over the corpus (`run_batch`: the prefix primed once,
   then the ten questions in one `generate` call).
2. `ask` x10: each question on its own, as `scout-context ask` does (`edges` layout, the
   default): every prompt starts with its question, so nothing but the system turn is shared.
3. `ask --layout stable` x10: separate requests over a stable prefix, which a warm engine
   caches from the second on: what prefix caching alone gives, without batching.

For each: wall time, prompt tokens, tokens computed (prompt less cached, the priming
request included) and the cached fraction. Separate `ask` processes would each also pay
the engine's start, measured once here. The corpus is the synthetic `depot` repository of
the tests (`--warehouses` modules of about 290 tokens), sized for SmolLM2's 8,192 tokens.
Raw results go to bench/.work/batch-bench-<timestamp>.json.

    .venv/bin/python bench/batch_bench.py [--model smollm2] [--max-tokens 64] [--warehouses 18]

Never run it beside another vLLM engine on a small machine (2 cores, 24 GiB here).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "tests")]

from test_batch_corpus import WAREHOUSES, build  # noqa: E402

QUESTIONS = [
    "What is OSLO_CAPACITY set to?",
    "What does restock_berlin return?",
    "When does a MadridItem need a reorder?",
    "What is the reorder level in Vienna?",
    "How is the value of a DublinItem computed?",
    "Which module keeps the stock of Prague?",
    "What happens to delivered units that do not fit in the Warsaw warehouse?",
    "What fields does a ZurichItem have?",
    "What is MILAN_CAPACITY?",
    "What is this repository for?",
]


class Metered:
    """The engine, summing the usage of every generation it returns (priming included)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.prompt_tokens = self.cached_tokens = self.requests = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        generations = self.engine.generate(*args, **kwargs)
        for g in generations:
            self.prompt_tokens += g.prompt_tokens
            self.cached_tokens += g.cached_tokens
            self.requests += 1
        return generations

    def row(self, name: str, seconds: float) -> dict[str, Any]:
        computed = self.prompt_tokens - self.cached_tokens
        return {
            "mode": name,
            "wall_s": round(seconds, 2),
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "computed_tokens": computed,
            "cached_fraction": round(self.cached_tokens / max(self.prompt_tokens, 1), 3),
        }


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--warehouses", type=int, default=18, choices=range(1, len(WAREHOUSES) + 1), metavar="N")
    parser.add_argument("--work", type=Path, default=BENCH_DIR / ".work")
    args = parser.parse_args()

    from scout_context.engine.base import Request
    from scout_context.engine.config import EngineConfig, SamplingConfig
    from scout_context.engine.registry import open_engine
    from scout_context.pack.options import PackOptions
    from scout_context.store import Store
    from scout_context.tasks.ask import ask
    from scout_context.tasks.batch import run_batch
    from scout_context.tasks.jobs import load_job_file

    scratch = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    corpus = build(scratch / "depot", args.warehouses)
    jobs = scratch / "jobs.yaml"
    listed = "".join(f"      - {json.dumps(q)}\n" for q in QUESTIONS)
    jobs.write_text(
        f"engine:\n  model: {args.model}\n  max_tokens: {args.max_tokens}\ncorpora:\n  depot:\n    sources: [depot]\n"
        f"jobs:\n  - name: depot\n    corpus: depot\n    questions:\n{listed}    output: depot.md\n"
    )
    job_file = load_job_file(jobs)
    store = Store(scratch / "store.db")
    engine = open_engine(EngineConfig(model=args.model))
    sampling = SamplingConfig(max_tokens=args.max_tokens)

    load_before = os.getloadavg()
    log("starting the engine")
    started = time.perf_counter()
    engine.generate([Request("Hello")], SamplingConfig(max_tokens=1))
    start_s = time.perf_counter() - started

    rows = []
    log("batch: ten questions")
    metered = Metered(engine)
    started = time.perf_counter()
    [report] = run_batch(job_file, engine=metered, store=store).jobs
    rows.append(metered.row("batch", time.perf_counter() - started))
    assert all(q.status == "done" for q in report.questions), [q.error for q in report.questions]
    prefix_tokens = report.prefix_tokens
    for layout in ("edges", "stable"):
        log(f"ask x10, {layout} layout")
        metered = Metered(engine)
        started = time.perf_counter()
        for question in QUESTIONS:
            ask(
                [corpus], question, engine=metered, store=store, options=PackOptions(), sampling=sampling, layout=layout
            )
        rows.append(metered.row(f"ask x10 ({layout})", time.perf_counter() - started))
    engine.close()
    store.close()

    load_after = os.getloadavg()
    print(
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (2 cores: other load shows in the times)"
    )
    print(
        f"model {args.model}, corpus {report.corpus_tokens:,} Scout tokens, shared prefix {prefix_tokens:,} model tokens, "
        f"{args.max_tokens} answer tokens at most, engine start {start_s:.1f} s"
    )
    print(f"{'mode':<20}{'wall s':>9}{'requests':>10}{'prompt tok':>12}{'computed':>10}{'cached':>8}")
    for row in rows:
        print(
            f"{row['mode']:<20}{row['wall_s']:>9.1f}{row['requests']:>10}{row['prompt_tokens']:>12,}"
            f"{row['computed_tokens']:>10,}{row['cached_fraction']:>8.0%}"
        )
    batch, asks = rows[0], rows[1]
    print(
        f"batch vs ask x10: {asks['wall_s'] / batch['wall_s']:.1f}x faster, "
        f"{asks['computed_tokens'] / max(batch['computed_tokens'], 1):.1f}x fewer prefill tokens computed; "
        f"ten separate ask processes would add about {10 * start_s:.0f} s of engine starts"
    )
    args.work.mkdir(parents=True, exist_ok=True)
    out = args.work / f"batch-bench-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {
                "model": args.model,
                "max_tokens": args.max_tokens,
                "corpus_tokens": report.corpus_tokens,
                "prefix_tokens": prefix_tokens,
                "engine_start_s": round(start_s, 2),
                "rows": rows,
                "load_average": [load_before, load_after],
            },
            indent=2,
        )
    )
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
