"""`scout-context ask` end to end with the real CPU default engine, as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from scout_context.engine.models import ensure_model
from test_cli import EXAMPLE, EXE, one_line_error

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def model() -> str:
    return str(ensure_model("smollm2"))


def test_ask_answers_cites_and_logs(model: str, tmp_path: Path) -> None:
    question = "What is FREE_SHIPPING_THRESHOLD set to in shop/config.py?"
    proc = subprocess.run(
        [EXE, "ask", str(EXAMPLE), question, "--model", model, "--json", "--max-tokens", "64"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    result = json.loads(proc.stdout)
    assert "50" in result["answer"]
    assert result["usage"]["prompt_tokens"] > 1000 and result["usage"]["completion_tokens"] > 0
    assert set(result["timings"]) >= {"pack_s", "first_token_s", "generate_s", "total_s"}
    assert all({"id", "source", "valid"} <= c.keys() for c in result["citations"])
    logged = json.loads(subprocess.run([EXE, "logs", "--json"], capture_output=True, text=True, check=True).stdout)
    assert logged[0]["question"] == question and logged[0]["id"] == result["run_id"]


def test_prompt_over_the_context_is_exit_4_without_fitting(model: str) -> None:
    proc = subprocess.run(
        [EXE, "ask", str(EXAMPLE), "What does the cart do?", "--model", model, "--max-model-len", "600", "--no-fit"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 4
    assert "over the" in one_line_error(proc)


def test_fitting_to_a_small_context_still_answers(model: str) -> None:
    proc = subprocess.run(
        [
            EXE,
            "ask",
            str(EXAMPLE),
            "What is FREE_SHIPPING_THRESHOLD set to in shop/config.py?",
            "--model",
            model,
            "--max-model-len",
            "1024",
            "--max-tokens",
            "48",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["dropped"] and result["usage"]["prompt_tokens"] <= 1024 - 48
