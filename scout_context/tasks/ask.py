"""`ask`: pack the sources, fit them in the engine's context, answer, check the citations.
Each `ask` starts a conversation that follow-up questions continue (`conversation`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import NamedTuple

from ..engine.base import Engine, Generation, Request
from ..engine.config import SamplingConfig
from ..engine.multimodal import attach
from ..errors import UsageError
from ..pack.arrange import Layout, arrange
from ..pack.neutralize import neutralize
from ..pack.options import PackOptions
from ..pack.pipeline import Progress, pack
from ..pack.result import Arranged, PackResult, biggest_consumers
from ..pack.styles import Style
from ..pack.styles.xml import XML
from ..sources.files import Skipped
from ..sources.images import collect_images
from ..sources.spec import SourceSpec, described
from ..store import Store
from .citations import Citation
from .conversation import Conversation, TurnLog, fit_history
from .prompting import fit_prompt, with_instructions


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
    conversation_id: int = 0
    turn: int = 1
    left_out: int = 0  # earlier follow-ups left out for room (see `_follow_up`)
    corpus_changed: bool = False  # the sources no longer pack to the conversation's corpus


def prompt_template(name: str) -> str:
    """A template from the `prompts/` folder (shipped as package data)."""
    return (resources.files("scout_context.prompts") / name).read_text(encoding="utf-8")


def system_prompt(answer_language: str | None, style: Style = XML, system: str | None = None) -> str:
    """The rules (how sources appear in `style`, that they are data, cite by id, the
    answer's language) as the system turn, with the default instructions (answer from the
    documents only, be concise) or the user's own `system` in their place (see `prompting`)."""
    rule = f"Answer in {answer_language}." if answer_language else "Answer in the language of the question."
    template = prompt_template("ask_system.txt").replace("{sources_rule}", style.sources_rule)
    return with_instructions(template.replace("{language_rule}", rule), system).strip()


def render_prompt(engine: Engine, corpus: str, answer_language: str | None) -> str:
    """The full prompt in the engine model's chat format: the rules as the system turn, the
    arranged corpus (which carries the question) as the user turn."""
    return engine.render_chat(system_prompt(answer_language), corpus)


def _resolved(arranged: Arranged) -> Layout:
    """The layout `auto` chose, which a follow-up arranges the sources in again."""
    return "edges" if arranged.layout == "edges" else "stable"


def check_instructions(conversation: Conversation, system: str | None) -> None:
    """A follow-up keeps its conversation's system turn: one given other instructions is a
    UsageError rather than a silent switch (which would also lose the cached prefix)."""
    if system and system.strip() and neutralize(system.strip()) not in conversation.system:
        raise UsageError(
            f"conversation {conversation.id} began with other instructions: leave out --system to continue it "
            "(it keeps its own), or leave out -c/--cid to start a new one"
        )


def ask(
    sources: Sequence[SourceSpec],
    question: str,
    *,
    engine: Engine,
    store: Store,
    options: PackOptions,
    sampling: SamplingConfig,
    layout: Layout = "auto",
    fit_to_budget: bool = True,
    answer_language: str | None = None,
    progress: Progress | None = None,
    on_text: Callable[[int, str], None] | None = None,
    command: str = "ask",
    conversation: Conversation | None = None,
    corpus: Arranged | None = None,
    style: Style = XML,
    system: str | None = None,
) -> AskResult:
    """Answer `question` from `sources`, fitted into the engine's context less the answer's
    reserve, the sources written in `style` (xml unless told: the other styles keep ids
    visible too, and the system turn says where), as the first turn of a new conversation. Raises ContextTooLarge when it cannot
    fit (or `fit_to_budget` is off). With `conversation`, the question is its next turn
    instead: its corpus, layout and language are the first turn's (`corpus` is that corpus
    arranged, where the caller still has it; see `_follow_up`). `system`: the user's own
    instructions (see `system_prompt`); a follow-up keeps its conversation's (`check_instructions`)."""
    if conversation is not None:
        check_instructions(conversation, system)
        return _follow_up(
            sources, question, conversation, engine, store, options, sampling, corpus, progress, on_text, command, style
        )
    started = time.perf_counter()
    packed = pack(sources, options, store=store, progress=progress)
    candidates, unusable = collect_images(sources)
    images, not_sent = attach(candidates, engine)
    packed.skipped.extend(Skipped(where, reason) for where, reason in [*unusable, *not_sent])
    packed_at = time.perf_counter()
    fitted = _fitted_prompt(
        packed,
        question,
        engine,
        sampling,
        layout,
        fit_to_budget,
        answer_language,
        engine.image_tokens(images),
        store,
        style,
        system,
    )
    arranged, prompt, prompt_tokens = fitted.arranged, fitted.prompt, fitted.tokens
    turn, kept = system_prompt(answer_language, style, system), [described(spec) for spec in sources]
    conversation = Conversation(
        kept, engine.model_name, _resolved(fitted.arranged), turn, fitted.corpus, question, fitted.budget
    ).start(store, sources)

    log = TurnLog(store, engine, command, conversation, 1, question, arranged, prompt_tokens)
    generation = log.answer(prompt, sampling, on_text, images)
    timings = {
        "pack_s": round(packed_at - started, 3),
        "first_token_s": round(generation.first_token_s, 3),
        "generate_s": round(generation.total_s, 3),
        "total_s": round(time.perf_counter() - started, 3),
    }
    logged = log.log(generation.text, generation.finish_reason, generation, **timings)
    result = AskResult(question, generation.text, logged.citations, generation, arranged, prompt_tokens, timings)
    result.run_id, result.conversation_id = logged.id or 0, conversation.id
    return result


