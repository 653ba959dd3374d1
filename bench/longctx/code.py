"""Code questions over real repositories: gold-file recall of the ranking, answer accuracy.

The questions (questions/code.json) name the file(s) where the answer lives. Recall uses
the project's `rank()` over the whole packed repository (default pack options, as `ask`
packs): a question is a hit at k when a chunk of a gold file is among the top k chunks
(chunk-level ranking mapped to files). The file-level figure (top k distinct files) is
reported beside it. Answer accuracy runs the engine the way `ask` does (`_fitted_prompt`:
rank, fit into the engine's context, lay out) on the questions that carry an `expect`
substring, and checks it case-insensitively in the answer.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import corpora
from scout_context.engine.base import Request
from scout_context.engine.config import SamplingConfig
from scout_context.errors import ContextTooLarge
from scout_context.pack.options import PackOptions
from scout_context.pack.pipeline import pack
from scout_context.pack.rank import rank
from scout_context.pack.result import PackResult
from scout_context.store import Store

QUESTIONS = Path(__file__).resolve().parent / "questions" / "code.json"


@dataclass(frozen=True)
class Question:
    id: str
    repo: str
    question: str
    gold: tuple[str, ...]
    expect: str | None
    set: str = "main"  # "held-out": written after the ranker's last change, never used to tune it


def fitted_prompt(packed: Any, question: str, engine: Any, sampling: Any, layout: str) -> tuple[Any, str, int]:
    """(arranged pack, prompt, its tokens) as `ask` ranks, fits and lays out: through
    `tasks.ask._fitted_prompt`, with no images and no answer language."""
    from scout_context.tasks.ask import _fitted_prompt

    fitted = _fitted_prompt(packed, question, engine, sampling, layout, True, None, 0)  # type: ignore[arg-type]
    return fitted.arranged, fitted.prompt, fitted.tokens


def load_questions(path: Path = QUESTIONS) -> tuple[list[Question], dict[str, dict[str, Any]]]:
    data = json.loads(path.read_text())
    questions = [
        Question(q["id"], q["repo"], q["question"], tuple(q["gold"]), q.get("expect"), q.get("set", "main"))
        for q in data["questions"]
    ]
    return questions, data["repos"]


def corpus_root(name: str, repo: dict[str, Any], repo_root: Path) -> Path:
    """The folder to pack: a bench `corpus` (bench/corpora.py, set up on first use), or
    `root`, or, when the repository names a `commit`, that commit of the git repository at
    `root`, extracted once under bench/.work/corpora, so that a corpus which is this
    project's own code does not move as the code does."""
    if "corpus" in repo:
        return corpora.ensure(corpora.CORPORA[repo["corpus"]])
    root = (repo_root / repo["root"]).resolve()
    commit = repo.get("commit")
    if not commit:
        return root
    target = repo_root / "bench" / ".work" / "corpora" / f"{name}-{commit[:12]}"
    ready = target.with_name(target.name + ".ready")
    if not ready.exists():
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(root), "archive", commit], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
        # Its own (empty) work tree: inside this repository's ignored bench/.work, git
        # ls-files would otherwise list nothing (see bench/README.md, "Why git init").
        subprocess.run(["git", "init", "--quiet", str(target)], check=True)
        ready.write_text(commit + "\n")
    return target


def pack_repo(name: str, repo: dict[str, Any], repo_root: Path, store: Store) -> tuple[PackResult, float]:
    root = corpus_root(name, repo, repo_root)
    started = time.perf_counter()
    packed = pack([root], PackOptions(exclude=tuple(repo.get("exclude", ()))), store=store)
    return packed, time.perf_counter() - started


def ranked_paths(packed: PackResult, question: str) -> tuple[list[str], float]:
    """The path of each chunk in the order the ranking `pack --question` and `ask` use puts
    them (best first), and the seconds the ranking took. `dict.fromkeys` of it gives the
    distinct files in ranked order."""
    started = time.perf_counter()
    ranking = rank(packed.chunks, question, packed.outlines)
    return [r.chunk.path for r in ranking], time.perf_counter() - started


