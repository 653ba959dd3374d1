"""Which chat format a file is, from its content: the first 64 KiB (and for a zip, its
member names and the start of the member that matters). The file name only breaks a tie:
a code or data file (`.py`, `.csv`, …) is never taken for a 'Name: text' transcript.
Ordinary files (code, READMEs, configs, logs) detect as None."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path, PurePosixPath

from . import irc, slack, transcript, whatsapp
from .mbox import FROM_LINE

HEAD = 65536
_TEXT_SAMPLE = 40
_DISCORD = re.compile(r'^\{\s*"guild"\s*:\s*\{.*?"channel"\s*:\s*\{', re.DOTALL)
_TELEGRAM_CHAT = re.compile(
    r'^\{\s*"name"\s*:.*?"type"\s*:\s*"(?:personal_chat|bot_chat|private_group|private_supergroup|public_supergroup'
    r'|private_channel|public_channel|saved_messages)"\s*,\s*"id"\s*:',
    re.DOTALL,
)
_TELEGRAM_FULL = re.compile(r'^\{\s*"about"\s*:\s*"(?:[^"\\]|\\.)*"\s*,\s*"personal_information"\s*:\s*\{')
_CHATGPT = re.compile(r'^\[\s*\{.*?"mapping"\s*:\s*\{\s*"[^"]+"\s*:\s*\{\s*"id"\s*:', re.DOTALL)
_CLAUDE = re.compile(r'^\[\s*\{\s*"uuid"\s*:.*?"chat_messages"\s*:\s*\[', re.DOTALL)
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
# The start of a JSONL chat line too long to fit in the head.
_JSONL_START = re.compile(r'\{\s*(?:"messages"\s*:\s*\[\s*\{\s*)?"role"\s*:\s*"(?:' + "|".join(_ROLES) + ')"')
_HEADER_LINE = re.compile(rb"[A-Za-z][\w-]*: ")
_NOT_TRANSCRIPTS = frozenset(
    ".py .pyi .js .ts .c .h .cc .cpp .java .go .rs .rb .php .sh .sql .json .jsonl .yaml .yml .toml .cfg .ini .conf "
    ".csv .tsv .xml .html .htm .css .properties .env .lock .log".split()
)


def detect(name: str, data: bytes) -> str | None:
    """The format of a chat export ('slack', 'discord', 'whatsapp', 'telegram', 'chatgpt',
    'claude', 'jsonl', 'mbox', 'irc', 'transcript'), or None."""
    if data.startswith(b"PK\x03\x04"):
        return _detect_zip(data)
    head = data[:HEAD]
    if b"\0" in head:
        return None
    text = head.decode("utf-8-sig", errors="replace").lstrip()
    if text.startswith(("{", "[")) and (found := _detect_json(text)):
        return found
    if _is_mbox(head):
        return "mbox"
    lines = [line for line in text.splitlines() if line.strip()][:_TEXT_SAMPLE]
    if not lines:
        return None
    if whatsapp.looks_like(lines):
        return "whatsapp"
    logged = sum(irc.is_log_line(line) for line in lines)
    if logged >= 3 and 3 * logged >= 2 * len(lines):
        return "irc"
    if PurePosixPath(name).suffix.lower() not in _NOT_TRANSCRIPTS and transcript.looks_like(lines):
        return "transcript"
    return None


def detect_folder(path: Path) -> str | None:
    """'slack' for a Slack export folder (channels.json or users.json, and conversation
    folders of day files), else None."""
    try:
        entries = [p.relative_to(path).as_posix() for p in path.glob("*") if p.is_file()]
        entries += [p.relative_to(path).as_posix() for p in path.glob("*/*.json")]
    except OSError:
        return None
    return "slack" if slack.is_export(entries) else None


def _is_mbox(head: bytes) -> bool:
    """A `From ` separator line followed by an RFC 5322 header line."""
    first, _, rest = head.partition(b"\n")
    return bool(FROM_LINE.match(first) and _HEADER_LINE.match(rest))


def _detect_json(text: str) -> str | None:
    for fmt, pattern in (
        ("discord", _DISCORD),
        ("telegram", _TELEGRAM_CHAT),
        ("telegram", _TELEGRAM_FULL),
        ("chatgpt", _CHATGPT),
        ("claude", _CLAUDE),
    ):
        if pattern.match(text):
            return fmt
    return "jsonl" if _is_jsonl_chat(text.split("\n", 1)[0]) else None


def _is_jsonl_chat(line: str) -> bool:
    """A first line that is one chat message object or one `{"messages": [...]}` object."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return bool(_JSONL_START.match(line))
    if isinstance(record, dict) and isinstance(record.get("messages"), list) and record["messages"]:
        record = record["messages"][0]
    return isinstance(record, dict) and record.get("role") in _ROLES and ("content" in record or "tool_calls" in record)


def _detect_zip(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if slack.is_export(names):
                return "slack"
            for member in sorted(names, key=lambda n: (n.count("/"), n)):
                base = PurePosixPath(member).name
                if base in ("conversations.json", "result.json", "_chat.txt") or (
                    base.endswith(".txt") and "whatsapp" in base.lower()
                ):
                    with archive.open(member) as handle:
                        found = detect(member, handle.read(HEAD))
                    if found in ("chatgpt", "claude", "telegram", "whatsapp"):
                        return found
    except Exception:  # noqa: BLE001 - a damaged zip is simply not a chat export
        return None
    return None
