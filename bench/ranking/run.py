#!/usr/bin/env python3
"""Ranking evaluation: recall@5 and @10 (distinct files) of the ranking `pack --question` uses,
over the question files in bench/ranking/questions/ (rules: bench/results/ranking/DECLARED.md).

    python -m bench.ranking [--corpora flask,click] [--half dev|test|both] [--json OUT]

Each corpus (bench/corpora.py, downloaded the first time) is packed once with default options;
its ranking index is built once by an untimed warm-up question, then every question is ranked
and timed (warm). A question scores, at k, the fraction of its gold files among the first k
distinct files of the ranking. Tables go to stdout: per corpus, language, half, kind and the
two-file questions apart, then each gold file missed at 5 with its rank. The JSON (default
bench/results/ranking/<half>-<time>.json) holds every question's row. A corpus that cannot be
fetched, or whose question file names a gold file it lacks, is skipped with the reason (exit 1);
the others are still ranked.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench.ranking` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.longctx import code as code_task
from bench.ranking import questions_schema as schema

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = REPO_ROOT / "bench" / "results" / "ranking"
STORE = REPO_ROOT / "bench" / ".work" / "ranking" / "store.db"  # the harness's pack cache, not the user's
KS = (5, 10)
LANGUAGES = {  # a gold file's suffix: its language
    ".py": "Python",
    ".js": "JavaScript/TypeScript",
    ".mjs": "JavaScript/TypeScript",
    ".cjs": "JavaScript/TypeScript",
    ".jsx": "JavaScript/TypeScript",
    ".ts": "JavaScript/TypeScript",
    ".tsx": "JavaScript/TypeScript",
    ".mts": "JavaScript/TypeScript",
    ".cts": "JavaScript/TypeScript",
    ".go": "Go",
    ".rs": "Rust",
}
WARM_UP = "warm up the ranking index"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ranking", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", help="comma-separated corpus names (default: every question file's)")
    parser.add_argument("--half", choices=("dev", "test", "both"), default="dev")
    parser.add_argument("--json", type=Path, dest="json_out", help="write the results here")
    return parser.parse_args(argv)


def language(questions: Sequence[schema.Question]) -> str:
    """A corpus's language: the one most of its questions' gold files are written in (docs,
    READMEs and other suffixes do not count)."""
    counts = Counter(LANGUAGES[Path(g).suffix] for q in questions for g in q.gold if Path(g).suffix in LANGUAGES)
    return counts.most_common(1)[0][0] if counts else "other"


def score(question: schema.Question, paths: Sequence[str], seconds: float, language: str) -> dict[str, Any]:
    """One question's row: each gold file's rank among the distinct files (None: not in the
    ranking), its score at each k, and the ranking's time."""
    files = list(dict.fromkeys(paths))
    where = {path: i + 1 for i, path in enumerate(files)}
    gold_ranks = {g: where.get(g) for g in question.gold}
    row: dict[str, Any] = {
        "id": question.id,
        "corpus": question.corpus,
        "language": language,
        "half": question.half,
        "kind": question.kind,
        "two_file": question.two_file,
        "question": question.question,
        "gold_ranks": gold_ranks,
        "top_files": files[:10],
        "rank_s": round(seconds, 4),
    }
    for k in KS:
        row[f"recall@{k}"] = sum(r is not None and r <= k for r in gold_ranks.values()) / len(gold_ranks)
    return row


