"""Normalized messages -> compact chunks for the prompt.

Messages are grouped by conversation, then by thread: a thread's replies follow their
root (marked `↳`), even when they came days later. Each message gets one short header
(`[2024-03-14 10:22Z] Ana:`; the date is left out while it stays the same within a
chunk, and `Z` only when the time zone is known); consecutive messages by the same
author within a few minutes share one. System lines take one line (`[10:22Z] * …`);
attachments are `[attachment: name]` lines. Chunks never mix conversations and are cut
near `max_chars`, preferably where a day starts, else between threads, else between
replies; a message longer than `max_chars` is split between its lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .model import Message, one_line

MERGE_GAP = timedelta(minutes=5)
_NEW_DAY, _NEW_THREAD, _REPLY, _CONTINUED = 3, 2, 1, 0


@dataclass(frozen=True, slots=True)
class ChatChunk:
    """A piece of one conversation: `id` is '<platform>:<conversation>@<first message's
    minute>' (UTC with 'Z'; local without it), '~2', '~3'… added when ids would collide."""

    id: str
    text: str
    start: datetime | None
    end: datetime | None
    messages: int


@dataclass(frozen=True, slots=True)
class _Piece:
    """One header and its body (or a later slice of an oversized body, with no header)."""

    messages: tuple[Message, ...]
    label: str | None
    body: str
    reply: bool
    strength: int

    @property
    def size(self) -> int:
        return len(self.label or "") + len(self.body) + 24


def render(messages: list[Message], *, max_chars: int = 16_000) -> list[ChatChunk]:
    """The chunks of `messages` (time-ordered, as `parse` returns them). Deterministic."""
    conversations: dict[tuple[str, str], list[Message]] = {}
    for message in messages:
        conversations.setdefault((message.platform, message.conversation), []).append(message)
    chunks: list[ChatChunk] = []
    used: dict[str, int] = {}
    for (platform, conversation), group in conversations.items():
        for part in _cut(_pieces(group, max_chars), max_chars):
            chunks.append(_chunk(platform, conversation, part, used))
    return chunks


def _pieces(messages: list[Message], max_chars: int) -> list[_Piece]:
    """A conversation's messages as pieces, threads after their roots, merged where they can be."""
    units: dict[tuple[str, str | int], list[Message]] = {}
    for index, message in enumerate(messages):
        units.setdefault(("thread", message.thread) if message.thread else ("single", index), []).append(message)
    ordered = [m for unit in units.values() for m in sorted(unit, key=lambda m: m.message_id != m.thread)]
    authors = {m.message_id: m.author for m in messages if m.message_id}
    pieces: list[_Piece] = []
    last_day: date | None = None
    for group in _merged(ordered):
        first = group[0]
        reply = _is_reply(first)
        if reply:
            strength = _REPLY
        else:
            day = first.ts.date() if first.ts else last_day
            strength = _NEW_DAY if day != last_day and pieces else _NEW_THREAD
            last_day = day
        pieces += _split(_Piece(tuple(group), _label(first, authors), _body(group), reply, strength), max_chars)
    return pieces


def _is_reply(message: Message) -> bool:
    return bool(message.thread) and message.message_id != message.thread


def _merged(ordered: list[Message]) -> list[list[Message]]:
    """Consecutive messages of one author, minutes apart, none edited or deleted, together."""
    groups: list[list[Message]] = []
    for message in ordered:
        if groups and _joins(groups[-1][-1], message):
            groups[-1].append(message)
        else:
            groups.append([message])
    return groups


def _joins(before: Message, after: Message) -> bool:
    if before.author != after.author or before.is_system or after.is_system or before.thread != after.thread:
        return False
    if before.edited or after.edited or before.deleted or after.deleted or after.reply_to:
        return False
    if _is_reply(before) != _is_reply(after):
        return False
    if before.ts is None or after.ts is None:
        return before.ts is None and after.ts is None
    return timedelta(0) <= after.ts - before.ts <= MERGE_GAP and before.ts.date() == after.ts.date()


