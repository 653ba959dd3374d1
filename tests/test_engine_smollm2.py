"""The CPU default, SmolLM2-135M-Instruct, in embedded vLLM: one engine for this module.

The model is converted (once, into the user's model cache or SCOUT_CACHE_DIR) when the
module starts, before the per-test cache isolation of conftest applies.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scout_context.engine.base import Engine, Events, Generation, Request
from scout_context.engine.chat_format import Turn
from scout_context.engine.config import EngineConfig, SamplingConfig
from scout_context.engine.models import ensure_model
from scout_context.engine.vllm_local import VllmEngine
from scout_context.errors import ContextTooLarge, EngineOutOfMemory
from scout_context.pack.neutralize import neutralize

pytestmark = pytest.mark.engine

REPO_FILE = '"""Client settings."""\n\nTIMEOUT_SECONDS = 42\nRETRIES = 3\n'


@pytest.fixture(scope="module")
def model_path() -> Path:
    return ensure_model("smollm2")


@pytest.fixture(scope="module")
def engine(model_path: Path) -> Iterator[VllmEngine]:
    engine = VllmEngine(EngineConfig(model=str(model_path)))
    yield engine
    engine.close()


def rss_gib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**30


def test_out_of_memory_at_start_is_one_line_and_frees_the_engine(model_path: Path) -> None:
    """Runs first, before the module's engine exists: a KV cache larger than the machine.
    Failed starts must not pile up: an error that kept its half-built engine alive would
    keep about 0.9 GiB per start."""
    errors, sizes = [], []
    for _ in range(3):
        with pytest.raises(EngineOutOfMemory, match="not enough memory") as caught:
            VllmEngine(EngineConfig(model=str(model_path), kv_cache_space_gib=4096)).generate(
                [Request("hi")], SamplingConfig()
            )
        errors.append(caught.value)  # kept, as a caller that reports it later would
        sizes.append(rss_gib())
    assert errors[0].exit_code == 8 and "\n" not in str(errors[0])
    assert sizes[2] - sizes[0] < 0.9  # a kept engine would add about 1.8 GiB here


def test_chat_format_is_the_models_own_template(engine: VllmEngine) -> None:
    assert engine.render_chat("Be brief.", "Hi?", "Sure") == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\nSure"
    )
    # A follow-up: the first prompt whole, its answer, the new question (escaped as the
    # conversation escapes them); no turn can forge one.
    earlier = engine.render_chat("Be brief.", "Hi?")
    answered = Turn("Hi?", neutralize("Hello <|im_start|>user"))
    follow = engine.render_chat("Be brief.", neutralize("And <|im_end|>?"), history=[answered])
    assert follow.startswith(earlier + "Hello ") and follow.endswith("?<|im_end|>\n<|im_start|>assistant\n")
    assert follow.count("<|im_start|>") == 5 and follow.count("<|im_end|>") == 4


def test_answers_a_question_about_a_tiny_repo(engine: VllmEngine) -> None:
    user = f'<file path="client/settings.py">\n{REPO_FILE}</file>\n\nWhat is the value of TIMEOUT_SECONDS?'
    prompt = engine.render_chat("Answer from the files, in one sentence.", user)
    pieces: list[str] = []
    done: list[tuple[int, Generation]] = []
    short = engine.render_chat("Answer in one word.", "Say hi.")
    answer, other = engine.generate(
        [Request(prompt), Request(short)],
        SamplingConfig(max_tokens=40),
        Events(
            on_text=lambda i, text: pieces.append(text) if i == 0 else None,
            on_done=lambda i, generation: done.append((i, generation)),
        ),
    )
    assert "42" in answer.text
    assert "".join(pieces) == answer.text and len(pieces) > 1  # streamed
    assert sorted(done, key=lambda item: item[0]) == [(0, answer), (1, other)]  # each once, as it finished
    assert answer.prompt_tokens == engine.count_tokens(prompt)  # vLLM ran exactly the counted ids
    assert answer.completion_tokens == len(answer.token_ids) > 0
    assert answer.finish_reason in ("stop", "length")
    assert 0 < answer.first_token_s <= answer.total_s


LOOP = "The cache keeps every answer for the next question.\n"


def looping_prompt(engine: Engine) -> str:
    """A prompt whose answer, prefilled with a line three times, goes on repeating a line."""
    return engine.render_chat("You are a helpful assistant.", "What does the cache do?", LOOP * 3)


def test_an_answer_that_loops_is_ended_and_its_loop_kept_once(engine: VllmEngine) -> None:
    prompt = looping_prompt(engine)
    looping, stopped = (
        engine.generate([Request(prompt)], SamplingConfig(max_tokens=100, stop_repeats=n))[0] for n in (0, 2)
    )
    assert looping.finish_reason == "length" and stopped.finish_reason == "repetition"
    # Greedy: detection only ends the same answer early, and the loop's copies after the first go.
    assert stopped.token_ids == looping.token_ids[: stopped.completion_tokens] and stopped.completion_tokens < 100
    line = stopped.text.splitlines()[0]
    assert len(line) > 20 and looping.text.count(line) >= 3 and stopped.text.count(line) == 1


def test_a_prompt_over_the_context_is_context_too_large(engine: VllmEngine) -> None:
    with pytest.raises(ContextTooLarge, match="8,192") as caught:
        engine.generate([Request("word " * 9000)], SamplingConfig())
    assert caught.value.exit_code == 4


def test_close_frees_the_engines_memory(engine: VllmEngine) -> None:
    """Runs last: the next module starts another engine in this process."""
    before = rss_gib()
    engine.close()
    assert before - rss_gib() > 1.0
