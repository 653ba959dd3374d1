"""The normalized chat record, the one error, and helpers every format parser shares."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

SUPPORTED = (
    "Slack export (zip or folder), DiscordChatExporter JSON, WhatsApp .txt, Telegram result.json, "
    "ChatGPT/Claude conversations.json, JSONL chats, mbox, IRC logs (irssi, WeeChat), 'Name: text' transcripts"
)
NOT_RECOGNIZED = f"not a recognized chat export; supported: {SUPPORTED}"
ZIP_MAGIC = b"PK\x03\x04"
# What a zip's members may expand to, all together: this many times the zip's own size,
# and at least ZIP_EXPANSION_FLOOR. JSON and text compress 5 to 20 times; a zip bomb a
# thousand times and more. Counted while decompressing: a member's declared size can lie.
ZIP_EXPANSION_RATIO = 100
ZIP_EXPANSION_FLOOR = 64 * 2**20
_ZIP_PIECE = 2**20

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message, normalized.

    `ts` is timezone-aware UTC. When the export gives only a local time without a zone
    (WhatsApp, IRC, Telegram `date` without `date_unixtime`, transcripts), `tz_known` is
    False and `ts` is that naive local time labelled UTC: right to the minute as a wall
    clock, unknown as an instant. `ts` is None when the export has no time at all.
    `thread` is the thread root's id ('' when not threaded); a root carries its own id.
    `author` is the resolved display name (the id when unknown), "system" for system
    lines, and the role ("user", "assistant", "tool", "system") in AI chats.
    """

    platform: str
    conversation: str
    thread: str
    message_id: str
    reply_to: str
    author: str
    ts: datetime | None
    tz_known: bool
    text: str
    attachments: tuple[str, ...] = ()
    edited: bool = False
    deleted: bool = False
    is_system: bool = False
    is_bot: bool = False


class ChatFormatError(Exception):
    """An export that cannot be read at all; the message is one line."""


class ZipTooLarge(ChatFormatError):
    """A zip that expands past its bound: the whole export is refused, never salvaged
    member by member (each member would take the rest of the bound again)."""


def unthreaded(
    platform: str,
    conversation: str,
    message_id: object,
    *,
    author: str,
    text: str,
    ts: datetime | None,
    tz_known: bool,
    reply_to: object = "",
    attachments: Iterable[str] = (),
    edited: bool = False,
    deleted: bool = False,
    is_system: bool = False,
    is_bot: bool = False,
) -> Message:
    """A message of a format without threads (all but Slack's and mail's): its id and the id
    it replies to as strings ('' for none), its text without surrounding white space, and
    "system" as the author of a system line."""
    return Message(
        platform=platform,
        conversation=conversation,
        thread="",
        message_id=str(message_id),
        reply_to=str(reply_to),
        author="system" if is_system else author,
        ts=ts,
        tz_known=tz_known,
        text=text.strip(),
        attachments=tuple(attachments),
        edited=edited,
        deleted=deleted,
        is_system=is_system,
        is_bot=is_bot,
    )


def salvage(
    records: Iterable[T],
    convert: Callable[[T], Message | list[Message] | None],
    where: Callable[[int], str],
    warnings: list[str],
) -> list[Message]:
    """`convert` applied to each record (giving a message, several, or none); a record it
    fails on, malformed in any way, is skipped with a warning naming `where(index)`, so one
    bad record never loses the rest."""
    out: list[Message] = []
    for index, record in enumerate(records):
        try:
            converted = convert(record)
        except Exception as error:  # noqa: BLE001 - any malformed record is skipped, not fatal
            warnings.append(f"skipped {where(index)}: {_describe(error)}")
            continue
        if isinstance(converted, list):
            out += converted
        elif converted is not None:
            out.append(converted)
    return out


def unique_title(title: str, seen: dict[str, int]) -> str:
    """`title`, or 'title (2)', 'title (3)'… when an earlier conversation had it."""
    title = one_line(title) or "Untitled"
    seen[title] = seen.get(title, 0) + 1
    return title if seen[title] == 1 else f"{title} ({seen[title]})"


def conversations(
    name: str, data: bytes, conversation: Callable[[dict[str, Any], dict[str, int], list[str]], list[Message]]
) -> tuple[list[Message], list[str]]:
    """The messages of an export's `conversations.json` (ChatGPT's and Claude's: a list of
    conversations, or the zip holding it), each conversation read by `conversation(record,
    the titles seen so far, warnings)`; one that fails is skipped with a warning."""
    records = expect(load_json(zip_member(data, name, "conversations.json"), name), list, name)
    warnings: list[str] = []
    seen: dict[str, int] = {}
    messages = salvage(records, lambda c: conversation(c, seen, warnings), lambda i: f"conversation {i + 1}", warnings)
    return finish(messages, warnings, name)


