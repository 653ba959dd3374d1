"""Needle cases: synthetic facts written into real corpus text, laid out three ways.

A *haystack* of a given length is a fixed, seeded sample of a real corpus's chunks (packed
by scout-context with small chunks, so a few thousand tokens hold a dozen of them), sized
in the engine's own tokens. A needle is one line (a comment in code, a sentence in prose)
written into the text of one haystack chunk. Its place is chosen in the `naive` prompt:
the chunks ordered alphabetically by id and rendered plainly, the question last; depth
`d` is the line nearest to `d` of that prompt's document tokens. The same edited chunks
then go through the project's own `arrange` with the question (`stable`, `edges`), which
put the host chunk where their ranking and layout say: for those layouts the needle's
*actual* depth in the final prompt is measured and reported beside the score.

Kinds: `single` (one needle, one number), `multi` (three needles, the fraction of the
three numbers recovered), `twohop` (the answer needs two needles combined: a code given as
another code plus one).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from scout_context.chunk import Chunk
from scout_context.pack.arrange import arrange
from scout_context.pack.layout import question_block
from scout_context.pack.render import body_tokens, document, document_tokens
from scout_context.pack.result import PackResult, SourceSummary, header, total_tokens
from scout_context.tasks.ask import render_prompt

LAYOUTS = ("naive", "plain", "stable", "edges")
KINDS = ("single", "multi", "twohop")

# (fact, question): the fact holds the number, the question asks for it, sometimes in other words.
SINGLE = (
    ("The access code for the east gate is {v}.", "What is the access code for the east gate?"),
    (
        "The spare key to the archive room is kept in locker number {v}.",
        "In which locker is the spare key to the archive room?",
    ),
    ("Mira Okafor's badge number at the observatory is {v}.", "What is Mira Okafor's badge number at the observatory?"),
    (
        "The council approved {v} euros for repairing the river pumps.",
        "How much money was approved to fix the river pumps?",
    ),
    (
        "The night ferry to Varenna sails under hull number {v}.",
        "Which hull number does the night ferry to Varenna have?",
    ),
)
MULTI_GATES = ("east", "north", "west")
MULTI_DEPTHS = (0.1, 0.5, 0.9)
TWOHOP_DEPTHS = (0.25, 0.75)  # the rule first, the fact it needs later
ANSWER_WITH_NUMBER = " Answer with the number."

_COMMENT = {
    ".py": "# ",
    ".pyi": "# ",
    ".sh": "# ",
    ".toml": "# ",
    ".yaml": "# ",
    ".yml": "# ",
    ".cfg": "# ",
    ".js": "// ",
    ".ts": "// ",
    ".go": "// ",
    ".rs": "// ",
    ".c": "// ",
    ".h": "// ",
    ".java": "// ",
}


@dataclass(frozen=True)
class Needle:
    fact: str
    answer: str  # the number the answer must contain
    depth: float  # nominal depth in the naive prompt


@dataclass
class Case:
    """One prompt to run and score."""

    kind: str
    length: int  # nominal haystack length, engine tokens
    depth: float | tuple[float, ...]
    layout: str
    question: str
    needles: list[Needle]
    expected: list[str]  # numbers to find in the answer
    prompt: str = ""
    prompt_tokens: int = 0
    haystack_tokens: int = 0
    haystack_chunks: int = 0
    placement: list[dict[str, Any]] = field(default_factory=list)  # per needle: actual depth, tokens after, in tail
    extra: dict[str, Any] = field(default_factory=dict)


class Haystack:
    """A seeded sample of `packed`'s chunks holding about `length` engine tokens of documents."""

    def __init__(self, packed: PackResult, engine: Any, length: int, seed: int) -> None:
        self.packed = packed
        self.engine = engine
        self.length = length
        rng = random.Random(f"haystack-{seed}")
        order = list(range(len(packed.chunks)))
        rng.shuffle(order)
        chosen: dict[int, int] = {}
        total = 0
        for i in order:
            if length - total < 60:
                break
            chunk = packed.chunks[i]
            if not chunk.text.strip() or chunk.tokens > length - total + 200:  # cheap Scout-token pre-check
                continue
            tokens = engine.count_tokens(document(chunk))
            if total + tokens <= length:
                chosen[i] = tokens
                total += tokens
        self.chunks = [packed.chunks[i] for i in sorted(chosen)]  # pack order
        self.tokens = {packed.chunks[i].id: t for i, t in chosen.items()}
        self.total = total
        self.text = "".join(c.text for c in self.chunks)

    def naive_order(self, chunks: Sequence[Chunk] | None = None) -> list[Chunk]:
        return sorted(chunks if chunks is not None else self.chunks, key=lambda c: c.id)

    def fresh_number(self, rng: random.Random, taken: set[str]) -> str:
        """A four-digit number that occurs nowhere in the haystack (nor among `taken`)."""
        while True:
            value = str(rng.randint(1000, 9999))
            if value not in self.text and value not in taken and str(int(value) + 1) not in self.text:
                taken.add(value)
                return value

    def with_needles(self, needles: Sequence[Needle]) -> list[Chunk]:
        """The haystack's chunks (pack order) with each needle's line written at its depth
        of the naive order (line boundaries; depth 0 before the first line, 1 after the last)."""
        naive = self.naive_order()
        sizes = [self.tokens[c.id] for c in naive]
        total = sum(sizes)
        inserts: dict[str, list[tuple[int, str]]] = {}
        for needle in needles:
            target = needle.depth * total
            at, before = len(naive) - 1, 0
            for i, size in enumerate(sizes):
                if before + size > target or i == len(naive) - 1:
                    at = i
                    break
                before += size
            chunk = naive[at]
            lines = chunk.text.splitlines(keepends=True)
            fraction = min(max((target - before) / max(sizes[at], 1), 0.0), 1.0)
            line = round(fraction * len(lines))
            inserts.setdefault(chunk.id, []).append((line, _needle_line(chunk.path, needle.fact)))
        edited = []
        for chunk in self.chunks:
            if chunk.id not in inserts:
                edited.append(chunk)
                continue
            lines = chunk.text.splitlines(keepends=True)
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            for line, text in sorted(inserts[chunk.id], key=lambda item: -item[0]):
                lines.insert(line, text)
            body = "".join(lines)
            edited.append(
                replace(chunk, text=body, tokens=document_tokens(chunk.id, chunk.path, body, body_tokens(body)))
            )
        return edited

    def sub_pack(self, chunks: Sequence[Chunk]) -> PackResult:
        """A PackResult of just `chunks`, as `pack` would have made it: tree, outlines, labels."""
        full = self.packed
        paths = list(dict.fromkeys(c.path for c in chunks))
        file_tokens: dict[str, int] = {}
        for c in chunks:
            file_tokens[c.path] = file_tokens.get(c.path, 0) + c.tokens
        source = full.sources[0]
        result = PackResult(
            header="",
            chunks=list(chunks),
            tokens=0,
            files=paths,
            file_tokens=file_tokens,
            outlines={p: full.outlines.get(p, ()) for p in paths},
            file_labels={p: full.file_labels[p] for p in paths},
            sources=[SourceSummary(source.label, source.root, len(paths), sum(file_tokens.values()))],
        )
        result.header = header(result)
        result.tokens = total_tokens(result)
        return result


