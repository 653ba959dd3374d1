#!/usr/bin/env python3
"""Benchmark chat-export ingestion: detect + parse + render of a 100,000-message Slack
export (zip) and a 100,000-message WhatsApp .txt, each in a fresh interpreter (cold: no
cache of any kind, imports included), printing messages/s and peak RSS.

The exports are generated once, deterministically, under bench/.work/chat/ (git-ignored):
a Slack workspace of 20 channels and 200 users over 250 days, a fifth of the messages
thread replies (many filed on later days than their root), with edits, bot posts, files,
mentions and links; an Android (en-US, 12-hour, U+202F) WhatsApp group chat with
multi-line messages, media placeholders, deletions and edits.

    .venv/bin/python bench/chat_bench.py [--messages N] [--work DIR] [--check]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
TARGET_SECONDS = 60.0
WORDS = (
    "release deploy merge review ticket build staging prod flaky test config rollback docs api csv fix "
    "meeting lunch tomorrow today please thanks agreed blocker incident latency cache index schema"
).split()
START = datetime(2024, 1, 2, 8, 0, tzinfo=UTC)


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 24))).capitalize()


def make_slack(path: Path, count: int, seed: int = 1) -> None:
    """A Slack export zip of `count` messages (see the module docstring)."""
    rng = random.Random(seed)
    users = [
        {
            "id": f"U{i:05d}",
            "name": f"user{i}",
            "real_name": f"User {i}",
            "profile": {"display_name": f"user{i}" if i % 3 else "", "real_name": f"User {i}"},
        }
        for i in range(200)
    ]
    channels = [{"id": f"C{i:04d}", "name": f"channel-{i}"} for i in range(20)]
    days: dict[tuple[str, str], list[dict]] = {}
    roots: list[tuple[str, float]] = []
    for n in range(count):
        channel = rng.choice(channels)["name"]
        ts = START.timestamp() + n * (250 * 86400 / count) + rng.random()
        user = rng.choice(users)["id"]
        record: dict = {
            "type": "message",
            "user": user,
            "ts": f"{ts:.6f}",
            "text": f"<@{rng.choice(users)['id']}> {_sentence(rng)}",
        }
        if roots and rng.random() < 0.2:
            root_channel, root_ts = rng.choice(roots[-300:])
            channel, record["thread_ts"] = root_channel, f"{root_ts:.6f}"
        elif rng.random() < 0.1:
            record["thread_ts"] = record["ts"]
            roots.append((channel, ts))
        if rng.random() < 0.05:
            record["edited"] = {"user": user, "ts": f"{ts + 60:.6f}"}
        if rng.random() < 0.03:
            record = {
                "type": "message",
                "subtype": "bot_message",
                "bot_id": "B0001",
                "username": "ci",
                "text": "",
                "ts": record["ts"],
                "attachments": [{"title": "Build passed", "text": _sentence(rng)}],
            }
        if rng.random() < 0.03:
            record["files"] = [{"id": f"F{n}", "name": f"report-{n}.pdf", "title": "Report"}]
        if rng.random() < 0.05:
            record["text"] += f" see <https://example.com/t/{n}|ticket {n}> &amp; <#C0001|channel-1>"
        day = datetime.fromtimestamp(ts, UTC).date().isoformat()
        days.setdefault((channel, day), []).append(record)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("users.json", json.dumps(users))
        archive.writestr("channels.json", json.dumps(channels))
        for (channel, day), records in sorted(days.items()):
            archive.writestr(f"{channel}/{day}.json", json.dumps(records, indent=4))


def make_whatsapp(path: Path, count: int, seed: int = 2) -> None:
    """An Android en-US WhatsApp export of `count` messages (see the module docstring)."""
    rng = random.Random(seed)
    people = [f"Person {i}" for i in range(12)] + ["+1 415-555-0134"]
    lines = [
        (
            "1/2/24, 8:00\u202fAM - Messages and calls are end-to-end encrypted. No one outside of this chat, "
            "not even WhatsApp, can read or listen to them. Tap to learn more."
        )
    ]
    for n in range(count - 1):
        when = START + timedelta(seconds=n * 250 * 86400 / count)
        clock = when.strftime("%I:%M").lstrip("0") + "\u202f" + when.strftime("%p")
        stamp = f"{when.month}/{when.day}/{when.year % 100}, {clock}"
        roll = rng.random()
        text = (
            "<Media omitted>"
            if roll < 0.05
            else "This message was deleted"
            if roll < 0.07
            else _sentence(rng) + (" <This message was edited>" if roll < 0.1 else "")
        )
        if rng.random() < 0.1:
            text += "\n" + _sentence(rng)
        lines.append(f"{stamp} - {rng.choice(people)}: {text}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def child(path: Path) -> None:
    """Runs in a fresh interpreter: ingest `path` once, print one JSON line."""
    started = time.perf_counter()
    sys.path.insert(0, str(REPO_ROOT))
    from scout_context.sources.chat import detect, parse, render

    imported = time.perf_counter()
    data = path.read_bytes()
    fmt = detect(path.name, data)
    detected = time.perf_counter()
    messages, warnings = parse(fmt or "", path.name, data)
    parsed = time.perf_counter()
    chunks = render(messages)
    rendered = time.perf_counter()
    print(
        json.dumps(
            {
                "format": fmt,
                "messages": len(messages),
                "warnings": len(warnings),
                "chunks": len(chunks),
                "chars": sum(len(c.text) for c in chunks),
                "import_s": imported - started,
                "detect_s": detected - imported,
                "parse_s": parsed - detected,
                "render_s": rendered - parsed,
                "total_s": rendered - started,
                "peak_rss_mib": _vm_hwm_mib(),
            }
        )
    )


def _vm_hwm_mib() -> float:
    """This process's peak RSS (VmHWM belongs to the address space, so unlike ru_maxrss it
    does not inherit the parent's peak across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=BENCH_DIR / ".work" / "chat")
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 unless each export ingests in under {TARGET_SECONDS:.0f} s"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    exports = [
        (args.work / f"slack-{args.messages}.zip", make_slack),
        (args.work / f"WhatsApp Chat with Bench {args.messages}.txt", make_whatsapp),
    ]
    for path, make in exports:
        if not path.exists():
            print(f"generating {path.name} ...", file=sys.stderr)
            partial = path.with_name(path.name + ".partial")
            make(partial, args.messages)
            partial.rename(path)
    print(
        f"{'export':<40} {'MiB':>6} {'format':>9} {'messages':>9} {'chunks':>7} {'import':>7} {'detect':>7} "
        f"{'parse':>7} {'render':>7} {'total':>7} {'msg/s':>8} {'peak RSS':>9}"
    )
    ok = True
    for path, _ in exports:
        command = [sys.executable, __file__, "--child", str(path)]
        out = subprocess.run(command, capture_output=True, text=True, check=False)
        if out.returncode:
            print(f"{path.name:<40} FAILED: {out.stderr.strip().splitlines()[-1:]}")
            ok = False
            continue
        r = json.loads(out.stdout)
        ok &= r["total_s"] < TARGET_SECONDS
        print(
            f"{path.name[:40]:<40} {path.stat().st_size / 2**20:>6.1f} {r['format']:>9} {r['messages']:>9,} "
            f"{r['chunks']:>7,} {r['import_s']:>6.2f}s {r['detect_s']:>6.3f}s {r['parse_s']:>6.2f}s "
            f"{r['render_s']:>6.2f}s {r['total_s']:>6.2f}s {r['messages'] / r['total_s']:>8,.0f} "
            f"{r['peak_rss_mib']:>6.0f} MiB"
        )
    print(f"target: each export under {TARGET_SECONDS:.0f} s cold: {'PASS' if ok else 'FAIL'}")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
