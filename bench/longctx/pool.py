"""Pool needle records: one table over several records' cases, with the paired test.

Each argument is a record under bench/results/longctx (a path or its name), optionally
with `:LAYOUT,...` to take only those layouts from it (a record of a rejected candidate
holds naive cases worth pooling beside a candidate called edges that is not the shipped
one). A case (kind, length, depth, layout, seed, fact) may come from one record only.

    python -m bench.longctx.pool single-s16to19-2k-shipped-edges single-heldout-s8to11-mirrored-tail:naive
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .record import RESULTS, check_once
from .run import needle_tables


def pooled(specs: list[str]) -> dict[str, Any]:
    """The records named by `specs` (`NAME[:LAYOUT,...]`) as one result for `needle_tables`."""
    cases: list[dict[str, Any]] = []
    layouts: list[str] = []
    models = set()
    for spec in specs:
        name, _, only = spec.partition(":")
        path = Path(name) if name.endswith(".json") else RESULTS / f"{name}.json"
        record = json.loads(path.read_text())
        models.add(record["model"])
        keep = [x for x in only.split(",") if x] or record["layouts"]
        cases.extend(case for case in record["cases"] if case["layout"] in keep)
        layouts.extend(x for x in record["layouts"] if x in keep and x not in layouts)
    if len(models) != 1:
        raise SystemExit(f"records of different models cannot share a table: {', '.join(sorted(models))}")
    check_once(cases)
    return {"layouts": layouts, "cases": cases}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.longctx.pool", description=__doc__.split("\n\n")[0])
    parser.add_argument("records", nargs="+", help="NAME or PATH, with :LAYOUT,... to take only those layouts")
    args = parser.parse_args(argv)
    result = pooled(args.records)
    seeds = sorted({case.get("seed") for case in result["cases"]}, key=lambda seed: (seed is None, seed or 0))
    print(f"{len(result['cases'])} cases over seeds {', '.join(map(str, seeds))}")
    print(needle_tables(result)["text"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
