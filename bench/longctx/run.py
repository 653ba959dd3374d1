#!/usr/bin/env python3
"""Long-context quality harness: needles in real corpora and code questions, any engine.

    python -m bench.longctx [--engine vllm|openai] [--model M] [--base-url URL]
        [--tasks needle,recall,code] [--kinds single,multi,twohop] [--lengths 2K,6K]
        [--depths 0,0.25,0.5,0.75,1] [--layouts naive,plain,stable,edges] [--seeds 0,1] [--limit N]

Tasks: `needle` (the kinds in --kinds over --lengths x --depths x --layouts; an engine),
`recall` (gold-file recall@5/@10 of the ranking on questions/code.json; no engine),
`code` (recall, then answer accuracy on the questions with an expected substring; an engine,
at most --limit questions). Results go to bench/.work/longctx/<task>-<model>-<time>.json
(written after every case, so an interrupted run keeps what it did) and the tables to
stdout. See bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench.longctx` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import corpora
from bench.longctx import code as code_task, needles as nd

REPO_ROOT = Path(__file__).resolve().parents[2]
WORK = REPO_ROOT / "bench" / ".work" / "longctx"
HAYSTACKS = {  # name: (a corpus in bench/corpora.py, or None for this repository; the folder in it)
    "flask": ("flask", "src"),
    "sympy-doc": ("sympy", "doc/src/tutorials"),
    "sympy": ("sympy", "sympy"),  # the package's source: haystacks up to several million tokens
    "self": (None, "scout_context"),
}
HAYSTACK_CHUNK_CHARS = 2000  # about 500 tokens: a 2K haystack holds several chunks


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tokens_arg(text: str) -> int:
    """`2048`, `2K` (2,048) or `1M` (1,048,576)."""
    text = text.strip().upper()
    scale = {"K": 1024, "M": 1024 * 1024}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.longctx", description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("vllm", "openai"), default="vllm")
    parser.add_argument(
        "--model", default=None, help="smollm2 (default), tiny-llama4, scout, a folder, or the served id"
    )
    parser.add_argument("--base-url", default=None, help="the vLLM server for --engine openai (or SCOUT_BASE_URL)")
    parser.add_argument("--max-model-len", type=int, default=None)
    parser.add_argument("--tasks", default="needle,recall", help="needle, recall, code (comma-separated)")
    parser.add_argument("--kinds", default="single,multi,twohop", help="needle kinds: single, multi, twohop")
    parser.add_argument("--lengths", default="2K,6K", help="haystack sizes in the engine's tokens (2K = 2048)")
    parser.add_argument("--depths", default="0,0.25,0.5,0.75,1", help="single-needle depths in the naive prompt")
    parser.add_argument("--layouts", default="naive,stable,edges")
    parser.add_argument("--corpus", default="flask", help=f"needle haystack: {', '.join(HAYSTACKS)} or a folder")
    parser.add_argument(
        "--variants", type=int, default=1, help=f"single-needle facts per depth (1 to {len(nd.SINGLE)})"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="at most N engine cases per needle kind, N code answers"
    )
    parser.add_argument("--max-tokens", type=int, default=40, help="answer tokens for needle cases (multi: twice)")
    parser.add_argument("--code-max-tokens", type=int, default=128)
    parser.add_argument("--code-layout", default="edges", choices=("stable", "edges"))
    parser.add_argument("--questions", type=Path, default=code_task.QUESTIONS)
    parser.add_argument(
        "--seeds", default="0", help="haystack samples (comma-separated): each adds a full set of cases"
    )
    parser.add_argument("--out", type=Path, default=WORK)
    parser.add_argument("--dry-run", action="store_true", help="build and place everything, run no model")
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="an earlier needle JSON: its scored cases with the same prompt are kept, not rerun",
    )
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tasks = {t.strip() for t in args.tasks.split(",") if t.strip()}
    unknown = tasks - {"needle", "recall", "code"}
    if unknown:
        log(f"unknown task(s): {', '.join(sorted(unknown))}")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    from scout_context.store import Store

    store = Store(args.out / "store.db")  # the harness's own pack cache, not the user's
    engine = None
    if "needle" in tasks or ("code" in tasks and args.limit != 0):
        from scout_context.engine.config import EngineConfig
        from scout_context.engine.registry import open_engine

        config = EngineConfig.from_env(
            backend=args.engine,
            model=args.model,
            base_url=args.base_url,
            max_model_len=args.max_model_len,
            verbose=args.verbose,
        )
        engine = open_engine(config)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    model = _slug(engine.model_name) if engine is not None else "none"
    status = 0
    try:
        if "needle" in tasks:
            run_needles(args, engine, store, args.out / f"needle-{model}-{stamp}.json")
        if tasks & {"recall", "code"}:
            status = run_code(args, engine if "code" in tasks else None, store, args.out / f"code-{model}-{stamp}.json")
    finally:
        store.close()
        if engine is not None:
            engine.close()
    return status


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-._" else "-" for ch in Path(name).name)[:60]


# --------------------------------------------------------------------------- needles


def run_needles(args: argparse.Namespace, engine: Any, store: Any, out: Path) -> None:
    from scout_context.engine.base import Request
    from scout_context.engine.config import SamplingConfig
    from scout_context.pack.options import PackOptions
    from scout_context.pack.pipeline import pack

    layouts = [x.strip() for x in args.layouts.split(",") if x.strip()]
    kinds = [x.strip() for x in args.kinds.split(",") if x.strip()]
    bad = [x for x in layouts if x not in nd.LAYOUTS] + [k for k in kinds if k not in nd.KINDS]
    if bad:
        raise SystemExit(f"unknown layout or kind: {', '.join(bad)}")
    lengths = [tokens_arg(x) for x in args.lengths.split(",") if x.strip()]
    depths = [float(x) for x in args.depths.split(",") if x.strip()]
    root = haystack_root(args.corpus)
    packed = pack([root], PackOptions(chunk_chars=HAYSTACK_CHUNK_CHARS), store=store)
    if not any(c.text.strip() for c in packed.chunks):
        raise SystemExit(f"no text to make haystacks of in {root}")
    limit = engine.max_model_len - 2 * args.max_tokens  # room for the longest answer (multi)
    log(
        f"needles: {engine.model_name}, context {engine.max_model_len:,}; haystack from {root} "
        f"({len(packed.chunks)} chunks, {packed.tokens:,} Scout tokens)"
    )

    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    cases: list[nd.Case] = []
    for length in lengths:
        for seed in seeds:
            haystack, cases_here = _fitted_cases(
                packed, engine, length, depths, layouts, kinds, seed, limit, args.variants
            )
            if haystack is None:
                continue
            for case in cases_here:
                case.extra["seed"] = seed
            for kind in kinds:
                of_kind = [c for c in cases_here if c.kind == kind]
                cases.extend(of_kind[: args.limit] if args.limit is not None else of_kind)
    # Run order: by length and layout, deepest needle first, so naive prompts reuse the
    # prefix cache of the previous one (they differ only from the needle on).
    cases.sort(key=lambda c: (c.length, nd.KINDS.index(c.kind), layouts.index(c.layout), -_first_depth(c)))
    result: dict[str, Any] = {
        "engine": args.engine,
        "model": engine.model_name,
        "max_model_len": engine.max_model_len,
        "commit": _commit(),
        "corpus": str(root),
        "chunk_chars": HAYSTACK_CHUNK_CHARS,
        "lengths": lengths,
        "depths": depths,
        "layouts": layouts,
        "kinds": kinds,
        "seeds": seeds,
        "variants": args.variants,
        "started": datetime.now().isoformat(timespec="seconds"),
        "cases": [],
    }
    log(
        f"{len(cases)} cases; prompt sizes {min(c.prompt_tokens for c in cases):,} to {max(c.prompt_tokens for c in cases):,} tokens"
    )
    done: dict[str, dict[str, Any]] = {}
    if args.resume is not None:
        earlier = json.loads(args.resume.read_text())
        if earlier.get("model") == engine.model_name:
            done = {r["prompt_sha1"]: r for r in earlier.get("cases", []) if "score" in r and "prompt_sha1" in r}
        log(f"resume: {len(done)} scored cases in {args.resume}")
    started = time.perf_counter()
    for n, case in enumerate(cases, 1):
        row = _case_row(case)
        if row["prompt_sha1"] in done:
            row = done[row["prompt_sha1"]]
        elif not args.dry_run:
            sampling = SamplingConfig(max_tokens=args.max_tokens * (2 if case.kind == "multi" else 1))
            g = engine.generate([Request(case.prompt)], sampling)[0]
            row.update(
                {
                    "answer": g.text,
                    "score": nd.score(case, g.text),
                    "cached_tokens": g.cached_tokens,
                    "first_token_s": round(g.first_token_s, 2),
                    "total_s": round(g.total_s, 2),
                    "completion_tokens": g.completion_tokens,
                }
            )
            if case.kind == "twohop":
                row["first_hop_found"] = nd.contains_number(g.text, case.extra["first_hop"])
            log(
                f"[{n}/{len(cases)}] {case.kind} {case.length} d={_fmt_depth(case.depth)} {case.layout}: "
                f"score {row['score']:.2f}, needle at {_fmt_actual(row)}, {case.prompt_tokens:,} tok "
                f"({g.cached_tokens:,} cached), {g.total_s:.1f} s | {' '.join(g.text.split())[:70]!r}"
            )
        result["cases"].append(row)
        result["engine_s"] = round(time.perf_counter() - started, 1)
        out.write_text(json.dumps(result, indent=1))
    result["summary"] = needle_tables(result, print_them=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"\nneedle results: {out}")


def _commit() -> str:
    """The code the run measures: this checkout's commit, `-dirty` with uncommitted changes."""
    described = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty", "--abbrev=12"], capture_output=True, text=True
    )
    return described.stdout.strip() or "unknown"


