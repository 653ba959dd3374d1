#!/usr/bin/env python3
"""Answers that end: how often an answer stops at `max_tokens` while repeating itself.

    python -m bench.endings run [--half dev|test|both] [--candidates plain,freq0.3,rep1.1] [--limit N]
        [--resume FILE]
    python -m bench.endings report FILE [--half dev|test|both]

`run` answers the code questions of bench/longctx (questions/code.json) the way `ask` does
(layout `auto`, `ask`'s prompt and `max_tokens`, greedy) on any engine, each question's
prompt built once and answered under every sampling candidate in a row, so that a prefix
cache serves the corpus to all but the first. It writes bench/.work/endings/<time>.json
after every answer (a run can be resumed from it) with each answer's text, token ids,
finish reason and times.

`report` prints, per half and candidate, the answers that ended by themselves, that
stopped at `max_tokens`, the runaways among those (the declared rule: a run of 12 words
at least three times), and the expected substrings present. vLLM's repetition detection
only truncates a greedy answer, so each detection setting is computed exactly from the
undetected answer's token ids with vLLM's own check. The halves are the ranking bench's
(`sha1(id)` parity); the rules are in bench/results/endings/DECLARED.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.longctx import code as code_task
from bench.ranking.questions_schema import half
from scout_context.engine.config import SamplingConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
WORK = REPO_ROOT / "bench" / ".work" / "endings"
CANDIDATES: dict[str, dict[str, Any]] = {  # each over `SamplingConfig.plain`, whatever the defaults become
    "plain": {},
    "freq0.3": {"frequency_penalty": 0.3},
    "rep1.1": {"repetition_penalty": 1.1},
}
DETECTIONS = {  # name: (min pattern, max pattern, count), vLLM's RepetitionDetectionParams
    "": None,
    "+stop8x2": (8, 256, 2),
    "+stop8x3": (8, 256, 3),
    "+stop16x2": (16, 256, 2),
    "+stop16x3": (16, 256, 3),
}
RUN_WORDS, RUN_COUNT = 12, 3  # the declared runaway rule


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def repeats_itself(text: str) -> bool:
    """Some run of RUN_WORDS words occurs at least RUN_COUNT times in `text`."""
    words = text.split()
    runs = Counter(tuple(words[i : i + RUN_WORDS]) for i in range(len(words) - RUN_WORDS + 1))
    return any(n >= RUN_COUNT for n in runs.values())


def detected_at(token_ids: list[int], setting: tuple[int, int, int]) -> int | None:
    """The answer's length in tokens when vLLM's repetition detection would have ended it
    (checked after every token, as its scheduler does), or None."""
    from vllm.sampling_params import RepetitionDetectionParams
    from vllm.v1.core.sched.utils import check_sequence_repetition

    params = RepetitionDetectionParams(min_pattern_size=setting[0], max_pattern_size=setting[1], min_count=setting[2])
    return next((n for n in range(1, len(token_ids) + 1) if check_sequence_repetition(token_ids[:n], params)), None)


# ------------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    from scout_context.engine.base import Request
    from scout_context.engine.config import EngineConfig
    from scout_context.engine.registry import open_engine
    from scout_context.store import Store
    from scout_context.tasks.ask import ASK_MAX_TOKENS

    names = [c.strip() for c in args.candidates.split(",") if c.strip()]
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        log(f"unknown candidate(s): {', '.join(unknown)}; known: {', '.join(CANDIDATES)}")
        return 2
    questions, repos = code_task.load_questions(args.questions)
    questions = code_task.interleaved([q for q in questions if args.half in ("both", half(q.id))])[: args.limit]
    out = args.resume or WORK / f"{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    done: dict[str, Any] = json.loads(out.read_text())["answers"] if args.resume else {}
    engine = open_engine(EngineConfig.from_env(backend=args.engine, model=args.model, base_url=args.base_url))
    store = Store(WORK / "store.db")
    packs: dict[str, Any] = {}
    try:
        for n, q in enumerate(questions, 1):
            if q.repo not in packs:
                packs[q.repo], _ = code_task.pack_repo(q.repo, repos[q.repo], REPO_ROOT, store)
            reserve = SamplingConfig(max_tokens=ASK_MAX_TOKENS)
            _, prompt, tokens = code_task.fitted_prompt(packs[q.repo], q.question, engine, reserve, "auto")
            for name in names:
                key = f"{q.id}/{name}"
                if key in done:
                    continue
                sampling = replace(SamplingConfig.plain(ASK_MAX_TOKENS), **CANDIDATES[name])
                g = engine.generate([Request(prompt)], sampling)[0]
                done[key] = {
                    "id": q.id,
                    "repo": q.repo,
                    "half": half(q.id),
                    "candidate": name,
                    "expect": q.expect,
                    "prompt_tokens": tokens,
                    "cached_tokens": g.cached_tokens,
                    "finish_reason": g.finish_reason,
                    "completion_tokens": g.completion_tokens,
                    "first_token_s": round(g.first_token_s, 2),
                    "total_s": round(g.total_s, 2),
                    "text": g.text,
                    "token_ids": list(g.token_ids),
                }
                out.write_text(json.dumps({"model": engine.model_name, "answers": done}, indent=1))
                log(
                    f"{n}/{len(questions)} {q.id} {name}: {g.finish_reason}, {g.completion_tokens} tokens, "
                    f"{g.cached_tokens:,}/{g.prompt_tokens:,} cached, {g.total_s:.0f} s"
                )
    finally:
        store.close()
    log(f"answers: {out}")
    return 0


# ---------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Outcome:
    finish: str  # stop, length or repetition (the detection)
    runaway: bool
    correct: bool | None
    tokens: int
    changed: bool  # differs from the plain candidate's answer


def outcome(answer: dict[str, Any], detection: tuple[int, int, int] | None, plain: dict[str, Any]) -> Outcome:
    ids, text, finish = answer["token_ids"], answer["text"], answer["finish_reason"]
    at = detected_at(ids, detection) if detection else None
    if at is not None:
        text, finish, ids = _decoded(ids[:at]), "repetition", ids[:at]
    expect = answer["expect"]
    return Outcome(
        finish,
        finish == "length" and repeats_itself(text),
        None if not expect else expect.lower() in text.lower(),
        len(ids),
        ids != plain["token_ids"],
    )


_TOKENIZER: Any = None


def _decoded(ids: list[int]) -> str:
    """The text of a truncated answer, decoded by the default model's own tokenizer (the
    embedded engine's; it starts no engine)."""
    global _TOKENIZER
    if _TOKENIZER is None:
        from scout_context.engine.config import EngineConfig
        from scout_context.engine.registry import open_engine

        _TOKENIZER = open_engine(EngineConfig.from_env(backend="vllm")).tokenizer  # type: ignore[attr-defined]
    return str(_TOKENIZER.decode(ids, skip_special_tokens=True))


