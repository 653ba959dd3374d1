"""bench/ranking's scoring (bench/results/ranking/DECLARED.md): a question scores, at k, the
fraction of its gold files among the first k distinct files of the ranking, and a corpus's
language is the one most of its gold files are written in."""

from __future__ import annotations

import re

import pytest

from bench.ranking import run
from bench.ranking.questions_schema import Question


def question(gold: tuple[str, ...], qid: str = "x-01") -> Question:
    return Question(qid, "x", "how?", gold, "howto", len(gold) > 1)


def test_recall_counts_distinct_files_and_the_fraction_of_gold_files() -> None:
    # Six chunks but four distinct files: b.py is 4th of the files, though its chunk is 6th.
    paths = ["a.py", "a.py", "c.py", "a.py", "d.py", "b.py", "e.py", "f.py", "g.py"]
    row = run.score(question(("b.py", "g.py")), paths, 0.01, "Python")
    assert row["gold_ranks"] == {"b.py": 4, "g.py": 7}
    assert row["recall@5"] == 0.5
    assert row["recall@10"] == 1.0


def test_a_gold_file_the_ranking_never_reaches_has_no_rank() -> None:
    row = run.score(question(("z.py",)), ["a.py", "b.py"], 0.01, "Python")
    assert row["gold_ranks"] == {"z.py": None}
    assert row["recall@5"] == row["recall@10"] == 0.0


def test_a_corpus_language_follows_its_gold_files_not_its_docs() -> None:
    questions = [question(("README.md", "docs/api.md")), question(("src/index.ts",), "x-02")]
    assert run.language(questions) == "JavaScript/TypeScript"
    assert run.language([question(("docs/guide.rst",))]) == "other"


def test_summaries_group_by_corpus_language_half_kind_and_gold_files() -> None:
    rows = [
        run.score(question(("a.py",), "x-01"), ["a.py"], 0.02, "Python"),
        run.score(question(("a.py", "b.py"), "x-02"), ["c.py", "a.py"], 0.04, "Python"),
    ]
    summary = run.summarize(rows)
    assert summary["all"]["all"]["recall@5"] == 0.75
    assert summary["gold files"]["two or more"]["recall@5"] == 0.5
    assert set(summary) == {"all", "corpus", "language", "half", "kind", "gold files"}


def test_a_gold_file_missing_from_the_corpus_stops_that_corpus_before_it_is_packed() -> None:
    from bench import corpora

    root = corpora.WORK / "corpora" / corpora.CORPORA["requests"].dirname
    if not root.with_name(root.name + ".ready").exists():
        pytest.skip("requests is not downloaded (python -m bench.ranking fetches it)")
    bad = Question("requests-x", "requests", "how?", ("src/requests/nope.py",), "howto", False)
    with pytest.raises(RuntimeError, match=re.escape("requests-x: src/requests/nope.py")):
        run.rank_corpus("requests", [bad], "Python", store=None)
