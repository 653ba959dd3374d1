#!/usr/bin/env python3
"""Benchmark PDF text extraction: pypdf (the default) against PyMuPDF (the `fast-pdf` extra).

Generates once, cached under bench/.work/pdf/, a 1,000-page PDF with reportlab and standard
fonts: prose pages, two-column pages, monospace table pages, 120 outline entries, page
labels i-iv then 1.... Then `scout_context.sources.pdf.extract` runs on it and on the
real-world PDFs found on this machine (or given with --real), per engine and file, each
run in a fresh process (cold). It prints the engine's import time, the extract time (that
import excluded), the whole process's time (interpreter start, imports, reading the file),
pages/s, characters, skipped pages, images and peak RSS (VmHWM of that process); then per
file the pypdf/PyMuPDF time ratios and how far the two texts agree (word-set Jaccard), and
whether the 1,000-page file ingests with pypdf in under a minute.

    .venv/bin/python bench/pdf_bench.py [--pages 1000] [--real FILE ...] [--repeat N]

Needs reportlab (generation) and pypdf; PyMuPDF rows appear when `pymupdf` is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_WORK = BENCH_DIR / ".work" / "pdf"
REAL_ROOTS = ("/usr/share/doc", "/usr/share", "/opt", sys.prefix, "/usr/lib/python3")
MIN_REAL_BYTES = 50_000
MAX_REAL_FILES = 6
TARGET_S = 60.0
FRONT_PAGES = 4
OUTLINE_ENTRIES = 120
SECTIONS_PER_CHAPTER = 5
WORDS = [
    "context",
    "window",
    "token",
    "budget",
    "model",
    "page",
    "outline",
    "label",
    "chapter",
    "section",
    "figure",
    "table",
    "extract",
    "reader",
    "stream",
    "font",
    "glyph",
    "column",
    "paragraph",
    "reference",
    "citation",
    "index",
    "appendix",
    "summary",
    "analysis",
    "result",
    "method",
    "measure",
    "value",
    "system",
    "process",
    "evidence",
    "review",
    "report",
]
STATUSES = ["ok", "pending", "failed"]


# --------------------------------------------------------------------------- the test file


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def lines_of(rng: random.Random, width: int, count: int) -> list[str]:
    """`count` lines of prose at most `width` characters wide."""
    lines: list[str] = []
    line = ""
    while len(lines) < count:
        for word in sentence(rng, rng.randint(6, 18)).split():
            if len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
    return lines[:count]


def draw_page(canvas: Any, rng: random.Random, index: int, heading: str) -> None:
    """Prose, two-column or monospace table, in turn; a heading where the outline points."""
    top = 800
    if heading:
        canvas.setFont("Helvetica-Bold", 14)
        canvas.drawString(50, top, heading)
        top -= 24
    kind = "prose" if index < FRONT_PAGES else ("prose", "prose", "columns", "columns", "table")[index % 5]
    if kind == "prose":
        canvas.setFont("Helvetica", 9)
        for row, line in enumerate(lines_of(rng, 100, 52)):
            canvas.drawString(50, top - 14.5 * row, line)
    elif kind == "columns":
        canvas.setFont("Times-Roman", 9)
        for x in (50, 305):  # one column after the other, as a typesetter draws them
            for row, line in enumerate(lines_of(rng, 46, 56)):
                canvas.drawString(x, top - 13.4 * row, line)
    else:
        canvas.setFont("Courier", 8)
        canvas.drawString(40, top, f"{'id':>6} {'name':<22} {'count':>9} {'share':>8} {'status':<10} note")
        for row in range(1, 56):
            name = "-".join(rng.choice(WORDS) for _ in range(2))[:22]
            line = f"{row:>6} {name:<22} {rng.randint(0, 10**7):>9} {rng.random():>8.4f} {rng.choice(STATUSES):<10} "
            canvas.drawString(40, top - 13.6 * row, line + rng.choice(WORDS))


def outline_plan(pages: int) -> dict[int, list[tuple[str, int]]]:
    """Page index -> [(title, level)]: chapters of SECTIONS_PER_CHAPTER sections, spread evenly."""
    body = pages - FRONT_PAGES
    plan: dict[int, list[tuple[str, int]]] = {}
    for k in range(OUTLINE_ENTRIES):
        chapter, section = divmod(k, SECTIONS_PER_CHAPTER + 1)
        title = f"Chapter {chapter + 1}" if section == 0 else f"{chapter + 1}.{section} Section {section}"
        plan.setdefault(FRONT_PAGES + k * body // OUTLINE_ENTRIES, []).append((title, 0 if section == 0 else 1))
    return plan


def generate(path: Path, pages: int) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    rng = random.Random(20240501)
    plan = outline_plan(pages)
    partial = path.with_suffix(".partial")
    canvas = Canvas(str(partial), pagesize=A4, pageCompression=1, invariant=1)
    canvas.setTitle(f"scout-context PDF benchmark, {pages} pages")
    for index in range(pages):
        entries = plan.get(index, [])
        draw_page(canvas, rng, index, entries[-1][0] if entries else "")
        for number, (title, level) in enumerate(entries):
            key = f"p{index}-{number}"
            canvas.bookmarkPage(key)
            canvas.addOutlineEntry(title, key, level)
        canvas.showPage()
    canvas.addPageLabel(0, "ROMAN_LOWER")  # names: reportlab mistakes the one-letter codes
    canvas.addPageLabel(FRONT_PAGES, "ARABIC", start=1)
    canvas.save()
    partial.replace(path)


# --------------------------------------------------------------------------- measuring


def child(engine: str, path: str, dump: str) -> None:
    """One cold measurement, in its own process: JSON on stdout, the text into `dump`."""
    sys.path.insert(0, str(REPO_ROOT))
    from scout_context.sources.pdf import PdfError, extract

    data = Path(path).read_bytes()
    start = time.perf_counter()
    __import__(engine)  # timed apart: extract() imports its engine on first use
    imported = time.perf_counter()
    try:
        result = extract(data, engine=engine)
    except PdfError as error:
        print(json.dumps({"error": str(error)}))
        return
    seconds = time.perf_counter() - imported
    text = "".join(page.text for page in result.pages)
    Path(dump).write_text(text, encoding="utf-8", errors="surrogatepass")
    hwm = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
    print(
        json.dumps(
            {
                "import_s": imported - start,
                "extract_s": seconds,
                "pages": len(result.pages),
                "skipped": len(result.skipped),
                "chars": len(text),
                "images": result.images,
                "rss_mib": int(hwm.group(1)) / 1024 if hwm else None,
                "labels": [result.pages[0].label, result.pages[-1].label] if result.pages else [],
            }
        )
    )


def measure(engine: str, path: Path, dump: Path) -> dict[str, Any]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(path), str(dump)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return {**json.loads(proc.stdout), "process_s": wall}


def real_pdfs(limit: int) -> list[Path]:
    """The largest *.pdf files of at least MIN_REAL_BYTES under REAL_ROOTS."""
    found: dict[Path, int] = {}
    for root in REAL_ROOTS:
        for folder, _, files in os.walk(root):
            for name in files:
                path = Path(folder, name)
                if name.lower().endswith(".pdf") and path.is_file() and path.stat().st_size >= MIN_REAL_BYTES:
                    found[path.resolve()] = path.stat().st_size
    return sorted(found, key=found.__getitem__, reverse=True)[:limit]


def jaccard(a: Path, b: Path) -> float:
    left = set(a.read_text(encoding="utf-8").split())
    right = set(b.read_text(encoding="utf-8").split())
    return len(left & right) / len(left | right) if left | right else 1.0


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="pages of the generated file (default 1000)")
    parser.add_argument("--real", nargs="*", type=Path, help="real-world PDFs (default: found on this machine)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine and file; medians are shown")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="cache and output folder")
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "FILE", "DUMP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0

    args.work.mkdir(parents=True, exist_ok=True)
    generated = args.work / f"generated-{args.pages}.pdf"
    if not generated.exists():
        start = time.perf_counter()
        generate(generated, args.pages)
        size = generated.stat().st_size / 1e6
        print(f"generated {generated} ({size:.1f} MB) in {time.perf_counter() - start:.1f} s")
    files = [generated, *(args.real if args.real is not None else real_pdfs(MAX_REAL_FILES))]
    engines = ["pypdf"] + (["pymupdf"] if importlib.util.find_spec("pymupdf") else [])
    print(f"load average {os.getloadavg()[0]:.2f}; engines: {', '.join(engines)}; {args.repeat} run(s) each\n")

    header = (
        f"{'file':<34} {'engine':<8} {'pages':>5} {'skip':>4} {'import s':>8} {'extract s':>9} "
        f"{'process s':>9} {'pages/s':>8} {'chars':>10} {'img':>4} {'RSS MiB':>8}"
    )
    print(header)
    print("-" * len(header))
    summary: list[str] = []
    for path in files:
        rows: dict[str, dict[str, Any]] = {}
        for engine in engines:
            dump = args.work / f"{path.stem}.{engine}.txt"
            runs = [measure(engine, path, dump) for _ in range(args.repeat)]
            row = next((r for r in runs if "error" in r), runs[-1])
            if "error" not in row:
                for key in ("import_s", "extract_s", "process_s"):
                    row[key] = statistics.median(r[key] for r in runs)
                row["rss_mib"] = max(r["rss_mib"] or 0 for r in runs)
                print(
                    f"{path.name[:34]:<34} {engine:<8} {row['pages']:>5} {row['skipped']:>4} "
                    f"{row['import_s']:>8.2f} {row['extract_s']:>9.2f} {row['process_s']:>9.2f} "
                    f"{row['pages'] / row['extract_s']:>8.0f} {row['chars']:>10,} {row['images']:>4} {row['rss_mib']:>8.0f}"
                )
            else:
                print(f"{path.name[:34]:<34} {engine:<8} FAILED: {row['error']}")
            rows[engine] = row | {"dump": dump}
        fast, slow = rows.get("pymupdf"), rows["pypdf"]
        if fast and "error" not in fast and "error" not in slow:
            summary.append(
                f"{path.name}: pypdf/PyMuPDF extract time {slow['extract_s'] / fast['extract_s']:.1f}x, "
                f"process time {slow['process_s'] / fast['process_s']:.1f}x; "
                f"word-set Jaccard {jaccard(slow['dump'], fast['dump']):.3f}; "
                f"chars {slow['chars']:,} vs {fast['chars']:,}"
            )
        if path == generated and "error" not in slow:
            verdict = "PASS" if slow["process_s"] < TARGET_S else "FAIL"
            summary.append(
                f"target: {args.pages} pages cold with pypdf in < {TARGET_S:.0f} s: {slow['process_s']:.1f} s {verdict}"
            )
    print()
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
