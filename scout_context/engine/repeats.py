"""Ending an answer that repeats itself (`SamplingConfig.stop_repeats`).

A small model asked about a large corpus can fall into a loop: the same paragraph until
`max_tokens`. vLLM's repetition detection (`repetition_detection`, on the embedded engine
and as a request field of a vLLM server) ends the answer once a passage of
`MIN_PATTERN`–`MAX_PATTERN` tokens has come `stop_repeats` times in a row, with
`finish_reason` "repetition". It only stops a greedy answer early, so an answer that does not
loop is the same token for token. `one_copy` then keeps one copy of the loop in the answer
that is stored and shown whole (a streamed answer has already shown what was written).
"""

from __future__ import annotations

from typing import Any

from scout_context.engine.config import SamplingConfig

MIN_PATTERN = 16
MAX_PATTERN = 256
STOPPED = "repetition"  # the finish reason of an answer that repetition detection ended


def detection(sampling: SamplingConfig) -> dict[str, int] | None:
    """vLLM's `RepetitionDetectionParams` fields for `sampling`, or None when it is off."""
    if not sampling.stop_repeats:
        return None
    return {"min_pattern_size": MIN_PATTERN, "max_pattern_size": MAX_PATTERN, "min_count": sampling.stop_repeats}


def vllm_detection(sampling: SamplingConfig) -> Any:
    """`detection` as the embedded engine's `RepetitionDetectionParams`, or None."""
    fields = detection(sampling)
    if fields is None:
        return None
    from vllm.sampling_params import RepetitionDetectionParams

    return RepetitionDetectionParams(**fields)


def answer_text(text: str, finish_reason: str) -> str:
    """The answer an engine returns for what it generated: `one_copy` of an answer that
    detection ended, any other as it came."""
    return one_copy(text) if finish_reason == STOPPED else text


def one_copy(text: str) -> str:
    """`text` with its loop kept once: of the periods its tail has, the one whose run reaches
    furthest back (the shorter on a tie) is the loop, and whole copies of it are removed from
    the end while one remains. Detection stops at the end of a copy, so the text still ends
    where a copy ends. A text that does not end in at least two copies is returned whole."""
    best_size, best_run = 0, 0
    for size in range(1, len(text) // 2 + 1):
        run = size + _agreeing(text, size)
        if run >= 2 * size and run > best_run:
            best_size, best_run = size, run
    return text[: len(text) - (best_run - best_size) // best_size * best_size] if best_size else text


def _agreeing(text: str, size: int) -> int:
    """How many characters, from the end back, equal the character `size` before them."""
    n = 0
    while n < len(text) - size and text[-1 - n] == text[-1 - n - size]:
        n += 1
    return n
