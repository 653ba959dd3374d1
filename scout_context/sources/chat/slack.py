"""Slack workspace export (zip or folder): `users.json`, `channels.json` (and `groups.json`,
`dms.json`, `mpims.json` in full exports), one folder per conversation of `YYYY-MM-DD.json`
day files. A reply is filed under its own day, so threads are rebuilt from `thread_ts`
across all day files of a conversation; the renderer groups them under their root."""

from __future__ import annotations

import html
import io
import os
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .model import (
    ChatFormatError,
    Message,
    ZipTooLarge,
    epoch,
    expect,
    finish,
    load_json,
    open_zip,
    read_member,
    salvage,
)

PLATFORM = "slack"
DAY_FILE = re.compile(r"(?:^|/)([^/]+)/(\d{4}-\d{2}-\d{2})\.json$")
METADATA = ("channels.json", "users.json", "org_users.json", "groups.json", "dms.json", "mpims.json")
# Subtypes that carry a person's or a bot's message; every other subtype is a system line.
_CONTENT_SUBTYPES = frozenset(
    {
        "",
        "bot_message",
        "thread_broadcast",
        "file_share",
        "me_message",
        "tombstone",
        "slackbot_response",
        "reply_broadcast",
        "file_comment",
    }
)
_MARKUP = re.compile(r"<([^<>]*)>")

# A reader of one file of the export by its path relative to the export root.
Reader = Callable[[str], bytes]


def parse(name: str, data: bytes) -> tuple[list[Message], list[str]]:
    archive = open_zip(data, name)
    members = [m for m in archive.namelist() if not m.endswith("/")]
    roots = sorted((m.rpartition("/")[0] for m in members if m.rsplit("/", 1)[-1] in METADATA[:2]), key=len)
    prefix = f"{roots[0]}/" if roots and roots[0] else ""
    rels = [m[len(prefix) :] for m in members if m.startswith(prefix)]
    return _parse(name, rels, lambda rel: read_member(archive, prefix + rel))


def parse_folder(path: Path) -> tuple[list[Message], list[str]]:
    """The messages of an export folder: `parse` of its `folder_archive`."""
    data = folder_archive(str(path), sys.maxsize)
    if isinstance(data, str):
        raise ChatFormatError(f"{path.name}: {data}")
    return parse(path.name, data)


