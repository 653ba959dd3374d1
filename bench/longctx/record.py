"""Keep needle results in git: merge runs' JSON into one compact record under bench/results/.

Raw results live in the ignored bench/.work/longctx and die with the machine; a record
holds what the tables need (per case: where, which layout, the score, the answer's start),
about 300 bytes a case. Runs of the same cases from separate processes (one layout each,
say) merge into one table.

    python -m bench.longctx.record NAME bench/.work/longctx/needle-*.json --note 'commit, experiment'
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from .run import REPO_ROOT, needle_tables

RESULTS = REPO_ROOT / "bench" / "results" / "longctx"
_KEPT = ("kind", "length", "depth", "layout", "seed", "variant", "score", "placement", "prompt_tokens")
_CASE = ("kind", "length", "depth", "layout", "seed", "variant")  # one case: at most once in a record
_ANSWER_CHARS = 160


def merge(runs: list[dict[str, Any]], note: str = "") -> dict[str, Any]:
    """One record of `runs` (all of one model): their settings, compact cases and tables,
    with `note` saying what was run (which code, which experiment)."""
    models = {run["model"] for run in runs}
    if len(models) != 1:
        raise SystemExit(f"runs of different models cannot share a table: {', '.join(sorted(models))}")
    layouts = list(dict.fromkeys(layout for run in runs for layout in run["layouts"]))
    cases = [
        {**{key: row[key] for key in _KEPT if key in row}, "answer": row["answer"][:_ANSWER_CHARS]}
        for run in runs
        for row in run["cases"]
        if "score" in row
    ]
    check_once(cases)
    record: dict[str, Any] = {
        "model": models.pop(),
        "max_model_len": runs[0]["max_model_len"],
        "corpus": Path(runs[0]["corpus"]).name,
        "layouts": layouts,
        "runs": [{"started": run["started"], "commit": run.get("commit", "")} for run in runs],
        "note": note,
        "cases": cases,
    }
    record["summary"] = needle_tables(record)
    return record


def check_once(cases: list[dict[str, Any]]) -> None:
    """Exit when a case appears twice: two versions of one layout (a candidate and the
    shipped one, both called edges) would mix into one table."""
    cells = Counter(tuple(str(case.get(key)) for key in _CASE) for case in cases)
    twice = [cell for cell, n in cells.items() if n > 1]
    if twice:
        raise SystemExit(f"{len(twice)} cases appear more than once (first: {' '.join(twice[0])}): keep them apart")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.longctx.record", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="the record's file name under bench/results/longctx (no suffix)")
    parser.add_argument("runs", nargs="+", type=Path, help="needle result JSON files of python -m bench.longctx")
    parser.add_argument("--note", default="", help="what was run: the commit, the experiment")
    args = parser.parse_args(argv)
    record = merge([json.loads(path.read_text()) for path in args.runs], args.note)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.name}.json"
    out.write_text(json.dumps(record, indent=None, separators=(",", ":")) + "\n")
    print(record["summary"]["text"])
    print(f"\nrecord: {out.relative_to(REPO_ROOT)} ({len(record['cases'])} cases)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
