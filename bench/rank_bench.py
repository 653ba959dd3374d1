"""Ranking and fitting cost against the warm `pack` they follow (issue 4: under a quarter).

Runs in one process on a real corpus (default: sympy's source, ~9.6M Scout tokens,
downloaded into bench/.work/corpora on first use): a cold pack to fill the cache, then
N times each: the warm `pack()` alone, and `arrange()` with a question and a budget
(rank + fit + stable layout, as `pack --question Q --budget N` does, the ranking index
kept in the store). Then the same through the CLI: the first question after a plain warm
pack builds the index and stores it; later questions (the median) read it. Prints
medians and the ratio. Usage: python bench/rank_bench.py [CORPUS] [--budget N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scout_context.pack.arrange import arrange
from scout_context.pack.options import PackOptions
from scout_context.pack.pipeline import pack
from scout_context.store import Store

if str(Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import corpora

QUESTIONS = [
    "How does Matrix.inverse handle singular matrices?",
    "Where is the Risch algorithm for integration implemented?",
    "How are assumptions like is_positive propagated through Add and Mul?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=None, help="a folder (default: sympy's source)")
    parser.add_argument("--budget", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.corpus is None:
        args.corpus = corpora.ensure(corpora.CORPORA["sympy"])
    if not args.corpus.is_dir():
        raise SystemExit(f"{args.corpus} not found")
    with tempfile.TemporaryDirectory() as cache:
        store = Store(Path(cache) / "store.db")
        started = time.perf_counter()
        result = pack([args.corpus], PackOptions(), store=store)
        cold = time.perf_counter() - started
        packs, arranges = [], []
        for i in range(args.repeat):
            started = time.perf_counter()
            result = pack([args.corpus], PackOptions(), store=store)
            packs.append(time.perf_counter() - started)
            started = time.perf_counter()
            arranged = arrange(
                result, question=QUESTIONS[i % len(QUESTIONS)], layout="stable", budget=args.budget, store=store
            )
            arranges.append(time.perf_counter() - started)
        store.close()
    warm, extra = statistics.median(packs), statistics.median(arranges)
    print(f"corpus          {args.corpus.name}: {result.tokens:,} tokens, {len(result.chunks):,} chunks")
    print(f"cold pack       {cold:8.2f} s")
    print(f"warm pack       {warm:8.3f} s (median of {args.repeat})")
    print(
        f"rank+fit+layout {extra:8.3f} s to a budget of {args.budget:,}: kept {len(arranged.chunks):,} chunks,"
        f" {len(arranged.shrunk):,} shrunk, {len(arranged.dropped):,} dropped, {arranged.tokens:,} tokens"
    )
    print(f"[info] in-process, ranking and fitting add {extra / warm:.0%} to pack() itself")
    plain, first, fitted = _cli_times(args.corpus, args.budget, args.repeat)
    print(f"warm `scout-context pack`                      {plain:6.2f} s (median, wall)")
    print(f"warm `scout-context pack --question --budget`  {first:6.2f} s the first question (builds the index)")
    print(
        f"                                               {fitted:6.2f} s later questions (median, index from the store)"
    )
    print(f"[info] the first question adds {(first - plain) / plain:.0%}")
    verdict = "PASS" if fitted - plain < 0.25 * plain else "FAIL"
    print(f"[{verdict}] ranking and fitting add {(fitted - plain) / plain:.0%} to the warm pack command (target < 25%)")


def _cli_times(corpus: Path, budget: int, repeat: int) -> tuple[float, float, float]:
    """Wall time of the warm pack command: plain (median), the first question (index
    built) and later questions (median, index read from the store)."""
    exe = Path(sys.executable).with_name("scout-context")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "SCOUT_CACHE_DIR": cache}
        base = [str(exe), "pack", str(corpus), "-o", os.devnull, "--json"]

        def timed(i: int | None) -> float:
            extra = [] if i is None else ["--question", QUESTIONS[i % len(QUESTIONS)], "--budget", str(budget)]
            started = time.perf_counter()
            subprocess.run(base + extra, env=env, capture_output=True, check=True)
            return time.perf_counter() - started

        timed(None)  # fills the analysis cache
        first = timed(0)
        plain, fitted = [], []
        for i in range(repeat):
            plain.append(timed(None))
            fitted.append(timed(i + 1))
    return statistics.median(plain), first, statistics.median(fitted)


if __name__ == "__main__":
    main()
