"""GitHub for `pr`: what Actions tells a step, and the few REST calls the bot makes (list,
create and update issue comments; read a linked issue; ask who the token is). The token
travels only in the Authorization header, is never sent to another host (a next-page link
elsewhere is refused, not followed), and is scrubbed from every message.

A reply that is not what the API promises (not JSON, a comment list that is not a list of
objects) is a `PublishError` (exit 5), like a refusal or a timeout; fields of a comment
that are missing or of another type read as empty.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import PublishError, UsageError
from ..http_replies import media_type

DEFAULT_API_URL = "https://api.github.com"
GITHUB_TIMEOUT_S = 30.0
"""The longest wait for GitHub's next bytes."""
ACTIONS_BOT = "github-actions[bot]"
"""Who writes the comments of a workflow's GITHUB_TOKEN."""
MAX_PAGES = 50
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Actions:
    """The GitHub Actions environment of this step; `active` is False anywhere else."""

    active: bool = False
    event: dict[str, Any] = field(default_factory=dict)
    repository: str = ""
    api_url: str = DEFAULT_API_URL
    server_url: str = "https://github.com"
    token: str = field(default="", repr=False)
    step_summary: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Actions:
        """Read GITHUB_* variables and the event file (GITHUB_EVENT_PATH)."""
        event: object = {}  # the event file's JSON, checked below
        path = env.get("GITHUB_EVENT_PATH", "")
        if path:
            try:
                with open(path, encoding="utf-8") as handle:
                    event = json.load(handle)
            except (OSError, ValueError) as error:
                raise UsageError(f"cannot read the GitHub event file {path}: {error}") from None
        return cls(
            active=env.get("GITHUB_ACTIONS") == "true",
            event=event if isinstance(event, dict) else {},
            repository=env.get("GITHUB_REPOSITORY", ""),
            api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
            server_url=(env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
            token=env.get("GITHUB_TOKEN", ""),
            step_summary=env.get("GITHUB_STEP_SUMMARY", ""),
        )

    @property
    def pull_request(self) -> dict[str, Any]:
        """The event's pull request (`pull_request` and `pull_request_target` events)."""
        found = self.event.get("pull_request")
        return found if isinstance(found, dict) else {}


def is_bot(comment: Mapping[str, Any]) -> bool:
    """Whether a comment (as `GitHub.comments` gives it) was written by an app's account."""
    user = comment["user"]
    return user["type"] == "Bot" or user["login"].endswith("[bot]")


class GitHub:
    """The REST calls on one repository's issues and pull requests."""

    def __init__(
        self, token: str, repository: str, api_url: str = DEFAULT_API_URL, timeout_s: float = GITHUB_TIMEOUT_S
    ) -> None:
        if not token:
            raise UsageError("publishing to GitHub needs a token: set GITHUB_TOKEN")
        if not _REPOSITORY.fullmatch(repository or ""):
            raise UsageError(f"GITHUB_REPOSITORY must be owner/name, not {repository!r}")
        self.token = token
        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self.timeout_s = timeout_s
        self._client = httpx.Client(
            base_url=self.api_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "scout-context",
            },
            timeout=timeout_s,
            follow_redirects=False,
        )

    def comments(self, number: int) -> list[dict[str, Any]]:
        """Every comment on issue or pull request `number`, oldest first (all pages), each as
        {"id": int or None, "body": str, "user": {"login": str, "type": str}}."""
        found: list[dict[str, Any]] = []
        url = f"/repos/{self.repository}/issues/{number}/comments?per_page=100"
        for _ in range(MAX_PAGES):
            response = self._request("GET", url)
            page = self._json("GET", url, response)
            if not isinstance(page, list) or not all(isinstance(comment, dict) for comment in page):
                raise PublishError(f"GitHub API GET {self._path(url)} answered something else than a list of comments")
            found += [_comment(raw) for raw in page]
            following = response.links.get("next", {}).get("url")
            if not following:
                break
            if not self._on_api(following):  # the token goes to GitHub's API only
                raise PublishError(
                    f"GitHub API GET {self._path(url)}: its next page is not on {self.api_url}: not followed"
                )
            url = following
        return found

    def create_comment(self, number: int, body: str) -> dict[str, Any]:
        return self._object("POST", f"/repos/{self.repository}/issues/{number}/comments", {"body": body})

    def update_comment(self, comment_id: int, body: str) -> dict[str, Any]:
        return self._object("PATCH", f"/repos/{self.repository}/issues/comments/{comment_id}", {"body": body})

    def issue(self, number: int) -> dict[str, str]:
        """The issue's `title` and `body` (empty when missing)."""
        found = self._object("GET", f"/repos/{self.repository}/issues/{number}")
        return {"title": _text(found.get("title")), "body": _text(found.get("body"))}

    def own_login(self) -> str | None:
        """The token's account (GET /user), or None for an installation token (a workflow's
        GITHUB_TOKEN, a GitHub App's), which GET /user refuses ("Resource not accessible by
        integration")."""
        response = self._request("GET", "/user", refused_ok=True)
        if response.status_code >= 400:
            return None
        login = self._json("GET", "/user", response)
        login = login.get("login") if isinstance(login, dict) else None
        if not isinstance(login, str) or not login:
            raise PublishError("GitHub API GET /user answered without the token's login")
        return login

    def upsert_comment(self, number: int, body: str, marker: str) -> tuple[str, dict[str, Any]]:
        """Update this bot's own comment that starts with `marker` (the oldest), or create it:
        one comment per pull request however often this runs. Its own: written by the
        token's account when GET /user names it; for an installation token, by an app's
        account (type Bot, which no person can be), `github-actions[bot]` first. A person's
        comment is never updated, whatever it contains."""
        login = self.own_login()
        ours = [
            c for c in self.comments(number)
            if c["id"] is not None and c["body"].startswith(marker)
            and (c["user"]["login"] == login if login else c["user"]["type"] == "Bot")
        ]  # fmt: skip
        ours.sort(key=lambda c: c["user"]["login"] != ACTIONS_BOT)  # stable: the oldest first among equals
        if ours:
            return "updated", self.update_comment(ours[0]["id"], body)
        return "created", self.create_comment(number, body)

    def close(self) -> None:
        self._client.close()

    def _object(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON object a call answers; anything else is a `PublishError`."""
        found = self._json(method, url, self._request(method, url, body))
        if not isinstance(found, dict):
            raise PublishError(
                f"GitHub API {method} {self._path(url)} answered a JSON {type(found).__name__}, not an object"
            )
        return found

    def _json(self, method: str, url: str, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:  # also a body that is not UTF-8
            raise PublishError(
                f"GitHub API {method} {self._path(url)} answered {response.status_code} with a reply that is not JSON"
                f" ({media_type(response)})"
            ) from None

    def _request(
        self, method: str, url: str, body: dict[str, Any] | None = None, refused_ok: bool = False
    ) -> httpx.Response:
        """The response; a failure, or a refusal (4xx, 5xx) unless `refused_ok` allows a 4xx,
        is a `PublishError`."""
        path = self._path(url)
        try:
            response = self._client.request(method, url, json=body)
        except httpx.TimeoutException:
            raise PublishError(self.scrub(
                f"GitHub API {method} {self.api_url}{path} did not answer in time: nothing came for {self.timeout_s:g} s"
            )) from None  # fmt: skip
        except httpx.HTTPError as error:
            raise PublishError(self.scrub(f"GitHub API {method} {path} failed: {error}")) from None
        if response.status_code >= 400 and not (refused_ok and response.status_code < 500):
            hint = (
                " (the workflow needs `permissions: pull-requests: write`)"
                if response.status_code in (401, 403)
                else ""
            )
            message = _message(response)
            raise PublishError(
                self.scrub(f"GitHub API {method} {path} answered {response.status_code}: {message}{hint}")
            )
        return response

    def _path(self, url: str) -> str:
        """`url`'s path as messages name it: after the API's address, without the query."""
        path = httpx.URL(url).path if "://" in url else url.split("?")[0]
        return path.removeprefix(httpx.URL(self.api_url).path.rstrip("/"))

    def _on_api(self, link: str) -> bool:
        """Whether `link` is on the API's own scheme, host and port, under its path."""
        try:
            url, api = httpx.URL(link), httpx.URL(self.api_url)
        except httpx.InvalidURL:
            return False
        same = (url.scheme, url.host, url.port, url.userinfo) == (api.scheme, api.host, api.port, b"")
        return same and url.path.startswith(api.path.rstrip("/") + "/")

    def scrub(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text


def _comment(raw: dict[str, Any]) -> dict[str, Any]:
    """A listed comment with the fields the bot reads, each of its type (empty if not)."""
    user = value if isinstance(value := raw.get("user"), dict) else {}
    number = raw.get("id")
    return {
        "id": number if isinstance(number, int) and not isinstance(number, bool) else None,
        "body": _text(raw.get("body")),
        "user": {"login": _text(user.get("login")), "type": _text(user.get("type"))},
    }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return " ".join(response.text.split())[:200] or response.reason_phrase
    return str(payload.get("message", payload))[:200] if isinstance(payload, dict) else str(payload)[:200]