def folder_archive(path: str, limit: int) -> bytes | str:
    """A Slack export folder's JSON files as one deterministic zip (what `parse` reads, and
    what a pack's cache hashes), or why it cannot be read. Only regular files inside the
    folder count: a folder named `*.json` or a link out of the export is not part of it."""
    buffer = io.BytesIO()
    total = 0
    root = Path(path).resolve()
    try:
        members = sorted(p for p in Path(path).rglob("*.json") if p.is_file() and p.resolve().is_relative_to(root))
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for member in members:
                data = member.read_bytes()
                total += len(data)
                if total > limit:
                    return f"over {limit:,} bytes of JSON"
                info = zipfile.ZipInfo(member.relative_to(path).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                archive.writestr(info, data)
    except OSError as error:
        where = Path(os.path.relpath(error.filename, path)).as_posix() if error.filename else path
        return f"unreadable: {where}: {error.strerror or error}"
    return buffer.getvalue()


def is_export(member_names: list[str]) -> bool:
    """Whether these paths (zip members or folder entries) look like a Slack export."""
    basenames = {n.rsplit("/", 1)[-1] for n in member_names}
    return bool(basenames & set(METADATA[:2])) and any(DAY_FILE.search(n) for n in member_names)


def _parse(name: str, rels: list[str], read: Reader) -> tuple[list[Message], list[str]]:
    warnings: list[str] = []
    users = _users(rels, read, warnings)
    names, channel_ids = _conversations(rels, read, users, warnings)
    days = sorted((m.group(1), m.group(2), rel) for rel in rels if (m := DAY_FILE.search(rel)))
    if not days:
        raise ChatFormatError(f"{name}: a Slack export without any conversation day files")
    resolve = _Resolver(users, channel_ids)
    messages: list[Message] = []
    for folder, _day, rel in days:
        messages += _day_file(rel, read, names.get(folder, f"#{folder}"), resolve, warnings)
    return finish(messages, warnings, name)


def _day_file(rel: str, read: Reader, conversation: str, resolve: _Resolver, warnings: list[str]) -> list[Message]:
    records = _json_list(read, rel, warnings, "skipped")
    return salvage(records, lambda r: _message(r, conversation, resolve), lambda i: f"{rel} message {i + 1}", warnings)


def _metadata(rels: list[str], read: Reader, member: str, warnings: list[str]) -> list[dict[str, Any]]:
    if member not in rels:
        return []
    return [r for r in _json_list(read, member, warnings, "ignored") if isinstance(r, dict)]


def _json_list(read: Reader, member: str, warnings: list[str], fate: str) -> list[Any]:
    """The JSON list in `member`; an unreadable one is empty, with a warning that it was
    `fate` ("skipped", "ignored"). A zip past its bound refuses the whole export."""
    try:
        return expect(load_json(read(member), member), list, member)
    except ZipTooLarge:
        raise
    except ChatFormatError as error:
        warnings.append(f"{fate} {error}")
        return []


def _users(rels: list[str], read: Reader, warnings: list[str]) -> dict[str, str]:
    """User id -> display name: the profile's display name, else real name, else handle."""
    users = {"USLACKBOT": "Slackbot"}
    for member in ("org_users.json", "users.json"):
        for user in _metadata(rels, read, member, warnings):
            profile = value if isinstance(value := user.get("profile"), dict) else {}
            shown = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
            if isinstance(user.get("id"), str) and isinstance(shown, str) and shown:
                users[user["id"]] = shown
    return users


def _conversations(
    rels: list[str], read: Reader, users: dict[str, str], warnings: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Folder name -> conversation name ('#general', 'DM: Ana, Ben'), and channel id -> name."""
    names: dict[str, str] = {}
    channel_ids: dict[str, str] = {}
    for member in ("channels.json", "groups.json"):
        for channel in _metadata(rels, read, member, warnings):
            if isinstance(channel.get("name"), str):
                names[channel["name"]] = f"#{channel['name']}"
                channel_ids[str(channel.get("id"))] = channel["name"]
    for member, label in (("dms.json", "DM"), ("mpims.json", "group DM")):
        for chat in _metadata(rels, read, member, warnings):
            members = value if isinstance(value := chat.get("members"), list) else []
            people = [users.get(m, m) for m in members if isinstance(m, str)]
            folder = chat.get("name") or chat.get("id")
            if isinstance(folder, str):
                names[folder] = f"{label}: {', '.join(people)}" if people else f"{label}: {folder}"
    return names, channel_ids


class _Resolver:
    """Slack markup to plain text: `<@U…>` -> @name, `<#C…|x>` -> #x, `<!here>` -> @here,
    `<url|label>` -> label (url), and the HTML entities Slack escapes."""

    def __init__(self, users: dict[str, str], channels: dict[str, str]) -> None:
        self.users = users
        self.channels = channels

    def __call__(self, text: str) -> str:
        if "<" in text:
            text = _MARKUP.sub(self._token, text)
        return html.unescape(text) if "&" in text else text

    def _token(self, match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return "@" + self.users.get(target[1:], label or target[1:])
        if target.startswith("#"):
            return "#" + (label or self.channels.get(target[1:], target[1:]))
        if target.startswith("!"):
            special = target[1:].split("^", 1)[0]
            return label if label and special in ("subteam", "date") else "@" + (label or special)
        if target.startswith("mailto:"):
            return label or target[7:]
        return f"{label} ({target})" if label and label != target else target


def _message(record: dict[str, Any], conversation: str, resolve: _Resolver) -> Message:
    ts = record["ts"]
    if not isinstance(ts, str):
        raise TypeError(f"ts is {type(ts).__name__}, not a string")
    subtype = record.get("subtype") or ""
    is_bot = subtype == "bot_message" or ("bot_id" in record and "user" not in record)
    user: Any = record.get("user")  # a JSON value
    users = resolve.users
    if is_bot:
        profile = value if isinstance(value := record.get("bot_profile"), dict) else {}
        author = record.get("username") or profile.get("name") or users.get(user, "") or record.get("bot_id") or "bot"
    else:
        author = users.get(user) or (record.get("user_profile") or {}).get("display_name") or user or "unknown"
    text = resolve(record.get("text") or "")
    if is_bot:  # a bot's content is mostly in its attachments, or in blocks when it has no text
        text = "\n".join([text, *_legacy_attachments(record.get("attachments"), resolve)]).strip()
        text = text or _blocks_text(record.get("blocks"))
    deleted = subtype == "tombstone"
    is_system = subtype not in _CONTENT_SUBTYPES
    thread_ts = record.get("thread_ts")
    return Message(
        platform=PLATFORM,
        conversation=conversation,
        thread=thread_ts if isinstance(thread_ts, str) else "",
        message_id=ts,
        reply_to="",
        author="system" if is_system else str(author),
        ts=epoch(ts),
        tz_known=True,
        text="" if deleted else text.strip(),
        attachments=tuple(_file_names(record.get("files"))),
        edited="edited" in record,
        deleted=deleted,
        is_system=is_system,
        is_bot=is_bot,
    )


def _legacy_attachments(attachments: Any, resolve: _Resolver) -> Iterator[str]:
    """The readable parts of a bot's legacy attachments: pretext, title, text, fields."""
    for item in attachments or ():
        if not isinstance(item, dict):
            continue
        parts = [item.get(k) for k in ("pretext", "title", "text")]
        parts += [f"{f.get('title')}: {f.get('value')}" for f in item.get("fields") or () if isinstance(f, dict)]
        found = [resolve(p) for p in parts if isinstance(p, str) and p]
        yield from found or ([resolve(item["fallback"])] if isinstance(item.get("fallback"), str) else [])


def _blocks_text(blocks: Any) -> str:
    """Plain text of Block Kit blocks, one line per block: the `text` strings found in it,
    run together (rich text splits a sentence into styled pieces)."""
    lines = []
    for block in blocks if isinstance(blocks, list) else ():
        found: list[str] = []
        _collect_text(block, found)
        lines.append("".join(found))
    return "\n".join(line for line in lines if line)


def _collect_text(node: Any, found: list[str]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("text"), str):
            found.append(node["text"])
        node = list(node.values())
    if isinstance(node, list):
        for value in node:
            if isinstance(value, (dict, list)):
                _collect_text(value, found)


def _file_names(files: Any) -> Iterator[str]:
    for item in files or ():
        if isinstance(item, dict):
            yield str(item.get("name") or item.get("title") or f"file {item.get('id', '')} (not in the export)").strip()
