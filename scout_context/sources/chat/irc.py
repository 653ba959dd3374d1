"""Plain IRC logs: irssi (`09:02 <@ana> text`, dates only in `--- Log opened` and
`--- Day changed` lines), ZNC (`[09:02:33] <ana> text`, the date in the file name) and
WeeChat (`2024-03-14 09:02:11<TAB>@ana<TAB>text`).

Mode prefixes (`@ + % ~ &`) and irssi's padding space are dropped from nicks; actions
become `/me …`; joins, parts, quits, nick and topic changes are system lines. Each line
is decoded on its own (UTF-8, else latin-1: logs mix them). Times have no zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import PurePosixPath

from .model import ChatFormatError, Message, finish, salvage, unthreaded

PLATFORM = "irc"
_TIME = r"\[?(\d{1,2}):(\d{2})(?::(\d{2}))?\]?"
IRSSI_MESSAGE = re.compile(_TIME + r" <[ @+%~&!]?\s*([^>\s]+)> ?(.*)$")
IRSSI_ACTION = re.compile(_TIME + r"\s+\* (\S+) ?(.*)$")
IRSSI_EVENT = re.compile(_TIME + r" (?:-!-|\*\*\*) (.*)$")
IRSSI_DATE = re.compile(r"--- (?:Log opened|Day changed) (?:\w+ )?(\w+) (\d{1,2}) (?:\d{1,2}:\d{2}:\d{2} )?(\d{4})")
WEECHAT = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\t([^\t]*)\t(.*)$")
_NAME_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
_NAME_DATE_SUFFIX = re.compile(r"[_.-]?\d{4}-?\d{2}-?\d{2}$")
_MONTHS = {
    m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)
}
_WEECHAT_EVENTS = ("-->", "<--", "--", "=!=", "")
_JOINED = re.compile(r"has joined (#\S+)")


def lines_of(data: bytes) -> list[str]:
    """The lines of a log, each decoded as UTF-8 or, failing that, latin-1."""
    out = []
    for raw in data.split(b"\n"):
        raw = raw.rstrip(b"\r")
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(raw.decode("latin-1"))
    return out


def is_log_line(line: str) -> bool:
    return bool(
        WEECHAT.match(line)
        or IRSSI_MESSAGE.match(line)
        or IRSSI_ACTION.match(line)
        or IRSSI_EVENT.match(line)
        or IRSSI_DATE.match(line)
    )


def parse(name: str, data: bytes) -> tuple[list[Message], list[str]]:
    lines = lines_of(data)
    stem = PurePosixPath(name).name.removesuffix(".weechatlog").removesuffix(".log").removesuffix(".txt")
    channel = re.search(r"#[^/]+$", _NAME_DATE_SUFFIX.sub("", stem))
    joined = next((m.group(1) for line in lines[:500] if (m := _JOINED.search(line))), None)
    conversation = channel.group(0) if channel else joined or stem
    in_name = _NAME_DATE.search(PurePosixPath(name).name)
    day = _valid_date(*map(int, in_name.groups())) if in_name else None
    warnings: list[str] = []
    records: list[tuple[int, str, date | None]] = []
    for number, line in enumerate(lines, 1):
        if match := IRSSI_DATE.match(line):
            month = _MONTHS.get(match.group(1)[:3].lower(), 0)
            day = _valid_date(int(match.group(3)), month, int(match.group(2))) or day
        elif line.strip():
            records.append((number, line, day))
    messages = salvage(records, lambda r: _message(r, conversation), lambda i: f"line {records[i][0]}", warnings)
    if not messages:
        raise ChatFormatError(f"{name}: no IRC log lines")
    return finish(messages, warnings, name)


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _message(record: tuple[int, str, date | None], conversation: str) -> Message | None:
    number, line, day = record
    if match := WEECHAT.match(line):
        year, month, dom, hour, minute, second = map(int, match.groups()[:6])
        ts: datetime | None = datetime(year, month, dom, hour, minute, second, tzinfo=UTC)
        prefix, text = match.group(7).strip(), match.group(8)
        if prefix in _WEECHAT_EVENTS:
            return _line(number, conversation, ts, "system", text, is_system=True)
        if prefix == "*":
            nick, _, action = text.partition(" ")
            return _line(number, conversation, ts, nick, f"/me {action}")
        return _line(number, conversation, ts, prefix.lstrip("@+%~&!"), text)
    for pattern, kind in ((IRSSI_MESSAGE, "message"), (IRSSI_ACTION, "action"), (IRSSI_EVENT, "event")):
        if match := pattern.match(line):
            hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
            ts = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC) if day else None
            if kind == "event":
                return _line(number, conversation, ts, "system", match.group(4), is_system=True)
            text = match.group(5) if kind == "message" else f"/me {match.group(5)}"
            return _line(number, conversation, ts, match.group(4), text)
    if line.startswith("---"):
        return None  # 'Log closed' and other irssi markers
    raise ValueError("not an IRC log line")


def _line(
    number: int, conversation: str, ts: datetime | None, author: str, text: str, *, is_system: bool = False
) -> Message:
    return unthreaded(
        PLATFORM, conversation, number, author=author, text=text, ts=ts, tz_known=False, is_system=is_system
    )
