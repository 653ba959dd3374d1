"""JSONL chats: one `{role, content}` message per line (one conversation per file), or one
`{"messages": [...]}` conversation per line (fine-tune style); the first line tells which
(the first that is JSON, when the first is damaged).

`content` is a string, null (a message that only calls tools) or a list of parts (text,
`image_url`); `tool_calls` are rendered; an optional `timestamp` (ISO or Unix) is kept."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from .model import ChatFormatError, Message, epoch, finish, iso, salvage, unthreaded

PLATFORM = "jsonl"


def parse(name: str, data: bytes) -> tuple[list[Message], list[str]]:
    lines = [(n, line) for n, line in enumerate(data.split(b"\n"), 1) if line.strip()]
    per_line = _conversation_per_line(lines, name)
    stem = PurePosixPath(name).stem or name
    warnings: list[str] = []

    def convert(item: tuple[int, bytes]) -> Message | list[Message] | None:
        number, line = item
        record = json.loads(line)
        if not per_line:
            return _message(record, stem, str(number))
        conversation = f"{stem} #{number}"
        numbered = list(enumerate(record["messages"], 1))
        return salvage(
            numbered,
            lambda m: _message(m[1], conversation, f"{number}.{m[0]}"),
            lambda i: f"line {number} message {i + 1}",
            warnings,
        )

    messages = salvage(lines, convert, lambda i: f"line {lines[i][0]}", warnings)
    return finish(messages, warnings, name)


def _conversation_per_line(lines: list[tuple[int, bytes]], name: str) -> bool:
    """The layout, told by the first line that is JSON: `{"messages": [...]}` or a message."""
    for _, line in lines:
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        return isinstance(record, dict) and "messages" in record
    raise ChatFormatError(f"{name}: no line is JSON")


def _message(record: dict[str, Any], conversation: str, message_id: str) -> Message | None:
    role = record["role"]
    text = _content(record.get("content"))
    calls = [c.get("function") or c for c in record.get("tool_calls") or () if isinstance(c, dict)]
    text = "\n".join(
        filter(
            None,
            [
                text,
                *(f"[tool call: {c.get('name', '')}({c.get('arguments', '')})]" for c in calls if isinstance(c, dict)),
            ],
        )
    )
    attachments = _images(record.get("content"))
    if not text.strip() and not attachments:
        return None
    ts, tz_known = _time(record.get("timestamp", record.get("created_at")))
    return unthreaded(
        PLATFORM,
        conversation,
        message_id,
        author=str(role),
        text=text,
        ts=ts,
        tz_known=tz_known,
        attachments=attachments,
    )


def _content(content: Any) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return json.dumps(content, ensure_ascii=False)


def _images(content: Any) -> tuple[str, ...]:
    """Image parts named by their URL's last path segment ('image' for data URLs)."""
    names: list[str] = []
    for part in content if isinstance(content, list) else ():
        if isinstance(part, dict) and part.get("type") in ("image_url", "image"):
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            names.append("image" if not isinstance(url, str) or url.startswith("data:") else url.rsplit("/", 1)[-1])
    return tuple(names)


def _time(value: Any) -> tuple[datetime | None, bool]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return epoch(value), True
    return iso(value) if isinstance(value, str) else (None, False)
