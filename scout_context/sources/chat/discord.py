"""DiscordChatExporter JSON: one file per channel (`guild`, `channel`, `messages`).

Timestamps carry the offset of the machine that exported them (DiscordChatExporter writes
local time unless `--utc`); they are parsed as aware times and converted to UTC. Threads
are exported as channels of their own, whose `category` is the parent channel. Replies
point at the message they answer; embeds are rendered into the text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .model import ChatFormatError, Message, expect, finish, iso, load_json, salvage, unthreaded

PLATFORM = "discord"
_DIRECT = ("DirectTextChat", "DirectGroupTextChat")
_THREADS = ("GuildPublicThread", "GuildPrivateThread", "GuildNewsThread")
_CONTENT_TYPES = ("Default", "Reply")
_WORDS = re.compile(r"(?<=[a-z])(?=[A-Z])")


def parse(name: str, data: bytes) -> tuple[list[Message], list[str]]:
    export = expect(load_json(data, name), dict, name)
    channel = export.get("channel") if isinstance(export.get("channel"), dict) else {}
    records = expect(export.get("messages"), list, f"{name}: messages")
    conversation = _conversation(channel, name)
    warnings: list[str] = []
    messages = salvage(records, lambda r: _message(r, conversation), lambda i: f"message {i + 1}", warnings)
    return finish(messages, warnings, name)


def _conversation(channel: dict[str, Any], name: str) -> str:
    """'#general'; '#general/Release thread' for a thread; the chat's name for a DM."""
    title = str(channel.get("name") or name)
    kind = channel.get("type")
    if kind in _DIRECT:
        return title
    if kind in _THREADS and channel.get("category"):
        return f"#{channel['category']}/{title}"
    return f"#{title}"


def _message(record: dict[str, Any], conversation: str) -> Message:
    author = value if isinstance(value := record.get("author"), dict) else {}
    name = str(author.get("nickname") or author.get("name") or author.get("id") or "unknown")
    kind = record.get("type") or "Default"
    is_system = kind not in _CONTENT_TYPES
    text = str(record.get("content") or "")
    if is_system:
        text = f"{name}: {text or _WORDS.sub(' ', str(kind)).lower()}"
    text = "\n".join(filter(None, [text, *_embeds(record.get("embeds"))]))
    ts, _ = iso(record.get("timestamp"))
    reference = value if isinstance(value := record.get("reference"), dict) else {}
    if ts is None:
        raise ChatFormatError("no timestamp")
    return unthreaded(
        PLATFORM,
        conversation,
        record["id"],
        author=name,
        text=text,
        ts=ts,
        tz_known=True,
        reply_to=reference.get("messageId") or "",
        attachments=_attachments(record),
        edited=bool(record.get("timestampEdited")),
        is_system=is_system,
        is_bot=bool(author.get("isBot")),
    )


def _embeds(embeds: Any) -> Iterator[str]:
    """Each embed as '[embed] title: description' plus its fields, one line each."""
    for embed in embeds or ():
        if not isinstance(embed, dict):
            continue
        head = ": ".join(str(embed[k]) for k in ("title", "description") if embed.get(k))
        if head:
            yield f"[embed] {head}"
        for field in embed.get("fields") or ():
            if isinstance(field, dict):
                yield f"  {field.get('name', '')}: {field.get('value', '')}"


def _attachments(record: dict[str, Any]) -> Iterator[str]:
    for item in record.get("attachments") or ():
        if isinstance(item, dict):
            yield str(item.get("fileName") or item.get("url") or "attachment")
    for sticker in record.get("stickers") or ():
        if isinstance(sticker, dict):
            yield f"sticker: {sticker.get('name', '')}"
