"""Screening once per text: findings kept in the store by text and screener (`screen.kept`),
and the rules spread over worker processes (`workers`) with the same findings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scout_context import workers
from scout_context.pack.options import PackOptions
from scout_context.pack.pipeline import pack
from scout_context.screen import rules
from scout_context.screen.kept import screen_kept
from scout_context.screen.rules import RulesScreener
from scout_context.store import Store
from test_screen import ATTACK, SNIPPETS, attacked  # noqa: F401 - the fixture


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the rules read, in this process (`worker_map` keeps small work here)."""
    read: list[str] = []
    real = rules.screen_one

    def screen_one(text: str) -> rules.Finding | None:
        read.append(text)
        return real(text)

    monkeypatch.setattr(rules, "screen_one", screen_one)
    return read


def test_a_pack_screened_again_reads_no_text_twice_and_finds_the_same(attacked, counted, tmp_path: Path) -> None:  # noqa: F811
    store = Store(tmp_path / "store.db")
    try:
        first = pack([attacked], PackOptions(screen="fence"), store=store)
        assert counted, "the first pack screens its chunks"
        read_first = len(counted)
        second = pack([attacked], PackOptions(screen="fence"), store=store)
        assert len(counted) == read_first, "nothing screened twice"
        (attacked / "src/ok.py").write_text("def add(a, b):\n    return a - b\n")
        pack([attacked], PackOptions(screen="fence"), store=store)
        assert counted[read_first:] == ["def add(a, b):\n    return a - b\n"], "only the changed text"
    finally:
        store.close()
    assert second.flagged == first.flagged and [f.id for f in first.flagged] == ["src/util.py:1-4"]
    assert second.text == first.text


def test_kept_findings_are_those_of_a_fresh_screen_and_a_damaged_one_is_screened_again(counted, tmp_path: Path) -> None:
    texts = [ATTACK, "plain code", *(s["text"] for s in SNIPPETS[:8])]
    fresh = RulesScreener().screen(texts)
    store = Store(tmp_path / "store.db")
    try:
        assert screen_kept(RulesScreener(), texts, store) == fresh
        counted.clear()
        assert screen_kept(RulesScreener(), texts, store) == fresh and not counted
        damaged = [
            "[1, 2",
            '["injection", true, "x", "y"]',
            '["injection", 0.9, 7, "y"]',
            '["injection", NaN, "x", "y"]',
            '["injection", 1.5, "x", "y"]',
            '["injection", ' + "9" * 400 + ', "x", "y"]',
            "[" * 100_000,
            "null",
            "{}",
        ]
        keys = [key for (key,) in store.conn.execute("SELECT key FROM screenings ORDER BY key")]
        for key, value in zip(keys, damaged, strict=False):
            store.conn.execute("UPDATE screenings SET finding = ? WHERE key = ?", [value, key])
        store.conn.execute("UPDATE screenings SET finding = x'00ff' WHERE key = ?", [keys[-1]])
        counted.clear()
        assert screen_kept(RulesScreener(), texts, store) == fresh
        assert len(counted) == len(texts), "every damaged value screened again"
        counted.clear()
        assert screen_kept(RulesScreener(), texts, store) == fresh and not counted, "and put back"
    finally:
        store.close()


def test_only_the_last_kept_stay(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from scout_context import store as store_module

    monkeypatch.setattr(store_module, "SCREENINGS_KEPT", 3)
    store = Store(tmp_path / "store.db")
    try:
        store.save_screenings({f"k{i}": "" for i in range(5)})
        store.save_screenings({"k1": "", "k5": ""})  # k1 again: put last
        assert set(store.screenings([f"k{i}" for i in range(6)])) == {"k4", "k1", "k5"}
    finally:
        store.close()


def test_findings_are_kept_per_screener(counted, tmp_path: Path) -> None:
    class Changed(RulesScreener):
        identity = "rules:another version"  # type: ignore[assignment]

    class Unkept(RulesScreener):
        identity = None  # type: ignore[assignment]

    expected = RulesScreener().screen([ATTACK])
    store = Store(tmp_path / "store.db")
    try:
        screen_kept(RulesScreener(), [ATTACK], store)
        for other in (Changed(), Unkept(), Unkept()):
            counted.clear()
            assert screen_kept(other, [ATTACK], store) == expected
            assert counted == [ATTACK], type(other).__name__
    finally:
        store.close()


def test_the_rules_identity_follows_their_code_and_unicode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import unicodedata

    first = RulesScreener().identity
    assert first and first.startswith("rules:")
    changed = tmp_path / "rules.py"
    changed.write_text(Path(rules.__file__).read_text().replace("0.97", "0.96"))
    for patch in (
        lambda: monkeypatch.setattr(rules, "__file__", str(changed)),
        lambda: monkeypatch.setattr(unicodedata, "unidata_version", "99.0.0"),
        lambda: monkeypatch.setattr(rules, "__file__", str(tmp_path / "gone.py")),
    ):
        patch()
        rules._code_digest.cache_clear()
        assert RulesScreener().identity != first
    assert RulesScreener().identity is None  # its code cannot be read: nothing kept
    monkeypatch.undo()
    rules._code_digest.cache_clear()
    assert RulesScreener().identity == first


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: the work stays in this process")
def test_the_rules_over_workers_find_what_they_find_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [s["text"] for s in SNIPPETS] + [f"def f{i}(x):\n    return x * {i}\n" for i in range(300)]
    serial = RulesScreener().screen(texts)
    monkeypatch.setattr(workers, "PARALLEL_MIN_BYTES", 0)
    parent = os.getpid()
    monkeypatch.setattr(rules, "screen_one", _screen_one_with_pid)
    found = RulesScreener().screen(texts)
    assert [f for f, _ in found] == serial
    assert {pid for _, pid in found} - {parent}, "screened in worker processes"
    assert sum(f is not None for f in serial) == len(SNIPPETS)


def _screen_one_with_pid(text: str) -> tuple[rules.Finding | None, int]:
    return _REAL_SCREEN_ONE(text), os.getpid()


_REAL_SCREEN_ONE = rules.screen_one
