"""PDFs through `pack`: one chunk per page by printed label, unreadable pages and files listed."""

from __future__ import annotations

import json
import subprocess

from helpers import write
from scout_context.pack.options import PackOptions
from scout_context.pack.pipeline import pack
from scout_context.store import Store
from scout_context.tokens import scout_tokenizer
from test_cli import EXE
from test_pdf import encrypted, make_pdf, scanned, text_page


def test_pdf_pages_become_cited_chunks_beside_code(tmp_path):
    pdf = make_pdf(text_page("Retention: we keep backups for 30 days."), scanned, text_page("<|eot|> Appendix"))
    write(
        tmp_path,
        {
            "contract.pdf": pdf,
            "broken.pdf": pdf[: len(pdf) // 3],
            "fake.pdf": b"<html>no</html>",
            "app.py": "RETENTION_DAYS = 30\n",
        },
    )
    store = Store()
    result = pack([tmp_path], PackOptions(), store=store)
    store.close()
    ids = [c.id for c in result.chunks]
    assert ids == ["app.py:1-1", "contract.pdf#p1", "contract.pdf#p3"]
    page1 = result.chunks[1].text
    assert page1.startswith("Page 1\n\n") and "backups for 30 days" in page1
    assert "<\\|eot|>" in result.chunks[2].text
    reasons = {s.path: s.reason for s in result.skipped}
    assert reasons["contract.pdf#p2"] == "no text layer (scanned image)"
    assert reasons["broken.pdf"].startswith("PDF: ")
    assert reasons["fake.pdf"] == "PDF: not a PDF (starts with '<html')"
    assert scout_tokenizer().count(result.text) == result.tokens


def test_encrypted_pdf_needs_the_password(tmp_path):
    write(tmp_path, {"secret.pdf": encrypted("pw", "owner")})
    proc = subprocess.run([EXE, "pack", str(tmp_path), "--json"], capture_output=True, text=True)
    report = json.loads(proc.stdout)
    assert report["skipped"] == [{"path": "secret.pdf", "reason": "PDF: encrypted: give the password with --password"}]
    proc = subprocess.run([EXE, "pack", str(tmp_path), "--json", "--password", "pw"], capture_output=True, text=True)
    assert json.loads(proc.stdout)["files"] == ["secret.pdf"]