def report(args: argparse.Namespace) -> int:
    answers = json.loads(args.file.read_text())["answers"]
    halves = ("dev", "test") if args.half == "both" else (args.half,)
    plains = {a["id"]: a for a in answers.values() if a["candidate"] == "plain"}
    candidates = list(dict.fromkeys(a["candidate"] for a in answers.values()))
    for which in halves:
        print(f"\n{which} half")
        print(
            "| candidate | answers | ended | repetition stop | at max_tokens | runaways | expected present | changed |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name in candidates:
            rows = [a for a in answers.values() if a["candidate"] == name and a["half"] == which]
            for label, detection in DETECTIONS.items():
                got = [outcome(a, detection, plains[a["id"]]) for a in rows]
                n = len(got)
                expects = [o.correct for o in got if o.correct is not None]
                print(
                    f"| {name}{label} | {n} | {sum(o.finish == 'stop' for o in got)} | "
                    f"{sum(o.finish == 'repetition' for o in got)} | {sum(o.finish == 'length' for o in got)} | "
                    f"{sum(o.runaway for o in got)} ({sum(o.runaway for o in got) / max(n, 1):.0%}) | "
                    f"{sum(bool(e) for e in expects)}/{len(expects)} | {sum(o.changed for o in got)} |"
                )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.endings", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run", help="answer the questions under each candidate")
    runner.add_argument("--candidates", default=",".join(CANDIDATES))
    runner.add_argument("--engine", choices=("vllm", "openai"), default="vllm")
    runner.add_argument("--model", default=None)
    runner.add_argument("--base-url", default=None)
    runner.add_argument("--limit", type=int, default=None)
    runner.add_argument("--half", choices=("dev", "test", "both"), default="dev")
    runner.add_argument("--questions", type=Path, default=code_task.QUESTIONS)
    runner.add_argument("--resume", type=Path, default=None, help="an earlier run's JSON: its answers are kept")
    reporter = commands.add_parser("report", help="the tables of a run")
    reporter.add_argument("file", type=Path)
    reporter.add_argument("--half", choices=("dev", "test", "both"), default="dev")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    status = run(args) if args.command == "run" else report(args)
    log(f"{time.perf_counter() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
