"""A tiny random-weight Llama 4 with Scout's architecture in embedded vLLM: chunked local
attention (chunks of 128), a NoPE layer every 4th, MoE with a shared expert, the real
Llama 4 tokenizer. One engine for this module."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from scout_context.engine.base import Generation, Request
from scout_context.engine.config import EngineConfig, SamplingConfig
from scout_context.engine.models import ensure_model
from scout_context.engine.vllm_local import VllmEngine
from scout_context.guard.check import check
from scout_context.guard.llama_guard import GUARD_MAX_TOKENS, guard_prompt
from scout_context.tokens import scout_tokenizer

pytestmark = pytest.mark.engine

CHUNK = 128
BLOCK = 128  # vLLM's KV block size on a CPU: only whole blocks are cached
SOURCE = "".join(f"def step_{i}(value: int) -> int:\n    return value * {i} + {i * i}\n\n" for i in range(80))


@pytest.fixture(scope="module")
def engine() -> Iterator[VllmEngine]:
    engine = VllmEngine(EngineConfig(model="tiny-llama4"))
    assert engine.model_path == ensure_model("tiny-llama4")  # built now, before conftest isolates the cache
    yield engine
    engine.close()


def test_the_models_tokenizer_is_scouts(engine: VllmEngine) -> None:
    prompt = engine.render_chat("You read code.", SOURCE + "\nWhat does it do?")
    ids = engine.tokenizer.encode(prompt, add_special_tokens=False)
    assert ids == scout_tokenizer().encode(prompt)
    assert ids.count(scout_tokenizer().bos_id) == 1


def test_a_prompt_of_eight_chunks_runs_and_matches_transformers(engine: VllmEngine) -> None:
    import torch
    from transformers import Llama4ForCausalLM

    prompt = engine.render_chat("", SOURCE + "\nSummarise the module.")
    # Plain greedy decoding, as transformers' reference decodes (no penalty, no repeat stop).
    plain = SamplingConfig.plain(24)
    [answer] = engine.generate([Request(prompt)], plain)
    assert answer.prompt_tokens == scout_tokenizer().count(prompt) >= 8 * CHUNK  # one BOS: the rendered one
    assert answer.completion_tokens == len(answer.token_ids) > 0

    reference = Llama4ForCausalLM.from_pretrained(engine.model_path, dtype=torch.float32).eval()
    ids = torch.tensor([engine.tokenizer.encode(prompt, add_special_tokens=False)])
    with torch.no_grad():
        generated = reference.generate(ids, max_new_tokens=24, do_sample=False)
    assert tuple(generated[0, ids.shape[1] :].tolist()) == answer.token_ids


def test_a_second_question_reuses_the_cached_corpus(engine: VllmEngine) -> None:
    """Two questions after the same corpus share a prefix of at least 10 blocks; vLLM can
    serve from its cache only the whole 128-token blocks inside that prefix, so it must
    report exactly `shared // 128 * 128` cached tokens, which is at least 90% of it."""
    corpus = SOURCE.replace("value", "number")  # not the earlier tests' prefix
    first, second = (
        engine.render_chat("Answer from the corpus.", f"{corpus}\n\nQuestion: {question}")
        for question in ("What does step_7 return?", "Which step adds 100?")
    )
    first_ids, second_ids = (scout_tokenizer().encode(prompt) for prompt in (first, second))
    shared = next(i for i, (a, b) in enumerate(zip(first_ids, second_ids, strict=False)) if a != b)
    assert shared >= 10 * BLOCK
    engine.generate([Request(first)], SamplingConfig(max_tokens=4))
    [again] = engine.generate([Request(second)], SamplingConfig(max_tokens=4))
    assert again.cached_tokens == shared // BLOCK * BLOCK
    assert again.cached_tokens >= 0.9 * shared


def test_the_engine_starts_vllm_with_exactly_the_settings_a_dry_run_prints(engine: VllmEngine) -> None:
    """On the CPU through the same function as a GPU plan (`engine_settings`): what vLLM was
    started with is what `ask --dry-run` prints, and what the CPU has always run."""
    args = engine.settings.engine_args
    assert engine.llm_kwargs() is args and engine.settings.hardware.is_cpu
    assert (args["dtype"], args["enforce_eager"], args["kv_cache_dtype"], args["tensor_parallel_size"]) == (
        "float32",
        True,
        "auto",
        1,
    )
    assert args["limit_mm_per_prompt"] == {"image": 0}  # the tiny model has no vision tower
    config = engine._start().llm_engine.vllm_config
    assert config.model_config.max_model_len == args["max_model_len"] == 8192
    assert config.model_config.enforce_eager is True and str(config.model_config.dtype) == "torch.float32"
    assert config.cache_config.enable_prefix_caching is True
    assert config.parallel_config.tensor_parallel_size == 1


class Recorded:
    """The engine, with every request it is given and every answer it gives kept."""

    def __init__(self, engine: VllmEngine) -> None:
        self.engine, self.requests, self.answers = engine, list[Request](), list[Generation]()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def generate(self, requests: Sequence[Request], sampling: SamplingConfig, events: Any = None) -> list[Generation]:
        self.requests += requests
        self.answers += self.engine.generate(requests, sampling, events)
        return self.answers


def test_the_tiny_model_as_guard_gets_llama_guards_prompt_and_its_garbage_fails_closed(engine: VllmEngine) -> None:
    """The tiny random Llama 4 stands in for Llama Guard 4 (the same format and tokenizer):
    the prompt that reached the engine is Llama Guard's, token for token, and what random
    weights answer is no verdict, so the answer is not found safe."""
    recorded = Recorded(engine)
    verdict = check(recorded, "What is TIMEOUT?", "TIMEOUT is 5 [settings.py:1-1].")
    [request], [answer] = recorded.requests, recorded.answers
    assert request.prompt == guard_prompt("What is TIMEOUT?", "TIMEOUT is 5 [settings.py:1-1].")
    assert answer.prompt_tokens == scout_tokenizer().count(request.prompt)
    assert 0 < answer.completion_tokens <= GUARD_MAX_TOKENS
    assert (verdict.status, verdict.safe, verdict.model, verdict.text) == (
        "unreadable",
        False,
        "tiny-llama4",
        answer.text,
    )
    assert "treated as unsafe" in verdict.described()