def _needle_line(path: str, fact: str) -> str:
    suffix = path[path.rfind(".") :].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return f"{_COMMENT.get(suffix, '')}{fact}\n"


def corpus_text(haystack: Haystack, chunks: Sequence[Chunk], layout: str, question: str) -> str:
    """The user turn for `layout`: naive is the pack's header (the directory tree, as the
    other layouts have it), the documents by id, then the question; plain is the same
    without the header."""
    if layout in ("naive", "plain"):
        documents = "".join(document(c) for c in haystack.naive_order(chunks)) + question_block(question)
        return documents if layout == "plain" else haystack.sub_pack(chunks).header + documents
    return arrange(haystack.sub_pack(chunks), question=question, layout=layout).text  # type: ignore[arg-type]


def build_prompt(case: Case, haystack: Haystack, engine: Any) -> None:
    """Fill in the case's prompt, its size and where each needle ended up."""
    chunks = haystack.with_needles(case.needles)
    case.prompt = render_prompt(engine, corpus_text(haystack, chunks, case.layout, case.question), None)
    case.prompt_tokens = engine.count_tokens(case.prompt)
    case.haystack_tokens = haystack.total
    case.haystack_chunks = len(haystack.chunks)
    case.placement = [placement(case.prompt, case.prompt_tokens, needle.fact, engine) for needle in case.needles]


