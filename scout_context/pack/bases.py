"""The classes that the best chunks' classes extend: the other half of a subclass's
behaviour.

A class that extends another inherits what it does: `Flask(App)` answers the requests,
and `App`, in another file, registers the routes and switches on their OPTIONS. So the
classes around each of the READERS best chunks are read from the outlines (Python's
`class Flask(App):`; `class Store extends Base` in JavaScript, TypeScript, Java or PHP),
and the code chunks that define their bases, where few do, are credited by the reader's
score relative to the best. Ranking lifts them in proportion to their own lexical score,
so a base that does not match the question stays where it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from ..chunk import Chunk
from ..definition import Outlines
from .file_kinds import lexical_weight
from .mentions import MAX_DEFINERS, best

READERS = 3  # the best chunks whose classes' bases are credited
_CLASS = re.compile(
    r"\s*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+\w+\s*"
    r"(?:\(([^)]*)\)|(?:<[^>]*>)?\s+extends\s+([\w.]+))"
)


def bases(signature: str) -> list[str]:
    """The names of the classes a class `signature` extends, each the last part of a
    dotted name without its type arguments: `class Flask(App):` -> `App`,
    `class A(t.Generic[T], metaclass=M):` -> `Generic`, `export class V<T> extends Atom
    implements I` -> `Atom`; none for anything else."""
    found = _CLASS.match(signature)
    if not found:
        return []
    listed = found.group(1) if found.group(1) is not None else found.group(2)
    names = [part.strip() for part in listed.split(",") if "=" not in part and "*" not in part]
    return [name.split("[")[0].split(".")[-1] for name in names if name]


def base_credit(
    chunks: Sequence[Chunk],
    scores: Sequence[float],
    outlines: Outlines,
    names: Sequence[Sequence[str]],
    definers: Callable[[set[str]], Mapping[str, Sequence[int]]],
) -> dict[int, float]:
    """Chunk index -> credit in [0, 1]: for each of the READERS best chunks by `scores`,
    the bases of the classes whose lines hold it (from `outlines`) credit the code chunks
    outside the readers' files that define them (`names`: per chunk, the names defined
    there, as spelled; `definers`: lowercased name -> the chunks defining it), by the
    reader's score relative to the best; a chunk keeps its best credit."""
    if not chunks:
        return {}
    readers = best(scores, READERS)
    top = scores[readers[0]]
    if top <= 0:
        return {}
    wanted: dict[str, float] = {}
    for reader in readers:
        chunk = chunks[reader]
        for entry in outlines.get(chunk.path, ()):
            if entry.start_line <= chunk.end_line and entry.end_line >= chunk.start_line:
                for name in bases(entry.signature):
                    wanted[name] = max(wanted.get(name, 0.0), scores[reader] / top)
    if not wanted:
        return {}
    spelled = {name.lower(): name for name in wanted}
    own = {chunks[reader].path for reader in readers}
    credit: dict[int, float] = {}
    for lowered, places in definers(set(spelled)).items():
        name = spelled[lowered]
        code = [i for i in places if name in names[i] and lexical_weight(chunks[i].path) == 1.0]
        if len(code) > MAX_DEFINERS:
            continue
        for i in code:
            if chunks[i].path not in own:
                credit[i] = max(credit.get(i, 0.0), wanted[name])
    return credit