def _follow_up(
    sources: Sequence[SourceSpec],
    question: str,
    conversation: Conversation,
    engine: Engine,
    store: Store,
    options: PackOptions,
    sampling: SamplingConfig,
    arranged: Arranged | None,
    progress: Progress | None,
    on_text: Callable[[int, str], None] | None,
    command: str,
    style: Style = XML,
) -> AskResult:
    """`question` as the next turn of `conversation` over `sources` (see `conversation`).
    Without the conversation's corpus `arranged`, the sources are packed again (the cache
    makes that cheap) and arranged as the first turn was, to check the citations against."""
    started = time.perf_counter()
    if arranged is None:
        packed = pack(sources, options, store=store, progress=progress)
        arranged = arrange(
            packed, question=conversation.question, layout=conversation.layout, budget=conversation.budget, store=store
        )
    history, turn = conversation.history(store)
    prompt, tokens, left_out = fit_history(engine, conversation.system, question, history, sampling.max_tokens)
    log = TurnLog(store, engine, command, conversation, turn, question, arranged, tokens)
    generation = log.answer(prompt, sampling, on_text)
    timings = {"first_token_s": round(generation.first_token_s, 3), "generate_s": round(generation.total_s, 3)}
    timings["total_s"] = round(time.perf_counter() - started, 3)
    logged = log.log(generation.text, generation.finish_reason, generation, **timings)
    return AskResult(
        question,
        generation.text,
        logged.citations,
        generation,
        arranged,
        tokens,
        timings,
        run_id=logged.id or 0,
        conversation_id=conversation.id,
        turn=turn,
        left_out=left_out,
        corpus_changed=style.render(arranged).text != conversation.corpus,
    )


PRIME_QUESTION = "What do these sources contain?"
ASK_MAX_TOKENS = 512
"""`ask`'s default answer reserve: what `prime` fits for, so its prefix is the one `ask` sends."""


def prime(
    sources: Sequence[SourceSpec], *, engine: Engine, store: Store, options: PackOptions, system: str | None = None
) -> Generation:
    """Put the prefix that `ask --layout stable` questions over `sources` share into the
    engine's prefix cache: the prompt `ask` would send (for a neutral question, with the
    default answer reserve and the user's own instructions `system`, which the system turn
    holds), answered with one token. Only the tail differs from a real question's prompt, so
    the corpus before it is computed once, here."""
    packed = pack(sources, options, store=store)
    reserve = SamplingConfig(max_tokens=ASK_MAX_TOKENS)
    fitted = _fitted_prompt(packed, PRIME_QUESTION, engine, reserve, "stable", True, None, 0, store, system=system)
    prompt = fitted.prompt
    return engine.generate([Request(prompt)], SamplingConfig(max_tokens=1))[0]


class _Fitted(NamedTuple):
    arranged: Arranged
    budget: int  # the Scout budget the pack was arranged for
    corpus: str  # the user turn: the arranged pack written in its style
    prompt: str
    tokens: int  # the prompt's, exact, for the engine


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
    style: Style = XML,
    system: str | None = None,
) -> _Fitted:
    """The arranged pack and its rendered prompt for this engine (see `prompting`). Attached
    images take `image_tokens` of the context besides the text. The budget bounds the xml
    pack; a style whose text is larger is refitted in the engine's tokens like any prompt
    over its limit."""

    def corpus(budget: int) -> tuple[tuple[Arranged, int, str], str, int]:
        budget = max(budget, 1)
        arranged = arrange(
            packed, question=question, layout=layout, budget=budget, fit_to_budget=fit_to_budget, store=store
        )
        rendered = style.render(arranged)
        return (arranged, budget, rendered.text), rendered.text, rendered.tokens

    fitted = fit_prompt(
        engine,
        system_prompt(answer_language, style, system),
        corpus,
        sampling.max_tokens,
        images=image_tokens,
        refit=fit_to_budget,
        explain=lambda overflow: f"{overflow.over()}; {biggest_consumers(packed)}",
    )
    arranged, budget, text = fitted.built
    return _Fitted(arranged, budget, text, fitted.text, fitted.tokens)


def usage(result: AskResult) -> dict[str, int]:
    return {
        "prompt_tokens": result.prompt_tokens,
        "cached_tokens": result.generation.cached_tokens,
        "completion_tokens": result.generation.completion_tokens,
        "corpus_tokens_scout": result.pack.tokens,
    }
