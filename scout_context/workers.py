"""Spreading CPU-bound work over worker processes: tree-sitter and Python's regular
expressions hold the GIL, so threads would not help. Workers are forked, so they share
whatever the caller loaded before (the tokenizer) instead of loading their own; below
`PARALLEL_MIN_BYTES` of input, or on one core, or where fork is not offered, the work stays
in this process, in the same order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

PARALLEL_MIN_BYTES = 2_000_000  # below this, starting workers costs more than they save
MAX_WORKERS = 8


def in_parallel(total_bytes: int) -> bool:
    """Whether `worker_map` spreads `total_bytes` of input over workers."""
    return _workers() >= 2 and total_bytes >= PARALLEL_MIN_BYTES and "fork" in multiprocessing.get_all_start_methods()


@contextmanager
def worker_map(total_bytes: int, chunksize: int = 4) -> Iterator[Callable]:
    """A `map` (results in the items' order) over worker processes when `total_bytes` of
    input make it worth it (`in_parallel`), else the built-in one."""
    if not in_parallel(total_bytes):
        yield map
        return
    with ProcessPoolExecutor(_workers(), mp_context=multiprocessing.get_context("fork")) as pool:
        yield lambda function, items: pool.map(function, items, chunksize=chunksize)


def _workers() -> int:
    return min(os.cpu_count() or 1, MAX_WORKERS)
