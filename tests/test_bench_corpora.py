"""bench/corpora.py's npm and Debian corpora, offline: the archive is already in downloads/
(as after a first `npm pack` or `apt-get download`), so what is tested is what follows, with
real tar and dpkg-deb: the corpus is the package's inner folder, its own git work tree, made
once; an archive that would write outside its folder, or lacks the folder, stops it."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from bench.corpora import Corpus, ensure

NPM = Corpus("demo", "demo@1.0.0", "demo-1.0.0", "lib/index.js", "npm", "package")
DEB = Corpus(
    "demo-go", "golang-demo-dev=1.0-1", "demo-go-1.0", "demo.go", "debian", "usr/share/gocode/src/example.com/demo"
)


def _npm_tarball(path: Path, files: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _deb(downloads: Path, tmp: Path, files: dict[str, str]) -> None:
    tree = tmp / "deb-tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        "Package: golang-demo-dev\nVersion: 1.0-1\nArchitecture: all\nMaintainer: t <t@example.com>\nDescription: demo\n"
    )
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    downloads.mkdir(parents=True, exist_ok=True)
    deb = downloads / "golang-demo-dev_1.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(tree), str(deb)], check=True, capture_output=True)


def test_an_npm_tarball_becomes_its_package_folder_with_dist_kept(tmp_path: Path) -> None:
    work = tmp_path / "work"
    files = {
        "package/package.json": '{"name": "demo"}',
        "package/lib/index.js": "export default 1\n",
        "package/dist/demo.min.js": "var a=1;\n",
    }
    _npm_tarball(work / "downloads" / "demo-1.0.0.tgz", files)
    root = ensure(NPM, work)
    assert root == work / "corpora" / "demo-1.0.0"
    assert (root / "lib" / "index.js").read_text() == "export default 1\n"
    assert (root / "dist" / "demo.min.js").is_file()  # the bundles stay: demoting them is measured later
    assert (root / ".git").is_dir()
    assert sorted(p.name for p in (work / "corpora").iterdir()) == ["demo-1.0.0", "demo-1.0.0.ready"]
    (root / "lib" / "index.js").write_text("edited\n")
    assert ensure(NPM, work) == root  # made once: a second call keeps the folder as it is
    assert (root / "lib" / "index.js").read_text() == "edited\n"


def test_an_npm_tarball_that_escapes_its_folder_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "work"
    _npm_tarball(work / "downloads" / "demo-1.0.0.tgz", {"package/../../../evil.js": "x"})
    with pytest.raises(tarfile.TarError):
        ensure(NPM, work)
    assert not list(tmp_path.rglob("evil.js"))
    assert not (work / "corpora" / "demo-1.0.0.ready").exists()


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_a_deb_becomes_the_folder_inside_it(tmp_path: Path) -> None:
    work = tmp_path / "work"
    inside = "usr/share/gocode/src/example.com/demo"
    _deb(
        work / "downloads",
        tmp_path,
        {
            f"{inside}/demo.go": "package demo\n",
            f"{inside}/sub/x.go": "package sub\n",
            "usr/share/doc/x/copyright": "c",
        },
    )
    root = ensure(DEB, work)
    assert root == work / "corpora" / "demo-go-1.0"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*.go")) == ["demo.go", "sub/x.go"]
    assert not (root / "usr").exists()  # only the module's folder, not the package's other files
    assert (root / ".git").is_dir()


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_a_deb_without_the_named_folder_stops_with_its_name(tmp_path: Path) -> None:
    work = tmp_path / "work"
    _deb(work / "downloads", tmp_path, {"usr/share/gocode/src/example.com/other/a.go": "package a\n"})
    with pytest.raises(RuntimeError, match=r"example\.com/demo"):
        ensure(DEB, work)
    assert not (work / "corpora" / "demo-go-1.0").exists()
