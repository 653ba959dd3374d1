"""Scout's tokenizer: known ids, agreement with Meta's reference, composition of counts."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings, strategies as st
from llama_models.llama4.tokenizer import Tokenizer as MetaTokenizer

from scout_context.tokens import is_safe_join, scout_tokenizer


@pytest.fixture(scope="module")
def tok():
    return scout_tokenizer()


@pytest.fixture(scope="module")
def meta():
    return MetaTokenizer.get_instance()


def test_known_special_ids(tok):
    assert tok.vocab_size == 202_048
    assert tok.special_tokens["<|begin_of_text|>"] == 200000
    assert tok.special_tokens["<|end_of_text|>"] == 200001
    assert tok.special_tokens["<|header_start|>"] == 200005
    assert tok.special_tokens["<|header_end|>"] == 200006
    assert tok.special_tokens["<|eot|>"] == 200008
    assert tok.special_tokens["<|image|>"] == 200090
    assert tok.encode("<|begin_of_text|><|header_start|>user<|header_end|>")[:2] == [200000, 200005]
    assert tok.count("<|eot|>") == 1


def test_matches_meta_reference(tok, meta):
    text = "def f(x):\n    return x  # café ✓ 日本語\n\n/* c */\n" * 50
    assert tok.encode(text) == meta.encode(text, bos=False, eos=False, allowed_special="all")
    assert tok.decode(tok.encode(text)) == text


def test_long_input_split_at_safe_points_matches_unsplit(tok, meta):
    lines = [f"line {i}: {'x' * (i % 70)} /path/{i}\n" for i in range(40_000)]
    text = "".join(lines)
    assert len(text) > 1_000_000
    unsplit = meta.model.encode(text, allowed_special="all")
    assert tok.count(text) == len(unsplit)


def test_long_runs_are_split_like_meta(tok, meta):
    text = "a" * 60_000 + " " * 30_000 + "b" * 10
    assert tok.encode(text) == meta.encode(text, bos=False, eos=False)


SAFE_STARTS = st.sampled_from([*"<abcXYZ019_#({[.,;:'\"-+=*&%$@!?", "ü", "日"])


@settings(max_examples=300, deadline=None)
@given(left=st.text(max_size=60), right=st.text(max_size=60), start=SAFE_STARTS)
def test_counts_compose_at_safe_joins(tok, left, right, start):
    left, right = left + "\n", start + right
    assert is_safe_join(left, right)
    assert tok.count(left + right) == tok.count(left) + tok.count(right)


@settings(max_examples=300, deadline=None)
@given(
    left=st.text(alphabet=st.sampled_from(list(" \n\t/ab<>\"'=1")), max_size=40),
    right=st.text(alphabet=st.sampled_from(list(" \n\t/ab<>\"'=1\r")), max_size=40),
)
def test_join_count_is_exact_for_any_seam(tok, left, right):
    assert tok.join_count(left, right, tok.count(left), tok.count(right)) == tok.count(left + right)


def test_join_count_on_real_code(tok):
    rng = random.Random(7)
    words = ["def", " f", "(x)", ":", "\n", "    ", "//", "/*", " */", "\n\n", "\t", "return", " 1", "<", '">', "\r\n"]
    for _ in range(500):
        left = "".join(rng.choice(words) for _ in range(rng.randint(0, 30)))
        right = "".join(rng.choice(words) for _ in range(rng.randint(0, 30)))
        assert tok.join_count(left, right, tok.count(left), tok.count(right)) == tok.count(left + right)


def test_the_parsed_ranks_are_kept_and_a_damaged_copy_is_parsed_again(isolated_cache, meta):
    from scout_context.tokens import _load_ranks

    first = _load_ranks()
    (kept,) = isolated_cache.glob("llama4-ranks-*.marshal")
    assert _load_ranks() == first == meta.model._mergeable_ranks
    whole = kept.read_bytes()
    kept.write_bytes(whole[:1000])  # cut short
    assert _load_ranks() == first
    assert kept.read_bytes() == whole  # written again whole
    flipped = bytearray(whole)
    flipped[len(whole) // 2] ^= 1  # one bit changed: it still reads as marshal data
    kept.write_bytes(bytes(flipped))
    assert _load_ranks() == first and kept.read_bytes() == whole
    assert [p.name for p in isolated_cache.iterdir() if p.name.startswith(".")] == []  # no partial file left
