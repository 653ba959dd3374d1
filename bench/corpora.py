"""The benchmarks' real corpora: PyPI sdists, downloaded and extracted once under bench/.work.

Standard library only (bench/pack_bench.py runs under any Python >= 3.11).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

WORK = Path(__file__).resolve().parent / ".work"


@dataclass(frozen=True)
class Corpus:
    name: str
    requirement: str  # what pip downloads
    dirname: str  # top folder of the sdist
    touch: str  # file (relative) that pack_bench's "touch" phase appends a line to


CORPORA: dict[str, Corpus] = {
    "click": Corpus("click", "click==8.5.1", "click-8.5.1", "src/click/core.py"),
    "requests": Corpus("requests", "requests==2.34.2", "requests-2.34.2", "src/requests/sessions.py"),
    "flask": Corpus("flask", "flask==3.1.3", "flask-3.1.3", "src/flask/app.py"),
    "sympy": Corpus("sympy", "sympy==1.14.0", "sympy-1.14.0", "sympy/core/basic.py"),
}


def ensure(corpus: Corpus, work: Path = WORK, python: str | Path = sys.executable) -> Path:
    """The corpus's folder under `work`/corpora, downloaded (`python -m pip download
    --no-binary :all:`) and extracted the first time, as its own git work tree."""
    downloads, corpora = work / "downloads", work / "corpora"
    root = corpora / corpus.dirname
    ready = corpora / f"{corpus.dirname}.ready"
    if ready.exists() and root.is_dir():
        return root
    sdist = downloads / f"{corpus.dirname}.tar.gz"
    if not sdist.exists():
        print(f"setup: downloading {corpus.requirement} (sdist)", file=sys.stderr, flush=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                str(downloads),
                corpus.requirement,
            ],
            check=True,
        )
    if not sdist.exists():
        raise RuntimeError(f"pip download produced no {sdist.name} in {downloads}")
    if root.exists():
        shutil.rmtree(root)
    corpora.mkdir(parents=True, exist_ok=True)
    print(f"setup: extracting {sdist.name}", file=sys.stderr, flush=True)
    with tarfile.open(sdist) as tar:
        tar.extractall(corpora, filter="data")
    # Its own git work tree. Without it the corpus sits inside this repository, whose
    # .gitignore ignores bench/.work/: repomix (globby walks up to the git root) and
    # scout-context (git ls-files --exclude-standard) would find 0 files. Nothing is
    # committed: every file is "untracked, not ignored", as in a fresh checkout.
    subprocess.run(["git", "init", "--quiet", str(root)], check=True)
    ready.write_text(json.dumps({"requirement": corpus.requirement, "sdist": sdist.name}))
    return root
