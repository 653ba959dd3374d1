"""The ranking evaluation's question files (bench/ranking/questions/*.json): every file loads
under the schema, ids are unique across files, each corpus is one bench/corpora.py names, and,
where the corpus has been downloaded, every gold file exists in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import corpora
from bench.ranking import questions_schema as schema

FILES = sorted(schema.QUESTIONS.glob("*.json"))


def test_there_are_question_files() -> None:
    assert FILES, f"no question files in {schema.QUESTIONS}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_question_file_loads_and_names_a_known_corpus(path: Path) -> None:
    questions = schema.load(path)
    assert questions, f"{path.name} has no questions"
    corpus = questions[0].corpus
    assert corpus in corpora.CORPORA, f"{path.name}: corpus {corpus!r} is not in bench/corpora.py"
    assert json.loads(path.read_text())["version"], f"{path.name}: no pinned version"


def test_ids_are_unique_across_files() -> None:
    questions = schema.load_all()
    assert len({q.id for q in questions}) == len(questions)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_gold_file_exists_in_the_downloaded_corpus(path: Path) -> None:
    questions = schema.load(path)
    corpus = corpora.CORPORA[questions[0].corpus]
    root = corpora.WORK / "corpora" / corpus.dirname
    if not (root.is_dir() and root.with_name(root.name + ".ready").exists()):
        pytest.skip(f"{corpus.name} is not downloaded (python -m bench.ranking fetches it)")
    assert schema.missing_gold(questions, root) == []
