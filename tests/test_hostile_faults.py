"""Faults an attacker (or bad luck) can cause: huge corpora, huge files, zip bombs, packs
racing on a new store, and a store that is damaged, read-only or on a full disk. Real
files, real SQLite, real processes through the installed `scout-context` command."""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from scout_context.errors import EXIT_CODES, ScoutError, StoreError
from scout_context.pack.options import PackOptions
from scout_context.pack.pipeline import pack
from scout_context.store import Store
from scout_context.tokens import scout_tokenizer
from test_cli import EXE, cli, one_line_error

MiB = 2**20


def _files(root: Path, count: int) -> None:
    """`count` one-line files, a thousand to a folder."""
    for i in range(count):
        folder = root / f"d{i // 1000:03d}"
        if i % 1000 == 0:
            folder.mkdir(parents=True)
        with open(folder / f"f{i:06d}.txt", "w") as handle:
            handle.write(f"line {i}\n")


def _peak_rss_mib(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, float]:
    """Run the CLI from a fresh Python process and return its result and the CLI's peak
    RSS: RUSAGE_CHILDREN of that process holds only its own children, not earlier tests'."""
    probe = (
        "import json, resource, subprocess, sys\n"
        "proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([proc.returncode, proc.stdout, proc.stderr, peak]))\n"
    )
    outer = subprocess.run(
        [sys.executable, "-c", probe, EXE, *args], capture_output=True, text=True, env=env, timeout=300, check=True
    )
    code, stdout, stderr, peak_kib = json.loads(outer.stdout)
    return subprocess.CompletedProcess(args, code, stdout, stderr), peak_kib / 1024


# --- 11: a hundred thousand files ------------------------------------------------------


def test_a_pack_of_100000_small_files_completes(tmp_path):
    _files(tmp_path / "many", 100_000)
    proc = cli("pack", str(tmp_path / "many"), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert len(report["files"]) == 100_000 and report["skipped"] == []


def test_reading_small_files_allocates_their_size_not_the_limit(tmp_path):
    """Each read asks for the file's size (plus one byte), not the size limit: a
    limit-sized buffer per file is what ran the process out of memory maps."""
    _files(tmp_path / "few", 20)
    scout_tokenizer()  # loaded once per process, not part of what reading costs
    store = Store()
    tracemalloc.start()
    try:
        result = pack([tmp_path / "few"], PackOptions(max_file_bytes=256 * MiB), store=store)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        store.close()
    assert len(result.files) == 20
    assert peak < 32 * MiB, f"peak {peak / MiB:.0f} MiB to read 20 one-line files"


def test_a_failed_transaction_reports_its_own_cause(tmp_path):
    """SQLite ends a transaction itself on some errors (a full disk, RAISE(ROLLBACK)):
    the error shown is that cause, not 'cannot rollback - no transaction is active'."""
    store = Store(tmp_path / "store.db")
    store.conn.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON blobs BEGIN SELECT RAISE(ROLLBACK, 'refused by trigger'); END"
    )
    with pytest.raises(ScoutError, match="refused by trigger") as caught:
        store.save("src", {}, {}, "opts", {"h": "text"})
    assert "cannot rollback" not in str(caught.value)
    store.conn.execute("DROP TRIGGER refuse")
    store.save("src", {}, {}, "opts", {"h": "text"})  # the store is still usable
    assert store.blobs(["h"]) == {"h": "text"}
    store.close()


# --- 12: bounded memory on huge inputs -------------------------------------------------


