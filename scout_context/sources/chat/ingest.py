"""Parsing a detected chat export: one entry point for every format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import chatgpt, claude, discord, irc, jsonl, mbox, slack, telegram, transcript, whatsapp
from .model import NOT_RECOGNIZED, ChatFormatError, Message

Parser = Callable[[str, bytes], tuple[list[Message], list[str]]]
PARSERS: dict[str, Parser] = {
    "slack": slack.parse,
    "discord": discord.parse,
    "whatsapp": whatsapp.parse,
    "telegram": telegram.parse,
    "chatgpt": chatgpt.parse,
    "claude": claude.parse,
    "jsonl": jsonl.parse,
    "mbox": mbox.parse,
    "irc": irc.parse,
    "transcript": transcript.parse,
}


def parse(fmt: str, name: str, data: bytes) -> tuple[list[Message], list[str]]:
    """The messages of an export in time order, and one warning line per skipped part.
    Raises ChatFormatError only when nothing at all can be read (or `fmt` is unknown)."""
    parser = PARSERS.get(fmt)
    if parser is None:
        raise ChatFormatError(NOT_RECOGNIZED)
    return parser(name, data)


def folder_archive(path: str, limit: int) -> bytes | str:
    """A chat-export folder (see `detect_folder`) as the bytes `parse` reads, or why not."""
    return slack.folder_archive(path, limit)


def parse_folder(path: Path) -> tuple[list[Message], list[str]]:
    """The messages of a Slack export folder (see `detect_folder`)."""
    return slack.parse_folder(path)
