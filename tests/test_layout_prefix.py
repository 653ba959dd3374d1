"""The `stable` layout: two questions over the same sources share a byte-identical prefix."""

from __future__ import annotations

import subprocess

from test_cli import EXAMPLE, EXE


def packed(question: str, *extra: str) -> str:
    proc = subprocess.run(
        [EXE, "pack", str(EXAMPLE), "--question", question, "--layout", "stable", *extra],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def test_stable_prefix_is_identical_up_to_the_tail():
    for extra in ((), ("--budget", "900")):
        first = packed("How is shipping computed?", *extra)
        second = packed("Which HTTP routes exist?", *extra)
        cut = first.rindex("</document>")
        assert second.rindex("</document>") == cut
        assert first[:cut] == second[:cut]
        assert first[cut:] != second[cut:]
        assert "How is shipping computed?" in first[cut:] and "Which HTTP routes exist?" in second[cut:]


def test_edges_puts_the_question_first_and_last_and_the_best_chunk_at_the_edges():
    proc = subprocess.run(
        [EXE, "pack", str(EXAMPLE), "--question", "What is FREE_SHIPPING_THRESHOLD?", "--layout", "edges"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = proc.stdout
    body = text[text.index("</directory_tree>") :]
    assert body.count("<question>") == 2 and text.rstrip().endswith("</question>")
    documents = [line for line in text.splitlines() if line.startswith("<document ")]
    assert 'id="shop/config.py:1-6"' in documents[0] or 'id="shop/config.py:1-6"' in documents[-1]


def test_auto_is_stable_while_the_corpus_fits_and_lets_the_question_choose_when_it_does_not():
    """The default layout: the whole example fits, so two questions share the stable prefix;
    in 900 tokens it does not, so the question's ranking keeps what it asks about (the
    question-free stable fit leaves shop/api.py out there)."""
    fits = [packed(q, "--layout", "auto") for q in ("How is shipping computed?", "Which HTTP routes exist?")]
    assert fits[0] == packed("How is shipping computed?")  # the stable layout, byte for byte
    cut = fits[0].rindex("</document>")
    assert fits[1][:cut] == fits[0][:cut]
    question = "Which HTTP routes does the API expose?"
    small = packed(question, "--layout", "auto", "--budget", "900")
    assert 'id="shop/api.py:1-30"' not in packed(question, "--budget", "900")
    assert 'id="shop/api.py:1-30"' in small and small.count("<question>") == 2  # edges: the question twice


def test_auto_tries_stable_only_when_the_documents_could_fit_whole(monkeypatch) -> None:
    """Around the budget where the example's documents stop fitting, `auto` gives what trying
    `stable` first gives, and below it lays out `edges` alone; at a budget `stable` cannot
    fit at all (its tail's whole reserve), `edges` still may."""
    from scout_context.errors import ContextTooLarge
    from scout_context.pack import arrange as arranging
    from scout_context.pack.options import PackOptions
    from scout_context.pack.pipeline import pack
    from scout_context.store import Store

    store = Store()
    try:
        result = pack([EXAMPLE], PackOptions(), store=store)
    finally:
        store.close()
    documents = sum(chunk.tokens for chunk in result.chunks)
    question = "Which HTTP routes does the API expose?"
    laid: list[str] = []
    real = arranging._lay_out
    monkeypatch.setattr(arranging, "_lay_out", lambda *args: laid.append(args[4]) or real(*args))
    for budget in (325, documents - 300, documents - 1, documents, documents + 400, documents + 3000):
        try:
            stable = arranging.arrange(result, question=question, layout="stable", budget=budget)
        except ContextTooLarge:  # the stable tail's whole reserve does not fit: edges may
            stable = None
        expected = (
            stable
            if stable is not None and not (stable.shrunk or stable.dropped)
            else arranging.arrange(result, question=question, layout="edges", budget=budget)
        )
        laid.clear()
        auto = arranging.arrange(result, question=question, layout="auto", budget=budget)
        assert (auto.text, auto.tokens) == (expected.text, expected.tokens), budget
        if budget < documents:
            assert laid == ["edges"], budget
    assert laid == ["stable"]  # the whole example fits in the largest budget
