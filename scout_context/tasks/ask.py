"""`ask`: pack the sources, fit them in the engine's context, answer, check the citations."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from ..engine.base import Engine, Generation
from ..engine.config import SamplingConfig
from ..errors import ContextTooLarge
from ..pack.options import PackOptions
from ..pack.pipeline import PackResult, Progress, biggest_consumers, pack
from ..store import Store
from .citations import Citation, check_citations


@dataclass
class AskResult:
    question: str
    answer: str
    citations: list[Citation]
    generation: Generation
    pack: PackResult
    prompt_tokens: int
    timings: dict[str, float] = field(default_factory=dict)
    run_id: int = 0


def prompt_template(name: str) -> str:
    """A template from the `prompts/` folder (shipped as package data)."""
    return (resources.files("scout_context.prompts") / name).read_text(encoding="utf-8")


def render_prompt(engine: Engine, corpus: str, question: str, answer_language: str | None) -> str:
    """The full prompt in the engine model's chat format: system rules, then the corpus
    and the question last (long documents first works best for long-context models)."""
    rule = f"Answer in {answer_language}." if answer_language else "Answer in the language of the question."
    system = prompt_template("ask_system.txt").replace("{language_rule}", rule).strip()
    user = prompt_template("ask_user.txt").replace("{question}", question.strip()).replace("{corpus}", corpus)
    return engine.render_chat(system, user)


def ask(
    sources: Sequence[Path],
    question: str,
    *,
    engine: Engine,
    store: Store,
    options: PackOptions,
    sampling: SamplingConfig,
    answer_language: str | None = None,
    progress: Progress | None = None,
    on_text: Callable[[int, str], None] | None = None,
    command: str = "ask",
) -> AskResult:
    """Answer `question` from `sources`. Raises ContextTooLarge when the packed sources and
    the answer reserve do not fit the engine's context (the biggest consumers are named)."""
    started = time.perf_counter()
    packed = pack(sources, replace(options, budget=None), store=store, progress=progress)
    packed_at = time.perf_counter()
    prompt = render_prompt(engine, packed.text, question, answer_language)
    prompt_tokens = engine.count_tokens(prompt)
    limit = engine.max_model_len - sampling.max_tokens
    if options.budget is not None:
        limit = min(limit, options.budget)
    if prompt_tokens > limit:
        raise ContextTooLarge(
            f"the prompt is {prompt_tokens:,} {engine.model_name} tokens, over the {limit:,} available "
            f"({engine.max_model_len:,} of context, {sampling.max_tokens:,} kept for the answer); "
            + biggest_consumers(packed)
        )
    generation = engine.generate([prompt], sampling, on_text)[0]
    citations = check_citations(generation.text, packed.chunks)
    timings = {
        "pack_s": round(packed_at - started, 3),
        "first_token_s": round(generation.first_token_s, 3),
        "generate_s": round(generation.total_s, 3),
        "total_s": round(time.perf_counter() - started, 3),
    }
    result = AskResult(question, generation.text, citations, generation, packed, prompt_tokens, timings)
    result.run_id = store.log_run({
        "command": command,
        "engine": type(engine).__name__,
        "model": engine.model_name,
        "sources": [str(path) for path in sources],
        "question": question,
        "answer": generation.text,
        "citations": [{"id": c.id, "source": c.source, "valid": c.valid, "reason": c.reason} for c in citations],
        "usage": usage(result),
        "timings": timings,
        "status": generation.finish_reason or "done",
    })
    return result


def usage(result: AskResult) -> dict[str, int]:
    return {
        "prompt_tokens": result.prompt_tokens,
        "cached_tokens": result.generation.cached_tokens,
        "completion_tokens": result.generation.completion_tokens,
        "corpus_tokens_scout": result.pack.tokens,
    }