def placement(prompt: str, prompt_tokens: int, fact: str, engine: Any) -> dict[str, Any]:
    """Where `fact` is in the prompt: its depth in the document span (0 = the start of the
    first <document>, 1 = the end of the last), the tokens after it to the end of the
    prompt, and whether a layout's tail (after the last document) repeats it."""
    first = prompt.find("<document ")
    last = prompt.rfind("</document>\n") + len("</document>\n")
    at = prompt.find(fact, first)
    if first < 0 or at < 0:
        return {"depth": None, "tokens_after": None, "in_tail": False}
    start, end, where = (engine.count_tokens(prompt[:i]) for i in (first, last, at))
    return {
        "depth": round((where - start) / max(end - start, 1), 3),
        "tokens_after": prompt_tokens - where,
        "in_tail": prompt.find(fact, last) >= 0,
    }


def single_cases(
    haystack: Haystack, length: int, depths: Sequence[float], layouts: Sequence[str], seed: int, variants: int = 1
) -> list[Case]:
    """Per depth, `variants` of the needle facts (drawn without repetition; 1: one drawn per
    depth, as in a classic grid), each with a fresh number, in every layout."""
    cases = []
    for depth in depths:
        rng = random.Random(f"single-{length}-{depth}-{seed}")
        if variants <= 1:
            chosen = [rng.randrange(len(SINGLE))]
        else:
            chosen = sorted(rng.sample(range(len(SINGLE)), min(variants, len(SINGLE))))
        taken: set[str] = set()
        for index in chosen:
            fact, question = SINGLE[index]
            value = haystack.fresh_number(rng, taken)
            needle = Needle(fact.format(v=value), value, depth)
            for layout in layouts:
                cases.append(
                    Case(
                        "single",
                        length,
                        depth,
                        layout,
                        question + ANSWER_WITH_NUMBER,
                        [needle],
                        [value],
                        extra={"variant": index},
                    )
                )
    return cases


def multi_cases(haystack: Haystack, length: int, layouts: Sequence[str], seed: int) -> list[Case]:
    rng = random.Random(f"multi-{length}-{seed}")
    taken: set[str] = set()
    needles = [
        Needle(f"The access code for the {gate} gate is {haystack.fresh_number(rng, taken)}.", "", depth)
        for gate, depth in zip(MULTI_GATES, MULTI_DEPTHS, strict=False)
    ]
    needles = [replace(n, answer=re.findall(r"\d{4}", n.fact)[0]) for n in needles]
    question = "What are the access codes for the east gate, the north gate and the west gate? Give all three numbers."
    return [
        Case("multi", length, MULTI_DEPTHS, layout, question, needles, [n.answer for n in needles])
        for layout in layouts
    ]


def twohop_cases(haystack: Haystack, length: int, layouts: Sequence[str], seed: int) -> list[Case]:
    rng = random.Random(f"twohop-{length}-{seed}")
    value = haystack.fresh_number(rng, set())
    rule = Needle("The vault code is always the access code of the east gate plus one.", "", TWOHOP_DEPTHS[0])
    fact = Needle(f"The access code for the east gate is {value}.", value, TWOHOP_DEPTHS[1])
    answer = str(int(value) + 1)
    question = "What is the vault code? Work it out from the documents." + ANSWER_WITH_NUMBER
    return [
        Case("twohop", length, TWOHOP_DEPTHS, layout, question, [rule, fact], [answer], extra={"first_hop": value})
        for layout in layouts
    ]


_SEPARATED = re.compile(r"(?<=\d)[\s,.'_\u00a0\u202f](?=\d{3}(?!\d))")


def contains_number(answer: str, value: str) -> bool:
    """`value` as a whole number in `answer`, after removing thousands separators and spaces
    between digits ("4 719", "4,719" count as 4719; 14719 does not)."""
    text = _SEPARATED.sub("", answer)
    return re.search(rf"(?<!\d){re.escape(value)}(?!\d)", text) is not None


def score(case: Case, answer: str) -> float:
    """single and twohop: 1 or 0; multi: the fraction of the numbers found."""
    found = [contains_number(answer, value) for value in case.expected]
    return sum(found) / len(found) if found else 0.0
