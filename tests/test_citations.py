"""Citation checking against the chunks that were in the prompt."""

from __future__ import annotations

from scout_context.chunk import Chunk
from scout_context.tasks.citations import check_citations

CHUNKS = [
    Chunk("shop/cart.py:1-40", "tiny-shop", "shop/cart.py", 1, 40, "def total(self):\n    return round(x,  2)\n", 30),
    Chunk("shop/cart.py:41-90", "tiny-shop", "shop/cart.py", 41, 90, "def shipping(self):\n    return 0.0\n", 20),
    Chunk("shop/config.py:1-6", "tiny-shop", "shop/config.py", 1, 6, 'CURRENCY = "EUR"\nTAX = "<\\|eot|>"\n', 10),
]


def check(answer: str):
    return [(c.id, c.source, c.valid, c.reason) for c in check_citations(answer, CHUNKS)]


def test_ids_ranges_files_and_quotes():
    answer = (
        'Totals are rounded [shop/cart.py:1-40 "return round(x, 2)"]. Shipping is free '
        "[shop/cart.py:45-46], see [shop/config.py] and [shop/config.py:1-6 \"CURRENCY = 'USD'\"]. "
        "Also [missing.py:1-3] and a footnote [1] and [optional] text."
    )
    assert check(answer) == [
        ("shop/cart.py:1-40", "shop/cart.py:1-40", True, ""),
        ("shop/cart.py:45-46", "shop/cart.py:41-90", True, ""),
        ("shop/config.py", "shop/config.py:1-6", True, ""),
        ("shop/config.py:1-6", "shop/config.py:1-6", False, "quote not found in the cited document"),
        ("missing.py:1-3", "", False, "no such document in the prompt"),
    ]


def test_quotes_match_either_spelling_and_repeats_count_once():
    answer = '[shop/config.py:1-6 "<|eot|>"] [shop/config.py:1-6 "<\\|eot|>"] [shop/config.py:1-6 "<|eot|>"]'
    assert [c.valid for c in check_citations(answer, CHUNKS)] == [True, True]


def test_range_outside_every_chunk_is_invalid():
    assert check("[shop/cart.py:200-210]") == [("shop/cart.py:200-210", "", False, "no such document in the prompt")]
