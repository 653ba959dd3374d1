"""The GitHub Actions examples: every action pinned by a commit, no expression spliced into a
script, scout-context installed from a pinned commit with pip's cache, a pull request without
the secrets skipped with a notice, and the fork variant (`pull_request_target`) never turning
the pull request's head into a working tree: its steps run for real against real git repos."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import git, write

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "github-actions"
WORKFLOWS = ("pr-summary.yml", "pr-summary-fork.yml")
PINNED = re.compile(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}")
CHECKS_OUT = re.compile(
    r"\bgit\s+((-c\s+\S+|-\S+)\s+)*(checkout|switch|worktree|restore|reset|merge|pull|rebase|cherry-pick)\b"
)


def load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((EXAMPLES / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def step_named(doc: dict[str, Any], start: str) -> dict[str, Any]:
    [step] = [s for s in steps(doc) if s.get("name", "").startswith(start)]
    return step


@pytest.mark.parametrize("name", WORKFLOWS)
def test_actions_are_pinned_and_scripts_take_no_expressions(name: str) -> None:
    doc = load(name)
    uses = [step["uses"] for step in steps(doc) if "uses" in step]
    assert uses and all(PINNED.fullmatch(each) for each in uses), uses
    assert all("${{" not in step.get("run", "") for step in steps(doc))  # event text reaches scripts only by env
    text = (EXAMPLES / name).read_text()
    assert all(re.search(rf"{re.escape(each)}  # v\d+\.\d+\.\d+", text) for each in uses)  # the tag it was


@pytest.mark.parametrize("name", WORKFLOWS)
def test_scout_context_comes_from_a_pinned_commit_with_pips_cache(name: str) -> None:
    doc = load(name)
    assert (
        doc["env"]["SCOUT_CONTEXT_GIT"].startswith("https://")
        and "SCOUT_CONTEXT_PIP" not in (EXAMPLES / name).read_text()
    )
    install = step_named(doc, "Install scout-context")["run"]
    assert 'pip install "scout-context @ git+${SCOUT_CONTEXT_GIT}@${SCOUT_CONTEXT_COMMIT}"' in install
    for commit, code in (("set-this-to-a-full-40-hex-commit", 1), ("a" * 40, 0)):  # the guard, run for real
        guard = install.splitlines()[0]
        proc = subprocess.run(
            ["bash", "-c", guard], env={"SCOUT_CONTEXT_COMMIT": commit}, capture_output=True, text=True
        )
        assert proc.returncode == code and ("::error" in proc.stdout) == bool(code)
    [python] = [s for s in steps(doc) if s.get("uses", "").startswith("actions/setup-python@")]
    assert python["with"]["cache"] == "pip" and python["with"]["cache-dependency-path"] == f".github/workflows/{name}"
    assert step_named(doc, "Summarize")["run"] == "scout-context pr --engine openai --comment --soft-fail"


def test_a_pull_request_without_the_secrets_ends_with_a_notice(tmp_path: Path) -> None:
    doc = load("pr-summary.yml")
    assert doc["on"].keys() == {"pull_request"}
    summarize = doc["jobs"]["summarize"]
    assert summarize["needs"] == "engine" and summarize["if"] == "${{ needs.engine.outputs.configured == 'true' }}"
    script = doc["jobs"]["engine"]["steps"][0]["run"]
    for url, configured in (("", "false"), ("https://gpu-box.example/v1", "true")):
        output = tmp_path / f"output-{configured}"
        env = {"SCOUT_BASE_URL": url, "GITHUB_OUTPUT": str(output), "PATH": "/usr/bin:/bin"}
        proc = subprocess.run(["bash", "-e", "-c", script], env=env, capture_output=True, text=True)
        assert proc.returncode == 0 and output.read_text() == f"configured={configured}\n"
        assert proc.stdout.startswith("::notice title=PR summary skipped::") == (configured == "false")


def test_the_fork_variant_never_checks_out_the_pull_request() -> None:
    doc = load("pr-summary-fork.yml")
    assert doc["on"].keys() == {"pull_request_target"}
    checkouts = [s for s in steps(doc) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts and all(
        s["with"]["ref"] == "${{ github.event.pull_request.base.sha }}" and s["with"]["persist-credentials"] is False
        for s in checkouts
    )
    runs = [s["run"] for s in steps(doc) if "run" in s]
    assert not any(CHECKS_OUT.search(run) for run in runs) and not any("working-directory" in s for s in steps(doc))
    assert not any(re.search(r"pip install\s+(-e\s+)?\.|requirements", run) for run in runs)
    heads = [s for s in steps(doc) if "pull_request.head" in str(s)]
    assert [s["name"] for s in heads] == ["Fetch the pull request's head as git objects only"]


def test_the_fork_variants_fetch_leaves_the_base_as_the_working_tree(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    write(origin, {"shop/cart.py": "TOTAL = 1\n"})
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "base")
    base = git(origin, "rev-parse", "HEAD").strip()
    git(origin, "checkout", "-qb", "fork")
    write(origin, {"shop/cart.py": "TOTAL = 2\n", "setup.py": "open('ran', 'w')\n"})
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "the fork's change")
    head = git(origin, "rev-parse", "HEAD").strip()
    git(origin, "update-ref", "refs/pull/7/head", head)  # as GitHub keeps a pull request's head
    git(origin, "checkout", "-q", "main")
    git(origin, "branch", "-qD", "fork")
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", f"file://{origin}", str(work)], check=True)
    git(work, "checkout", "-q", "--detach", base)  # what actions/checkout does with ref: base.sha
    fetch = step_named(load("pr-summary-fork.yml"), "Fetch the pull request's head")
    env = {**{k: str(v) for k, v in fetch["env"].items()}, "NUMBER": "7", "HEAD_SHA": head, "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(["bash", "-e", "-c", fetch["run"]], cwd=work, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert git(work, "rev-parse", "HEAD").strip() == base and git(work, "status", "--porcelain") == ""
    assert (work / "shop" / "cart.py").read_text() == "TOTAL = 1\n" and not (work / "setup.py").exists()
    assert git(work, "show", f"{head}:shop/cart.py") == "TOTAL = 2\n"  # the head, readable as objects
