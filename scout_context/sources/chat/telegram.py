"""Telegram Desktop `result.json`: one chat (`name`, `type`, `messages`) or a full export
(`chats.list`, `left_chats.list`).

`date` is local time without a zone, so `date_unixtime` (tdesktop 3.7.6 and later) is
used when present. `text` is a string or a list mixing strings and entities;
`text_entities` is preferred. Service messages (`actor`, `action`) become system lines;
`from` is null for deleted accounts; media not downloaded is named by its type."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from .model import Message, epoch, expect, finish, iso, load_json, salvage, unthreaded, zip_member

PLATFORM = "telegram"
_NOT_INCLUDED = "(File not included"


def parse(name: str, data: bytes) -> tuple[list[Message], list[str]]:
    export = expect(load_json(zip_member(data, name, "result.json"), name), dict, name)
    warnings: list[str] = []
    messages = salvage(list(_chats(export)), lambda c: _chat(c, warnings), lambda i: f"chat {i + 1}", warnings)
    return finish(messages, warnings, name)


def _chat(chat: dict[str, Any], warnings: list[str]) -> list[Message]:
    title = str(chat.get("name") or ("Saved Messages" if chat.get("type") == "saved_messages" else chat.get("id")))
    records = expect(chat.get("messages"), list, f"{title}: messages")
    return salvage(records, lambda r: _message(r, title), lambda i: f"{title} message {i + 1}", warnings)


def _chats(export: dict[str, Any]) -> Iterator[Any]:
    if "messages" in export:
        yield export
        return
    for key in ("chats", "left_chats"):
        section = export.get(key)
        if isinstance(section, dict) and isinstance(section.get("list"), list):
            yield from section["list"]


def _message(record: dict[str, Any], conversation: str) -> Message | None:
    if record.get("type") not in ("message", "service"):
        return None
    if record.get("date_unixtime"):
        ts, tz_known = epoch(record["date_unixtime"]), True
    else:
        ts, tz_known = iso(record.get("date"))
    is_system = record["type"] == "service"
    text = _text(record)
    if is_system:
        text = " ".join(filter(None, [str(record.get("actor") or ""), _action(record), text]))
    elif record.get("forwarded_from"):
        text = f"[forwarded from {record['forwarded_from']}] {text}"
    author = record.get("from")
    return unthreaded(
        PLATFORM,
        conversation,
        record["id"],
        author=str(author) if author else "Deleted Account",
        text=text,
        ts=ts,
        tz_known=tz_known,
        reply_to=record.get("reply_to_message_id") or "",
        attachments=_attachments(record),
        edited=bool(record.get("edited")),
        is_system=is_system,
        is_bot=bool(record.get("via_bot")),
    )


def _text(record: dict[str, Any]) -> str:
    """The message text: `text_entities` (or the mixed `text` list) joined; links keep their
    target as 'label (url)'."""
    parts = record.get("text_entities")
    if not isinstance(parts, list):
        parts = record.get("text")
    if isinstance(parts, str):
        return parts
    out: list[str] = []
    for part in parts or ():
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, dict):
            text = str(part.get("text", ""))
            href = part.get("href")
            out.append(f"{text} ({href})" if href and href != text else text)
    return "".join(out)


def _action(record: dict[str, Any]) -> str:
    """A service action in words: 'create group "Family": Ana, Ben'."""
    words = str(record.get("action") or "").replace("_", " ")
    if record.get("title"):
        words += f' "{record["title"]}"'
    members = [str(m) for m in record.get("members") or () if m]
    return f"{words}: {', '.join(members)}" if members else words


def _attachments(record: dict[str, Any]) -> Iterator[str]:
    if record.get("media_type") == "sticker":
        yield f"sticker {record.get('sticker_emoji') or ''}".strip()
        return
    for field in ("photo", "file"):
        path = record.get(field)
        if not isinstance(path, str) or not path:
            continue
        if path.startswith(_NOT_INCLUDED):
            kind = str(record.get("media_type") or field).replace("_", " ")
            yield str(record.get("file_name") or f"{kind} (not included)")
        else:
            yield str(record.get("file_name") or PurePosixPath(path).name)