def _label(message: Message, authors: dict[str, str]) -> str:
    if message.is_system:
        return f"* {one_line(message.text)}"
    flags = [" (bot)" * message.is_bot, " (edited)" * message.edited]
    target = authors.get(message.reply_to)
    if target and message.reply_to != message.thread:
        flags.append(f" (re {target})")
    return f"{message.author}{''.join(flags)}:"


def _body(group: list[Message]) -> str:
    if group[0].is_system:
        return ""
    lines: list[str] = []
    for message in group:
        if message.deleted:
            lines.append("[deleted]")
        elif message.text:
            lines.append(message.text)
        lines += (f"[attachment: {name}]" for name in message.attachments)
    return "\n".join(lines)


def _split(piece: _Piece, max_chars: int) -> list[_Piece]:
    """A piece bigger than `max_chars` as slices of whole lines (a longer line is cut)."""
    room = max(max_chars - len(piece.label or "") - 24, 1)
    if len(piece.body) <= room:
        return [piece]
    slices: list[str] = []
    current = ""
    for line in piece.body.split("\n"):
        while len(line) > room:
            if current:
                slices.append(current)
                current = ""
            slices.append(line[:room])
            line = line[room:]
        if current and len(current) + 1 + len(line) > room:
            slices.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    slices.append(current)
    first = _Piece(piece.messages, piece.label, slices[0], piece.reply, piece.strength)
    return [first, *(_Piece((), None, s, piece.reply, _CONTINUED) for s in slices[1:])]


def _cut(pieces: list[_Piece], max_chars: int) -> list[list[_Piece]]:
    """Pieces in chunks of about `max_chars`: when the next piece does not fit, the chunk
    ends at the strongest boundary in its second half (the latest of equals)."""
    chunks: list[list[_Piece]] = []
    current: list[_Piece] = []
    size = 0
    for piece in pieces:
        if current and size + piece.size > max_chars:
            at = _best_cut(current, piece, max_chars)
            chunks.append(current[:at])
            current = current[at:]
            size = sum(p.size for p in current)
            if current and size + piece.size > max_chars:
                chunks.append(current)
                current, size = [], 0
        current.append(piece)
        size += piece.size
    if current:
        chunks.append(current)
    return chunks


def _best_cut(current: list[_Piece], incoming: _Piece, max_chars: int) -> int:
    """Where to end the chunk `current` (an index; len(current) keeps it whole)."""
    candidates = [(incoming.strength, len(current))]
    size = 0
    for index, piece in enumerate(current):
        if index and size >= max_chars // 2:
            candidates.append((piece.strength, index))
        size += piece.size
    return max(candidates)[1]


def _chunk(platform: str, conversation: str, pieces: list[_Piece], used: dict[str, int]) -> ChatChunk:
    lines: list[str] = []
    shown_day: date | None = None
    for piece in pieces:
        if piece.label is not None:
            first = piece.messages[0]
            stamp = ""
            if first.ts is not None:
                day = first.ts.date()
                clock = first.ts.strftime("%H:%M") + ("Z" if first.tz_known else "")
                stamp = f"[{clock}] " if day == shown_day else f"[{day.isoformat()} {clock}] "
                shown_day = day
            lines.append(f"{'↳ ' if piece.reply else ''}{stamp}{piece.label}")
        if piece.body:
            lines.append(piece.body)
    messages = [m for p in pieces for m in p.messages]
    times = [m.ts for m in messages if m.ts is not None]
    dated = next((m for m in messages if m.ts is not None), None)
    key = f"{platform}:{conversation}"
    if dated is not None and dated.ts is not None:
        key += "@" + dated.ts.strftime("%Y-%m-%dT%H:%M") + ("Z" if dated.tz_known else "")
    used[key] = used.get(key, 0) + 1
    return ChatChunk(
        id=key if used[key] == 1 else f"{key}~{used[key]}",
        text="\n".join(lines) + "\n",
        start=min(times, default=None),
        end=max(times, default=None),
        messages=len(messages),
    )
