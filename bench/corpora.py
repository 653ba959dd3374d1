"""The benchmarks' real corpora, as published on their registries, downloaded and extracted
once under bench/.work: PyPI sdists (pip), npm packages (`npm pack`: the published tarball,
`dist/` bundles included) and Debian source packages of Rust crates and Go modules
(`apt-get download`, then `dpkg-deb -x`: librust-*-dev carries a crate as published on
crates.io, golang-*-dev a Go module's source). Every version is pinned.

Standard library only (bench/pack_bench.py runs under any Python >= 3.11).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

WORK = Path(__file__).resolve().parent / ".work"


@dataclass(frozen=True)
class Corpus:
    name: str
    requirement: str  # what the registry's client fetches: "flask==3.1.3", "axios@1.21.1", "<deb>=<version>"
    dirname: str  # the corpus's folder under corpora/ (for pip: the sdist's top folder)
    touch: str  # file (relative) that pack_bench's "touch" phase appends a line to
    registry: str = "pypi"  # "pypi", "npm" or "debian"
    inside: str = ""  # the folder inside the npm tarball or the .deb that is the corpus


CORPORA: dict[str, Corpus] = {
    "click": Corpus("click", "click==8.5.1", "click-8.5.1", "src/click/core.py"),
    "requests": Corpus("requests", "requests==2.34.2", "requests-2.34.2", "src/requests/sessions.py"),
    "flask": Corpus("flask", "flask==3.1.3", "flask-3.1.3", "src/flask/app.py"),
    "sympy": Corpus("sympy", "sympy==1.14.0", "sympy-1.14.0", "sympy/core/basic.py"),
    "axios": Corpus("axios", "axios@1.21.1", "axios-1.21.1", "lib/core/Axios.js", "npm", "package"),
    "mobx": Corpus("mobx", "mobx@7.1.3", "mobx-7.1.3", "src/core/observable.ts", "npm", "package"),
    "gin": Corpus(
        "gin",
        "golang-github-gin-gonic-gin-dev=1.8.1-1",
        "gin-1.8.1",
        "gin.go",
        "debian",
        "usr/share/gocode/src/github.com/gin-gonic/gin",
    ),
    "regex": Corpus(
        "regex",
        "librust-regex-dev=1.7.1-1",
        "regex-1.7.1",
        "src/exec.rs",
        "debian",
        "usr/share/cargo/registry/regex-1.7.1",
    ),
}


def ensure(corpus: Corpus, work: Path = WORK, python: str | Path = sys.executable) -> Path:
    """The corpus's folder under `work`/corpora, downloaded from its registry and extracted
    the first time, as its own git work tree."""
    downloads, corpora = work / "downloads", work / "corpora"
    root = corpora / corpus.dirname
    ready = corpora / f"{corpus.dirname}.ready"
    if ready.exists() and root.is_dir():
        return root
    if root.exists():
        shutil.rmtree(root)
    downloads.mkdir(parents=True, exist_ok=True)
    corpora.mkdir(parents=True, exist_ok=True)
    fetch = {"pypi": _from_pypi, "npm": _from_npm, "debian": _from_debian}[corpus.registry]
    archive = fetch(corpus, downloads, corpora, python)
    # Its own git work tree. Without it the corpus sits inside this repository, whose
    # .gitignore ignores bench/.work/: repomix (globby walks up to the git root) and
    # scout-context (git ls-files --exclude-standard) would find 0 files. Nothing is
    # committed: every file is "untracked, not ignored", as in a fresh checkout.
    subprocess.run(["git", "init", "--quiet", str(root)], check=True)
    ready.write_text(json.dumps({"requirement": corpus.requirement, "archive": archive.name}))
    return root


def _from_pypi(corpus: Corpus, downloads: Path, corpora: Path, python: str | Path) -> Path:
    """The sdist (`pip download --no-binary :all:`), extracted to corpora/<its top folder>."""
    sdist = downloads / f"{corpus.dirname}.tar.gz"
    if not sdist.exists():
        print(f"setup: downloading {corpus.requirement} (sdist)", file=sys.stderr, flush=True)
        pip = [str(python), "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*pip, "-d", str(downloads), corpus.requirement], check=True)
    if not sdist.exists():
        raise RuntimeError(f"pip download produced no {sdist.name} in {downloads}")
    print(f"setup: extracting {sdist.name}", file=sys.stderr, flush=True)
    with tarfile.open(sdist) as tar:
        tar.extractall(corpora, filter="data")
    return sdist


def _from_npm(corpus: Corpus, downloads: Path, corpora: Path, python: str | Path) -> Path:
    """The package's published tarball (`npm pack --ignore-scripts`: nothing of it runs)."""
    tarball = downloads / f"{corpus.dirname}.tgz"
    if not tarball.exists():
        print(f"setup: downloading {corpus.requirement} (npm pack)", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(dir=downloads) as tmp:
            out = subprocess.run(
                ["npm", "pack", "--ignore-scripts", "--json", "--pack-destination", tmp, corpus.requirement],
                check=True,
                capture_output=True,
                text=True,
            )
            (Path(tmp) / json.loads(out.stdout)[0]["filename"]).rename(tarball)
    print(f"setup: extracting {tarball.name}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(dir=corpora) as tmp:
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        _move_inside(corpus, Path(tmp), corpora)
    return tarball


def _from_debian(corpus: Corpus, downloads: Path, corpora: Path, python: str | Path) -> Path:
    """The .deb (`apt-get download <package>=<version>`), unpacked with `dpkg-deb -x`; no
    maintainer script runs."""
    package, _, version = corpus.requirement.partition("=")
    debs = sorted(downloads.glob(f"{package}_{version.replace(':', '%3a')}_*.deb"))
    if not debs:
        print(f"setup: downloading {corpus.requirement} (apt-get download)", file=sys.stderr, flush=True)
        subprocess.run(["apt-get", "download", "--quiet", corpus.requirement], check=True, cwd=downloads)
        debs = sorted(downloads.glob(f"{package}_{version.replace(':', '%3a')}_*.deb"))
    if not debs:
        raise RuntimeError(f"apt-get download produced no {package}_{version}_*.deb in {downloads}")
    deb = debs[0]
    print(f"setup: extracting {deb.name}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(dir=corpora) as tmp:
        subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
        _move_inside(corpus, Path(tmp), corpora)
    return deb


def _move_inside(corpus: Corpus, unpacked: Path, corpora: Path) -> None:
    source = unpacked / corpus.inside
    if not source.is_dir():
        raise RuntimeError(f"{corpus.requirement}: no folder {corpus.inside!r} in the package")
    source.rename(corpora / corpus.dirname)
