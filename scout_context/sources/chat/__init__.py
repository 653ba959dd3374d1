"""Chat exports (Slack, Discord, WhatsApp, Telegram, ChatGPT, Claude, JSONL, mbox, IRC,
'Name: text' transcripts): detected by content, normalized to `Message`s, rendered as
compact `ChatChunk`s."""

from .detect import detect, detect_folder
from .ingest import PARSERS, folder_archive, parse, parse_folder
from .model import NOT_RECOGNIZED, SUPPORTED, ZIP_MAGIC, ChatFormatError, Message
from .render import ChatChunk, render

__all__ = [
    "NOT_RECOGNIZED",
    "PARSERS",
    "SUPPORTED",
    "ZIP_MAGIC",
    "ChatChunk",
    "ChatFormatError",
    "Message",
    "detect",
    "detect_folder",
    "folder_archive",
    "parse",
    "parse_folder",
    "render",
]
