"""The guard check: Llama Guard 4 asked about one answer, through any engine of the registry.

`guard_config` makes the guard's engine settings from the answer's: a second vLLM server at
`url` (nothing more starts here), or the embedded engine with the guard model. One process
holds one embedded engine at a time (`vllm_local` closes the other when one starts): with an
embedded answer engine too, the guard's start closes it, and the next answer starts it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from ..engine.base import Engine, Request
from ..engine.config import EngineConfig, SamplingConfig
from ..engine.registry import open_engine
from .llama_guard import GUARD_MAX_TOKENS, GUARD_MODEL, Verdict, guard_prompt, parse_verdict

GREEDY = SamplingConfig.plain(GUARD_MAX_TOKENS)


def guard_config(answering: EngineConfig, model: str | None, url: str | None) -> EngineConfig:
    """The guard engine's settings: `model` (Llama Guard 4 by default) served at `url`, or
    else embedded. Key, timeout, hardware and verbosity are the answer engine's; the context
    is the guard model's own, and it gets text only."""
    backend = {"backend": "openai", "base_url": url} if url else {"backend": "vllm", "base_url": None}
    return replace(answering, **backend, model=model or GUARD_MODEL, max_model_len=None, limit_images=0)


def check(engine: Engine, question: str, answer: str) -> Verdict:
    """Llama Guard's verdict on `answer` to `question` (greedy, a few tokens)."""
    [verdict] = check_all(engine, [(question, answer)])
    return verdict


def check_all(engine: Engine, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
    """Llama Guard's verdict on each (question, answer), in one call to the engine."""
    generations = engine.generate([Request(guard_prompt(q, a)) for q, a in pairs], GREEDY)
    return [parse_verdict(generation.text, engine.model_name) for generation in generations]


def judged(
    config: EngineConfig, pairs: Sequence[tuple[str, str]], announce: Callable[[str], None] | None = None
) -> list[Verdict]:
    """`check_all` on a guard engine opened with `config` for this call (and closed after):
    for commands that judge their answers once, all together."""
    guard = open_engine(config, announce=announce)
    try:
        return check_all(guard, pairs)
    finally:
        guard.close()
