"""Writes cannot be turned against the machine or the inputs.

`pack -o` (and every other output the tool writes) writes through: a device, a FIFO or
/dev/stdout is written in place and stays what it was, a symlink stays a link and its target
gets the text, a regular file is replaced atomically with its mode (and owner) kept, and a new
file gets the umask's mode. `batch` refuses, before any engine starts, a report that would
overwrite the job file, a source, or a file it did not write, and paths outside the job
file's folder unless the caller passes --allow-outside.

Never point these tests at the real /dev/null: the code under test once replaced device
nodes, so every device here is one the test made itself.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from fake_vllm import KEY, SCOUT
from test_cli import EXAMPLE, EXE, cli, one_line_error

PACK_START = '<directory_tree source="tiny-shop"'


def pack_to(output: Path | str, *, umask: int | None = None, **popen) -> subprocess.CompletedProcess:
    """`scout-context pack EXAMPLE -o output`, under `umask` when given."""
    args = [EXE, "pack", str(EXAMPLE), "-o", str(output)]
    if umask is not None:
        args = ["sh", "-c", f'umask {umask:03o}; exec "$0" "$@"', *args]
    return subprocess.run(args, text=True, timeout=300, **(popen or {"capture_output": True}))


def expected_pack() -> str:
    proc = cli("pack", str(EXAMPLE))
    assert proc.returncode == 0 and proc.stdout.startswith(PACK_START)
    return proc.stdout


# --- item 1: -o writes through, never replaces ----------------------------------------------


def test_a_device_is_written_in_place_and_stays_a_device(tmp_path: Path) -> None:
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # our own null device, never /dev/null
    before = os.lstat(null)
    proc = pack_to(null)
    assert proc.returncode == 0, proc.stderr
    after = os.lstat(null)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == os.makedev(1, 3)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert os.listdir(tmp_path) == ["null"]  # no temp file left beside it


def test_a_fifo_is_written_in_place_and_its_reader_gets_the_pack(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    try:
        proc = pack_to(fifo)
        received, _ = reader.communicate(timeout=30)
    finally:
        if reader.poll() is None:  # nothing ever opened the FIFO for writing
            reader.kill()
            reader.wait()
    assert proc.returncode == 0, proc.stderr
    assert received == expected_pack()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_dev_stdout_is_the_pack_on_stdout(tmp_path: Path) -> None:
    proc = pack_to("/dev/stdout")  # stdout is a pipe here: written in place, never replaced
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected_pack()


def test_dev_stdout_redirected_to_a_file_appends_to_that_file(tmp_path: Path) -> None:
    """`>> log` keeps what the log held: the descriptor is written, the file not replaced."""
    log = tmp_path / "log.txt"
    log.write_text("earlier line\n")
    inode = log.stat().st_ino
    with open(log, "a") as appending:
        proc = pack_to("/dev/stdout", stdout=appending, stderr=subprocess.PIPE)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text() == "earlier line\n" + expected_pack()
    assert log.stat().st_ino == inode


def test_a_symlink_stays_a_link_and_its_target_gets_the_pack(tmp_path: Path) -> None:
    target = tmp_path / "real" / "target.txt"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(Path("real") / "target.txt")
    chained = tmp_path / "chained.txt"  # a link to a link
    chained.symlink_to("link.txt")
    for name in (link, chained):
        proc = pack_to(name)
        assert proc.returncode == 0, proc.stderr
        assert link.is_symlink() and os.readlink(link) == "real/target.txt"
        assert chained.is_symlink() and os.readlink(chained) == "link.txt"
        assert target.read_text() == expected_pack() and stat.S_IMODE(target.stat().st_mode) == 0o640
        target.write_text("old\n")


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to("made.txt")
    proc = pack_to(link, umask=0o022)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and (tmp_path / "made.txt").read_text() == expected_pack()
    assert stat.S_IMODE((tmp_path / "made.txt").stat().st_mode) == 0o644


def test_a_dangling_symlink_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "missing" / "made.txt")
    proc = pack_to(link)
    assert proc.returncode == 2
    assert "cannot write" in one_line_error(proc) and str(link) in proc.stderr
    assert not (tmp_path / "missing").exists() and link.is_symlink()


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_file_gets_the_umask_mode(tmp_path: Path, umask: int, mode: int) -> None:
    output = tmp_path / "deeper" / "pack.txt"
    proc = pack_to(output, umask=umask)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(output.stat().st_mode) == mode
    assert stat.S_IMODE(output.parent.stat().st_mode) == 0o777 & ~umask


def test_an_existing_file_keeps_its_mode_and_owner(tmp_path: Path) -> None:
    output = tmp_path / "pack.txt"
    output.write_text("old\n")
    output.chmod(0o640)
    os.chown(output, 4321, 4322)  # a user's file: a run as root must not take it over
    proc = pack_to(output, umask=0o022)
    assert proc.returncode == 0, proc.stderr
    after = output.stat()
    assert (stat.S_IMODE(after.st_mode), after.st_uid, after.st_gid) == (0o640, 4321, 4322)
    assert output.read_text() == expected_pack()
    assert sorted(os.listdir(tmp_path)) == ["pack.txt"]


def test_a_failed_write_keeps_the_old_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    from scout_context.output import write_output  # here: the old code had no such module

    output = tmp_path / "pack.txt"
    output.write_text("old\n")

    def half(stream) -> None:
        stream.write("half of it")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError, match="disk gone"):
        write_output(output, half)
    assert output.read_text() == "old\n" and os.listdir(tmp_path) == ["pack.txt"]

    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    with pytest.raises(RuntimeError, match="disk gone"):
        write_output(device, half)
    assert stat.S_ISCHR(os.lstat(device).st_mode)  # a failure never unlinks what is not ours


def test_a_folder_as_output_is_one_line(tmp_path: Path) -> None:
    proc = pack_to(tmp_path)
    assert proc.returncode == 2 and "cannot write" in one_line_error(proc)
    assert tmp_path.is_dir()


# --- item 2: batch outputs cannot clobber inputs --------------------------------------------


@pytest.fixture
def remote(vllm_server, monkeypatch: pytest.MonkeyPatch) -> str:
    """The engine section for the local fake vLLM server."""
    monkeypatch.setenv("SCOUT_API_KEY", KEY)
    return f"engine:\n  engine: openai\n  base_url: http://127.0.0.1:{vllm_server.server_port}/v1\n  model: {SCOUT}\n"


def shop_in(folder: Path) -> Path:
    """A copy of the example shop, inside `folder`."""
    shutil.copytree(EXAMPLE, folder / "tiny-shop")
    return folder / "tiny-shop"


def jobs_file(folder: Path, engine: str, output: str, *, sources: str = "[tiny-shop]", extra: str = "") -> Path:
    path = folder / "jobs.yaml"
    path.write_text(
        f"{extra}{engine}corpora:\n  shop:\n    sources: {sources}\n"
        f"jobs:\n  - name: facts\n    corpus: shop\n    questions: ['What is FREE_SHIPPING_THRESHOLD?']\n"
        f"    output: {output}\n"
    )
    return path


def refused(jobs: Path, *args: str) -> str:
    """Run the batch, expect exit 2 with one line; that line."""
    proc = cli("batch", str(jobs), *args)
    assert proc.returncode == 2, proc.stderr
    return one_line_error(proc)


def test_an_output_that_is_the_job_file_is_refused_before_the_engine_starts(
    tmp_path: Path, remote: str, vllm_server
) -> None:
    shop_in(tmp_path)
    (tmp_path / "alias.yaml").symlink_to("jobs.yaml")
    for output in ("jobs.yaml", "alias.yaml"):
        jobs = jobs_file(tmp_path, remote, output)
        before, asked = jobs.read_text(), len(vllm_server.requests)
        for args in ((), ("--overwrite",)):
            line = refused(jobs, *args)
            assert "jobs[0] (facts)" in line and output in line and "is the job file" in line
        assert jobs.read_text() == before and len(vllm_server.requests) == asked


def test_a_template_outside_the_job_folder_needs_the_opt_in_key(tmp_path: Path, remote: str) -> None:
    folder = tmp_path / "jobs"
    folder.mkdir()
    shop_in(folder)
    (tmp_path / "private.md").write_text("# Private\n\nwhat the job file's author wants read\n")
    jobs = jobs_file(folder, remote, "out/facts.md")
    jobs.write_text(
        jobs.read_text().replace("questions: ['What is FREE_SHIPPING_THRESHOLD?']", "template: ../private.md")
    )
    line = refused(jobs)
    assert "template: ../private.md is outside" in line and "--allow-outside" in line


@pytest.mark.parametrize("output", ["tiny-shop/shop/config.py", "tiny-shop/shop/new_module.py", "via-link/config.py"])
def test_an_output_inside_a_corpus_is_refused_even_with_overwrite(tmp_path: Path, remote: str, output: str) -> None:
    shop = shop_in(tmp_path)
    (tmp_path / "via-link").symlink_to("tiny-shop/shop")  # the same source folder, reached through a link
    before = (shop / "shop" / "config.py").read_text()
    jobs = jobs_file(tmp_path, remote, output)
    for args in ((), ("--overwrite",)):
        line = refused(jobs, *args)
        assert "jobs[0] (facts)" in line and output in line
        assert "inside the sources of corpus shop" in line and "exclude" in line
    assert (shop / "shop" / "config.py").read_text() == before and not (shop / "shop" / "new_module.py").exists()


def test_an_output_the_corpus_excludes_is_allowed_as_in_the_example(tmp_path: Path, remote: str) -> None:
    shop_in(tmp_path)
    jobs = jobs_file(tmp_path, remote, "reports/facts.md", sources="[.]")
    assert "inside the sources of corpus shop" in refused(jobs)
    jobs.write_text(jobs.read_text().replace("sources: [.]", "sources: [.]\n    exclude: [reports/]"))
    proc = cli("batch", str(jobs), "--json")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "reports" / "facts.md").read_text().startswith("<!-- scout-context:batch-report -->\n# facts")


def test_an_existing_file_that_is_not_a_report_needs_overwrite(tmp_path: Path, remote: str) -> None:
    shop_in(tmp_path)
    notes = tmp_path / "notes.md"
    notes.write_text("# My notes\n\nhand-written, not a report\n")
    jobs = jobs_file(tmp_path, remote, "notes.md")
    line = refused(jobs)
    assert (
        "jobs[0] (facts)" in line
        and "notes.md" in line
        and "not a scout-context report" in line
        and "--overwrite" in line
    )
    assert notes.read_text().startswith("# My notes")
    proc = cli("batch", str(jobs), "--overwrite", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "The value is 42." in notes.read_text()


@pytest.mark.parametrize("suffix", [".md", ".json", ".html"])
def test_a_report_of_ours_is_recognised_anywhere_and_rewritten(tmp_path: Path, remote: str, suffix: str) -> None:
    shop_in(tmp_path)
    jobs = jobs_file(tmp_path, remote, f"out/facts{suffix}")
    for _ in range(2):  # the second run overwrites the first run's report
        proc = cli("batch", str(jobs), "--json")
        assert proc.returncode == 0, proc.stderr
    report = tmp_path / "out" / f"facts{suffix}"
    marked = {  # what says "a report of ours", in each format
        ".md": lambda text: text.startswith("<!-- scout-context:batch-report -->\n"),
        ".json": lambda text: next(iter(json.loads(text).items())) == ("generator", "scout-context"),
        ".html": lambda text: '<meta name="generator" content="scout-context">' in text[:200],
    }
    assert marked[suffix](report.read_text())
    moved = tmp_path / f"moved{suffix}"  # a report moved elsewhere is still one
    report.rename(moved)
    jobs.write_text(jobs.read_text().replace(f"out/facts{suffix}", moved.name))
    proc = cli("batch", str(jobs), "--json")
    assert proc.returncode == 0, proc.stderr and moved.is_file()


@pytest.mark.parametrize(
    ("sources", "output", "named"),
    [
        ("[../elsewhere/tiny-shop]", "out/facts.md", "../elsewhere/tiny-shop"),
        ("[outside-link]", "out/facts.md", "outside-link"),
        ("[tiny-shop]", "../facts.md", "../facts.md"),
        ("[tiny-shop]", "ABSOLUTE", "ABSOLUTE"),
    ],
)
def test_paths_outside_the_job_folder_need_the_opt_in_key(
    tmp_path: Path, remote: str, sources: str, output: str, named: str
) -> None:
    folder = tmp_path / "jobs"
    folder.mkdir()
    shop_in(folder)
    (tmp_path / "elsewhere").mkdir()
    shop_in(tmp_path / "elsewhere")
    (folder / "outside-link").symlink_to(tmp_path / "elsewhere" / "tiny-shop")
    absolute = str(tmp_path / "abs" / "facts.md")
    output, named = output.replace("ABSOLUTE", absolute), named.replace("ABSOLUTE", absolute)
    jobs = jobs_file(folder, remote, output, sources=sources)
    line = refused(jobs)
    assert named in line and "outside" in line and "--allow-outside" in line
    proc = cli("batch", str(jobs), "--json", "--allow-outside")
    assert proc.returncode == 0, proc.stderr


def test_reports_are_written_through_a_symlink_with_the_umask_mode(tmp_path: Path, remote: str) -> None:
    shop_in(tmp_path)
    (tmp_path / "store").mkdir()
    (tmp_path / "latest.md").symlink_to("store/facts.md")
    jobs = jobs_file(tmp_path, remote, "latest.md")
    proc = subprocess.run(
        ["sh", "-c", 'umask 002; exec "$0" "$@"', EXE, "batch", str(jobs), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "latest.md").is_symlink()
    assert "The value is 42." in (tmp_path / "store" / "facts.md").read_text()
    assert stat.S_IMODE((tmp_path / "store" / "facts.md").stat().st_mode) == 0o664


def test_the_export_cannot_overwrite_the_job_file(tmp_path: Path, remote: str, vllm_server) -> None:
    shop_in(tmp_path)
    jobs = jobs_file(tmp_path, remote, "out/facts.md")
    before, asked = jobs.read_text(), len(vllm_server.requests)
    line = refused(jobs, "--export-openai-batch", str(jobs))
    assert "--export-openai-batch" in line and "is the job file" in line
    assert jobs.read_text() == before and len(vllm_server.requests) == asked


def test_overwrite_and_force_are_documented(tmp_path: Path) -> None:
    out = cli("batch", "--help").stdout
    assert "--overwrite" in out and "--force" in out and "--allow-outside" in out


def test_concurrent_writers_leave_one_whole_pack(tmp_path: Path) -> None:
    """Two writers at once: each replaces atomically, so the file is one of them, whole."""
    from scout_context.output import write_output

    output = tmp_path / "pack.txt"
    texts = ["a" * 200_000, "b" * 200_000]
    threads = [threading.Thread(target=write_output, args=(output, lambda s, t=t: s.write(t))) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert output.read_text() in texts and os.listdir(tmp_path) == ["pack.txt"]
