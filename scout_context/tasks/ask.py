"""`ask`: pack the sources, fit them in the engine's context, answer, check the citations."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources

from ..engine.base import Engine, Generation
from ..engine.config import SamplingConfig
from ..engine.multimodal import attach
from ..pack.arrange import Layout, arrange
from ..pack.options import PackOptions
from ..pack.pipeline import Progress, pack
from ..pack.result import Arranged, PackResult, biggest_consumers
from ..sources.files import Skipped
from ..sources.images import collect_images
from ..sources.spec import SourceSpec, described
from ..store import Store
from .citations import Citation, check_citations
from .prompting import fit_prompt
from .run_record import RunRecord


@dataclass
class AskResult:
    question: str
    answer: str
    citations: list[Citation]
    generation: Generation
    pack: Arranged
    prompt_tokens: int
    timings: dict[str, float] = field(default_factory=dict)
    run_id: int = 0


def prompt_template(name: str) -> str:
    """A template from the `prompts/` folder (shipped as package data)."""
    return (resources.files("scout_context.prompts") / name).read_text(encoding="utf-8")


def system_prompt(answer_language: str | None) -> str:
    """The rules (sources are data, cite by id, the answer's language) as the system turn."""
    rule = f"Answer in {answer_language}." if answer_language else "Answer in the language of the question."
    return prompt_template("ask_system.txt").replace("{language_rule}", rule).strip()


def render_prompt(engine: Engine, corpus: str, answer_language: str | None) -> str:
    """The full prompt in the engine model's chat format: the rules as the system turn, the
    arranged corpus (which carries the question) as the user turn."""
    return engine.render_chat(system_prompt(answer_language), corpus)


def ask(
    sources: Sequence[SourceSpec],
    question: str,
    *,
    engine: Engine,
    store: Store,
    options: PackOptions,
    sampling: SamplingConfig,
    layout: Layout = "edges",
    fit_to_budget: bool = True,
    answer_language: str | None = None,
    progress: Progress | None = None,
    on_text: Callable[[int, str], None] | None = None,
    command: str = "ask",
) -> AskResult:
    """Answer `question` from `sources`, fitted into the engine's context less the answer's
    reserve. Raises ContextTooLarge when it cannot fit (or `fit_to_budget` is off)."""
    started = time.perf_counter()
    packed = pack(sources, options, store=store, progress=progress)
    candidates, unusable = collect_images(sources)
    images, not_sent = attach(candidates, engine)
    packed.skipped.extend(Skipped(where, reason) for where, reason in [*unusable, *not_sent])
    packed_at = time.perf_counter()
    arranged, prompt, prompt_tokens = _fitted_prompt(
        packed, question, engine, sampling, layout, fit_to_budget, answer_language, engine.image_tokens(images), store
    )
    generation = engine.generate([prompt], sampling, on_text, images=[images] if images else None)[0]
    citations = check_citations(generation.text, arranged.chunks)
    timings = {
        "pack_s": round(packed_at - started, 3),
        "first_token_s": round(generation.first_token_s, 3),
        "generate_s": round(generation.total_s, 3),
        "total_s": round(time.perf_counter() - started, 3),
    }
    result = AskResult(question, generation.text, citations, generation, arranged, prompt_tokens, timings)
    result.run_id = RunRecord.answered(
        command,
        engine,
        generation.finish_reason,
        sources=[described(spec) for spec in sources],
        question=question,
        answer=generation.text,
        citations=citations,
        usage=usage(result),
        timings=timings,
    ).log(store)
    return result


PRIME_QUESTION = "What do these sources contain?"
ASK_MAX_TOKENS = 512
"""`ask`'s default answer reserve: what `prime` fits for, so its prefix is the one `ask` sends."""


def prime(sources: Sequence[SourceSpec], *, engine: Engine, store: Store, options: PackOptions) -> Generation:
    """Put the prefix that `ask --layout stable` questions over `sources` share into the
    engine's prefix cache: the prompt `ask` would send (for a neutral question, with the
    default answer reserve), answered with one token. Only the tail differs from a real
    question's prompt, so the corpus before it is computed once, here."""
    packed = pack(sources, options, store=store)
    reserve = SamplingConfig(max_tokens=ASK_MAX_TOKENS)
    _, prompt, _ = _fitted_prompt(packed, PRIME_QUESTION, engine, reserve, "stable", True, None, 0, store)
    return engine.generate([prompt], SamplingConfig(max_tokens=1))[0]


def _fitted_prompt(
    packed: PackResult,
    question: str,
    engine: Engine,
    sampling: SamplingConfig,
    layout: Layout,
    fit_to_budget: bool,
    answer_language: str | None,
    image_tokens: int,
    store: Store | None = None,
) -> tuple[Arranged, str, int]:
    """The arranged pack, its rendered prompt and the prompt's exact tokens for this engine
    (see `prompting`). Attached images take `image_tokens` of the context besides the text."""

    def corpus(budget: int) -> tuple[Arranged, str, int]:
        arranged = arrange(
            packed, question=question, layout=layout, budget=max(budget, 1), fit_to_budget=fit_to_budget, store=store
        )
        return arranged, arranged.text, arranged.tokens

    fitted = fit_prompt(
        engine,
        system_prompt(answer_language),
        corpus,
        sampling.max_tokens,
        images=image_tokens,
        refit=fit_to_budget,
        explain=lambda overflow: f"{overflow.over()}; {biggest_consumers(packed)}",
    )
    return fitted.built, fitted.text, fitted.tokens


def usage(result: AskResult) -> dict[str, int]:
    return {
        "prompt_tokens": result.prompt_tokens,
        "cached_tokens": result.generation.cached_tokens,
        "completion_tokens": result.generation.completion_tokens,
        "corpus_tokens_scout": result.pack.tokens,
    }
