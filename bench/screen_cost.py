"""What `pack --screen` costs: this tree against a baseline revision, on one corpus, the first
time a corpus is screened and every time after.

    python bench/screen_cost.py --baseline REV [--corpus sympy] [--repeat 2]

The baseline is checked out into a temporary git worktree and run with the same interpreter,
its code first on the import path (as `question_cost.py` does). Each side has its own cache,
filled by a plain `pack` first, so the analyses are warm and only the screening differs.
Then, per side: `pack --screen` once on that cache (the first screening: what a new corpus
pays), `--repeat` more times (what `chat --screen` and `ask --screen` pay on every start
after), and the plain warm `pack` for comparison. The sides alternate, and each screened
pack's output is compared byte for byte with the other side's: the findings must not change.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import corpora  # noqa: E402
from bench.question_cost import baseline_worktree, cli_command, cli_env  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the git revision to compare with")
    parser.add_argument("--corpus", default="sympy", help="a corpus of bench/corpora.py")
    parser.add_argument("--repeat", type=int, default=2, help="screened packs timed after the first")
    args = parser.parse_args()
    folder = corpora.ensure(corpora.CORPORA[args.corpus])
    with baseline_worktree(args.baseline) as (work, tree):
        sides = {"baseline": tree, "this tree": ROOT}
        times: dict[str, dict[str, list[float]]] = {name: {"first": [], "after": [], "plain": []} for name in sides}
        outputs: dict[str, bytes] = {}
        for name, code in sides.items():
            _timed(code, work / name, folder, [], work / "plain")  # fills the side's cache
        for step in ["first"] + ["after"] * args.repeat + ["plain"]:
            for name, code in sides.items():
                out = work / f"{name}.txt"
                extra = [] if step == "plain" else ["--screen"]
                times[name][step].append(_timed(code, work / name, folder, extra, out))
                if step != "plain":
                    outputs.setdefault(name, out.read_bytes())
                    assert out.read_bytes() == outputs[name], f"{name}: a screened pack changed between runs"
            print(f"{step}: " + ", ".join(f"{n} {times[n][step][-1]:.2f} s" for n in sides), file=sys.stderr)
    same = outputs["baseline"] == outputs["this tree"]
    print(f"corpus {args.corpus}, baseline {args.baseline}; screened output the same on both sides: {same}")
    print(f"| side | first `pack --screen` | later (median of {args.repeat}) | plain warm `pack` |")
    print("|------|------:|------:|------:|")
    for name, steps in times.items():
        print(
            f"| {name} | {steps['first'][0]:.1f} s | {statistics.median(steps['after']):.1f} s | {steps['plain'][0]:.1f} s |"
        )
    return 0 if same else 1


def _timed(code: Path, cache: Path, folder: Path, extra: list[str], out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [*cli_command(code), "pack", str(folder), "-o", str(out), *extra],
        env=cli_env(cache),
        cwd=code,
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
