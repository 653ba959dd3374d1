"""Malformed exports: truncated, bytes flipped, lines dropped, JSON values of the wrong
type. `parse` returns (messages, warnings) or raises ChatFormatError, nothing else; what
it returns renders; `detect` never raises."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from scout_context.sources.chat import ChatFormatError, Message, detect, parse, render

FIXTURES = Path(__file__).parent / "fixtures" / "chat"
CASES = [
    ("discord", "discord/Acme - Text - general [1100000000000000002].json"),
    ("whatsapp", "whatsapp/WhatsApp Chat with Family.txt"),
    ("whatsapp", "whatsapp/_chat.txt"),
    ("telegram", "telegram/result.json"),
    ("telegram", "telegram/full_export_result.json"),
    ("chatgpt", "chatgpt/conversations.json"),
    ("claude", "claude/conversations.json"),
    ("jsonl", "jsonl/support-chat.jsonl"),
    ("jsonl", "jsonl/finetune.jsonl"),
    ("mbox", "mbox/dev-list.mbox"),
    ("irc", "irc/#python.log"),
    ("irc", "irc/irc.libera.#rust.weechatlog"),
    ("transcript", "transcript/weekly-sync.txt"),
]
# CHAT_FUZZ_EXAMPLES=3000 for a longer search (about half a minute per thousand examples per test).
FUZZ = settings(
    max_examples=int(os.environ.get("CHAT_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.text(max_size=8),
    st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=3)), max_size=3),
    st.dictionaries(
        st.sampled_from(["id", "text", "ts", "type", "name", "role", "content", "parts"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=3)),
        max_size=3,
    ),
)


def slack_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((FIXTURES / "slack").rglob("*.json")):
            archive.write(path, path.relative_to(FIXTURES / "slack").as_posix())
    return buffer.getvalue()


def check(fmt: str, name: str, data: bytes) -> None:
    detect(name, data)
    try:
        messages, warnings = parse(fmt, name, data)
    except ChatFormatError as error:
        assert str(error) and "\n" not in str(error)
        return
    assert all(isinstance(m, Message) for m in messages)
    assert all(isinstance(w, str) and "\n" not in w for w in warnings)
    assert sum(c.messages for c in render(messages, max_chars=500)) == len(messages)


@st.composite
def byte_mutations(draw: st.DrawFn, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "drop_lines", "duplicate_lines"]))
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if kind in ("flip", "insert"):
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 12))):
            at = draw(st.integers(0, len(out) - 1))
            byte = draw(st.sampled_from(b'\x00\xff\n\r"{}[],:<>@ \x0e\xe2\x80\x8e'))
            if kind == "flip":
                out[at] = byte
            else:
                out.insert(at, byte)
        return bytes(out)
    lines = data.split(b"\n")
    picked = draw(st.lists(st.integers(0, len(lines) - 1), min_size=1, max_size=6))
    if kind == "drop_lines":
        return b"\n".join(line for i, line in enumerate(lines) if i not in picked)
    return b"\n".join(line for i, line in enumerate(lines) for _ in range(2 if i in picked else 1))


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def json_mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """The JSON document with a few values replaced by values of the wrong type (or keys removed)."""
    document = json.loads(data)
    paths = _paths(document)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths))
        if not path:
            document = draw(WRONG)
            break
        parent = document
        try:
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(parent, dict) and draw(st.booleans()):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(WRONG)
        except (KeyError, IndexError, TypeError):
            continue
    return json.dumps(document).encode()


def jsonl_mutation(data: bytes, draw: st.DrawFn) -> bytes:
    lines = [line for line in data.split(b"\n") if line.strip()]
    at = draw(st.integers(0, len(lines) - 1))
    lines[at] = draw(json_mutations(lines[at]))
    return b"\n".join(lines)


@given(st.data())
@FUZZ
def test_bytes_mutated(data):
    fmt, rel = data.draw(st.sampled_from(CASES))
    mutated = data.draw(byte_mutations((FIXTURES / rel).read_bytes()))
    check(fmt, Path(rel).name, mutated)


@given(st.data())
@FUZZ
def test_json_values_of_the_wrong_type(data):
    fmt, rel = data.draw(st.sampled_from([c for c in CASES if c[1].endswith((".json", ".jsonl"))]))
    original = (FIXTURES / rel).read_bytes()
    mutated = jsonl_mutation(original, data.draw) if rel.endswith(".jsonl") else data.draw(json_mutations(original))
    check(fmt, Path(rel).name, mutated)


@given(st.data())
@FUZZ
def test_slack_zip_damaged_or_with_wrong_types(data):
    original = slack_zip()
    if data.draw(st.booleans()):
        check("slack", "export.zip", data.draw(byte_mutations(original)))
        return
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(buffer, "w") as target:
        members = source.namelist()
        victims = data.draw(st.lists(st.sampled_from(members), min_size=1, max_size=3, unique=True))
        for member in members:
            content = source.read(member)
            target.writestr(member, data.draw(json_mutations(content)) if member in victims else content)
    check("slack", "export.zip", buffer.getvalue())


@given(st.binary(max_size=400), st.sampled_from(sorted({c[0] for c in CASES} | {"slack"})))
@FUZZ
def test_random_bytes(blob, fmt):
    check(fmt, "random.bin", blob)
