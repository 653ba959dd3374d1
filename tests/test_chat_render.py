"""Rendering: one short header per message, threads under their roots, merging, chunk ids
and cuts at day, thread and conversation boundaries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scout_context.sources.chat import Message, parse, parse_folder, render

FIXTURES = Path(__file__).parent / "fixtures" / "chat"

GENERAL = """\
[2024-03-14 09:03Z] * @Ben Okafor has joined the channel
[10:22Z] Ana:
@here release 2.4 goes out tomorrow, notes in the wiki (https://wiki.example.com/rel/2.4) & questions in #random
↳ [10:25Z] Ben Okafor:
@Ana can we still include the CSV fix? It's <50 lines
↳ [2024-03-15 08:30Z] Cy Park:
Merged the CSV fix: https://github.com/acme/api/pull/42
[2024-03-14 10:26Z] Ana (edited):
Code freeze at 17:00 UTC
[10:27Z] Ana:
Ping me for exceptions
(DMs are fine)
[11:30Z] deploybot (bot):
Deploy *api* finished
api v2.4.0-rc1
status: passed (https://ci.example.com/builds/123)
Duration: 4m 12s
[12:00Z] Cy Park:
draft of the notes
[attachment: release-notes-2.4.md]
[12:06Z] Slackbot:
[deleted]
↳ [2024-03-15 08:40Z] Ana:
never mind, answered above
[08:56Z] * @Ana set the channel topic: Release 2.4
"""


def message(n: int, **fields) -> Message:
    base = Message(
        platform="slack",
        conversation="#dev",
        thread="",
        message_id=f"m{n}",
        reply_to="",
        author=f"user{n % 3}",
        ts=datetime(2024, 3, 14, 9, 0, tzinfo=UTC) + timedelta(hours=n),
        tz_known=True,
        text=f"message number {n} " + "x" * 60,
    )
    return replace(base, **fields)


def test_slack_rendering_threads_merging_and_markers():
    chunks = render(parse_folder(FIXTURES / "slack")[0])
    assert [c.id for c in chunks] == [
        "slack:#general@2024-03-14T09:03Z",
        "slack:#random@2024-03-14T11:50Z",
        "slack:DM: Ana, Ben Okafor@2024-03-14T12:40Z",
    ]
    general = chunks[0]
    assert general.text == GENERAL
    assert general.messages == 12
    assert (general.start, general.end) == (
        datetime(2024, 3, 14, 9, 3, 20, 100, tzinfo=UTC),
        datetime(2024, 3, 15, 8, 56, 40, 300, tzinfo=UTC),
    )


def test_local_times_have_no_z_and_replies_name_their_target():
    whatsapp = FIXTURES / "whatsapp/WhatsApp Chat with Family.txt"
    chunk = render(parse("whatsapp", whatsapp.name, whatsapp.read_bytes())[0])[0]
    assert chunk.id == "whatsapp:Family@2024-03-14T09:00"
    assert chunk.text.startswith("[2024-03-14 09:00] * Messages and calls are end-to-end encrypted.")
    assert "[09:05] +1 415-555-0134:\nWorks for me: 7pm?\nOr 7:30\n" in chunk.text
    telegram = FIXTURES / "telegram/result.json"
    text = render(parse("telegram", telegram.name, telegram.read_bytes())[0])[0].text
    assert "[09:17Z] Ben (edited) (re Ana Souza):\nthis place (https://example.com/thai) instead?\n" in text


def test_ids_collide_with_a_suffix_and_undated_chunks_have_no_time():
    messages = [message(0, text="a" * 300), message(0, message_id="m0b", author="other", text="b" * 300)]
    assert [c.id for c in render(messages, max_chars=400)] == [
        "slack:#dev@2024-03-14T09:00Z",
        "slack:#dev@2024-03-14T09:00Z~2",
    ]
    undated = [
        replace(message(n), platform="transcript", conversation="notes", ts=None, tz_known=False) for n in range(2)
    ]
    assert [c.id for c in render(undated)] == ["transcript:notes"]


def test_chunks_stay_near_max_chars_and_prefer_day_boundaries():
    messages = [message(n) for n in range(200)]  # one per hour: a new day every 24 messages
    chunks = render(messages, max_chars=3000)
    assert sum(c.messages for c in chunks) == 200
    assert all(len(c.text) <= 3000 for c in chunks)
    assert all(len(c.text) >= 1200 for c in chunks[:-1])
    starts = [c.start for c in chunks]
    assert sum(s.hour == 0 for s in starts[1:]) >= len(starts[1:]) // 2  # most cuts where a day begins
    assert render(messages, max_chars=3000) == chunks


def test_a_thread_is_not_cut_when_a_boundary_between_threads_fits():
    root = message(0, thread="m0", author="ana", text="root " + "r" * 500)
    replies = [message(n, thread="m0", text=f"reply {n} " + "y" * 500) for n in range(1, 4)]
    others = [message(n, text=f"other {n} " + "z" * 500) for n in range(4, 7)]
    chunks = render([root, *replies, *others], max_chars=2500)
    assert chunks[0].messages == 4 and chunks[0].text.count("↳") == 3


def test_an_oversized_message_is_split_between_lines():
    big = message(0, text="\n".join(f"line {i} " + "w" * 90 for i in range(100)))
    chunks = render([big, message(1)], max_chars=2000)
    assert all(len(c.text) <= 2000 for c in chunks)
    assert "".join(c.text for c in chunks).count("line ") == 100
    assert chunks[0].text.startswith("[2024-03-14 09:00Z] user0:\nline 0 ")
    assert sum(c.messages for c in chunks) == 2


def test_conversations_never_share_a_chunk_and_merging_needs_the_same_author_within_minutes():
    a = [message(0, author="ana", text="one"), message(1, author="ana", text="two")]  # an hour apart
    near = [
        message(2, author="ana", text="three"),
        replace(message(2, author="ana", text="four"), message_id="m2b", ts=message(2).ts + timedelta(minutes=4)),
    ]
    other = [replace(message(5), conversation="#ops")]
    chunks = render([*a, *near, *other])
    assert [c.id.split("@")[0] for c in chunks] == ["slack:#dev", "slack:#ops"]
    assert chunks[0].text == ("[2024-03-14 09:00Z] ana:\none\n[10:00Z] ana:\ntwo\n[11:00Z] ana:\nthree\nfour\n")
