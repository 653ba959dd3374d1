"""mbox mailboxes: messages split on `From ` lines (mboxo/mboxrd `>From ` unescaped),
threaded by Message-ID, In-Reply-To and References (and Gmail's X-GM-THRID; a `Re:`
subject is only the fallback for a reply without references). RFC 2047 headers,
multipart (text/plain preferred, HTML converted), per-part charsets, quoted-printable and
base64 are decoded by the standard library's `email` package. Quoted text and
attribution lines are dropped: the message they quote is in the thread already."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from .model import ChatFormatError, Message, finish, one_line, salvage

PLATFORM = "email"
FROM_LINE = re.compile(rb"^From \S*.*\d{4}\s*$", re.MULTILINE)
_SPLIT = re.compile(rb"(?:^|\n)(?=From \S*[^\n]*\d{4}[ \t]*\r?\n)")
_ESCAPED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
_REPLY_PREFIX = re.compile(r"^(?:\s*(?:re|aw|sv|vs|antw|wg|fwd?|tr|rv)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_ID = re.compile(r"<[^<>\s]+>")
_ATTRIBUTION = re.compile(r"^(?:On .+ wrote:|Am .+ schrieb .+:|Le .+ a écrit ?:|El .+ escribió:)$")
_ORIGINAL = re.compile(r"^-{3,} ?(?:Original Message|Ursprüngliche Nachricht|Message d'origine) ?-{3,}$", re.IGNORECASE)


def parse(name: str, data: bytes) -> tuple[list[Message], list[str]]:
    raw = [part for part in _SPLIT.split(data) if part.strip()]
    if not raw or not FROM_LINE.match(raw[0]):
        raise ChatFormatError(f"{name}: no 'From ' separator line")
    warnings: list[str] = []
    messages, _ = finish(salvage(raw, _message, lambda i: f"message {i + 1}", warnings), warnings, name)
    return _threaded(messages), warnings


def _message(raw: bytes) -> Message:
    body = _ESCAPED_FROM.sub(rb"\1", raw.split(b"\n", 1)[1] if b"\n" in raw else b"")
    mail = email.message_from_bytes(body, policy=email.policy.default)
    if not mail.keys():
        raise ValueError("no headers")
    sender = getaddresses([str(mail.get("From", ""))])
    author = next((n or a for n, a in sender if n or a), "unknown")
    ts = _date(mail.get("Date"))
    references = _ID.findall(str(mail.get("References", "")))
    in_reply_to = _ID.findall(str(mail.get("In-Reply-To", "")))
    message_id = (_ID.findall(str(mail.get("Message-ID", ""))) or [""])[0]
    gmail_thread = str(mail.get("X-GM-THRID", ""))
    # Until threading, `thread` holds every id this message is linked to, space-separated.
    links = " ".join([*references, *in_reply_to, *([f"gm:{gmail_thread}"] if gmail_thread else [])])
    return Message(
        platform=PLATFORM,
        conversation=one_line(str(mail.get("Subject", ""))),
        thread=links,
        message_id=message_id,
        reply_to=(in_reply_to[:1] or references[-1:] or [""])[0],
        author=one_line(author),
        ts=ts,
        tz_known=ts is not None,
        text=_strip_quotes(_body(mail)),
        attachments=tuple(one_line(str(p.get_filename() or p.get_content_type())) for p in mail.iter_attachments()),
    )


def _date(value: object) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _body(mail: EmailMessage) -> str:
    """The text/plain body, else the HTML body as text; a charset Python does not know is
    read as latin-1."""
    part = mail.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeError):
        payload = part.get_payload(decode=True)
        text = (payload if isinstance(payload, bytes) else b"").decode("latin-1")
    if not isinstance(text, str):
        return ""
    return _html_text(text) if part.get_content_subtype() == "html" else text


def _strip_quotes(text: str) -> str:
    """The message without quoted lines ('> …'), their attribution line and anything after
    a forwarded-original marker."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if _ORIGINAL.match(line.strip()):
            break
        if line.startswith(">"):
            while kept and (not kept[-1].strip() or _ATTRIBUTION.match(kept[-1].strip())):
                kept.pop()
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _threaded(messages: list[Message]) -> list[Message]:
    """Time-ordered messages with `thread` set to their thread root's Message-ID and
    `conversation` to the root's subject without 'Re:'. Linked ids are joined (union-find);
    a 'Re:' message without links joins the earliest message with the same subject. The
    root is the earliest message of a thread."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        root = key
        while parent.get(root, root) != root:
            root = parent[root]
        while key != root:
            parent[key], key = root, parent[key]
        return root

    ids = [m.message_id or f"<mbox#{i}>" for i, m in enumerate(messages)]
    first_with_subject: dict[str, str] = {}
    for key, message in zip(ids, messages, strict=True):
        subject = _REPLY_PREFIX.sub("", message.conversation).lower()
        links = message.thread.split()
        if not links and subject != message.conversation.lower() and subject in first_with_subject:
            links = [first_with_subject[subject]]
        first_with_subject.setdefault(subject, key)
        for link in links:
            parent[find(link)] = find(key)
    roots: dict[str, int] = {}
    for index, key in enumerate(ids):
        roots.setdefault(find(key), index)
    threaded = []
    for key, message in zip(ids, messages, strict=True):
        root = roots[find(key)]
        subject = _REPLY_PREFIX.sub("", messages[root].conversation) or "(no subject)"
        threaded.append(replace(message, message_id=key, thread=ids[root], conversation=subject))
    return threaded


class _Text(HTMLParser):
    """Visible text of an HTML body: block elements end lines, scripts and styles dropped."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.skip += tag in ("script", "style")
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag in ("script", "style") and self.skip > 0

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _html_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = (one_line(line) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)
