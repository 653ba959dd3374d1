"""Remote repositories as sources: parsed, fetched once per commit, read from the cache.

Forms: `https://github.com/org/repo[.git]`, `…/tree/REF[/sub/folder]`, `gh:org/repo[@REF]`
(GitHub's host is `GITHUB_SERVER_URL` when set, as in GitHub Actions), and any other git
URL over https, ssh (`ssh://`, `git@host:org/repo`) or `file://`, with `#REF` for a ref.
Anything else that looks like a URL (`http://`, `ext::…`, another scheme) is refused.

`fetch` asks the remote which commit the ref names (`ls-remote`, no objects), and when
the cache (`<cache>/repos/<url hash>/<commit>[-<sub hash>]`) has that commit's checkout
already, fetches nothing. Otherwise it fetches that one commit, without history (depth 1)
and blobs only as the checkout (sparse: the subfolder alone) needs them, into a scratch
folder renamed into place when complete. The repository is a stranger's: git runs with
`sources.git`'s inert settings (no hooks, fsmonitor, filters, helpers or pagers from any
configuration), only the https, ssh and file transports, no prompts, and a time limit.
A `GITHUB_TOKEN` goes to GitHub's https host only, as an `http.<host>.extraHeader`
setting in git's environment for the commands that talk to it: never in an argument, the
clone's configuration or a message.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from ..errors import UsageError
from ..paths import cache_dir
from .git import command, fetching_environment

ALLOWED_PROTOCOLS = "https:ssh:file"
TIMEOUT_S = float(os.environ.get("SCOUT_GIT_TIMEOUT", "300"))
_NAME = r"[A-Za-z0-9_.-]+"
_GITHUB_PATH = re.compile(rf"/({_NAME})/({_NAME}?)(?:\.git)?/?(?:/tree/([^/]+)((?:/[^/]+)*)/?)?")
_GH_SHORT = re.compile(rf"gh:({_NAME})/({_NAME}?)(?:\.git)?(?:@(\S+))?")
_SCP_LIKE = re.compile(r"[\w.-]+@[\w.-]+:(?!//)\S+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*(://|::)")
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Remote:
    """A repository to fetch: its URL, the ref (None: the remote's HEAD), the subfolder
    wanted ("" for all), and its short name (`org/repo`)."""

    url: str
    ref: str | None
    sub: str
    name: str


def looks_remote(argument: str) -> bool:
    """Whether `argument` is meant as a remote (a URL, `gh:`, `user@host:path`) rather
    than a local path; a local path of that spelling wins."""
    if os.path.lexists(argument):
        return False
    return argument.startswith("gh:") or bool(_SCHEME.match(argument) or _SCP_LIKE.fullmatch(argument))


def parse_remote(argument: str) -> Remote:
    """`argument` (see `looks_remote`) as a Remote; UsageError for a form not supported."""
    github = _github()
    if short := _GH_SHORT.fullmatch(argument):
        org, repo, ref = short.groups()
        return Remote(f"{github}/{org}/{repo}.git", ref, "", f"{org}/{repo}")
    for base in dict.fromkeys((github, "https://github.com")):
        if argument.startswith(base + "/") and (match := _GITHUB_PATH.fullmatch(argument[len(base) :])):
            org, repo, ref, sub = match.groups()
            return Remote(f"{base}/{org}/{repo}.git", ref, _subfolder(sub or "", argument), f"{org}/{repo}")
    url, _, ref = argument.partition("#")
    scheme = urlsplit(url).scheme if "://" in url else ("ssh" if _SCP_LIKE.fullmatch(url) else "")
    if scheme not in ALLOWED_PROTOCOLS.split(":") or not url.split(":", 1)[1].strip("/"):
        raise UsageError(
            f"not a supported repository address: {argument} (https://github.com/ORG/REPO[/tree/REF/SUB], "
            "gh:ORG/REPO[@REF], or a git URL over https, ssh or file://, with #REF for a ref)"
        )
    parts = [p for p in PurePosixPath(url.split(":", 1)[1]).parts if p not in ("/", "")]
    name = "/".join(parts[-2:]).removesuffix(".git")
    return Remote(url, ref or None, "", name or "repo")


def fetch(remote: Remote, announce: Callable[[str], None] | None = None) -> tuple[Path, str]:
    """The local folder holding `remote` (its subfolder, when one is named) at the commit
    its ref names now, and the label to show it by (`org/repo@abc1234`). Fetches only when
    the cache lacks that commit; `announce` (a callable taking one line) hears which."""
    commit = _resolve(remote)
    folder_name = commit + (f"-{hashlib.sha256(remote.sub.encode()).hexdigest()[:8]}" if remote.sub else "")
    place = cache_dir() / "repos" / hashlib.sha256(remote.url.encode()).hexdigest()[:16] / folder_name
    label = f"{remote.name}@{commit[:7]}"
    if announce:
        announce(f"{label}: {'from the cache' if place.is_dir() else 'fetching (one commit, blobs as needed)'}")
    if not place.is_dir():
        _clone(remote, commit, place)
    folder = place / remote.sub if remote.sub else place
    if remote.sub and not os.path.realpath(folder).startswith(os.path.realpath(place) + os.sep):
        raise UsageError(f"{remote.sub} leaves the repository {label}")  # a committed symlink
    if not folder.is_dir():
        raise UsageError(f"no folder {remote.sub} in {label}")
    return folder, f"{label}/{remote.sub}" if remote.sub else label


def _subfolder(sub: str, argument: str) -> str:
    parts = [p for p in sub.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise UsageError(f"not a supported repository address: {argument} (a subfolder with . or ..)")
    return "/".join(parts)


def _resolve(remote: Remote) -> str:
    """The commit `remote.ref` names (a full commit id is taken as it is)."""
    if remote.ref and _COMMIT.fullmatch(remote.ref):
        return remote.ref
    wanted = remote.ref or "HEAD"
    listed = _git(remote, None, "ls-remote", "--", remote.url, wanted).decode("utf-8", "replace")
    refs = {name: sha for sha, _, name in (line.partition("\t") for line in listed.splitlines())}
    for name in (wanted, f"refs/heads/{wanted}", f"refs/tags/{wanted}^{{}}", f"refs/tags/{wanted}"):
        if name in refs and _COMMIT.fullmatch(refs[name]):
            return refs[name]
    if remote.ref is None:  # an empty repository, or a HEAD naming a branch it lacks
        raise UsageError(
            f"{remote.name} ({_shown(remote.url)}) has no default branch: name a ref (URL#REF, gh:org/repo@REF, …/tree/REF)"
        )
    raise UsageError(f"no branch or tag {wanted} in {remote.name} ({_shown(remote.url)})")


def _clone(remote: Remote, commit: str, place: Path) -> None:
    scratch = place.with_name(f".{place.name}.partial-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.parent.mkdir(parents=True, exist_ok=True)
    try:
        _git(remote, None, "init", "--quiet", str(scratch))
        _git(remote, scratch, "remote", "add", "origin", remote.url)
        _git(remote, scratch, "fetch", "--quiet", "--no-tags", "--depth", "1", "--filter=blob:none", "origin", commit)
        if remote.sub:
            _git(remote, scratch, "sparse-checkout", "set", "--", remote.sub)
        _git(remote, scratch, "checkout", "--quiet", "--detach", commit)
        try:
            os.rename(scratch, place)
        except OSError:
            if not place.is_dir():  # else another run put the same commit there first
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _git(remote: Remote, repo: Path | None, *args: str) -> bytes:
    """`git <args>` (in `repo`, or the cache folder), inert, fetching allowed; its stdout.
    UsageError, with git's last line, when it fails or runs out of time."""
    where = repo or cache_dir()
    env = fetching_environment(where, ALLOWED_PROTOCOLS, _settings(remote.url))
    try:
        done = subprocess.run(
            command(where, *args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=env,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"git {args[0]} of {_shown(remote.url)} took over {TIMEOUT_S:.0f} s (SCOUT_GIT_TIMEOUT)"
        ) from None
    except OSError as error:
        raise UsageError(f"cannot run git: {error}") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {done.returncode}"
        raise UsageError(f"cannot fetch {_shown(remote.url)}: git {args[0]}: {last.removeprefix('fatal: ')}")
    return done.stdout


def _settings(url: str) -> dict[str, str]:
    """The GitHub token (when set) as a header for GitHub's https host only."""
    github = _github()
    token = os.environ.get("GITHUB_TOKEN", "")
    if not (token and github.startswith("https://") and url.startswith(github + "/")):
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {f"http.{github}/.extraHeader": f"Authorization: Basic {basic}"}


def _github() -> str:
    """GitHub's address: `GITHUB_SERVER_URL` (set by GitHub Actions; GitHub Enterprise's)."""
    return os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")


def _shown(url: str) -> str:
    """`url` without any user or password in it."""
    parts = urlsplit(url)
    return url if "@" not in parts.netloc or "://" not in url else url.replace(parts.netloc, parts.hostname or "", 1)
