#!/usr/bin/env python3
"""Every redaction `scout-context pack` makes on the benchmark corpora, and how long a
cold pack takes: the check that the credential rules fire only on credential shapes.

For each corpus (bench/corpora.py: the flask and sympy sdists) it runs the installed
`scout-context pack --json` on an empty cache (SCOUT_CACHE_DIR in a temporary folder, so
every file is analysed), times it, and lists each redaction: file, line, kind, and the
first four characters of the value with the rest masked. Writes Markdown to stdout.

    .venv/bin/python bench/redactions.py [--corpus flask|sympy|all] [--scout PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from corpora import CORPORA, ensure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=[*CORPORA, "all"], default="all")
    parser.add_argument("--scout", default=str(Path(sys.executable).parent / "scout-context"))
    args = parser.parse_args()
    names = list(CORPORA) if args.corpus == "all" else [args.corpus]
    for name in names:
        root = ensure(CORPORA[name])
        seconds, report = cold_pack(args.scout, root)
        redacted = report["redacted"]
        print(f"## {name} ({CORPORA[name].requirement})\n")
        print(f"{len(report['files']):,} files packed, cold cache: {seconds:.2f} s wall; {len(redacted)} redactions\n")
        if redacted:
            print("| file | line | kind | value (masked) |\n| --- | --- | --- | --- |")
            for item in redacted:
                path, _, line = item["where"].rpartition(":")
                print(f"| `{path}` | {line} | {item['kind']} | `{masked(root / path, int(line), item['kind'])}` |")
        print()


def cold_pack(scout: str, root: Path) -> tuple[float, dict]:
    """`pack --json` on an empty cache: (wall seconds, its report)."""
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        proc = subprocess.run(
            [scout, "pack", str(root), "--json"], capture_output=True, text=True, check=True,
            env={**os.environ, "SCOUT_CACHE_DIR": cache},
        )  # fmt: skip
        return time.perf_counter() - started, json.loads(proc.stdout)


def masked(path: Path, line: int, kind: str) -> str:
    """The first four characters of the redacted value on `line`, the rest as `*`."""
    from scout_context.sources.secrets import redact

    original = path.read_text(encoding="utf-8", errors="replace").split("\n")
    redacted = redact("\n".join(original))[0].split("\n")
    marker = f"[REDACTED:{kind}]"
    at = redacted[line - 1].find(marker)
    if at < 0:
        return "?"
    value = original[line - 1][at:].split()[0] if original[line - 1][at:].strip() else ""
    return value[:4] + "*" * min(max(len(value) - 4, 0), 12)


if __name__ == "__main__":
    main()
