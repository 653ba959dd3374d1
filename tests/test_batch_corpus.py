"""A synthetic repository of a few thousand tokens for the engine tests and the benchmark
of `batch` (`build`): many 128-token blocks of shared prefix, small enough for SmolLM2's
context."""

from __future__ import annotations

from pathlib import Path

from helpers import write
from scout_context.pack.options import PackOptions
from scout_context.pack.pipeline import pack
from scout_context.store import Store

WAREHOUSES = [
    "berlin",
    "lisbon",
    "oslo",
    "madrid",
    "vienna",
    "dublin",
    "prague",
    "warsaw",
    "zurich",
    "milan",
    "porto",
    "bergen",
    "seville",
    "graz",
    "cork",
    "brno",
    "krakow",
    "basel",
    "turin",
    "lyon",
]


def module(k: int, city: str) -> str:
    return f'''"""Stock keeping for the {city} warehouse."""

from dataclasses import dataclass

{city.upper()}_CAPACITY = {1000 + 137 * k}
{city.upper()}_REORDER_LEVEL = {40 + 7 * k}


@dataclass
class {city.title()}Item:
    """One product line stored in {city}."""

    sku: str
    quantity: int
    unit_price_cents: int

    def value_cents(self) -> int:
        """What the stock of this line is worth."""
        return self.quantity * self.unit_price_cents

    def needs_reorder(self) -> bool:
        """True when the quantity fell below the {city} reorder level."""
        return self.quantity < {city.upper()}_REORDER_LEVEL


def restock_{city}(items: list[{city.title()}Item], delivered: dict[str, int]) -> int:
    """Add delivered quantities to matching lines; return how many units did not fit."""
    room = {city.upper()}_CAPACITY - sum(item.quantity for item in items)
    rejected = 0
    for item in items:
        amount = delivered.get(item.sku, 0)
        accepted = min(amount, max(room, 0))
        item.quantity += accepted
        room -= accepted
        rejected += amount - accepted
    return rejected
'''


def build(root: Path, warehouses: int = 10) -> Path:
    """`warehouses` modules of about 290 Scout tokens each, and a README."""
    files = {"README.md": "# depot\n\nStock keeping for a chain of warehouses, one module per city.\n"}
    files.update({f"depot/{city}.py": module(k, city) for k, city in enumerate(WAREHOUSES[:warehouses])})
    write(root, files)
    return root


def test_the_corpus_is_a_few_thousand_tokens(tmp_path: Path) -> None:
    store = Store()
    try:
        packed = pack([build(tmp_path / "depot")], PackOptions(), store=store)
    finally:
        store.close()
    assert len(packed.files) == 11 and 2_500 < packed.tokens < 4_000