def haystack_root(name: str) -> Path:
    """The folder a haystack is sampled from: a named one (its corpus set up on first use) or a path."""
    if name not in HAYSTACKS:
        return Path(name)
    corpus, folder = HAYSTACKS[name]
    return (corpora.ensure(corpora.CORPORA[corpus]) if corpus else REPO_ROOT) / folder


def _fitted_cases(packed, engine, length, depths, layouts, kinds, seed, limit, variants):
    """The haystack of `length` and its cases; the haystack shrinks until every prompt
    (the stable layout's tree and tail make it the longest) fits the engine's context, by a
    quarter at most (else the length is skipped)."""
    target = length
    for _ in range(5):
        haystack = nd.Haystack(packed, engine, target, seed)
        if haystack.total < 0.9 * target:  # the corpus ran out: a "128K" haystack of 81K would mislabel every cell
            raise SystemExit(
                f"length {length:,}: the haystack corpus holds {haystack.total:,} of the {target:,} tokens "
                f"wanted; pick a bigger --corpus (sympy: about 8M Scout tokens) or a folder"
            )
        cases: list[nd.Case] = []
        if "single" in kinds:
            cases += nd.single_cases(haystack, length, depths, layouts, seed, variants)
        if "multi" in kinds:
            cases += nd.multi_cases(haystack, length, layouts, seed)
        if "twohop" in kinds:
            cases += nd.twohop_cases(haystack, length, layouts, seed)
        for case in cases:
            nd.build_prompt(case, haystack, engine)
        biggest = max(c.prompt_tokens for c in cases)
        if biggest <= limit:
            log(
                f"length {length:,}: haystack {haystack.total:,} tokens in {len(haystack.chunks)} chunks; "
                f"prompts {min(c.prompt_tokens for c in cases):,} to {biggest:,} tokens"
            )
            return haystack, cases
        target -= biggest - limit + 32
        if target < 0.75 * length:  # a "128K" cell of 3K haystack would be mislabelled
            break
    log(f"length {length:,} does not fit {engine.model_name}'s context of {engine.max_model_len:,}: skipped")
    return None, []


