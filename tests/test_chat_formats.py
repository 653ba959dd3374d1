"""Chat exports normalized: authors resolved, UTC times, threads rebuilt, branches chosen,
system lines, attachments, edits and deletions, for every format's known pitfalls."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scout_context.sources.chat import ChatFormatError, Message, detect, detect_folder, parse, parse_folder

FIXTURES = Path(__file__).parent / "fixtures" / "chat"


def load(rel: str, name: str | None = None) -> tuple[list[Message], list[str]]:
    data = (FIXTURES / rel).read_bytes()
    name = name or Path(rel).name
    fmt = detect(name, data)
    assert fmt is not None, rel
    return parse(fmt, name, data)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def by_text(messages: list[Message], fragment: str) -> Message:
    found = [m for m in messages if fragment in m.text]
    assert len(found) == 1, (fragment, found)
    return found[0]


def zip_folder(folder: Path, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return buffer.getvalue()


# Slack ---------------------------------------------------------------------------------

SLACK = FIXTURES / "slack"


def test_slack_folder_and_zip_give_the_same_messages():
    assert detect_folder(SLACK) == "slack"
    folder, warnings = parse_folder(SLACK)
    assert warnings == []
    for prefix in ("", "Acme Slack export Mar 14 2024/"):
        data = zip_folder(SLACK, prefix)
        assert detect("export.zip", data) == "slack"
        assert parse("slack", "export.zip", data) == (folder, [])


def test_slack_threads_are_rebuilt_across_day_files():
    messages, _ = parse_folder(SLACK)
    root = by_text(messages, "release 2.4 goes out tomorrow")
    replies = [m for m in messages if m.thread == root.message_id and m is not root]
    assert root.thread == root.message_id == "1710411720.000200"
    assert [(m.author, m.ts) for m in replies] == [
        ("Ben Okafor", utc(2024, 3, 14, 10, 25, 0, 300)),
        ("Cy Park", utc(2024, 3, 15, 8, 30, 0, 100)),  # filed in the next day's file
    ]
    assert all(m.conversation == "#general" for m in replies)


def test_slack_markup_and_names_are_resolved():
    messages, _ = parse_folder(SLACK)
    root = by_text(messages, "release 2.4")
    assert root.author == "Ana" and root.ts == utc(2024, 3, 14, 10, 22, 0, 200) and root.tz_known
    assert root.text == (
        "@here release 2.4 goes out tomorrow, notes in the wiki (https://wiki.example.com/rel/2.4)"
        " & questions in #random"
    )
    assert by_text(messages, "CSV fix?").text == "@Ana can we still include the CSV fix? It's <50 lines"
    lunch = by_text(messages, "lunch at noon")
    assert lunch.conversation == "#random"
    assert lunch.text == "@channel lunch at noon? Reply to ana@example.com. cc @U99GONE"  # unknown user: its id
    assert by_text(messages, "got a minute").conversation == "DM: Ana, Ben Okafor"


def test_slack_subtypes():
    messages, _ = parse_folder(SLACK)
    join = by_text(messages, "has joined")
    assert (join.is_system, join.author, join.text) == (True, "system", "@Ben Okafor has joined the channel")
    assert by_text(messages, "set the channel topic").is_system
    bot = by_text(messages, "Deploy *api* finished")
    assert bot.is_bot and bot.author == "deploybot"
    assert bot.text.splitlines() == [
        "Deploy *api* finished",
        "api v2.4.0-rc1",
        "status: passed (https://ci.example.com/builds/123)",
        "Duration: 4m 12s",
    ]
    assert by_text(messages, "Code freeze").edited
    share = by_text(messages, "draft of the notes")
    assert share.author == "Cy Park" and share.attachments == ("release-notes-2.4.md",)  # a deleted user keeps a name
    tombstone = next(m for m in messages if m.message_id == "1710418000.000800")
    assert tombstone.deleted and tombstone.text == "" and tombstone.thread == tombstone.message_id
    assert by_text(messages, "answered above").thread == tombstone.message_id


def test_slack_bad_day_file_and_bad_record_are_skipped_with_warnings():
    zipped = zip_folder(SLACK)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(zipped)) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "random/2024-03-14.json":
                data = data[:40]
            if item.filename == "general/2024-03-15.json":
                records = json.loads(data)
                records[1]["ts"] = 12
                data = json.dumps(records).encode()
            target.writestr(item, data)
    messages, warnings = parse("slack", "export.zip", buffer.getvalue())
    assert len(warnings) == 2
    assert warnings[0] == "skipped general/2024-03-15.json message 2: TypeError: ts is int, not a string"
    assert warnings[1].startswith("skipped random/2024-03-14.json: not valid JSON")
    assert len(messages) == len(parse_folder(SLACK)[0]) - 2


# Discord -------------------------------------------------------------------------------


def test_discord_offsets_replies_embeds():
    messages, warnings = load("discord/Acme - Text - general [1100000000000000002].json")
    assert warnings == []
    assert {m.conversation for m in messages} == {"#general"}
    first = by_text(messages, "Release 2.4 goes out tomorrow")
    assert first.ts == utc(2024, 3, 14, 10, 22, 31, 123456)  # +01:00, 7-digit fraction
    assert first.author == "Ana"  # the nickname
    dst = by_text(messages, "clocks changed")
    assert dst.ts == utc(2024, 3, 31, 1, 10) and dst.author == "ben"  # +02:00; no nickname
    reply = by_text(messages, "CSV fix")
    assert reply.reply_to == first.message_id
    bot = by_text(messages, "Build #123")
    assert bot.is_bot and bot.text == "[embed] Build #123 passed: api v2.4.0-rc1\n  Duration: 4m 12s"
    shot = by_text(messages, "dashboard")
    assert shot.edited and shot.attachments == ("dashboard.png", "sticker: ship it")
    join = by_text(messages, "Joined the server")
    assert join.is_system and join.text == "Cy Park: Joined the server."


# WhatsApp ------------------------------------------------------------------------------


def test_whatsapp_android_us_12_hour():
    messages, warnings = load("whatsapp/WhatsApp Chat with Family.txt")
    assert warnings == []
    assert {m.conversation for m in messages} == {"Family"}
    assert all(not m.tz_known for m in messages)
    assert messages[0].is_system and messages[0].text.startswith("Messages and calls are end-to-end encrypted")
    multi = by_text(messages, "Dinner on Sunday?")
    assert (multi.author, multi.ts) == ("Ana Souza", utc(2024, 3, 14, 9, 2))
    assert multi.text == "Dinner on Sunday?\nWe could do the Thai place\nor the pizza one"
    assert by_text(messages, "Works for me").author == "+1 415-555-0134"
    assert by_text(messages, "Works for me").text == "Works for me: 7pm?"  # split on the first ': '
    media = [m for m in messages if m.attachments == ("media (omitted)",)]
    assert len(media) == 1 and media[0].ts == utc(2024, 3, 14, 13, 15)  # 1:15 PM
    deleted = [m for m in messages if m.deleted]
    assert [(d.author, d.text) for d in deleted] == [("Ben", "")]
    photo = by_text(messages, "the menu")
    assert photo.attachments == ("IMG-20240314-WA0003.jpg",)
    edited = by_text(messages, "Booked for 7")
    assert edited.edited and edited.text == "Booked for 7"
    subject = by_text(messages, "changed the subject")
    assert subject.is_system and subject.ts == utc(2024, 3, 15, 0, 5)  # 12:05 AM; a quote and ': ' in a system line
    assert by_text(messages, "Ben left").ts == utc(2024, 3, 15, 12, 45)  # 12:45 PM


def test_whatsapp_android_uk_day_first_from_a_later_line():
    messages, _ = load("whatsapp/WhatsApp Chat with Lisa.txt")
    assert by_text(messages, "Morning!").ts == utc(2024, 3, 5, 9, 2)  # 05/03 is ambiguous; 14/03 later decides
    assert by_text(messages, "Running 10 min late").ts == utc(2024, 3, 14, 18, 31)


def test_whatsapp_ios_german_crlf_marks_and_zip():
    messages, warnings = load("whatsapp/_chat.txt")
    assert warnings == []
    assert {m.conversation for m in messages} == {"Urlaub"}  # from the group's own system lines
    system = [m.text for m in messages if m.is_system]
    assert system == [
        (
            "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt. Niemand außerhalb dieses Chats kann sie lesen "
            "oder anhören, nicht einmal WhatsApp."
        ),
        "Ana hat die Gruppe „Urlaub“ erstellt.",
        "Ben hat die Gruppe verlassen.",
    ]
    assert all("\u200e" not in m.text and "\r" not in m.text for m in messages)
    assert by_text(messages, "Flüge").ts == utc(2024, 3, 14, 9, 2, 11)
    assert [m.attachments for m in messages if m.attachments] == [
        ("Bild (omitted)",),
        ("00000012-PHOTO-2024-03-14-09-05-12.jpg",),
    ]
    assert by_text(messages, "Casa Azul").text == "Hotel: Casa Azul\nCheck-in ab 15:00\nAdresse: Rua das Flores 12"
    assert [m.author for m in messages if m.deleted] == ["Ben"]
    assert by_text(messages, "Bis dann").edited
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(FIXTURES / "whatsapp/_chat.txt", "_chat.txt")
        archive.writestr("00000012-PHOTO-2024-03-14-09-05-12.jpg", b"\xff\xd8\xff")
    zipped = buffer.getvalue()
    assert detect("WhatsApp Chat - Urlaub.zip", zipped) == "whatsapp"
    assert parse("whatsapp", "WhatsApp Chat - Urlaub.zip", zipped) == (messages, [])


def test_whatsapp_ios_us_placeholders():
    messages, _ = load("whatsapp/WhatsApp Chat - Book club.txt")
    assert {m.conversation for m in messages} == {"Book club"}
    assert messages[1].attachments == ("image (omitted)",) and not messages[1].is_system
    assert messages[3].deleted and not messages[3].is_system  # "‎You deleted this message."
    assert messages[4].ts == utc(2024, 3, 14, 18, 10) and messages[4].attachments == ("00000031-chapter3-notes.pdf",)


# Telegram ------------------------------------------------------------------------------


def test_telegram_unixtime_entities_service_and_media():
    messages, warnings = load("telegram/result.json")
    assert warnings == []
    assert {m.conversation for m in messages} == {"Family"}
    created = messages[0]
    assert created.is_system and created.text == 'Ana Souza create group "Family": Ana Souza, Ben'
    assert created.ts == utc(2024, 3, 14, 9, 0) and created.tz_known  # date_unixtime, not the local `date` 10:00
    first = by_text(messages, "Dinner on Sunday?")
    assert first.text == "Dinner on Sunday? Menu: https://example.com/menu — book by Friday"
    reply = by_text(messages, "instead?")
    assert reply.text == "this place (https://example.com/thai) instead?"
    assert reply.reply_to == first.message_id == "2" and reply.edited
    assert by_text(messages, "can't make it").author == "Deleted Account"  # "from": null
    assert by_text(messages, "the terrace").attachments == ("photo (not included)",)
    assert [m.attachments for m in messages if not m.text] == [
        ("menu.pdf",),
        ("sticker 👍",),
        ("voice message (not included)",),
    ]
    assert by_text(messages, "Best terrace").text == "[forwarded from Lisbon Eats] Best terrace in town"


def test_telegram_full_export_without_unixtime():
    messages, _ = load("telegram/full_export_result.json")
    assert [(m.conversation, m.author, m.text) for m in messages] == [
        ("Old Team", "system", "Ana Souza invite members: Cy"),
        ("Ben", "Ana Souza", "old export without date_unixtime"),
        ("Ben", "Ben", "see @anasouza"),
    ]
    assert messages[1].ts == utc(2022, 3, 1, 9, 0) and not messages[1].tz_known


# ChatGPT and Claude --------------------------------------------------------------------


def test_chatgpt_follows_current_node_and_skips_hidden():
    messages, warnings = load("chatgpt/conversations.json")
    assert warnings == []
    trip = [m for m in messages if m.conversation == "Trip planning"]
    assert [(m.author, m.text) for m in trip] == [
        ("user", "Plan a 3-day trip to Lisbon"),
        ("assistant", "Day 1: Alfama and the castle. Day 2: Belém. Day 3: Sintra."),  # not the first draft
        ("user", "What is this tower?"),
        ("assistant", "That is the Belém Tower (Torre de Belém)."),
    ]
    assert trip[0].ts == utc(2024, 3, 14, 10, 22)
    assert trip[2].attachments == ("tower.jpg",)
    assert not any("FIRST DRAFT" in m.text or "Porto." in m.text or "private reasoning" in m.text for m in messages)


def test_chatgpt_code_tool_output_and_duplicate_titles():
    messages, _ = load("chatgpt/conversations.json")
    stats = [m for m in messages if m.conversation == "CSV stats"]
    assert [m.author for m in stats] == ["user", "assistant", "tool", "assistant"]
    assert stats[0].ts is None and stats[0].attachments == ("data.csv",)  # create_time null
    assert stats[1].text.startswith("```\nimport pandas as pd\n") and stats[1].text.endswith("\n```")
    assert stats[2].text == "4.2"
    again = [m.text for m in messages if m.conversation == "Trip planning (2)"]
    assert again == ["And Porto?", "[quote: Porto guide] Ribeira is the old town."]


def test_claude_content_blocks_attachments_and_branches():
    messages, warnings = load("claude/conversations.json")
    assert warnings == []
    refactor = [m for m in messages if m.conversation == "Refactor parser"]
    assert refactor[0].author == "user" and refactor[0].ts == utc(2024, 3, 14, 10, 22, 0, 123456)
    assert refactor[0].attachments == ("parser.py", "diagram.png")
    assert "[content of parser.py]\ndef parse(x):" in refactor[0].text
    assert refactor[1].text.splitlines() == [
        "Let me check the docs first.",
        '[tool use: web_search] {"query": "python dataclass slots"}',
        "[tool result: web_search] dataclass(slots=True) is available since Python 3.10",
        "Here is the refactor: use @dataclass(frozen=True, slots=True).",
    ]  # content wins over the stale `text`; thinking is left out
    branch = [m.text for m in messages if m.conversation == "Untitled"]
    assert branch == ["Name three fruits", "Apple, pear, fig.", "Now nuts (edited question)", "Almond, walnut, pecan."]


def test_ai_exports_in_their_zips():
    for rel, fmt in (
        ("chatgpt/conversations.json", "chatgpt"),
        ("claude/conversations.json", "claude"),
        ("telegram/result.json", "telegram"),
    ):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(FIXTURES / rel, "export/" + Path(rel).name)
            archive.writestr("export/user.json", "{}")
        assert detect("export.zip", buffer.getvalue()) == fmt
        assert parse(fmt, "export.zip", buffer.getvalue()) == load(rel)


# JSONL ---------------------------------------------------------------------------------


def test_jsonl_one_message_per_line():
    messages, warnings = load("jsonl/support-chat.jsonl")
    assert warnings == []
    assert [m.author for m in messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert messages[1].attachments == ("cat.png",) and messages[1].ts == utc(2024, 3, 14, 10, 22)
    assert messages[2].text == '[tool call: describe_image({"url": "https://example.com/uploads/cat.png"})]'
    assert messages[2].ts == utc(2024, 3, 14, 10, 22, 5)  # a Unix timestamp
    assert {m.conversation for m in messages} == {"support-chat"}


def test_jsonl_one_conversation_per_line():
    messages, _ = load("jsonl/finetune.jsonl")
    assert sorted({m.conversation for m in messages}) == ["finetune #1", "finetune #2", "finetune #3"]
    assert [m.text for m in messages if m.conversation == "finetune #2"] == ["Thank you", "Merci"]  # list content


def test_jsonl_bad_lines_are_warnings():
    broken = b'{"role": "user", "content": "cut\n{"content": "x"}\n'
    data = (FIXTURES / "jsonl/support-chat.jsonl").read_bytes() + broken
    messages, warnings = parse("jsonl", "support-chat.jsonl", data)
    assert len(messages) == 5
    assert [w.split(":")[0] for w in warnings] == ["skipped line 6", "skipped line 7"]


# mbox ----------------------------------------------------------------------------------


def test_mbox_threads_headers_and_bodies():
    messages, warnings = load("mbox/dev-list.mbox")
    assert warnings == []
    release = [m for m in messages if m.conversation == "Release 2.4 — notes"]
    assert [m.author for m in release] == ["Ana Muñoz", "Ben O.", "Cy Park"]  # RFC 2047, latin-1 encoded word
    assert {m.thread for m in release} == {"<rel-24-1@example.com>"}
    assert [m.ts for m in release] == [utc(2024, 3, 14, 10, 22), utc(2024, 3, 14, 11, 5), utc(2024, 3, 14, 12, 0)]
    ana, ben, cy = release
    assert ana.text == (
        "Hi all,\n\nRelease 2.4 goes out tomorrow. Café meeting at 10, budget = 0.\nFrom the team, thanks!"
    )  # text/plain over HTML, quoted-printable, '>From ' unescaped
    assert ben.text == "Ça marche. Noël can review."  # latin-1 body; quote and attribution dropped
    assert ben.reply_to == ana.message_id and cy.reply_to == ben.message_id
    assert cy.attachments == ("changelog-2.4.pdf",) and cy.text == "Changelog attached."


def test_mbox_subject_fallback_and_html_only():
    messages, _ = load("mbox/dev-list.mbox")
    lunch = [m for m in messages if m.conversation == "Lunch?"]
    assert [m.author for m in lunch] == ["Dana", "Ana"]
    assert lunch[1].thread == lunch[0].message_id == "<lunch-1@example.com>"  # 'RE:' without references
    assert lunch[1].text == "Yes & I'll bring salad."  # HTML only: styles dropped, entities decoded


# IRC and transcripts -------------------------------------------------------------------


def test_irssi_dates_modes_actions_events_and_mixed_encodings():
    messages, warnings = load("irc/#python.log")
    assert warnings == []
    assert {m.conversation for m in messages} == {"#python"}
    talk = [(m.author, m.text) for m in messages if not m.is_system]
    assert talk[:4] == [
        ("ana", "Release 2.4 goes out tomorrow"),
        ("ben", "is the CSV fix in?"),
        ("cy", "yes, merged yesterday"),
        ("ana", "/me waves"),
    ]
    assert ("cy", "café au lait, naïve question") in talk  # a latin-1 line among UTF-8 ones
    assert by_text(messages, "still here").ts == utc(2024, 3, 15, 0, 1)  # after '--- Day changed'
    assert by_text(messages, "night all").ts == utc(2024, 3, 14, 23, 59)
    assert all(not m.tz_known for m in messages)
    assert [m.text for m in messages if m.is_system][-1] == "ben [~ben@host.example.org] has quit [Quit: bye]"


def test_weechat():
    messages, _ = load("irc/irc.libera.#rust.weechatlog")
    assert {m.conversation for m in messages} == {"#rust"}
    assert [(m.author, m.is_system) for m in messages] == [
        ("system", True),
        ("ana", False),
        ("ben", False),
        ("ben", False),
        ("ana", False),
        ("system", True),
        ("system", True),
    ]
    assert messages[4].text == "/me nods" and messages[1].ts == utc(2024, 3, 14, 9, 2, 11)


def test_znc_takes_the_date_from_the_file_name():
    data = b"[09:02:33] <ana> morning\n[09:02:50] <@ben> hi ana\n[09:03:10] *** Joins: cy (~cy@host)\n"
    assert detect("#ops_20240314.log", data) == "irc"
    messages, _ = parse("irc", "#ops_20240314.log", data)
    assert [(m.conversation, m.author, m.ts) for m in messages] == [
        ("#ops", "ana", utc(2024, 3, 14, 9, 2, 33)),
        ("#ops", "ben", utc(2024, 3, 14, 9, 2, 50)),
        ("#ops", "system", utc(2024, 3, 14, 9, 3, 10)),
    ]


def test_transcript():
    messages, _ = load("transcript/weekly-sync.txt")
    assert messages[0].is_system and messages[0].text == "Weekly sync — 14 March 2024 — Attendees: Ana, Ben, Cy"
    assert [m.author for m in messages[1:]] == ["Ana", "Ben", "Ana", "Cy", "Ben", "Ben", "Ana"]
    assert messages[4].text == "Docs need one more review.\nIt's the migration guide, section 3."
    assert all(m.ts is None for m in messages)


# Errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("discord", b"not json"),
        ("chatgpt", b'{"a": 1}'),
        ("claude", b"[1, 2"),
        ("telegram", b"[]"),
        ("slack", b"PK\x03\x04broken"),
        ("mbox", b"hello"),
        ("whatsapp", b"no headers here\n"),
        ("transcript", b""),
        ("jsonl", b"\n\n"),
        ("nonsense", b"x"),
    ],
)
def test_unreadable_exports_raise_one_line_errors(fmt, data):
    with pytest.raises(ChatFormatError) as error:
        parse(fmt, "export", data)
    assert "\n" not in str(error.value)


def test_unknown_format_lists_the_supported_ones():
    with pytest.raises(ChatFormatError, match=r"^not a recognized chat export; supported: Slack export"):
        parse("nonsense", "x", b"")