def test_a_huge_binary_file_is_probed_not_read(tmp_path):
    """A 2 GB file named on the command line (exempt from --max-file-size) is found to be
    binary from its first bytes; one over the 2 GiB bound is not read at all."""
    huge, bigger = tmp_path / "disk.img", tmp_path / "bigger.img"
    with open(huge, "wb") as handle:
        handle.truncate(2_000_000_000)  # sparse: no disk used, every byte NUL
    with open(bigger, "wb") as handle:
        handle.truncate(3 * 2**30)
    (tmp_path / "small.py").write_text("x = 1\n")
    proc, peak = _peak_rss_mib("pack", str(huge), str(bigger), str(tmp_path / "small.py"), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert reasons["disk.img"] == "binary (NUL bytes)"
    assert reasons["bigger.img"].startswith("too large (3,221,225,472 bytes > 2,147,483,648")
    assert report["files"] == ["small.py"]
    assert peak < 400, f"peak RSS {peak:.0f} MiB"


def _slack_bomb(path: Path, member_bytes: int) -> None:
    """A Slack export zip whose one day file expands to `member_bytes` of repeated JSON,
    written in pieces so that building it stays small in memory."""
    message = b'{"type": "message", "user": "U1", "text": "all work and no play", "ts": "1700000000.000100"},'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("users.json", json.dumps([{"id": "U1", "name": "ana"}]))
        archive.writestr("channels.json", json.dumps([{"id": "C1", "name": "general"}]))
        archive.writestr(
            "general/2024-01-01.json",
            json.dumps([{"type": "message", "user": "U1", "text": "hi", "ts": "1700000000.0"}]),
        )
        piece = message * (MiB // len(message))
        with archive.open("general/2024-01-02.json", "w", force_zip64=True) as member:
            member.write(b"[")
            written = 1
            while written + len(piece) < member_bytes:
                member.write(piece)
                written += len(piece)
            member.write(b'{"type": "message", "user": "U1", "text": "end", "ts": "1700000001.0"}]')


def test_a_slack_zip_bomb_is_skipped_with_its_reason(tmp_path):
    bomb = tmp_path / "export.zip"
    _slack_bomb(bomb, 2**30)
    assert bomb.stat().st_size < 8 * MiB
    proc, peak = _peak_rss_mib("pack", str(bomb), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    [skipped] = report["skipped"]
    assert skipped["path"] == "export.zip"
    assert "general/2024-01-02.json" in skipped["reason"] and "expands past" in skipped["reason"], skipped
    assert peak < 400, f"peak RSS {peak:.0f} MiB"


# --- 13: packs racing on a new store ---------------------------------------------------


def _open_store(path: str, barrier, failures) -> None:
    barrier.wait()
    try:
        Store(Path(path)).close()
    except Exception as error:  # noqa: BLE001 - the test counts every failure
        failures.put(f"{type(error).__name__}: {error}")


def test_first_opens_of_a_new_store_do_not_race(tmp_path):
    """Six processes open the same new store at once, five times over: every one succeeds
    (each migration runs once, inside the write lock)."""
    context = multiprocessing.get_context("fork")
    failures = context.Queue()
    for round_ in range(5):
        path = str(tmp_path / f"store{round_}.db")
        barrier = context.Barrier(6)
        workers = [context.Process(target=_open_store, args=(path, barrier, failures)) for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert all(worker.exitcode == 0 for worker in workers)
        store = Store(Path(path))
        assert [r[0] for r in store.conn.execute("SELECT version FROM _migrations ORDER BY version")] == list(
            range(1, store.schema_version + 1)
        )
        store.close()
    found = []
    while not failures.empty():
        found.append(failures.get())
    assert found == [], f"{len(found)} of 30 opens failed, first: {found[0]}"


def test_first_packs_on_an_empty_cache_all_succeed(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\n")
    env = {**os.environ, "SCOUT_CACHE_DIR": str(tmp_path / "cache")}
    procs = [
        subprocess.Popen(
            [EXE, "pack", str(tmp_path / "src"), "--json"],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    results = [(proc.wait(120), proc.stderr.read()) for proc in procs]
    for proc in procs:
        proc.stdout.close()
        proc.stderr.close()
    assert [code for code, _ in results] == [0] * 4, results


# --- 14: store faults are one line ------------------------------------------------------


@pytest.fixture
def small_source(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.py").write_text("def f():\n    return 1\n")
    return source


def _pack(source: Path, cache: Path, **popen) -> subprocess.CompletedProcess:
    env = {**os.environ, "SCOUT_CACHE_DIR": str(cache)}
    return subprocess.run(
        [EXE, "pack", str(source), "--json"], capture_output=True, text=True, env=env, timeout=300, **popen
    )


def _damaged_store(cache: Path, source: Path, damage) -> bytes:
    """A real store made by a pack, then damaged by `damage(original bytes)`."""
    assert _pack(source, cache).returncode == 0
    Store(cache / "store.db").close()  # checkpointed: the whole store is in store.db
    for extra in ("store.db-wal", "store.db-shm"):
        (cache / extra).unlink(missing_ok=True)
    bad = damage((cache / "store.db").read_bytes())
    (cache / "store.db").write_bytes(bad)
    return bad


@pytest.mark.parametrize(
    "damage", [lambda data: data[:100], lambda data: os.urandom(8192)], ids=["truncated", "garbage"]
)
def test_a_damaged_store_is_moved_aside_and_rebuilt(tmp_path, small_source, damage):
    cache = tmp_path / "cache"
    bad = _damaged_store(cache, small_source, damage)
    proc = _pack(small_source, cache)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"] == ["a.py"]
    [moved] = [p for p in cache.iterdir() if p.name.startswith("store.db.corrupt-")]
    assert moved.read_bytes() == bad  # nothing is lost: the old file is kept, and the message says where
    [notice] = [line for line in proc.stderr.splitlines() if "store.db" in line]
    assert str(cache / "store.db") in notice and moved.name in notice and "Traceback" not in proc.stderr
    again = _pack(small_source, cache)
    assert again.returncode == 0 and "store.db" not in again.stderr
    assert json.loads(again.stdout)["cache"] == {"analysed": 0, "reused": 1}


def test_a_cache_folder_that_cannot_be_created_is_one_line(tmp_path, small_source):
    (tmp_path / "file").write_text("not a folder\n")
    proc = _pack(small_source, tmp_path / "file" / "cache")
    assert proc.returncode == StoreError.exit_code
    line = one_line_error(proc)
    assert str(tmp_path / "file" / "cache") in line and "SCOUT_CACHE_DIR" in line


def _mounted(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def test_a_read_only_cache_folder_is_one_line(tmp_path, small_source):
    """A read-only bind mount (root ignores file modes, not a read-only mount)."""
    cache = tmp_path / "cache"
    assert _pack(small_source, cache).returncode == 0  # an existing store
    if not _mounted("--bind", str(cache), str(cache)):
        pytest.skip("no permission to mount here")
    try:
        assert _mounted("-o", "remount,bind,ro", str(cache))
        proc = _pack(small_source, cache)
    finally:
        subprocess.run(["umount", str(cache)], check=True)
    assert proc.returncode == StoreError.exit_code, proc.stderr
    line = one_line_error(proc)
    assert str(cache / "store.db") in line and "SCOUT_CACHE_DIR" in line
    assert _pack(small_source, cache).returncode == 0  # writable again: nothing was lost


def _big_source(root: Path) -> Path:
    """About 2 MB of distinct text: more than the small disks below hold."""
    root.mkdir()
    for i in range(200):
        (root / f"m{i:03d}.py").write_text("".join(f"value_{i}_{j} = {j * 7919 % 104729}\n" for j in range(600)))
    return root


def test_a_full_disk_is_one_line_and_the_store_survives(tmp_path, small_source):
    """A real full disk: a 1 MiB tmpfs (mounting needs privileges; skipped without)."""
    cache = tmp_path / "cache"
    cache.mkdir()
    if not _mounted("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(cache)):
        pytest.skip("no permission to mount a tmpfs here")
    try:
        assert _pack(small_source, cache).returncode == 0
        proc = _pack(_big_source(tmp_path / "big"), cache)
        assert proc.returncode == StoreError.exit_code, proc.stderr
        line = one_line_error(proc)
        assert str(cache / "store.db") in line and "full" in line
        again = _pack(small_source, cache)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["cache"]["reused"] == 1  # what was stored before is still there
    finally:
        subprocess.run(["umount", str(cache)], check=True)


def test_a_file_size_limit_is_one_line_and_the_store_survives(tmp_path, small_source):
    """RLIMIT_FSIZE stands in for a full disk where mounting is not allowed: writes past
    it fail with EFBIG (Python ignores SIGXFSZ), which SQLite reports as an I/O error."""
    cache = tmp_path / "cache"
    assert _pack(small_source, cache).returncode == 0
    limit = (cache / "store.db").stat().st_size + 256 * 1024

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = _pack(_big_source(tmp_path / "big"), cache, preexec_fn=cap)
    assert proc.returncode == StoreError.exit_code, proc.stderr
    line = one_line_error(proc)
    assert str(cache / "store.db") in line and "SCOUT_CACHE_DIR" in line
    again = _pack(small_source, cache)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["cache"]["reused"] == 1


def test_store_error_has_a_documented_exit_code():
    assert StoreError.exit_code in EXIT_CODES and issubclass(StoreError, ScoutError)
