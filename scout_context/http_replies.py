"""Describing servers' replies in one-line messages without repeating what they sent."""

from __future__ import annotations

import re

import httpx


def media_type(response: httpx.Response) -> str:
    """The reply's media type (`text/html`), or "no Content-Type": only the characters a media
    type has, so a hostile header cannot put anything else on the terminal."""
    kind = re.sub(r"[^\w/+.-]", "", response.headers.get("content-type", "").split(";")[0])[:60]
    return kind or "no Content-Type"