def _first_depth(case: nd.Case) -> float:
    return case.depth if isinstance(case.depth, float) else case.depth[0]


def _fmt_depth(depth: Any) -> str:
    return f"{depth:g}" if isinstance(depth, float) else "/".join(f"{d:g}" for d in depth)


def _fmt_actual(row: dict[str, Any]) -> str:
    parts = []
    for p in row["placement"]:
        parts.append("-" if p["depth"] is None else f"{p['depth']:.2f}{'+tail' if p['in_tail'] else ''}")
    return "/".join(parts)


def _case_row(case: nd.Case) -> dict[str, Any]:
    return {
        "kind": case.kind,
        "length": case.length,
        "depth": case.depth,
        "layout": case.layout,
        "question": case.question,
        "needles": [asdict(n) for n in case.needles],
        "expected": case.expected,
        "prompt_tokens": case.prompt_tokens,
        "haystack_tokens": case.haystack_tokens,
        "haystack_chunks": case.haystack_chunks,
        "placement": case.placement,
        **case.extra,
        "prompt_sha1": hashlib.sha1(case.prompt.encode()).hexdigest(),
    }


def needle_tables(result: dict[str, Any], print_them: bool = False) -> dict[str, Any]:
    """Accuracy by depth x length per layout (single), by length x layout (multi, twohop),
    and the check that edges is at least as accurate as naive in every cell."""
    rows = [r for r in result["cases"] if "score" in r]
    summary: dict[str, Any] = {}
    out: list[str] = []
    single = [r for r in rows if r["kind"] == "single"]
    if single:
        lengths = sorted({r["length"] for r in single})
        depths = sorted({r["depth"] for r in single})
        layouts = [x for x in result["layouts"] if any(r["layout"] == x for r in single)]
        cell: dict[tuple, list[dict[str, Any]]] = {}
        for r in single:
            cell.setdefault((r["layout"], r["length"], r["depth"]), []).append(r)

        def mean(values: list[float]) -> float:
            return sum(values) / len(values) if values else 0.0

        def cell_score(key: tuple) -> float:
            return mean([r["score"] for r in cell[key]])

        n = max(len(v) for v in cell.values())
        summary["single"] = {}
        for layout in layouts:
            out.append(
                f"\nsingle needle, layout {layout}: {'score' if n == 1 else f'mean score of {n} needle facts'} "
                "(needle's actual depth in the documents, mean; +t: also in the stable tail)"
            )
            out.append(f"{'length':>8} | " + " | ".join(f"d={d:<11g}" for d in depths) + " | mean")
            scores = []
            for length in lengths:
                cells = []
                row_scores = []
                for d in depths:
                    key = (layout, length, d)
                    if key not in cell:
                        cells.append(f"{'-':<13}")
                        continue
                    placed = [r["placement"][0] for r in cell[key] if r["placement"][0]["depth"] is not None]
                    where = f"{mean([p['depth'] for p in placed]):.2f}" if placed else "?"
                    where += "+t" if any(p["in_tail"] for p in placed) else ""
                    value = cell_score(key)
                    cells.append(f"{value:.2g} ({where})".ljust(13))
                    row_scores.append(value)
                    scores.extend(r["score"] for r in cell[key])
                out.append(f"{length:>8,} | " + " | ".join(cells) + f" | {mean(row_scores):.2f}")
            summary["single"][layout] = round(mean(scores), 3)
        if "edges" in layouts and "naive" in layouts:
            worse = [
                (length, d)
                for length in lengths
                for d in depths
                if (
                    ("edges", length, d) in cell
                    and ("naive", length, d) in cell
                    and cell_score(("edges", length, d)) < cell_score(("naive", length, d))
                )
            ]
            summary["edges_at_least_naive"] = not worse
            summary["edges_worse_cells"] = worse
            out.append(f"\nedges >= naive at every depth and length: {'PASS' if not worse else 'FAIL ' + str(worse)}")
            summary["paired"] = _paired(cell, lengths, depths)
            if summary["paired"]:
                out.append(
                    "paired by haystack and fact (answers only edges got / only naive got, exact two-sided "
                    "sign test p):"
                )
                for length in sorted({p["length"] for p in summary["paired"]}):
                    out.append(
                        f"{length:>8,} | "
                        + " | ".join(
                            f"d={p['depth']:g} {p['edges_only']}/{p['naive_only']} "
                            + (f"p={p['p']:.2g}" if p["p"] >= 0.001 else "p<0.001")
                            for p in summary["paired"]
                            if p["length"] == length
                        )
                    )
    for kind, title in (("multi", "three needles (fraction found)"), ("twohop", "two-hop (exact)")):
        subset = [r for r in rows if r["kind"] == kind]
        if not subset:
            continue
        layouts = [x for x in result["layouts"] if any(r["layout"] == x for r in subset)]
        lengths = sorted({r["length"] for r in subset})
        runs: dict[tuple, list[dict[str, Any]]] = {}
        for r in subset:
            runs.setdefault((r["layout"], r["length"]), []).append(r)
        out.append(
            f"\n{title}, depths {_fmt_depth(tuple(subset[0]['depth']))}: score (actual depths; with several "
            "seeds: the mean score, and how many found the first hop)"
        )
        out.append(f"{'length':>8} | " + " | ".join(f"{x:<22}" for x in layouts))
        for length in lengths:
            cells = []
            for layout in layouts:
                found = runs.get((layout, length))
                if not found:
                    cells.append(f"{'-':<22}")
                    continue
                mean = sum(r["score"] for r in found) / len(found)
                hops = sum(bool(r.get("first_hop_found")) for r in found)
                if len(found) == 1:
                    text = f"{mean:.2f} ({_fmt_actual(found[0])}){' hop1' if hops else ''}"
                else:
                    text = f"{mean:.2f} (of {len(found)}{f', hop1 {hops}' if kind == 'twohop' else ''})"
                cells.append(text.ljust(22))
            out.append(f"{length:>8,} | " + " | ".join(cells))
        summary[kind] = {
            x: round(
                sum(r["score"] for r in subset if r["layout"] == x) / max(1, sum(r["layout"] == x for r in subset)), 3
            )
            for x in layouts
        }
    if print_them:
        print("\n".join(out))
    summary["text"] = "\n".join(out)
    return summary