def block(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"questions": len(rows)}
    for k in KS:
        out[f"recall@{k}"] = round(sum(r[f"recall@{k}"] for r in rows) / len(rows), 3)
    times = sorted(r["rank_s"] for r in rows)
    out["rank_s_median"] = times[len(times) // 2]
    out["rank_s_max"] = times[-1]
    return out


GROUPS: dict[str, Callable[[dict[str, Any]], str]] = {
    "corpus": lambda r: r["corpus"],
    "language": lambda r: r["language"],
    "half": lambda r: r["half"],
    "kind": lambda r: r["kind"],
    "gold files": lambda r: "two or more" if r["two_file"] else "one",
}


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{"all": block} and, for each group, {value: block} over the rows with that value."""
    summary: dict[str, dict[str, Any]] = {"all": {"all": block(rows)}}
    for name, key in GROUPS.items():
        values = sorted({key(r) for r in rows})
        summary[name] = {v: block([r for r in rows if key(r) == v]) for v in values}
    return summary


def print_tables(summary: dict[str, dict[str, Any]], rows: Sequence[dict[str, Any]]) -> None:
    print(
        f"{'group':<12} {'value':<22} {'questions':>9} {'recall@5':>9} {'recall@10':>10} {'median s':>9} {'max s':>7}"
    )
    for group, blocks in summary.items():
        for value, b in blocks.items():
            print(
                f"{group:<12} {value:<22} {b['questions']:>9} {b['recall@5']:>9.3f} {b['recall@10']:>10.3f} "
                f"{b['rank_s_median']:>9.3f} {b['rank_s_max']:>7.3f}"
            )
    misses = [(r, g, rank) for r in rows for g, rank in r["gold_ranks"].items() if rank is None or rank > 5]
    print(f"\ngold files missed at 5: {len(misses)} (rank among distinct files; None: not ranked)")
    for r, g, rank in misses:
        print(f"  {r['id']} [{r['half']}, {r['kind']}] {g}: rank {rank}\n     {r['question']}")
        print(f"     top 5: {', '.join(r['top_files'][:5])}")


def ranker_commit() -> str:
    done = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def rank_corpus(
    name: str, questions: Sequence[schema.Question], lang: str, store: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Pack corpus `name` once, build its ranking index (untimed), and score each question.
    RuntimeError when a gold file is not in the corpus (a defect of the question file)."""
    root = code_task.corpus_root(name, {"corpus": name}, REPO_ROOT)
    missing = schema.missing_gold(list(questions), root)
    if missing:
        raise RuntimeError(f"gold files not in the corpus: {', '.join(missing)}")
    packed, pack_s = code_task.pack_repo(name, {"corpus": name}, REPO_ROOT, store)
    _, index_s = code_task.ranked_paths(packed, WARM_UP)
    log(f"{name}: {len(packed.files):,} files, {packed.tokens:,} tokens; {len(questions)} questions")
    rows = [score(q, *code_task.ranked_paths(packed, q.question), lang) for q in questions]
    info = {"files": len(packed.files), "chunks": len(packed.chunks), "tokens": packed.tokens}
    return rows, info | {"pack_s": round(pack_s, 1), "first_rank_s": round(index_s, 2)}


def main(argv: list[str] | None = None) -> int:
    """0: every corpus ranked; 1: some were skipped (listed, with the reason); 2: nothing to run."""
    args = parse_args(argv)
    try:
        everything = schema.load_all()
    except ValueError as error:
        log(f"bench.ranking: {error}")
        return 2
    wanted = set(args.corpora.split(",")) if args.corpora else {q.corpus for q in everything}
    unknown = wanted - {q.corpus for q in everything}
    if unknown:
        log(f"bench.ranking: no questions for corpus {', '.join(sorted(unknown))}")
        return 2
    questions = [q for q in everything if q.corpus in wanted and args.half in (q.half, "both")]
    if not questions:
        log(f"bench.ranking: no {args.half} questions for {', '.join(sorted(wanted))}")
        return 2
    from scout_context.store import Store

    STORE.parent.mkdir(parents=True, exist_ok=True)
    store = Store(STORE)
    rows: list[dict[str, Any]] = []
    packs: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    try:
        for name in sorted({q.corpus for q in questions}):
            chosen = [q for q in questions if q.corpus == name]
            lang = language([q for q in everything if q.corpus == name])
            try:
                corpus_rows, packs[name] = rank_corpus(name, chosen, lang, store)
            except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
                skipped[name] = str(error)
                log(f"bench.ranking: {name} skipped: {error}")
                continue
            rows += corpus_rows
    finally:
        store.close()
    if not rows:
        return 2
    summary = summarize(rows)
    print_tables(summary, rows)
    out = args.json_out or RESULTS / f"{args.half}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "half": args.half,
        "ranker_commit": ranker_commit(),
        "packs": packs,
        "skipped": skipped,
        "summary": summary,
        "questions": rows,
    }
    out.write_text(json.dumps(result, indent=1) + "\n")
    log(f"results: {out}")
    return 1 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
