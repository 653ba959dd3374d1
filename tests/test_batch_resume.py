"""A `batch` run killed midway (SIGKILL, as an engine crash or the OOM killer would) loses
nothing already answered: the rerun reports those `cached` and answers only the rest."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scout_context.engine.models import ensure_model
from scout_context.paths import store_path
from test_batch_corpus import build

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[1]
COMMAND = (
    "import typer; from scout_context_cli.batch import batch_command; "
    "app = typer.Typer(); app.command()(batch_command); app()"
)


def stored_questions() -> list[str]:
    try:
        with sqlite3.connect(store_path()) as conn:
            return [row[0] for row in conn.execute("SELECT question FROM batch_answers")]
    except sqlite3.OperationalError:  # not created yet
        return []


def batch(jobs: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", COMMAND, str(jobs), "--json", "--allow-outside"],  # the shop is outside tmp_path
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_a_killed_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    model = ensure_model("smollm2")
    build(tmp_path / "depot")
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        f"engine:\n  model: {model}\n  max_tokens: 24\n"
        f"corpora:\n  shop:\n    sources: [{ROOT / 'examples' / 'tiny-shop'}]\n  depot:\n    sources: [depot]\n"
        "jobs:\n"
        "  - name: shop\n    corpus: shop\n    questions:\n"
        "      - What is FREE_SHIPPING_THRESHOLD?\n      - What is the tax rate?\n"
        "  - name: depot\n    corpus: depot\n    questions:\n"
        "      - What is OSLO_CAPACITY?\n      - What does restock_berlin return?\n"
    )
    first = batch(jobs)
    try:
        deadline = time.monotonic() + 400
        while not stored_questions():
            assert first.poll() is None, first.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    finished = set(stored_questions())
    assert finished and len(finished) < 4  # killed midway, with answers kept

    second = batch(jobs)
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    statuses = {q["question"]: q["status"] for job in json.loads(out)["jobs"] for q in job["questions"]}
    assert len(statuses) == 4
    assert {q for q, status in statuses.items() if status == "cached"} == finished
    assert all(status == "done" for q, status in statuses.items() if q not in finished)
    assert len(stored_questions()) == 4
