#!/usr/bin/env python3
"""How well the rules screener (`scout_context.screen.rules`) separates injections from code.

Two measures, both with the rules alone (offline, no model):

- **flag rate** on the injection snippets of `bench/screen/`: `injections.jsonl` (the half
  the rules were tuned on) and `injections_held_out.jsonl` (written at the same time, run
  only for the final figures), each snippet screened as one chunk; every miss is listed.
- **false flags** on benign corpora (bench/corpora.py: the flask, click, requests and sympy
  sdists), packed as `scout-context pack` packs them (its chunks, redacted and neutralized),
  in flagged chunks per 1,000 chunks; every flag is listed with its rule and line, so a
  reader can judge it.

Writes Markdown to stdout. The packs use a cache under bench/.work/screen-cache.

    .venv/bin/python bench/screen_bench.py [--split tune|held-out|both] [--corpus NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from corpora import CORPORA, WORK, ensure  # noqa: E402

SNIPPETS = {
    "tune": BENCH_DIR / "screen" / "injections.jsonl",
    "held-out": BENCH_DIR / "screen" / "injections_held_out.jsonl",
}
BENIGN = ("flask", "click", "requests", "sympy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=[*SNIPPETS, "both"], default="both")
    parser.add_argument("--corpus", nargs="*", choices=BENIGN, default=list(BENIGN))
    args = parser.parse_args()
    os.environ.setdefault("SCOUT_CACHE_DIR", str(WORK / "screen-cache"))
    from scout_context.screen.rules import RulesScreener

    screener = RulesScreener()
    print("## Injection snippets (flag rate)\n")
    print("| split | snippets | flagged | rate |\n| --- | --- | --- | --- |")
    misses = []
    for split in SNIPPETS if args.split == "both" else [args.split]:
        rows = [json.loads(line) for line in SNIPPETS[split].read_text(encoding="utf-8").splitlines()]
        found = screener.screen([row["text"] for row in rows])
        hits = sum(f is not None for f in found)
        print(f"| {split} | {len(rows)} | {hits} | {hits / len(rows):.1%} |")
        misses += [row for row, f in zip(rows, found, strict=True) if f is None]
    print("\nMissed:\n")
    for row in misses:
        print(f"- `{row['id']}` ({row['language']}, {row['carrier']}): {json.dumps(row['text'], ensure_ascii=False)}")
    if not args.corpus:
        return
    print("\n## Benign corpora (false flags)\n")
    print("| corpus | chunks | flagged | per 1,000 | pack s | screen s |\n| --- | --- | --- | --- | --- | --- |")
    flags = []
    for name in args.corpus:
        chunks, pack_s = _chunks(ensure(CORPORA[name]))
        started = time.perf_counter()
        found = screener.screen([chunk.text for chunk in chunks])
        screen_s = time.perf_counter() - started
        flagged = [(chunk, f) for chunk, f in zip(chunks, found, strict=True) if f is not None]
        flags += [(name, chunk, f) for chunk, f in flagged]
        rate = 1000 * len(flagged) / max(len(chunks), 1)
        print(
            f"| {name} ({CORPORA[name].requirement}) | {len(chunks):,} | {len(flagged)} | {rate:.2f} | {pack_s:.1f} | {screen_s:.1f} |"
        )
    print("\nEvery benign flag:\n")
    for name, chunk, finding in flags:
        print(f"- {name} `{chunk.id}` {finding.rule} {finding.score:.2f}: `{finding.line}`")
    if not flags:
        print("- none")


def _chunks(root: Path) -> tuple[list, float]:
    """The corpus's chunks as `pack` makes them, and the seconds it took."""
    from scout_context.pack.options import PackOptions
    from scout_context.pack.pipeline import pack
    from scout_context.store import Store

    store = Store()
    started = time.perf_counter()
    try:
        result = pack([root], PackOptions(), store=store)
    finally:
        store.close()
    return result.chunks, time.perf_counter() - started


if __name__ == "__main__":
    main()