def _paired(cell: dict[tuple, list[dict[str, Any]]], lengths: list[int], depths: list[float]) -> list[dict[str, Any]]:
    """Per (length, depth), edges against naive on the cases both ran (same seed and fact):
    how many answers only edges got right, only naive, and the exact two-sided sign-test
    p-value of that split (McNemar's exact test). A difference of one or two answers in a
    cell is noise when p is near 1; it is not when p is small."""
    paired = []
    for length in lengths:
        for depth in depths:
            right = {
                layout: {
                    (r.get("seed"), r.get("variant")): r["score"] >= 1 for r in cell.get((layout, length, depth), [])
                }
                for layout in ("edges", "naive")
            }
            both = right["edges"].keys() & right["naive"].keys()
            if not both:
                continue
            edges_only = sum(right["edges"][k] and not right["naive"][k] for k in both)
            naive_only = sum(right["naive"][k] and not right["edges"][k] for k in both)
            paired.append(
                {
                    "length": length,
                    "depth": depth,
                    "pairs": len(both),
                    "edges_only": edges_only,
                    "naive_only": naive_only,
                    "p": sign_test(edges_only, naive_only),
                }
            )
    return paired


def sign_test(a: int, b: int) -> float:
    """Exact two-sided p-value of `a` against `b` successes under a fair coin."""
    n, low = a + b, min(a, b)
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, k) for k in range(low + 1)) / 2**n)