def recall(
    questions: Sequence[Question], packs: dict[str, PackResult], ks: Sequence[int] = (5, 10)
) -> list[dict[str, Any]]:
    rows = []
    for q in questions:
        packed = packs[q.repo]
        paths, seconds = ranked_paths(packed, q.question)
        files = list(dict.fromkeys(paths))
        chunk_rank = next((i + 1 for i, p in enumerate(paths) if p in q.gold), None)
        file_rank = next((i + 1 for i, p in enumerate(files) if p in q.gold), None)
        row: dict[str, Any] = {
            "id": q.id,
            "repo": q.repo,
            "set": q.set,
            "question": q.question,
            "gold": list(q.gold),
            "gold_chunk_rank": chunk_rank,
            "gold_file_rank": file_rank,
            "top_files": list(dict.fromkeys(paths[:10])),
            "rank_s": round(seconds, 3),
            "chunks_in_repo": len(paths),
            "missing_gold": [g for g in q.gold if g not in packed.file_tokens],
        }
        for k in ks:
            row[f"hit@{k}"] = chunk_rank is not None and chunk_rank <= k
            row[f"file_hit@{k}"] = file_rank is not None and file_rank <= k
        rows.append(row)
    return rows


def summarize_recall(rows: Sequence[dict[str, Any]], ks: Sequence[int] = (5, 10)) -> dict[str, Any]:
    def block(subset: Sequence[dict[str, Any]]) -> dict[str, Any]:
        n = len(subset)
        out: dict[str, Any] = {"questions": n}
        for k in ks:
            out[f"recall@{k}"] = round(sum(r[f"hit@{k}"] for r in subset) / n, 3) if n else None
            out[f"file_recall@{k}"] = round(sum(r[f"file_hit@{k}"] for r in subset) / n, 3) if n else None
        return out

    repos = list(dict.fromkeys(r["repo"] for r in rows))
    sets = list(dict.fromkeys(r["set"] for r in rows))
    return {
        "overall": block(rows),
        **{repo: block([r for r in rows if r["repo"] == repo]) for repo in repos},
        **({f"set: {name}": block([r for r in rows if r["set"] == name]) for name in sets} if len(sets) > 1 else {}),
    }


def interleaved(questions: Sequence[Question]) -> list[Question]:
    """Round robin over the repositories, each in its own order, so that a run cut short
    (`--limit`, or stopped) covers each of them."""
    by_repo: dict[str, list[Question]] = {}
    for q in questions:
        by_repo.setdefault(q.repo, []).append(q)
    order: list[Question] = []
    while any(by_repo.values()):
        for queue in by_repo.values():
            if queue:
                order.append(queue.pop(0))
    return order


def answer_questions(
    questions: Sequence[Question],
    packs: dict[str, PackResult],
    engine: Any,
    layout: str,
    max_tokens: int,
    limit: int | None,
    log: Any,
) -> list[dict[str, Any]]:
    """Answer the questions that carry `expect` (interleaved across repositories, at most
    `limit`) through `_fitted_prompt`, as `ask` does, and score the answers."""
    chosen = interleaved([q for q in questions if q.expect])[:limit]
    sampling = SamplingConfig(max_tokens=max_tokens)
    rows: list[dict[str, Any]] = []
    for n, q in enumerate(chosen, 1):
        try:
            arranged, prompt, tokens = fitted_prompt(packs[q.repo], q.question, engine, sampling, layout)
        except ContextTooLarge as error:  # `ask` would stop here too (exit code 4)
            rows.append(
                {
                    "id": q.id,
                    "repo": q.repo,
                    "question": q.question,
                    "expect": q.expect,
                    "correct": False,
                    "gold_in_prompt": False,
                    "error": str(error),
                    "answer": "",
                }
            )
            log(f"code {n}/{len(chosen)} {q.id}: does not fit: {str(error)[:160]}")
            continue
        generation = engine.generate([Request(prompt)], sampling)[0]
        in_prompt = [g for g in q.gold if any(c.path == g for c in arranged.chunks)]
        full = [g for g in q.gold if any(c.path == g and c.id not in set(arranged.shrunk) for c in arranged.chunks)]
        correct = q.expect.lower() in generation.text.lower()  # type: ignore[union-attr]
        rows.append(
            {
                "id": q.id,
                "repo": q.repo,
                "question": q.question,
                "expect": q.expect,
                "correct": correct,
                "gold_in_prompt": bool(in_prompt),
                "gold_in_full": bool(full),
                "prompt_tokens": tokens,
                "chunks_in_prompt": len(arranged.chunks),
                "shrunk": len(arranged.shrunk),
                "dropped": len(arranged.dropped),
                "first_token_s": round(generation.first_token_s, 2),
                "total_s": round(generation.total_s, 2),
                "answer": generation.text,
            }
        )
        log(
            f"code {n}/{len(chosen)} {q.id}: {'right' if correct else 'wrong'} (gold in prompt: {bool(in_prompt)}, "
            f"{tokens:,} tokens, {generation.total_s:.0f} s)"
        )
    return rows
