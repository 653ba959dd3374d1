"""Digests of what scout-context writes and sends, to show a refactor changed no behaviour.

Runs a fixed set of commands on examples/tiny-shop, a pull request over it and flask's
source (bench/corpora.py): `pack` in its layouts and fitted, and `ask`, `batch` and `pr`
against the test suite's stand-in vLLM server (tests/fake_vllm.py), whose captured request
bodies are the exact prompts each task sends. Prints one JSON object, case -> sha256 of
the output (run-dependent fields, such as seconds, removed). Compare two runs:

    python bench/digest.py > before.json   # on the old commit
    python bench/digest.py > after.json    # on the new one
    diff before.json after.json
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench import corpora  # noqa: E402
from fake_vllm import KEY, SCOUT, FakeVllm  # noqa: E402
from helpers import git, serving, write  # noqa: E402

EXE = str(Path(sys.executable).with_name("scout-context"))
SHOP = ROOT / "examples" / "tiny-shop"
QUESTION = "How is the shipping fee computed, and where is its threshold set?"
FLASK_QUESTION = "How does Flask match a URL rule to a view function?"
_VOLATILE = {"seconds", "timings", "created_at", "cache", "output"}
_GIT_DATES = {"GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
_PLACES: list[tuple[str, str]] = [(str(ROOT), "<ROOT>")]  # and the run's folder, once it exists


def _run(*args: str, env: dict[str, str], cwd: Path | None = None) -> str:
    done = subprocess.run([EXE, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"digest: scout-context {' '.join(args)} exited {done.returncode}: {done.stderr[-500:]}")
    return done.stdout


def _stable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _digest(text: str) -> str:
    """The digest of `text` with this checkout's and this run's folders named alike, so two
    checkouts of the same code give the same digests."""
    for place, name in _PLACES:
        text = text.replace(place, name)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _json_digest(text: str) -> str:
    return _digest(json.dumps(_stable(json.loads(text)), sort_keys=True))


def _pr_repo(work: Path) -> Path:
    repo = work / "pr-repo"
    shutil.copytree(SHOP, repo)
    os.environ.update(_GIT_DATES)  # the commits' ids, and so the prompt, depend on their dates
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "shop")
    git(repo, "checkout", "-qb", "feature")
    config = repo / "shop" / "config.py"
    config.write_text(config.read_text(encoding="utf-8").replace("50.0", "75.0"), encoding="utf-8")
    write(repo, {"shop/notes.py": "def note(text):\n    return text.strip()\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Raise the free shipping threshold\n\nFixes #3")
    return repo


def main() -> None:
    flask = corpora.ensure(corpora.CORPORA["flask"]) / "src"
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _PLACES.append((str(work), "<WORK>"))
        env = {**os.environ, **_GIT_DATES, "SCOUT_CACHE_DIR": str(work / "cache")}
        for name, source in (("shop", SHOP), ("flask", flask)):
            out[f"pack {name}"] = _digest(_run("pack", str(source), env=env))
            out[f"pack {name} --json"] = _json_digest(_run("pack", str(source), "--json", env=env))
            out[f"pack {name} --compress"] = _digest(_run("pack", str(source), "--compress", env=env))
            question = QUESTION if name == "shop" else FLASK_QUESTION
            for layout in ("edges", "stable"):
                for budget in ("1500", "6000", "30000"):
                    args = ("pack", str(source), "--question", question, "--layout", layout, "--budget", budget)
                    out[f"pack {name} {layout} {budget}"] = _digest(_run(*args, env=env))
                    out[f"pack {name} {layout} {budget} --json"] = _json_digest(_run(*args, "--json", env=env))
        with serving(FakeVllm) as httpd:
            remote = {**env, "SCOUT_BASE_URL": f"http://127.0.0.1:{httpd.server_port}/v1", "SCOUT_API_KEY": KEY}
            for model in (SCOUT, "smol"):
                for name, source in (("shop", SHOP), ("flask", flask)):
                    httpd.requests.clear()
                    answer = _run(
                        "ask", str(source), QUESTION, "--engine", "openai", "--model", model, "--json", env=remote
                    )
                    out[f"ask {name} {model}"] = _json_digest(answer)
                    out[f"ask {name} {model} requests"] = _digest(json.dumps(httpd.requests, sort_keys=True))
            repo = _pr_repo(work)
            httpd.requests.clear()
            report = _run(
                "pr",
                str(repo),
                "--base",
                "main",
                "--head",
                "feature",
                "--format",
                "json",
                "--engine",
                "openai",
                "--model",
                SCOUT,
                "--title",
                "Raise the threshold",
                "--description",
                "Sales asked.",
                "--no-step-summary",
                env=remote,
            )
            out["pr shop"] = _json_digest(report)
            out["pr shop requests"] = _digest(json.dumps(httpd.requests, sort_keys=True))
            jobs = work / "jobs" / "jobs.yaml"
            jobs.parent.mkdir()
            shutil.copytree(SHOP, jobs.parent / "tiny-shop")
            jobs.write_text(
                "engine:\n  engine: openai\n  model: " + SCOUT + "\n  max_tokens: 64\n"
                "corpora:\n  shop:\n    sources: [tiny-shop]\n"
                "jobs:\n  - name: facts\n    corpus: shop\n    questions:\n      - " + QUESTION + "\n"
                "      - Which tests cover the cart?\n    output: reports/facts.json\n",
                encoding="utf-8",
            )
            httpd.requests.clear()
            _run("batch", str(jobs), env=remote)
            out["batch shop report"] = _json_digest(
                (jobs.parent / "reports" / "facts.json").read_text(encoding="utf-8")
            )
            # requests run concurrently: their order is not the code's
            out["batch shop requests"] = _digest(
                json.dumps(sorted(json.dumps(r, sort_keys=True) for r in httpd.requests))
            )
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