# --------------------------------------------------------------------------- code questions


def run_code(args: argparse.Namespace, engine: Any, store: Any, out: Path) -> int:
    questions, repos = code_task.load_questions(args.questions)
    packs, pack_s = {}, {}
    for name in dict.fromkeys(q.repo for q in questions):
        packs[name], pack_s[name] = code_task.pack_repo(name, repos[name], REPO_ROOT, store)
        log(
            f"packed {name}: {len(packs[name].files):,} files, {len(packs[name].chunks):,} chunks, "
            f"{packs[name].tokens:,} tokens in {pack_s[name]:.1f} s"
        )
    rows = code_task.recall(questions, packs)
    summary = code_task.summarize_recall(rows)
    result: dict[str, Any] = {
        "questions_file": str(args.questions),
        "recall": summary,
        "questions": rows,
        "packs": {
            n: {"files": len(p.files), "chunks": len(p.chunks), "tokens": p.tokens, "pack_s": round(pack_s[n], 1)}
            for n, p in packs.items()
        },
    }
    print("\ngold-file recall of rank() (a gold file's chunk in the top k chunks; file-level: top k distinct files)")
    print(f"{'repo or set':<16} {'questions':>9} {'recall@5':>9} {'recall@10':>10} {'file@5':>7} {'file@10':>8}")
    for name, s in summary.items():
        print(
            f"{name:<16} {s['questions']:>9} {s['recall@5']:>9.2f} {s['recall@10']:>10.2f} "
            f"{s['file_recall@5']:>7.2f} {s['file_recall@10']:>8.2f}"
        )
    misses = [r for r in rows if not r["hit@5"]]
    status = 0
    target = summary["overall"]["recall@5"] >= 0.9
    print(f"target recall@5 >= 0.9 over {summary['overall']['questions']} questions: {'PASS' if target else 'FAIL'}")
    if misses:
        print("misses at 5 (gold chunk rank, gold file rank, top files):")
        for r in misses:
            print(
                f"  {r['id']}: {r['question']}\n     gold {', '.join(r['gold'])}: chunk rank {r['gold_chunk_rank']}, "
                f"file rank {r['gold_file_rank']}; top: {', '.join(r['top_files'][:5])}"
            )
    if engine is not None:
        answers = code_task.answer_questions(
            questions, packs, engine, args.code_layout, args.code_max_tokens, args.limit, log
        )
        result["answers"] = answers
        result["answer_layout"] = args.code_layout
        result["model"] = engine.model_name
        if answers:
            right = sum(a["correct"] for a in answers)
            gold = sum(a["gold_in_prompt"] for a in answers)
            unfit = sum("error" in a for a in answers)
            print(
                f"\ncode answers ({engine.model_name}, {args.code_layout}): {right}/{len(answers)} contain the expected "
                f"substring; the gold file was in the fitted prompt for {gold}/{len(answers)}; "
                f"{unfit} did not fit the context at all"
            )
            for a in answers:
                shown = a["answer"] if "error" not in a else "[did not fit: " + a["error"][:70] + "]"
                print(
                    f"  {a['id']:<9} {'right' if a['correct'] else 'wrong':<5} gold in prompt {a['gold_in_prompt']!s:<5} "
                    f"expect {a['expect']!r:<26} | {' '.join(shown.split())[:90]!r}"
                )
    out.write_text(json.dumps(result, indent=1))
    print(f"\ncode results: {out}")
    return status


if __name__ == "__main__":
    sys.exit(main())
