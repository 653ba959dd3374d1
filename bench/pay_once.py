#!/usr/bin/env python3
"""Benchmark paying for a corpus once: five questions over one corpus, three ways, one run.

For each corpus (flask's `src/` and sympy's source, both fitted to the model's context):

- `separate`: five `scout-context ask --engine vllm` processes, as a user without a
  server runs them: each starts its own embedded engine and computes the whole prompt.
- `serve`: `scout-context serve start --detach`, then five `ask` processes against it.
- `chat`: one `scout-context chat` process, five questions on its stdin.

`serve` and `chat` reach the server through a recording proxy started here, which passes
every byte through and keeps what the figures need: each prompt, the time to its first
text and to its end, and the usage the server reports (`prompt_tokens_details`). The
prefix that a question's prompt shares with the first question's is counted with the
server's own `/tokenize`. `separate` takes its figures from `ask --json`.

Per question: wall seconds (the whole process for `separate` and `serve`; the request for
`chat`), first token, prompt tokens, cached tokens, and the prefix shared with question 1.
The issue's targets on this CPU: with `serve` and `chat`, questions 2-5 each get >= 90% of
the shared prefix from the cache, and a first token <= 0.3x the first question's.
Raw results go to bench/.work/pay-once-<timestamp>.json; the table to stdout.

    .venv/bin/python bench/pay_once.py [--corpora flask,sympy] [--modes separate,serve,chat]
        [--layouts edges,stable]

Never run it beside another vLLM engine on a small machine (2 cores, 24 GiB here).
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from bench import corpora  # noqa: E402
from bench.engine_bench import common_prefix  # noqa: E402

EXE = str(Path(sys.executable).with_name("scout-context"))
MODEL = "smollm2"
QUESTIONS = {
    "flask": [
        "How does Flask match a URL rule to a view function?",
        "Where is the session cookie signed, and with which key?",
        "What happens when a view function returns a tuple?",
        "How are blueprints registered on an application?",
        "Which signals does Flask send around a request?",
    ],
    "sympy": [
        "How does solveset decide whether an equation has no solution?",
        "How are expressions simplified by simplify()?",
        "How does sympy represent rational numbers?",
        "What does the Basic class provide to every expression?",
        "How are matrices multiplied?",
    ],
}
SOURCE = {"flask": "src", "sympy": "sympy"}
SHOP = ["What is the free shipping threshold?", "How is the shipping fee computed?", "What does the cart hold?"]


class Proxy(ThreadingHTTPServer):
    """The recording proxy: what it passes requests on to, and the completions it saw."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        super().__init__(("127.0.0.1", 0), Recorder)
        self.upstream = upstream
        self.records: list[dict[str, Any]] = []


