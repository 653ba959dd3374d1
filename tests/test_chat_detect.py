"""Detection by content: every fixture under any name, and no ordinary file claimed."""

from __future__ import annotations

import io
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from scout_context.sources.chat import detect, detect_folder

FIXTURES = Path(__file__).parent / "fixtures" / "chat"
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])

EXPECTED = {
    "discord/Acme - Text - general [1100000000000000002].json": "discord",
    "whatsapp/WhatsApp Chat with Family.txt": "whatsapp",
    "whatsapp/WhatsApp Chat with Lisa.txt": "whatsapp",
    "whatsapp/WhatsApp Chat - Book club.txt": "whatsapp",
    "whatsapp/_chat.txt": "whatsapp",
    "telegram/result.json": "telegram",
    "telegram/full_export_result.json": "telegram",
    "chatgpt/conversations.json": "chatgpt",
    "claude/conversations.json": "claude",
    "jsonl/support-chat.jsonl": "jsonl",
    "jsonl/finetune.jsonl": "jsonl",
    "mbox/dev-list.mbox": "mbox",
    "irc/#python.log": "irc",
    "irc/irc.libera.#rust.weechatlog": "irc",
    "transcript/weekly-sync.txt": "transcript",
}


@pytest.mark.parametrize(("rel", "fmt"), EXPECTED.items())
def test_fixtures_are_detected_by_content_under_any_name(rel, fmt):
    data = (FIXTURES / rel).read_bytes()
    assert detect(Path(rel).name, data) == fmt
    assert detect("export", data) == fmt
    assert detect("renamed.dat", data) == fmt


def test_every_fixture_is_covered():
    files = {p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*") if p.is_file()}
    assert {f for f in files if not f.startswith("slack/")} == set(EXPECTED)


def test_slack_folder_and_zip(tmp_path):
    assert detect_folder(FIXTURES / "slack") == "slack"
    assert detect_folder(FIXTURES / "whatsapp") is None
    assert detect_folder(tmp_path) is None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in (FIXTURES / "slack").rglob("*.json"):
            archive.write(path, path.relative_to(FIXTURES / "slack").as_posix())
    assert detect("anything.bin", buffer.getvalue()) == "slack"


def test_names_alone_decide_nothing():
    readme = b"# WhatsApp Chat with Family\n\nThis tool exports chats.\n"
    assert detect("WhatsApp Chat with Family.txt", readme) is None
    assert detect("conversations.json", b'[{"id": 1, "title": "x"}]') is None
    assert detect("result.json", b'{"name": "x", "type": "module", "messages": []}') is None
    assert detect("export.zip", _zip({"conversations.json": b"[]", "readme.txt": b"hi"})) is None
    assert detect("export.zip", b"PK\x03\x04 damaged") is None


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


ORDINARY = {
    "app.log": b"2024-03-14 09:02:11,123 - root - INFO - started\n2024-03-14 09:02:12,001 - db - WARNING - slow\n"
    b"2024-03-14 09:02:13,500 - root - ERROR - failed: timeout\n" * 5,
    "plain.log": b"2024-03-14 09:02 - INFO - started\n2024-03-14 09:03 - INFO - connected\n" * 5,
    "access.log": b'127.0.0.1 - - [14/Mar/2024:09:02:11 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5"\n' * 10,
    "syslog": b"Mar 14 09:02:11 host sshd[812]: Accepted publickey for ana from 10.0.0.2 port 50022\n" * 10,
    "pytest.log": b"09:02:11 INFO collected 3 items\n09:02:12 WARNING deprecated\n09:02:13 <module> ok\n" * 5,
    "data.csv": b"name,time,text\nAna,09:02,hello\nBen,09:03,hi\n" * 10,
    "config.yaml": b"name: app\nversion: 2\nserver:\n  host: localhost\n  port: 8080\nlogging:\n  level: INFO\n",
    "control": b"Package: demo\nVersion: 1.0\nMaintainer: Ana <ana@example.com>\nDepends: libc6\nDescription: demo\n"
    b" A longer description.\n",
    "headers.txt": b"Host: example.com\nAccept: */*\nUser-Agent: curl/8.5\nAccept: text/html\nHost: other.example\n",
    "faq.md": b"# FAQ\n\nQ: Does it work offline?\nA: Yes.\nQ: Is it free?\nA: Yes, Apache-2.0.\n",
    "chat.py": b"def main():\n    print('Ana: hello')\n    print('Ben: hi')\n    print('Ana: bye')\n",
    "chat_lines.py": b"Ana: hello there\nBen: hi you\nAna: good bye\nBen: see you\nAna: ok then\n",
    "role.json": b'{"role": "admin", "content": "x"}\n',
    "notes.txt": b"Ana: owner of the release\nBen: reviewer\nCy: docs\nDana: QA\n",
    "messages.json": b'{"messages": [{"id": 1, "text": "hi"}], "count": 1}\n',
    "debian.sources": b"Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n"
    b"Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n" * 3,
    "empty": b"",
    "binary": bytes(range(256)) * 4,
}


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_files_are_not_chats(name):
    assert detect(name, ORDINARY[name]) is None


def _sample(suffix: str, limit: int) -> list[Path]:
    paths = sorted(p for p in SITE_PACKAGES.rglob(f"*{suffix}") if p.is_file())
    step = max(1, len(paths) // limit)
    return paths[::step][:limit]


@pytest.mark.skipif(not SITE_PACKAGES.is_dir(), reason="no site-packages")
def test_no_false_detections_on_installed_packages():
    sample = [
        p
        for suffix, limit in (
            (".py", 600),
            (".json", 300),
            (".txt", 200),
            (".md", 60),
            (".cfg", 10),
            (".csv", 30),
            (".yaml", 10),
            (".rst", 10),
            ("METADATA", 150),
        )
        for p in _sample(suffix, limit)
    ]
    assert len(sample) > 1000
    claimed = [(str(p), fmt) for p in sample if (fmt := detect(p.name, p.read_bytes()[:1_000_000]))]
    assert claimed == []
    assert sys.prefix  # the sample came from this interpreter's environment
