"""'Name: text' transcripts (meeting notes, interviews, pasted chats): a line starting with
a speaker's name and ': ' starts a turn, other lines continue it. Lines before the first
turn (a title, a date) are kept as one system line. No times.

Detection is strict, because many files have `Key: value` lines: several consecutive
turns, mostly sentences, few distinct speakers who take turns and come back, names that
look like names (capitalized, two letters or more, at most four words) and are not common header or field keys."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import PurePosixPath

from .model import ChatFormatError, Message, finish, unthreaded

PLATFORM = "transcript"
_TURN = re.compile(r"([A-Z\u00c0-\u00de][\w.'\u2019-]+(?: [\w.'\u2019-]+){0,3}|Speaker \d+): (\S.*)$")
# Keys of headers, metadata and docs ('Note: …') that are never speakers.
_KEYS = frozenset(
    """
note notes warning warnings example examples usage returns return args arguments raises yields todo fixme
error errors info debug tip hint important see also subject from to date cc bcc reply-to sender name
version summary author author-email maintainer license classifier home-page keywords platform description
requires requires-dist requires-python provides-extra metadata-version content-type project-url status
type title source url link file path default options output input result answer question step fix
attendees participants present absent agenda location time minutes meeting topic
""".split()
)
_DETECT_LINES = 60


def speaker(line: str) -> tuple[str, str] | None:
    """(name, text) when `line` is a turn."""
    match = _TURN.match(line)
    if match is None or match.group(1).lower() in _KEYS:
        return None
    return match.group(1), match.group(2)


def looks_like(lines: list[str]) -> bool:
    """Whether the start of a text is a transcript: a run of at least four turns, at
    least half of the lines turns, mostly in words (not `Key: value` data), two to eight
    speakers with at least three changes of speaker, and someone speaking again after
    another."""
    sample = [line for line in lines if line.strip()][:_DETECT_LINES]
    turns = [speaker(line) for line in sample]
    spoken = [t for t in turns if t]
    names = [name for name, _ in spoken]
    run = best = 0
    for turn in turns:
        run = run + 1 if turn else 0
        best = max(best, run)
    prose = sum(" " in text.strip() for _, text in spoken)
    changes = sum(a != b for a, b in pairwise(names))
    returns = any(name in names[: i - 1] and name != names[i - 1] for i, name in enumerate(names) if i > 1)
    return (
        best >= 4
        and 2 * len(names) >= len(sample)
        and 5 * prose >= 3 * len(names)
        and 2 <= len(set(names)) <= 8
        and changes >= 3
        and returns
    )


def parse(name: str, data: bytes) -> tuple[list[Message], list[str]]:
    lines = data.decode("utf-8-sig", errors="replace").replace("\r\n", "\n").split("\n")
    conversation = PurePosixPath(name).stem or name
    turns: list[tuple[int, str, list[str]]] = []
    preamble: list[str] = []
    for number, line in enumerate(lines, 1):
        turn = speaker(line)
        if turn:
            turns.append((number, turn[0], [turn[1]]))
        elif turns:
            turns[-1][2].append(line)
        elif line.strip():
            preamble.append(line.strip())
    if not turns:
        raise ChatFormatError(f"{name}: no 'Name: text' lines")
    messages = [_turn(conversation, 0, "system", " — ".join(preamble))] if preamble else []
    messages += [_turn(conversation, number, author, "\n".join(text).strip()) for number, author, text in turns]
    return finish(messages, [], name)


def _turn(conversation: str, number: int, author: str, text: str) -> Message:
    return unthreaded(
        PLATFORM, conversation, number, author=author, text=text, ts=None, tz_known=False, is_system=author == "system"
    )