class Recorder(BaseHTTPRequestHandler):
    """Passes requests to the server at `server.upstream` and records each completion."""

    server: Any
    protocol_version = "HTTP/1.0"  # the body ends when the connection closes: no re-chunking

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._forward(None)

    def do_POST(self) -> None:
        self._forward(self.rfile.read(int(self.headers.get("Content-Length", 0))))

    def _forward(self, body: bytes | None) -> None:
        started = time.perf_counter()
        host, port = self.server.upstream
        upstream = http.client.HTTPConnection(host, port, timeout=3600)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "connection"}}
        upstream.request(self.command, self.path, body=body, headers=headers)
        reply = upstream.getresponse()
        self.send_response(reply.status)
        for key, value in reply.getheaders():
            if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                self.send_header(key, value)
        self.end_headers()
        first_text, usage, text = None, None, []
        for line in iter(reply.readline, b""):
            self.wfile.write(line)
            self.wfile.flush()
            if line.startswith(b"data: {"):
                event = json.loads(line[6:])
                if event.get("usage"):
                    usage = event["usage"]
                piece = "".join(choice.get("text") or "" for choice in event.get("choices") or [])
                if piece and first_text is None:
                    first_text = time.perf_counter()
                text.append(piece)
        if body and self.path.endswith("/completions"):
            request = json.loads(body)
            self.server.records.append(
                {
                    "prompt": request.get("prompt"),
                    "first_token_s": round((first_text or time.perf_counter()) - started, 3),
                    "total_s": round(time.perf_counter() - started, 3),
                    "usage": usage,
                    "max_tokens": request.get("max_tokens"),
                    "answer": "".join(text),
                }
            )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tokenize(port: int, prompt: str) -> list[int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = json.dumps({"model": MODEL, "prompt": prompt})
    connection.request("POST", "/tokenize", body, headers={"Content-Type": "application/json"})
    reply = json.loads(connection.getresponse().read())
    if "tokens" not in reply:
        raise SystemExit(f"pay_once: /tokenize answered {str(reply)[:300]}")
    return list(reply["tokens"])


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([EXE, *args], input=stdin, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"pay_once: scout-context {' '.join(args)} exited {done.returncode}: {done.stderr[-800:]}")
    return done


def separate(source: Path, questions: list[str], answer: list[str]) -> list[dict[str, Any]]:
    rows = []
    for question in questions:
        started = time.perf_counter()
        result = json.loads(run("ask", "--engine", "vllm", *answer, "--json", str(source), question).stdout)
        usage, timings = result["usage"], result["timings"]
        rows.append(
            {
                "wall_s": round(time.perf_counter() - started, 2),
                "first_token_s": timings["first_token_s"],
                "prompt_tokens": usage["prompt_tokens"],
                "cached_tokens": usage["cached_tokens"],
            }
        )
        log(f"  separate: {rows[-1]}")
    return rows


def through_server(
    mode: str, source: Path, questions: list[str], answer: list[str], proxy: Proxy
) -> list[dict[str, Any]]:
    """`mode` through a server started for it alone, so that no earlier mode warmed its cache."""
    base = f"http://127.0.0.1:{proxy.server_address[1]}/v1"
    engine = ["--engine", "openai", "--base-url", base, "--model", MODEL, *answer]
    proxy.records.clear()
    walls = []
    port = str(proxy.upstream[1])
    run("serve", "start", "--detach", "--port", port, "--model", MODEL)
    try:
        if mode == "serve":
            for question in questions:
                started = time.perf_counter()
                run("ask", *engine, str(source), question)
                walls.append(round(time.perf_counter() - started, 2))
        else:
            run("chat", *engine, str(source), stdin="".join(f"{q}\n" for q in questions))
        ids = [tokenize(proxy.upstream[1], r["prompt"]) for r in proxy.records if r["max_tokens"] != 1]
    finally:
        subprocess.run([EXE, "serve", "stop", "--port", port], capture_output=True, timeout=120)
    records = [r for r in proxy.records if r["max_tokens"] != 1]  # not a priming request
    if len(records) != len(questions):
        raise SystemExit(f"pay_once: {mode} sent {len(records)} completions for {len(questions)} questions")
    rows = []
    for i, record in enumerate(records):
        usage = record["usage"] or {}
        rows.append(
            {
                "wall_s": walls[i] if walls else record["total_s"],
                "first_token_s": record["first_token_s"],
                "prompt_tokens": usage.get("prompt_tokens"),
                "cached_tokens": (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0,
                "shared_with_first": common_prefix(ids[0], ids[i]) if i else None,
            }
        )
        log(f"  {mode}: {rows[-1]}")
    return rows


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def verdict(rows: list[dict[str, Any]]) -> str:
    """Whether questions 2-5 meet the targets: >= 90% of the shared prefix cached, first token <= 0.3x Q1's."""
    first = rows[0]["first_token_s"]
    ok = all(
        r["cached_tokens"] >= 0.9 * (r["shared_with_first"] or 0) and r["first_token_s"] <= 0.3 * first
        for r in rows[1:]
    )
    return "met" if ok else "not met"


def table(results: dict[str, dict[str, list[dict[str, Any]]]]) -> str:
    lines = [
        "| corpus | mode | q | wall s | first token s | prompt | cached | shared with q1 |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for corpus, modes in results.items():
        for mode, rows in modes.items():
            for i, r in enumerate(rows, 1):
                shared_with = "" if r.get("shared_with_first") is None else f"{r['shared_with_first']:,}"
                lines.append(
                    f"| {corpus} | {mode} | {i} | {r['wall_s']:.1f} | {r['first_token_s']:.2f} | "
                    f"{r['prompt_tokens']:,} | {r['cached_tokens']:,} | {shared_with} |"
                )
            if not mode.startswith("separate"):
                lines.append(f"| {corpus} | {mode} | targets | | | | | {verdict(rows)} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", default="flask,sympy")
    parser.add_argument("--modes", default="separate,serve,chat")
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128, help="answer tokens (decoding is not what is measured)")
    parser.add_argument(
        "--layouts", default="", help="layouts for the server modes, each run apart (default: ask's own default)"
    )
    args = parser.parse_args()
    answer = ["--max-tokens", str(args.max_tokens)]
    modes = args.modes.split(",")
    port = free_port()
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    proxy = Proxy(("127.0.0.1", port))
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        for name in args.corpora.split(","):
            if name == "shop":  # a quick check of the harness
                source, questions = ROOT / "examples" / "tiny-shop", SHOP
            else:
                source = corpora.ensure(corpora.CORPORA[name]) / SOURCE[name]
                questions = QUESTIONS[name][: args.questions]
            log(f"{name}: {source}")
            results[name] = {}
            for mode in modes:
                if mode == "separate":  # no cache: the layout does not change what it pays
                    results[name][mode] = separate(source, questions, answer)
                    continue
                for layout in args.layouts.split(",") if args.layouts else [""]:
                    chosen = ["--layout", layout] if layout else []
                    label = f"{mode} ({layout})" if layout else mode
                    results[name][label] = through_server(mode, source, questions, [*answer, *chosen], proxy)
    finally:
        proxy.shutdown()
    out = corpora.WORK / f"pay-once-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=1))
    log(f"raw results: {out}")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
