"""Chat exports through `pack` and the CLI: detected by content, cited by message time."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from scout_context.pack.options import PackOptions
from scout_context.pack.pipeline import pack
from scout_context.store import Store
from scout_context.tokens import scout_tokenizer
from test_cli import EXAMPLE, EXE

FIXTURES = Path(__file__).parent / "fixtures" / "chat"


def test_slack_folder_whatsapp_file_and_repo_pack_together(tmp_path):
    slack = shutil.copytree(FIXTURES / "slack", tmp_path / "acme-slack")
    whatsapp = shutil.copy(FIXTURES / "whatsapp" / "WhatsApp Chat with Family.txt", tmp_path / "family.txt")
    store = Store()
    result = pack([slack, Path(whatsapp), EXAMPLE], PackOptions(), store=store)
    again = pack([slack, Path(whatsapp), EXAMPLE], PackOptions(), store=store)
    store.close()
    assert [s.label for s in result.sources] == ["acme-slack", "family.txt", "tiny-shop"]
    ids = [c.id for c in result.chunks]
    assert any(i.startswith("acme-slack/slack:#general@20") for i in ids)
    assert any(i.startswith("family.txt/whatsapp:") for i in ids)
    assert "tiny-shop/shop/cart.py:1-43" in ids
    assert len(ids) == len(set(ids))
    assert all(s.tokens > 0 for s in result.sources)
    assert scout_tokenizer().count(result.text) == result.tokens
    assert again.text == result.text and again.analysed == 0  # the folder export is re-read, its parse is cached


def test_slack_folder_reads_only_its_own_json_files(tmp_path):
    """A folder named `*.json` inside the export crashed `pack` (IsADirectoryError); a link
    out of the export is not part of it. Neither changes what is packed."""
    clean = shutil.copytree(FIXTURES / "slack", tmp_path / "clean" / "acme")
    odd = shutil.copytree(FIXTURES / "slack", tmp_path / "odd" / "acme")
    (odd / "general" / "folder.json").mkdir()
    outside = tmp_path / "secret.json"
    outside.write_text('[{"type": "message", "user": "U1", "text": "SECRET-OUTSIDE", "ts": "1700000000.000100"}]')
    (odd / "general" / "2024-03-09.json").symlink_to(outside)
    store = Store()
    want, got = (pack([folder], PackOptions(), store=store) for folder in (clean, odd))
    store.close()
    assert not got.skipped
    assert "SECRET-OUTSIDE" not in got.text
    assert [(c.id, c.text) for c in got.chunks] == [(c.id, c.text) for c in want.chunks]


def test_renamed_export_is_detected_by_content_and_garbage_is_text(tmp_path):
    shutil.copy(FIXTURES / "chatgpt" / "conversations.json", tmp_path / "notes.json")
    (tmp_path / "weird.json").write_text('{"mapping": 3, "current_node": []}')
    proc = subprocess.run(
        [EXE, "pack", str(tmp_path), "--json", "-o", str(tmp_path / "out.txt")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["files"] == ["notes.json", "weird.json"]
    text = (tmp_path / "out.txt").read_text()
    assert 'id="chatgpt:' in text
