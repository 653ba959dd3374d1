"""Claude.ai `conversations.json` (or the export zip holding it).

A conversation is `{uuid, name, chat_messages[]}`; a message's `content` blocks (text,
tool_use, tool_result) are preferred over its `text`, which can disagree. Attachment text
comes inline (`extracted_content`) and is kept in the message; `files` are names only.
When `parent_message_uuid` shows branches, the branch ending at the current leaf (or the
latest message) is kept."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from .model import Message, conversations, expect, iso, salvage, unique_title, unthreaded

PLATFORM = "claude"
_ROLES = {"human": "user", "assistant": "assistant"}


def parse(name: str, data: bytes) -> tuple[list[Message], list[str]]:
    return conversations(name, data, _conversation)


def _conversation(record: dict[str, Any], seen: dict[str, int], warnings: list[str]) -> list[Message]:
    title = unique_title(str(record.get("name") or ""), seen)
    chat = [m for m in expect(record["chat_messages"], list, f"{title}: chat_messages") if isinstance(m, dict)]
    return salvage(
        _branch(chat, record.get("current_leaf_message_uuid")),
        lambda m: _message(m, title),
        lambda i: f"{title} message {i + 1}",
        warnings,
    )


def _branch(chat: list[dict[str, Any]], leaf: Any) -> list[dict[str, Any]]:
    """All messages when the conversation is linear; else the path from the root to `leaf`
    (or to the last message)."""
    children = Counter(m.get("parent_message_uuid") for m in chat if isinstance(m.get("parent_message_uuid"), str))
    if not children or max(children.values()) < 2:
        return chat
    by_id = {m.get("uuid"): m for m in chat if isinstance(m.get("uuid"), str)}
    current = leaf if leaf in by_id else chat[-1].get("uuid")
    path: list[dict[str, Any]] = []
    while isinstance(current, str) and current in by_id and len(path) < len(chat):
        path.append(by_id[current])
        current = by_id[current].get("parent_message_uuid")
    return path[::-1]


def _message(record: dict[str, Any], conversation: str) -> Message | None:
    blocks = record.get("content")
    text = "\n".join(filter(None, map(_block, blocks))) if isinstance(blocks, list) and blocks else ""
    text = text or str(record.get("text") or "")
    names: list[str] = []
    for item in (record.get("attachments") or []) + (record.get("files") or []):
        if not isinstance(item, dict) or not item.get("file_name"):
            continue
        names.append(str(item["file_name"]))
        if item.get("extracted_content"):
            text += f"\n[content of {item['file_name']}]\n{item['extracted_content']}"
    if not text.strip() and not names:
        return None
    ts, tz_known = iso(record.get("created_at"))
    sender: Any = record.get("sender")  # a JSON value
    return unthreaded(
        PLATFORM,
        conversation,
        record.get("uuid") or "",
        author=_ROLES.get(sender, str(sender or "unknown")),
        text=text,
        ts=ts,
        tz_known=tz_known,
        attachments=dict.fromkeys(names),
    )


def _block(block: Any) -> str:
    """One content block as text; tool calls and results are labelled, thinking is left out."""
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text") or "")
    if kind == "tool_use":
        return f"[tool use: {block.get('name', '')}] {json.dumps(block.get('input'), ensure_ascii=False)}"
    if kind == "tool_result":
        inner = block.get("content")
        body = (
            inner
            if isinstance(inner, str)
            else "\n".join(str(c.get("text", "")) for c in inner or () if isinstance(c, dict))
        )
        return f"[tool result: {block.get('name', '')}] {body}"
    return ""
