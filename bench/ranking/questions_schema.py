"""The ranking questions' files, `bench/ranking/questions/<corpus>.json`, loaded and checked.

A file: {"about", "corpus" (a name in bench/corpora.py), "version", "questions": [{"id",
"question", "gold" (paths relative to the corpus root), "kind", "two_file"}]}. Which half a
question is in follows from its id alone (`half`), a rule fixed before any question was
written, so nobody can move a question between halves after seeing a result.

Standard library only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

QUESTIONS = Path(__file__).resolve().parent / "questions"
KINDS = ("identifier", "paraphrase", "howto", "behaviour")


@dataclass(frozen=True)
class Question:
    id: str
    corpus: str
    question: str
    gold: tuple[str, ...]
    kind: str
    two_file: bool

    @property
    def half(self) -> str:
        return half(self.id)


def half(question_id: str) -> str:
    """ "test" iff the id's SHA-1, read as an integer, is odd; "dev" otherwise."""
    return "test" if int(hashlib.sha1(question_id.encode()).hexdigest(), 16) % 2 else "dev"


def load(path: Path) -> list[Question]:
    """The questions in one file; ValueError naming the file and the question on any defect."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in ("about", "corpus", "version", "questions"):
        if key not in data:
            raise ValueError(f"{path.name}: no {key!r}")
    corpus = data["corpus"]
    questions = []
    for i, q in enumerate(data["questions"]):
        where = f"{path.name}: question {q.get('id', i)!r}"
        missing = {"id", "question", "gold", "kind", "two_file"} - q.keys()
        if missing:
            raise ValueError(f"{where}: missing {sorted(missing)}")
        if q["kind"] not in KINDS:
            raise ValueError(f"{where}: kind {q['kind']!r} is not one of {KINDS}")
        gold = q["gold"]
        if not gold or not all(isinstance(g, str) and g for g in gold):
            raise ValueError(f"{where}: gold must be a non-empty list of paths")
        if any(Path(g).is_absolute() or ".." in Path(g).parts for g in gold):
            raise ValueError(f"{where}: gold paths are relative to the corpus root")
        if q["two_file"] != (len(gold) >= 2):
            raise ValueError(f"{where}: two_file must say whether gold has two files or more")
        questions.append(Question(q["id"], corpus, q["question"], tuple(gold), q["kind"], q["two_file"]))
    return questions


def load_all(folder: Path = QUESTIONS) -> list[Question]:
    """Every file's questions; ValueError on a defect or an id used twice."""
    questions = [q for path in sorted(folder.glob("*.json")) for q in load(path)]
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise ValueError(f"question id {q.id!r} is used twice")
        seen.add(q.id)
    return questions


def missing_gold(questions: list[Question], root: Path) -> list[str]:
    """`id: path` for each gold file that is not a file under `root` (the corpus's folder)."""
    return [f"{q.id}: {g}" for q in questions for g in q.gold if not (root / g).is_file()]
