"""Running git on a source, so that nothing the repository configures runs.

A source's repository was written by a stranger, and so was its configuration
(`.git/config` and every file it includes). Such configuration can name programs that git
starts on its own while only reading: an fsmonitor hook on every index read, hooks,
diff, textconv, clean/smudge and merge drivers, signature verifiers, pagers, editors,
and, when a blob-less clone fetches an object it lacks, an ssh command, a git proxy, an
upload-pack command, credential helpers, an askpass program, an alternate-refs command,
a remote helper or an alias standing in for one, or an `ext::` URL. Every git command
this package runs goes through `command` and `environment` (or `run`, which uses both):

- each key in `_INERT` is set to a value that runs nothing, and so is each key the
  repository's configuration holds (as git itself reports it, includes followed) whose
  name has an arbitrary part (a driver, a URL, an alias) and matches `_INERT_ANY`;
- no transport is allowed at all (`GIT_ALLOW_PROTOCOL` empty, `GIT_NO_LAZY_FETCH`):
  some of the keys a fetch obeys keep their first value (`remote.<name>.uploadpack`,
  `core.gitProxy`), so only refusing the fetch itself makes them inert (the one
  exception, `fetching_environment`, is for a repository we create: `sources.remote`);
- git never pages, prompts, reads replace refs or takes its repository from the
  caller's environment (`GIT_DIR` and the like), and speaks the C locale;
- git's standard input is empty unless a command feeds it: a configuration that includes
  `/dev/stdin` would otherwise wait on the caller's terminal or pipe;
- git is stopped after `TIMEOUT_S`: a FIFO where git reads a file (`.git/config`, an
  included file, `info/exclude`) blocks it forever, and nothing reading a local repository
  takes minutes. The stop is a `TimeoutError`, an `OSError` like git not starting at all.

Settings travel as GIT_CONFIG_COUNT/KEY/VALUE rather than `-c`: a subsection may contain
`=`, which `-c` cannot express, and child git processes inherit them. Callers add
`--no-ext-diff --no-textconv` to `diff` and `log`, and never ask for `--filters`.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

TIMEOUT_S = 120.0
"""The longest a git command on a source may run (see the module)."""
# Keys whose value is a program (or that turn one on), and the value that runs nothing.
_INERT: dict[str, str] = {
    "core.fsmonitor": "false",
    "core.hooksPath": os.devnull,
    "core.sshCommand": "",
    "core.askPass": "",
    "core.alternateRefsCommand": "",
    "core.editor": ":",  # git's own "no editor"
    "sequence.editor": ":",
    "credential.helper": "",  # an empty helper clears the list
    "diff.external": "",
    "gpg.program": "",
    "log.showSignature": "false",
    "protocol.allow": "never",
    "core.quotePath": "off",  # not for safety: paths come back unquoted
}
# (section, key) of keys with a subsection (or, for `alias`, any key) that run a program.
_INERT_ANY: dict[tuple[str, str], str] = {
    ("filter", "clean"): "",
    ("filter", "smudge"): "",
    ("filter", "process"): "",
    ("diff", "command"): "",
    ("diff", "textconv"): "",
    ("merge", "driver"): "",
    ("gpg", "program"): "",
    ("credential", "helper"): "",
    ("protocol", "allow"): "never",
    ("hook", "command"): "",  # hooks defined in configuration (git 2.54 and later)
    ("alias", "*"): "",  # a child git (a remote helper) would fall back to an alias
}
_ENV = {
    "GIT_ALLOW_PROTOCOL": "",  # an empty list: no transport, so nothing is ever fetched
    "GIT_PROTOCOL_FROM_USER": "0",
    "GIT_NO_LAZY_FETCH": "1",
    "GIT_PROXY_COMMAND": "",  # set, it wins over core.gitProxy; empty, it is no proxy
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_NO_REPLACE_OBJECTS": "1",
    "LC_ALL": "C",
}
# The caller's choice of repository, which must not replace the source's.
_LOCATION = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR", "GIT_NAMESPACE",
)  # fmt: skip


def command(repo: Path | str, *args: str) -> list[str]:
    """The argument list of `git <args>` run in `repo` (with `environment(repo)`)."""
    return ["git", "--no-pager", "-C", str(repo), *args]


def environment(repo: Path | str) -> dict[str, str]:
    """The environment for git in `repo`: the caller's, made inert (see the module)."""
    return _environment({**_INERT, **_configured(os.path.realpath(repo))})


def fetching_environment(repo: Path | str, allowed: str, settings: dict[str, str]) -> dict[str, str]:
    """`environment(repo)` with `settings` added, for fetching a remote repository: the
    transports in `allowed` (colon-separated) and the fetches a blob-less checkout makes."""
    env = _environment({**_INERT, **_configured(os.path.realpath(repo)), **settings})
    env.update(GIT_ALLOW_PROTOCOL=allowed, GIT_NO_LAZY_FETCH="0")
    return env


def _environment(settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LOCATION}
    env.update(_ENV)
    try:
        count = int(env.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    for n, (key, value) in enumerate(settings.items(), start=count):  # after the caller's own, so they win
        env[f"GIT_CONFIG_KEY_{n}"], env[f"GIT_CONFIG_VALUE_{n}"] = key, value
    env["GIT_CONFIG_COUNT"] = str(count + len(settings))
    return env


def run(repo: Path | str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """`git <args>` in `repo`, inert, its output captured; OSError when git cannot start or
    does not finish in `TIMEOUT_S`."""
    return _run(command(repo, *args), environment(repo), stdin)


def _run(argv: list[str], env: dict[str, str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            argv, input=stdin, stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True, env=env, check=False, timeout=TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"git {argv[4]} did not finish in {TIMEOUT_S:g} s (a FIFO in the repository?)") from None


@functools.lru_cache(maxsize=64)
def _configured(repo: str) -> dict[str, str]:
    """The repository's keys that match `_INERT_ANY`, each with its inert value. Reading
    configuration runs nothing; a repository is read once per process."""
    try:
        listed = _run(command(repo, "config", "--list", "--includes", "--name-only", "-z"), _environment(_INERT))
    except TimeoutError:
        raise  # git did start: the commands that follow would block on the same file
    except OSError:
        return {}  # no git: nothing will run it either
    found: dict[str, str] = {}
    for raw in listed.stdout.split(b"\0"):
        name = os.fsdecode(raw.strip(b"\n"))
        section, _, rest = name.partition(".")
        middle, _, key = rest.rpartition(".")
        section, key = section.lower(), key.lower()
        value = (
            _INERT_ANY.get((section, "*")) if section == "alias" else _INERT_ANY.get((section, key)) if middle else None
        )
        if value is not None:
            found[name] = value
    return found