def zip_member(data: bytes, name: str, basename: str) -> bytes:
    """`data` itself, or when it is a zip, its member `basename` (or ChatFormatError)."""
    if not data.startswith(ZIP_MAGIC):
        return data
    archive = open_zip(data, name)
    member = find_member(archive, basename)
    if member is None:
        raise ChatFormatError(f"{name}: no {basename} in the zip")
    return read_member(archive, member)


def finish(messages: list[Message], warnings: list[str], name: str) -> tuple[list[Message], list[str]]:
    """Messages in time order (stable; an undated message keeps its place after the one
    before it), or ChatFormatError when every record failed."""
    if not messages and warnings:
        raise ChatFormatError(f"{name}: no readable messages ({warnings[0]})")
    keys: list[datetime] = []
    last = datetime.min.replace(tzinfo=UTC)
    for message in messages:
        last = message.ts or last
        keys.append(last)
    order = sorted(range(len(messages)), key=keys.__getitem__)
    return [messages[i] for i in order], warnings


def load_json(data: bytes, name: str) -> Any:
    """Parsed JSON (UTF-8, a BOM allowed), or ChatFormatError."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ChatFormatError(f"{name}: not valid JSON ({_describe(error)})") from None


def expect(value: Any, kind: type, what: str) -> Any:
    """`value` when it is a `kind`, else ChatFormatError naming `what`."""
    if not isinstance(value, kind):
        raise ChatFormatError(f"{what}: expected a JSON {'array' if kind is list else 'object'}")
    return value


class _BoundedZip(zipfile.ZipFile):
    """A zip read from memory, with what its members may still expand to (`left`)."""

    bound: int
    left: int


def open_zip(data: bytes, name: str) -> _BoundedZip:
    """The zip `data`; `read_member` bounds what its members expand to (see ZIP_EXPANSION_RATIO)."""
    try:
        archive = _BoundedZip(io.BytesIO(data))
    except Exception as error:  # noqa: BLE001 - zipfile raises many unrelated types on damage
        raise ChatFormatError(f"{name}: not a readable zip ({_describe(error)})") from None
    archive.bound = archive.left = max(ZIP_EXPANSION_FLOOR, ZIP_EXPANSION_RATIO * len(data))
    return archive


def read_member(archive: _BoundedZip, member: str) -> bytes:
    """A zip member's bytes; ZipTooLarge when the zip's members together expand past its
    bound (found by decompressing the member once without keeping it, so a zip bomb costs
    time, not memory); ChatFormatError when the member is corrupt, encrypted or compressed
    in an unsupported way."""
    try:
        size = _expand(archive, member, None)
        archive.left -= size
        if archive.left < 0:
            raise ZipTooLarge(
                f"{member} expands past {archive.bound:,} bytes, the most this zip may unpack to "
                f"({ZIP_EXPANSION_RATIO} times its size): not read"
            )
        out = io.BytesIO()
        _expand(archive, member, out)
        return out.getvalue()
    except ChatFormatError:
        raise
    except Exception as error:  # noqa: BLE001 - zipfile raises many unrelated types on damage
        raise ChatFormatError(f"{member}: unreadable in the zip ({_describe(error)})") from None


def _expand(archive: _BoundedZip, member: str, out: io.BytesIO | None) -> int:
    """Decompress `member` piece by piece into `out` (or nowhere), stopping one piece past
    what the zip may still expand to; the bytes it gave."""
    total = 0
    with archive.open(member) as handle:
        while total <= archive.left and (piece := handle.read(_ZIP_PIECE)):
            total += len(piece)
            if out is not None:
                out.write(piece)
    return total


def find_member(archive: zipfile.ZipFile, basename: str) -> str | None:
    """The shallowest member named `basename` (exports are often zipped inside a folder)."""
    found = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == basename]
    return min(found, key=lambda n: (n.count("/"), n)) if found else None


def epoch(value: Any) -> datetime | None:
    """UTC time of a Unix timestamp given as a number or a numeric string; None when absent."""
    if value is None or value == "":
        return None
    return datetime.fromtimestamp(float(value), UTC)


def iso(value: Any) -> tuple[datetime | None, bool]:
    """An ISO 8601 time as (UTC time, zone known); a time without a zone is labelled UTC."""
    if not value:
        return None, False
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC), False
    return parsed.astimezone(UTC), True


def one_line(text: str) -> str:
    """`text` with runs of whitespace (newlines included) collapsed to single spaces."""
    return " ".join(text.split())


def _describe(error: BaseException) -> str:
    text = one_line(str(error))
    return f"{type(error).__name__}: {text}"[:200] if text else type(error).__name__
