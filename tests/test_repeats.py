"""Ending an answer that repeats itself: the loop kept once, and what each engine is asked."""

from __future__ import annotations

import subprocess

import pytest

from scout_context.engine.config import SamplingConfig
from scout_context.engine.multimodal import request_options
from scout_context.engine.repeats import MAX_PATTERN, MIN_PATTERN, answer_text, detection, one_copy, vllm_detection
from scout_context.errors import UsageError
from scout_context.settings import settings
from test_cli import EXAMPLE, EXE, one_line_error

LOOP = "The app object keeps the URL map.\n\n"


def test_a_loop_is_kept_once_and_the_answer_ends_where_a_copy_ends() -> None:
    intro = "Flask matches rules in `app.url_map`.\n\n"
    assert one_copy(intro + LOOP * 3) == intro + LOOP
    assert one_copy(intro + LOOP * 2) == intro + LOOP


def test_the_loop_is_the_longest_run_not_the_blank_lines_it_ends_with() -> None:
    # "\n\n" is a run of "\n" twice; the loop reaches much further back.
    text = "Intro.\n\n" + LOOP * 2
    assert one_copy(text) == "Intro.\n\n" + LOOP


def test_a_loop_whose_start_agrees_with_the_text_before_it_still_ends_at_a_copy() -> None:
    # Detection stops at the end of a copy; the run reaches back into "blueprints. " of the
    # intro by chance, and whole copies are still what is removed.
    intro = "It registers blueprints. "
    text = intro + "It uses blueprints. " * 3
    assert one_copy(text) == intro + "It uses blueprints. "


def test_text_without_a_repeated_tail_is_returned_whole() -> None:
    for text in ("", "a", "Flask matches rules.", "abcabd"):
        assert one_copy(text) == text


def test_only_an_answer_that_detection_ended_loses_its_copies() -> None:
    assert answer_text(LOOP * 3, "repetition") == LOOP
    assert answer_text(LOOP * 3, "length") == answer_text(LOOP * 3, "stop") == LOOP * 3


def test_the_help_names_the_pattern_sizes_detection_is_asked_for() -> None:
    assert f"{MIN_PATTERN} to {MAX_PATTERN} tokens" in settings(SamplingConfig)["stop_repeats"].doc


def test_detection_is_off_at_zero_and_a_count_of_one_is_refused() -> None:
    assert detection(SamplingConfig(stop_repeats=0)) is None and vllm_detection(SamplingConfig(stop_repeats=0)) is None
    fields = {"min_pattern_size": MIN_PATTERN, "max_pattern_size": MAX_PATTERN, "min_count": 3}
    assert detection(SamplingConfig(stop_repeats=3)) == fields
    params = vllm_detection(SamplingConfig(stop_repeats=3))
    assert (params.min_pattern_size, params.max_pattern_size, params.min_count) == (MIN_PATTERN, MAX_PATTERN, 3)
    with pytest.raises(UsageError, match="at least 2"):
        SamplingConfig(stop_repeats=1)


def test_a_server_is_sent_only_the_fields_that_are_set() -> None:
    neutral = request_options(SamplingConfig.plain(512))
    assert not {"frequency_penalty", "repetition_penalty", "repetition_detection"} & set(neutral)
    options = request_options(SamplingConfig(frequency_penalty=0.3, repetition_penalty=1.1, stop_repeats=2))
    assert options["frequency_penalty"] == 0.3 and options["repetition_penalty"] == 1.1
    assert options["repetition_detection"] == {
        "min_pattern_size": MIN_PATTERN,
        "max_pattern_size": MAX_PATTERN,
        "min_count": 2,
    }


def test_a_count_of_one_on_the_command_line_is_one_line_and_exit_2() -> None:
    proc = subprocess.run(
        [EXE, "ask", str(EXAMPLE), "q", "--stop-repeats", "1"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2
    assert "--stop-repeats is 0 (never) or a count of at least 2" in one_line_error(proc)
