"""What a new question costs: the warm `pack --question` command, this tree against a baseline
revision, question by question (issue 23: the ranking within +15% of the warm command).

    python bench/question_cost.py --baseline REV [--corpus sympy] [--budget N] [--layout L]

The baseline is checked out into a temporary git worktree and run with the same interpreter,
its code first on the import path. Each side has its own cache, filled by a plain `pack`
first, so every question after that finds the analyses and the ranking index in the store
but has never been asked: whatever the ranking keeps per question (the dense pass's vectors)
is computed, as for a user's new question. The questions are the corpus's ranking questions
(`bench/ranking/questions/`), both halves: only their wording matters here. The two sides
alternate per question, so drift on a shared machine falls on both. Per side: the median and
max wall time; then the median of the per-question differences, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import corpora  # noqa: E402
from bench.ranking import questions_schema as schema  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the git revision to compare with")
    parser.add_argument("--corpus", default="sympy", help="a corpus of bench/corpora.py with ranking questions")
    parser.add_argument("--budget", type=int, default=1_000_000)
    parser.add_argument("--layout", default="stable", help="pack's --layout (stable, its default; auto, ask's)")
    args = parser.parse_args()
    folder = corpora.ensure(corpora.CORPORA[args.corpus])
    questions = [q.question for q in schema.load_all() if q.corpus == args.corpus]
    with baseline_worktree(args.baseline) as (work, tree):
        sides = {
            "baseline": _side(tree, work / "cache-baseline", args.layout),
            "this tree": _side(ROOT, work / "cache-this", args.layout),
        }
        times: dict[str, list[float]] = {name: [] for name in sides}
        for run in sides.values():
            run(folder, None, args.budget)  # fills the side's cache
        for i, question in enumerate(questions):
            order = list(sides) if i % 2 == 0 else list(reversed(sides))
            for name in order:
                times[name].append(sides[name](folder, question, args.budget))
            print(
                f"{i + 1}/{len(questions)}: " + ", ".join(f"{n} {times[n][-1]:.2f} s" for n in sides),
                file=sys.stderr,
            )
    base, this = times["baseline"], times["this tree"]
    print(
        f"corpus {args.corpus}: {len(questions)} new questions, budget {args.budget:,}, layout {args.layout}, "
        f"baseline {args.baseline}"
    )
    for name, values in times.items():
        print(f"{name:<10} median {statistics.median(values):.2f} s, max {max(values):.2f} s")
    extra = statistics.median(t - b for t, b in zip(this, base, strict=True))
    print(
        f"median difference per question {extra:+.2f} s; ratio of medians {statistics.median(this) / statistics.median(base):.2f}"
    )
    return 0


def _side(tree: Path, cache: Path, layout: str) -> Callable[[Path, str | None, int], float]:
    """A function timing `scout-context pack FOLDER [--question Q --budget N --layout L]` with
    `tree`'s code, in its own cache."""
    env = cli_env(cache)
    command = cli_command(tree)

    def timed(folder: Path, question: str | None, budget: int) -> float:
        extra = [] if question is None else ["--question", question, "--budget", str(budget), "--layout", layout]
        started = time.perf_counter()
        subprocess.run(
            [*command, "pack", str(folder), "-o", os.devnull, "--json", *extra],
            env=env,
            cwd=tree,
            capture_output=True,
            check=True,
        )
        return time.perf_counter() - started

    return timed


@contextmanager
def baseline_worktree(revision: str) -> Iterator[tuple[Path, Path]]:
    """A temporary folder, and `revision` checked out in a git worktree inside it (removed after)."""
    with tempfile.TemporaryDirectory() as work:
        tree = Path(work) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), revision], check=True)
        try:
            yield Path(work), tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def cli_env(cache: Path) -> dict[str, str]:
    """This environment, with `cache` as the cache folder."""
    return {**os.environ, "SCOUT_CACHE_DIR": str(cache)}


def cli_command(tree: Path) -> list[str]:
    """The `scout-context` command with `tree`'s code, whichever tree is installed: its
    cli/ as the installed command's package."""
    run = (
        f"import importlib, sys; sys.path.insert(0, {str(tree)!r}); "
        "sys.modules['scout_context_cli'] = importlib.import_module('cli'); "
        "from cli.main import main; sys.exit(main())"
    )
    return [sys.executable, "-c", run]


if __name__ == "__main__":
    sys.exit(main())
