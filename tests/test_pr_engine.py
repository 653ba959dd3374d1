"""`scout-context pr` end to end with the real CPU default engine (SmolLM2, 8,192 tokens)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import git
from scout_context.engine.models import ensure_model
from test_cli import EXAMPLE
from test_pr_cli import MOUNT

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def model() -> str:
    return str(ensure_model("smollm2"))


def test_summarizes_a_pull_request_within_the_engines_context(model: str, make_repo, tmp_path: Path) -> None:
    repo = make_repo({}, commit=False)
    shutil.copytree(EXAMPLE, repo, dirs_exist_ok=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tiny-shop")
    git(repo, "checkout", "-q", "-b", "free-shipping")
    config = repo / "shop" / "config.py"
    config.write_text(config.read_text().replace("FREE_SHIPPING_THRESHOLD = 50.0", "FREE_SHIPPING_THRESHOLD = 75.0"))
    git(repo, "commit", "-qam", "Raise the free shipping threshold to 75 EUR")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "SCOUT_BASE", "SCOUT_API", "SCOUT_MODEL"))
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            MOUNT,
            "pr",
            str(repo),
            "--base",
            "main",
            "--model",
            model,
            "--max-tokens",
            "160",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=repo,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    result = json.loads(proc.stdout)
    markdown = result["markdown"]
    assert re.findall(r"^## (.+)$", markdown, re.M) == [
        "Summary",
        "Walkthrough",
        "Risk",
        "Tests",
        "Effort",
        "Not analysed",
    ]
    assert (
        result["walkthrough"][0]["files"] == ["shop/config.py"]
        and result["walkthrough"][0]["change"] == "modified +1 −1"
    )
    assert 1 <= result["effort"]["score"] <= 5
    footer = result["footer"]
    assert footer["model"] == Path(model).name and 0 < footer["completion_tokens"] <= 160
    assert 500 < footer["prompt_tokens"] <= 8192 - 160  # the whole tiny repository, within the context
