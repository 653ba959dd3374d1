"""Hostile repositories: a repository's own git configuration runs nothing, a symlink
cannot pull a file from outside the source into a pack, and a pull request cannot hide
its changes by marking a file generated.

Every attack uses a real repository, the installed `scout-context` command, and a local
stand-in for vLLM's API; a program the repository names would touch a marker file
outside it, and no test may find that marker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fake_vllm import KEY, PIECES, FakeVllm
from helpers import git, serving, write
from scout_context.sources import git as inert

EXE = shutil.which("scout-context", path=os.path.dirname(sys.executable)) or "scout-context"
APP = "def total(items):\n    return sum(items)\n"
CHANGED_APP = "def total(items):\n    return sum(items) + 1\n"
# Every hook git 2.39 knows: any of them in `.git/hooks` (or core.hooksPath) must stay idle.
HOOKS = (
    "applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit", "prepare-commit-msg",
    "commit-msg", "post-commit", "pre-rebase", "post-checkout", "post-merge", "pre-push", "pre-receive", "update",
    "proc-receive", "post-receive", "post-update", "reference-transaction", "push-to-checkout", "pre-auto-gc",
    "post-rewrite", "sendemail-validate", "fsmonitor-watchman", "post-index-change",
)  # fmt: skip


@pytest.fixture
def vllm() -> Iterator[ThreadingHTTPServer]:
    with serving(FakeVllm, pieces=PIECES) as httpd:
        yield httpd


class Unauthorized(BaseHTTPRequestHandler):
    """A git server over HTTP that asks for credentials, so a fetch reaches the credential helper."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=300)


def cli_env(vllm: ThreadingHTTPServer) -> dict[str, str]:
    """The caller's environment without anything that would answer a prompt for git."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SCOUT_BASE", "SCOUT_API", "SCOUT_MODEL"))
    }
    for key in ("GIT_ASKPASS", "SSH_ASKPASS", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_PROXY_COMMAND", "GIT_ALLOW_PROTOCOL"):
        env.pop(key, None)
    env.update({"SCOUT_BASE_URL": f"http://127.0.0.1:{vllm.server_port}/v1", "SCOUT_API_KEY": KEY})
    return env


def one_line(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def two_branches(repo: Path) -> Path:
    """main with `app.py`; feature changes it and adds `lib.py`; main checked out."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    write(repo, {"app.py": APP, "README.md": "# App\n"})
    commit_all(repo, "initial")
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, {"app.py": CHANGED_APP, "lib.py": "VALUE = 1\n"})
    commit_all(repo, "Add one")
    git(repo, "checkout", "-q", "main")
    return repo


