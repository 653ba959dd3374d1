"""WhatsApp chat export (`.txt`, or the iOS zip holding `_chat.txt`), Android and iOS, in
any locale: `3/14/24, 9:02 AM - Ana: hi`, `14/03/2024, 09:02 - Ana: hi`,
`[14.03.24, 09:02:11] Ana: hi`.

Day/month order is inferred from all lines (a first field above 12 means day first);
12- and 24-hour clocks; U+202F/U+00A0 before AM/PM; U+200E marks (iOS puts one before
system text and attachments); CRLF; continuation lines; system lines (no `Name: ` on
Android, an U+200E-marked text on iOS); localized media, edit and deletion placeholders.
Times are the phone's local time without a zone (`tz_known` is False)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from .model import ChatFormatError, Message, finish, open_zip, read_member, salvage, unthreaded

PLATFORM = "whatsapp"


def _lowered(*wordings: str) -> frozenset[str]:
    """`wordings` in lower case: WhatsApp's placeholder texts are matched whatever their case."""
    return frozenset(wording.lower() for wording in wordings)


_HEADER = re.compile(
    r"\[?(\d{1,4})([./-])(\d{1,2})\2(\d{1,4}),? (\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?"
    r" ?([AaPp]\.? ?[Mm]\.?)?(?:\] | [-\u2013] )"
)
_MARK_CHARS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_MARKS = re.compile(f"[{_MARK_CHARS}]")
_ATTACHED = re.compile(
    r"<(?:attached|Anhang|adjunto|anexo|pièce jointe|allegato|bijlage|bifogad fil): ?([^>]+)>", re.IGNORECASE
)
_FILE_ATTACHED = re.compile(
    r"^(.+?\.\w{1,5}) \((?:file attached|Datei angehängt|archivo adjunto|arquivo anexado|fichier joint"
    r"|file allegato|bestand bijgevoegd)\)",
    re.IGNORECASE,
)
_OMITTED = re.compile(
    r"^(?:<(.+?)>|(image|video|audio|sticker|GIF|document|Contact card|Bild|Dokument|Kontaktkarte|imagen|vídeo"
    r"|documento|imagem|figurinha) (?:omitted|weggelassen|omitido|omitida|ocultado))$",
    re.IGNORECASE,
)
_MEDIA_PLACEHOLDERS = _lowered(
    "Media omitted",
    "Medien ausgeschlossen",
    "Multimedia omitido",
    "Mídia oculta",
    "Médias omis",
    "Media omessi",
    "Media weggelaten",
)
_EDITED = re.compile(
    r"\s*<(?:This message was edited|Diese Nachricht wurde bearbeitet|Se editó este mensaje"
    r"|Mensagem editada|Ce message a été modifié|Messaggio modificato)\.?>$",
    re.IGNORECASE,
)
_DELETED = _lowered(
    "This message was deleted",
    "You deleted this message",
    "Diese Nachricht wurde gelöscht",
    "Du hast diese Nachricht gelöscht",
    "Se eliminó este mensaje",
    "Eliminaste este mensaje",
    "Mensagem apagada",
    "Você apagou esta mensagem",
    "Ce message a été supprimé",
    "Vous avez supprimé ce message",
    "Questo messaggio è stato eliminato",
    "Dit bericht is verwijderd",
)
_CHAT_NAME = re.compile(
    r"WhatsApp[ _-]?Chat(?: (?:with|mit|con|avec|met|com|med|z)\b)?[ _-]*(.+?)(?:\.txt|\.zip)?$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class _Entry:
    line: int
    fields: tuple[str | None, ...]
    rest: str
    more: tuple[str, ...]


def parse(name: str, data: bytes) -> tuple[list[Message], list[str]]:
    names = [name]  # where the chat's name may be: the file, or the zip and its chat member
    if data.startswith(b"PK\x03\x04"):
        archive = open_zip(data, name)
        texts = sorted(m for m in archive.namelist() if m.endswith(".txt"))
        chosen = next((m for m in texts if PurePosixPath(m).name == "_chat.txt"), texts[0] if texts else None)
        if chosen is None:
            raise ChatFormatError(f"{name}: no chat .txt in the zip")
        data = read_member(archive, chosen)
        names.append(chosen)
    lines = re.split(r"\r?\n", data.decode("utf-8-sig", errors="replace"))
    warnings: list[str] = []
    entries = _entries(lines, warnings)
    if not entries:
        raise ChatFormatError(f"{name}: no WhatsApp message lines")
    day_first, year_first = _date_order(entries)
    titled = (m.group(1).strip() for n in names if (m := _CHAT_NAME.search(PurePosixPath(n).name)))
    conversation = next(titled, "") or _ios_group_name(entries) or PurePosixPath(name).stem.lstrip("_") or "chat"
    messages = salvage(
        entries,
        lambda e: _message(e, conversation, day_first, year_first),
        lambda i: f"line {entries[i].line}",
        warnings,
    )
    return finish(messages, warnings, name)


def header(line: str) -> re.Match[str] | None:
    """The timestamp header at the start of an export line, matched in the line with its
    leading marks removed and odd spaces made plain (`match.string`). Only iOS (bracketed)
    headers have seconds: that keeps log lines out."""
    line = _plain_spaces(line).lstrip(_MARK_CHARS)
    match = _HEADER.match(line)
    return match if match and (match.group(7) is None or line.startswith("[")) else None


def looks_like(lines: list[str]) -> bool:
    """Whether the start of a text is a WhatsApp export: it starts with a header, and most
    header lines carry a sender (log lines with the same time stamps do not)."""
    headers = [m for line in lines if (m := header(line))]
    senders = sum(_sender(m.string[m.end() :]) is not None for m in headers)
    return bool(header(lines[0])) and len(headers) >= min(2, len(lines)) and 2 * senders >= len(headers)


def _sender(rest: str) -> str | None:
    """The sender of a message line's text part ('Ana: hi'), None for a system line."""
    author, sep, _ = rest.partition(": ")
    return author if sep and '"' not in author and len(author) <= 60 else None


def _entries(lines: list[str], warnings: list[str]) -> list[_Entry]:
    """Lines grouped into messages: a header line and the continuation lines after it."""
    entries: list[_Entry] = []
    start = 0
    fields: tuple[str | None, ...] = ()
    rest = ""
    for number, line in enumerate(lines, 1):
        match = header(line)
        if match is None:
            continue
        if start:
            entries.append(_Entry(start, fields, rest, tuple(lines[start : number - 1])))
        elif any(earlier.strip() for earlier in lines[: number - 1]):
            warnings.append(f"ignored line(s) 1-{number - 1} before the first message")
        # The text keeps its marks: an U+200E at its start tells an iOS system line.
        start, fields, rest = number, match.groups(), match.string[match.end() :]
    if start:
        entries.append(_Entry(start, fields, rest, tuple(lines[start:])))
    return entries


def _date_order(entries: list[_Entry]) -> tuple[bool, bool]:
    """(day first, year first) for the whole file: a first field above 12 anywhere means
    day/month, a second field above 12 means month/day; when every date is ambiguous, a dot
    means day/month and a slash with a 12-hour clock month/day (en-US)."""
    firsts = [e.fields[0] or "" for e in entries]
    if any(len(f) == 4 for f in firsts):
        return False, True
    if any(int(f) > 12 for f in firsts):
        return True, False
    if any(int(e.fields[2] or 0) > 12 for e in entries):
        return False, False
    first = entries[0].fields
    return not (first[1] == "/" and first[7]), False


def _ios_group_name(entries: list[_Entry]) -> str:
    """iOS writes system lines as 'Group: \u200etext'; the first one names the chat."""
    for entry in entries[:50]:
        name = _sender(entry.rest)
        text = entry.rest[len(name or "") + 2 :]
        if name and text.startswith("\u200e") and not _media(_MARKS.sub("", text))[1]:
            return _MARKS.sub("", name).strip()
    return ""


def _message(entry: _Entry, conversation: str, day_first: bool, year_first: bool) -> Message:
    a, _sep, b, c, hour, minute, second, ampm = entry.fields
    if year_first:
        year, month, day = int(a or 0), int(b or 0), int(c or 0)
    else:
        day, month = (int(a or 0), int(b or 0)) if day_first else (int(b or 0), int(a or 0))
        year = int(c or 0) + (2000 if len(c or "") <= 2 else 0)
    h = int(hour or 0)
    if ampm:
        h = h % 12 + (12 if ampm[0] in "Pp" else 0)
    ts = datetime(year, month, day, h, int(minute or 0), int(second or 0), tzinfo=UTC)
    author = _sender(entry.rest)
    text = entry.rest if author is None else entry.rest[len(author) + 2 :]
    body = _plain_spaces("\n".join([text, *entry.more]))
    plain = _MARKS.sub("", body).strip()
    edited = bool(_EDITED.search(plain))
    plain, attachments = _media(_EDITED.sub("", plain))
    deleted = plain.rstrip(".").lower() in _DELETED
    # System lines: no sender on Android; on iOS ('Group: \u200eAna created this group') a text
    # that starts with U+200E, as media and placeholders also do.
    if author is not None and body.startswith("\u200e") and not (attachments or edited or deleted):
        author = None
    return unthreaded(
        PLATFORM,
        conversation,
        entry.line,
        author=_MARKS.sub("", author or "").strip() or "unknown",
        text="" if deleted else plain,
        ts=ts,
        tz_known=False,
        attachments=attachments,
        edited=edited,
        deleted=deleted,
        is_system=author is None,
    )


def _plain_spaces(text: str) -> str:
    """U+202F (before AM/PM) and U+00A0 as plain spaces."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def _media(text: str) -> tuple[str, tuple[str, ...]]:
    """The text without its attachment markers, and the attachments they name."""
    names = [m.strip() for m in _ATTACHED.findall(text)]
    if names:
        return _ATTACHED.sub("", text).strip(), tuple(names)
    first, _, caption = text.partition("\n")
    if match := _FILE_ATTACHED.match(first):
        return caption.strip(), (match.group(1),)
    if match := _OMITTED.match(first.strip()):
        bracketed, kind = match.groups()
        if bracketed is None or bracketed.lower() in _MEDIA_PLACEHOLDERS:
            return caption.strip(), (f"{kind or 'media'} (omitted)",)
    return text, ()
