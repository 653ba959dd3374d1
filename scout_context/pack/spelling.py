"""British spellings of a word in their American form, which most code (and its API names)
uses: `colour` -> `color`, `behaviour` -> `behavior`, `initialise` -> `initialize`,
`analyse` -> `analyze`, `centre` -> `center`. Used to add the other form of a question's
word to its search terms; a rewrite of a word that is not British (`promise` ->
`promize`) only adds a term that matches nothing.
"""

from __future__ import annotations

import re

_RULES = (
    (re.compile(r"(?<=\w{2})our(s|ed|ing|ite|ites|able)?$"), r"or\1"),  # colour, behaviours, favourite
    (re.compile(r"(?<=\w{3})is(e|es|ed|er|ers|ing|ation|ations)$"), r"iz\1"),  # initialise, serialisation
    (re.compile(r"(?<=\w{2})ys(e|es|ed|er|ers|ing)$"), r"yz\1"),  # analyse, analysed
    (re.compile(r"(?<=\w{2})tre(s)?$"), r"ter\1"),  # centre, metres
)


def american(word: str) -> str:
    """`word` (lowercase) with the first British ending that matches rewritten; the word
    itself when none does."""
    for pattern, replacement in _RULES:
        changed = pattern.sub(replacement, word)
        if changed != word:
            return changed
    return word
