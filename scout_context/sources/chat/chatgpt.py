"""ChatGPT `conversations.json` (or the export zip holding it).

Each conversation is a tree (`mapping`): edits and regenerations are sibling branches.
The canonical thread is `current_node` followed by `parent` up to the root (whose
`message` is null). Hidden system and context messages, thoughts and reasoning recaps are
left out; code and execution output are kept (`tool` messages); images in multimodal
parts are named as attachments."""

from __future__ import annotations

from typing import Any

from .model import Message, conversations, epoch, expect, salvage, unique_title, unthreaded

PLATFORM = "chatgpt"
_HIDDEN_TYPES = frozenset({"user_editable_context", "model_editable_context", "thoughts", "reasoning_recap"})
_POINTER_SCHEMES = ("file-service://", "sediment://")


def parse(name: str, data: bytes) -> tuple[list[Message], list[str]]:
    return conversations(name, data, _conversation)


def _conversation(record: dict[str, Any], seen: dict[str, int], warnings: list[str]) -> list[Message]:
    title = unique_title(str(record.get("title") or ""), seen)
    mapping = expect(record["mapping"], dict, f"{title}: mapping")
    return salvage(
        _branch(mapping, record.get("current_node")),
        lambda n: _message(n, title),
        lambda i: f"{title} message {i + 1}",
        warnings,
    )


def _branch(mapping: dict[str, Any], current: Any) -> list[dict[str, Any]]:
    """The nodes from the root to `current_node` (or, without one, to the last leaf)."""
    if current not in mapping:
        leaves = [key for key, node in mapping.items() if isinstance(node, dict) and not node.get("children")]
        current = leaves[-1] if leaves else None
    path: list[dict[str, Any]] = []
    seen: set[str] = set()
    while isinstance(current, str) and current in mapping and current not in seen:
        seen.add(current)
        node = mapping[current]
        path.append(node)
        current = node.get("parent")
    return path[::-1]


def _message(node: dict[str, Any], conversation: str) -> Message | None:
    message = node.get("message")
    if not message:
        return None
    metadata = message.get("metadata") or {}
    content = message.get("content") or {}
    if metadata.get("is_visually_hidden_from_conversation") or content.get("content_type") in _HIDDEN_TYPES:
        return None
    named = {a.get("id"): a.get("name") for a in metadata.get("attachments") or () if isinstance(a, dict)}
    text, pointers = _content(content)
    attachments = tuple(str(n) for n in named.values() if n) + tuple(p for p in pointers if p not in named)
    if not text.strip() and not attachments:
        return None
    return unthreaded(
        PLATFORM,
        conversation,
        node.get("id") or message.get("id"),
        author=str((message.get("author") or {}).get("role") or "unknown"),
        text=text,
        ts=epoch(message.get("create_time")),
        tz_known=True,
        attachments=attachments,
    )


def _content(content: dict[str, Any]) -> tuple[str, list[str]]:
    """The text of a message's content, and the file ids of the images it points to."""
    kind = content.get("content_type")
    if kind == "code":
        language = content.get("language")
        fence = "```" + (language if language and language != "unknown" else "")
        return f"{fence}\n{content.get('text', '')}\n```", []
    if kind == "tether_quote":
        return f"[quote: {content.get('title') or content.get('url') or ''}] {content.get('text', '')}", []
    if kind == "tether_browsing_display":
        return str(content.get("result") or content.get("summary") or ""), []
    if "parts" not in content:
        return str(content.get("text") or ""), []
    texts: list[str] = []
    pointers: list[str] = []
    for part in content.get("parts") or ():
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("asset_pointer"), str):
            pointer = part["asset_pointer"]
            for scheme in _POINTER_SCHEMES:
                pointer = pointer.removeprefix(scheme)
            pointers.append(pointer)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            texts.append(part["text"])
    return "\n".join(texts), pointers