def sign(repo: Path, armor: str) -> None:
    """Give feature's commit a (bogus) signature of the given armor, so that showing it
    with signatures would call the matching verification program."""
    raw = git(repo, "cat-file", "commit", "feature")
    header, _, message = raw.partition("\n\n")
    signature = "\n ".join([f"-----BEGIN {armor}-----", "", "AAAA", f"-----END {armor}-----"])
    signed = subprocess.run(
        ["git", "-C", str(repo), "hash-object", "-t", "commit", "-w", "--stdin"],
        input=f"{header}\ngpgsig {signature}\n\n{message}",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    git(repo, "update-ref", "refs/heads/feature", signed)


@dataclass(frozen=True)
class Attack:
    """Configuration a stranger's repository carries; `{script}` is a program that touches
    the marker, `{url}` a git server over HTTP that asks for credentials. A `partial`
    repository is a blob-less clone whose pull request blobs git would fetch on demand
    (from `remote.origin`, as the repository configures it)."""

    name: str
    config: dict[str, str] = field(default_factory=dict)
    partial: bool = False
    signature: str = ""  # armor of a signature on the pull request's commit
    hooks: str = ""  # "config": core.hooksPath names a folder of hooks; "repository": in .git/hooks
    alternates: bool = False  # an alternate object store (fetching lists its refs)
    attributes: bool = True  # .git/info/attributes names the drivers `evil` for every path
    control: tuple[str, ...] = ()  # a git command that runs the program (LAZY for a partial one)

    def __post_init__(self) -> None:
        if self.partial and not self.control:
            object.__setattr__(self, "control", LAZY)


LAZY = ("cat-file", "-p", "feature:lib.py")  # a blob the blob-less clone lacks
ATTACKS = [
    Attack("core.fsmonitor", {"core.fsmonitor": "{script}"}, control=("status",)),
    Attack("include.path", {"include.path": "{included}"}, control=("status",)),  # core.fsmonitor, included
    Attack("included driver", {"include.path": "{included_driver}"}, control=("diff", "main", "feature")),
    Attack("core.hooksPath", hooks="config", control=("commit", "--allow-empty", "-m", "hooked")),
    Attack(".git/hooks", hooks="repository", control=("commit", "--allow-empty", "-m", "hooked")),
    Attack("diff.external", {"diff.external": "{script}"}, control=("diff", "main", "feature")),
    Attack("diff.<driver>.textconv", {"diff.evil.textconv": "{script}"}, control=("diff", "main", "feature")),
    Attack("diff.<driver>.command", {"diff.evil.command": "{script}"}, control=("diff", "main", "feature")),
    Attack("filter.<driver>.clean", {"filter.evil.clean": "{script}"}, control=("hash-object", "app.py")),
    Attack(
        "filter.<driver>.smudge",
        {"filter.evil.smudge": "{script}"},
        control=("cat-file", "--filters", "feature:app.py"),
    ),
    Attack(
        "filter.<driver>.process",
        {"filter.evil.process": "{script}"},
        control=("cat-file", "--filters", "feature:app.py"),
    ),
    Attack("merge.<driver>.driver", {"merge.evil.driver": "{script}"}),  # no read merges
    Attack("core.pager", {"core.pager": "{script}"}),  # pagers need a terminal
    Attack("pager.<command>", {"pager.log": "{script}", "pager.diff": "{script}", "pager.show": "{script}"}),
    Attack(
        "core.editor", {"core.editor": "{script}", "sequence.editor": "{script}"}, control=("commit", "--allow-empty")
    ),
    Attack(
        "gpg.program",
        {"gpg.program": "{script}", "log.showSignature": "true"},
        signature="PGP SIGNATURE",
        control=("log", "-1", "feature"),
    ),
    Attack(
        "gpg.x509.program",
        {"gpg.x509.program": "{script}", "log.showSignature": "true"},
        signature="SIGNED MESSAGE",
        control=("log", "-1", "feature"),
    ),
    Attack(
        "gpg.ssh.program",
        {"gpg.ssh.program": "{script}", "gpg.ssh.allowedSignersFile": "{script}", "log.showSignature": "true"},
        signature="SSH SIGNATURE",
        control=("log", "-1", "feature"),
    ),
    Attack("protocol.ext.allow", {"remote.origin.url": "ext::{script}", "protocol.ext.allow": "always"}, partial=True),
    Attack("protocol.allow", {"remote.origin.url": "ext::{script}", "protocol.allow": "always"}, partial=True),
    Attack(
        "core.sshCommand",
        {"remote.origin.url": "ssh://example.invalid/repo", "core.sshCommand": "{script}"},
        partial=True,
    ),
    Attack(
        "core.gitProxy", {"remote.origin.url": "git://example.invalid/repo", "core.gitProxy": "{script}"}, partial=True
    ),
    Attack("remote.<name>.uploadpack", {"remote.origin.uploadpack": "{script}"}, partial=True),
    Attack(
        "remote.<name>.vcs and alias", {"remote.origin.vcs": "evil", "alias.remote-evil": "!{script}"}, partial=True
    ),
    Attack("credential.helper", {"remote.origin.url": "{url}", "credential.helper": "{script}"}, partial=True),
    Attack(
        "credential.<url>.helper", {"remote.origin.url": "{url}", "credential.{url}.helper": "{script}"}, partial=True
    ),
    Attack("core.askPass", {"remote.origin.url": "{url}", "core.askPass": "{script}"}, partial=True),
    Attack("core.alternateRefsCommand", {"core.alternateRefsCommand": "{script}"}, partial=True, alternates=True),
]


def hostile_repository(tmp_path: Path, attack: Attack, script: Path, url: str) -> Path:
    """A repository with two branches, configured as `attack` says."""
    if attack.partial:
        origin = two_branches(tmp_path / "origin")
        git(origin, "config", "uploadpack.allowFilter", "true")
        repo = tmp_path / "repo"
        clone = ["git", "clone", "-q", "--filter=blob:none", f"file://{origin}", str(repo)]
        subprocess.run(clone, check=True, capture_output=True)
        git(repo, "branch", "feature", "origin/feature")  # its new blobs stay missing until fetched
    else:
        repo = two_branches(tmp_path / "repo")
    if attack.signature:
        sign(repo, attack.signature)
    if attack.attributes:
        (repo / ".git" / "info").mkdir(exist_ok=True)
        (repo / ".git" / "info" / "attributes").write_text("* diff=evil filter=evil merge=evil\n")
    if attack.alternates:
        other = tmp_path / "other"
        other.mkdir()
        git(other, "init", "-q")
        write(other, {"other.txt": "another project\n"})
        commit_all(other, "other")
        (repo / ".git" / "objects" / "info" / "alternates").write_text(f"{other / '.git' / 'objects'}\n")
    if attack.hooks:
        hooks = tmp_path / "outside" / "hooks" if attack.hooks == "config" else repo / ".git" / "hooks"
        hooks.mkdir(parents=True, exist_ok=True)
        for name in HOOKS:
            shutil.copy(script, hooks / name)
        if attack.hooks == "config":
            git(repo, "config", "core.hooksPath", str(hooks))
    included, included_driver = tmp_path / "outside" / "included.cfg", tmp_path / "outside" / "driver.cfg"
    included.write_text(f"[core]\n\tfsmonitor = {script}\n")
    included_driver.write_text(f'[diff "evil"]\n\tcommand = {script}\n')
    fill = {"script": str(script), "url": url, "included": str(included), "included_driver": str(included_driver)}
    for key, value in attack.config.items():
        git(repo, "config", key.format(**fill), value.format(**fill))
    return repo


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_a_repository_configuration_runs_nothing(attack: Attack, tmp_path: Path, vllm: ThreadingHTTPServer) -> None:
    """`pack` and `pr` on a repository whose configuration names a program for git to run:
    the program never runs, and what can be read is (a blob-less clone cannot fetch what
    it lacks, so `pr` stops with one line)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    marker = outside / "ran"
    script = outside / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    script.chmod(0o755)
    with serving(Unauthorized) as http:
        repo = hostile_repository(tmp_path, attack, script, f"http://127.0.0.1:{http.server_port}/repo.git")
        env = cli_env(vllm)
        out = tmp_path / "pack.txt"
        packed = cli("pack", str(repo), "-o", str(out), env=env)
        assert not marker.exists(), f"pack ran the repository's {attack.name}"
        assert packed.returncode == 0, packed.stderr
        assert "return sum(items)" in out.read_text()
        summary = cli(
            "pr", str(repo), "--base", "main", "--head", "feature", "--engine", "openai", "--format", "json", env=env
        )
        assert not marker.exists(), f"pr ran the repository's {attack.name}"
        if attack.control:  # the same command through the inert helper, then plainly
            attempt(inert.command(repo, *attack.control), inert.environment(repo))
            assert not marker.exists(), f"git ran the repository's {attack.name} through the helper"
            attempt(["git", "-C", str(repo), *attack.control], env)
            assert marker.exists(), f"the attack on {attack.name} is not real: plain git did not run it"
    if attack.partial:
        assert summary.returncode == 2 and "git" in one_line(summary), summary.stderr
    else:
        assert summary.returncode == 0, summary.stderr
        assert json.loads(summary.stdout)["walkthrough"]


IDENTITY = (("NAME", "t"), ("EMAIL", "t@example.com"))


def attempt(argv: list[str], env: dict[str, str]) -> None:
    """Run a git command as a git older than 2.39.4 would (it fetches what it lacks on
    its own), never waiting for a prompt; its outcome does not matter, only its effects."""
    identity = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER") for what, value in IDENTITY}
    subprocess.run(
        argv, env={**env, **identity, "GIT_NO_LAZY_FETCH": "0", "GIT_TERMINAL_PROMPT": "0"},
        stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False,
    )  # fmt: skip


# --- symlinks: nothing outside the source root gets into a pack ---------------------------

SECRET = "OUTSIDE-SECRET-7f3a9c"


def outside_folder(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text(f"{SECRET}\n")
    (outside / "rules").write_text("*.py\n")
    return outside


def pack_json(*args: str) -> tuple[dict[str, Any], str]:
    """`pack --json` of `args`: the report and the packed text."""
    out = Path(args[0]).parent / "packed.txt"
    proc = cli("pack", *args, "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), out.read_text()


def test_a_symlinked_folder_in_a_tracked_path_pulls_nothing_from_outside(make_repo, tmp_path: Path) -> None:
    """`sub/secret.txt` and `logs/keep.txt` (ignored, but tracked) are committed; then
    `sub` and `logs` become symlinks to a folder outside: git still lists both paths,
    and neither may be read through the link."""
    outside = outside_folder(tmp_path)
    repo = make_repo({"app.py": APP, "sub/secret.txt": "committed\n", ".gitignore": "logs/\n"})
    write(repo, {"logs/keep.txt": "committed log\n"})
    git(repo, "add", "-f", "logs/keep.txt")
    git(repo, "commit", "-q", "-m", "logs")
    for name in ("sub", "logs"):
        shutil.rmtree(repo / name)
        (repo / name).symlink_to(outside, target_is_directory=True)
    report, text = pack_json(str(repo))
    assert SECRET not in text
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert skipped["sub/secret.txt"] == skipped["logs/keep.txt"] == "path leaves the source through a symlink"
    assert "return sum(items)" in text


def test_a_symlink_to_etc_does_not_put_passwd_in_the_pack(make_repo) -> None:
    first_line = Path("/etc/passwd").read_text().splitlines()[0]
    repo = make_repo({"app.py": APP, "sub/passwd": "not really\n"})
    shutil.rmtree(repo / "sub")
    (repo / "sub").symlink_to("/etc", target_is_directory=True)
    report, text = pack_json(str(repo))
    assert first_line not in text
    assert {"path": "sub/passwd", "reason": "path leaves the source through a symlink"} in report["skipped"]


def test_a_symlink_inside_the_source_still_packs(make_repo) -> None:
    repo = make_repo({"app.py": APP, "real/notes.txt": "inside the source\n"})
    (repo / "alias").symlink_to(repo / "real", target_is_directory=True)
    (repo / "link.txt").symlink_to("real/notes.txt")
    report, text = pack_json(str(repo))
    assert "link.txt" in report["files"] and text.count("inside the source") == 2


def test_without_git_a_symlinked_folder_is_not_entered(tmp_path: Path) -> None:
    outside = outside_folder(tmp_path)
    source = tmp_path / "plain"
    write(source, {"app.py": APP})
    (source / "sub").symlink_to(outside, target_is_directory=True)
    (source / "secret.txt").symlink_to(outside / "secret.txt")
    report, text = pack_json(str(source))
    assert SECRET not in text
    assert {"path": "secret.txt", "reason": "symlink pointing outside the source"} in report["skipped"]


def test_ignore_files_are_not_read_through_a_symlink(make_repo, tmp_path: Path) -> None:
    """A `.scoutignore` (or, outside git, a `.gitignore`) that links out of the source is
    not read: its target could be anything (a file's rules, `/dev/zero`). Git does not
    follow a symlinked `.gitignore` either."""
    outside = outside_folder(tmp_path)  # `rules` there says `*.py`
    repo = make_repo({"app.py": APP})
    (repo / ".scoutignore").symlink_to(outside / "rules")
    plain = tmp_path / "plain"
    write(plain, {"app.py": APP})
    (plain / ".gitignore").symlink_to(outside / "rules")
    for source in (repo, plain):
        report, _text = pack_json(str(source))
        assert "app.py" in report["files"], source


def test_a_file_named_on_the_command_line_may_be_anywhere(tmp_path: Path) -> None:
    """The user named it: a file outside any source, or a link to one, is read."""
    outside = outside_folder(tmp_path)
    (tmp_path / "named.txt").symlink_to(outside / "secret.txt")
    for named in (outside / "secret.txt", tmp_path / "named.txt"):
        _, text = pack_json(str(named))
        assert SECRET in text


def test_a_chat_export_folder_does_not_follow_a_linked_channel(tmp_path: Path) -> None:
    slack = shutil.copytree(Path(__file__).parent / "fixtures" / "chat" / "slack", tmp_path / "acme")
    channel = tmp_path / "outside" / "channel"
    channel.mkdir(parents=True)
    message = {"type": "message", "user": "U1", "text": SECRET, "ts": "1710400000.000100"}
    (channel / "2024-03-14.json").write_text(json.dumps([message]))
    (slack / "leak").symlink_to(channel, target_is_directory=True)
    _, text = pack_json(str(slack))
    assert SECRET not in text and "general" in text


def test_pr_reads_git_objects_never_the_work_tree(make_repo, tmp_path: Path, vllm: ThreadingHTTPServer) -> None:
    """The pull request's `sub/secret.txt` is committed; in the work tree `sub` links out
    of the repository. `pr` sends the committed text, never the linked one."""
    outside = outside_folder(tmp_path)
    repo = make_repo({"app.py": APP, "sub/secret.txt": "base text\n"})
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, {"sub/secret.txt": "committed text\n"})
    commit_all(repo, "change")
    shutil.rmtree(repo / "sub")
    (repo / "sub").symlink_to(outside, target_is_directory=True)
    proc = cli("pr", str(repo), "--base", "main", "--engine", "openai", "--format", "json", env=cli_env(vllm))
    assert proc.returncode == 0, proc.stderr
    [prompt] = [body["prompt"] for path, body in vllm.requests if path == "/v1/completions"]  # type: ignore[attr-defined]
    assert "committed text" in prompt and SECRET not in prompt


# --- a pull request cannot hide its changes behind a "generated" mark --------------------

TABLE = "# @generated by tablegen. Do not edit.\nTABLE = [1, 2, 3]\n"
HELPERS = "".join(f"def helper_{n}():\n    return {n}\n\n\n" for n in range(8))


def test_a_pull_request_cannot_hide_changes_by_marking_a_file_generated(make_repo, vllm: ThreadingHTTPServer) -> None:
    """Only the base decides what is generated: a mark the pull request adds (to a file
    it changes, or to a file it creates) hides nothing, nor does renaming a file to a
    generated name or removing the mark; a new file with a generated name is reviewed
    after the rest; a file generated at the base and still marked stays summarized."""
    repo = make_repo({"app.py": APP, "helpers.py": HELPERS, "gen/table.py": TABLE, "gen/unmarked.py": TABLE})
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "mv", "helpers.py", "helpers_pb2.py")
    write(repo, {
        "app.py": "# @generated - do not edit\n" + APP.replace("sum(items)", "sum(items) + STEAL_APP"),
        "tool.py": "# Code generated by hand. DO NOT EDIT.\nSTEAL_NEW = open('/etc/shadow').read()\n",
        "extra_pb2.py": "STEAL_NEW_GENERATED_NAME = 1\n",
        "helpers_pb2.py": HELPERS.replace("return 3", "return STEAL_RENAMED"),
        "gen/table.py": TABLE.replace("3]", "3, 4]  # REGENERATED"),
        "gen/unmarked.py": "TABLE = [1, 2, 3]\nSTEAL_UNMARKED = 1\n",
    })  # fmt: skip
    commit_all(repo, "Regenerate")
    proc = cli("pr", str(repo), "--base", "main", "--engine", "openai", "--format", "json", env=cli_env(vllm))
    assert proc.returncode == 0, proc.stderr
    [prompt] = [body["prompt"] for path, body in vllm.requests if path == "/v1/completions"]  # type: ignore[attr-defined]
    diff = prompt.split("</changes>", 1)[1]
    assert "+    3     return sum(items) + STEAL_APP" in diff
    assert "STEAL_NEW = open(" in diff and "+    2 STEAL_UNMARKED = 1" in diff
    assert "return STEAL_RENAMED" in diff and "R helpers_pb2.py from helpers.py" in prompt
    assert diff.index("STEAL_NEW = open(") < diff.index("STEAL_NEW_GENERATED_NAME")  # reviewed, after the rest
    assert "M gen/table.py (+1 -1): generated" in prompt and "REGENERATED" not in prompt
    listed = prompt.split("<changes", 1)[1].split("</changes>", 1)[0].splitlines()[1:]
    summarized = {line.split(" ")[1] for line in listed if line.endswith(": generated")}
    assert summarized == {"gen/table.py"}, listed
    not_analysed = {row["item"] for row in json.loads(proc.stdout)["not_analysed"]}
    assert "gen/table.py" in not_analysed
    assert not {"app.py", "tool.py", "extra_pb2.py", "helpers_pb2.py", "gen/unmarked.py"} & not_analysed


@pytest.mark.parametrize("fifo", [".git/info/exclude", ".git/config"])
def test_a_fifo_where_git_reads_stops_git_not_the_pack(tmp_path: Path, fifo: str) -> None:
    """git blocks forever opening a FIFO it reads as a file; the source is still read (as a
    folder without git), in a real process whose git limit is lowered to 2 s."""
    repo = tmp_path / "repo"
    write(repo, {"app.py": APP, "notes.md": "# notes\n"})
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    os.unlink(repo / fifo)
    os.mkfifo(repo / fifo)
    script = (
        "import sys; from scout_context.sources import git; git.TIMEOUT_S = 2.0\n"
        "from scout_context.sources.files import collect\n"
        "files, skipped = collect(sys.argv[1], max_file_bytes=10**6); print(sorted(f.rel for f in files))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(repo)], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "['app.py', 'notes.md']"
