"""GitHub for `pr`: what Actions tells a step, and the few REST calls the bot makes (list,
create and update issue comments; read a linked issue). The token travels only in the
Authorization header, is never sent to another host, and is scrubbed from every message.
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

DEFAULT_API_URL = "https://api.github.com"
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
        event: dict[str, Any] = {}
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
    user = comment.get("user") or {}
    return user.get("type") == "Bot" or str(user.get("login", "")).endswith("[bot]")


class GitHub:
    """The REST calls on one repository's issues and pull requests."""

    def __init__(self, token: str, repository: str, api_url: str = DEFAULT_API_URL, timeout_s: float = 30.0) -> None:
        if not token:
            raise UsageError("publishing to GitHub needs a token: set GITHUB_TOKEN")
        if not _REPOSITORY.fullmatch(repository or ""):
            raise UsageError(f"GITHUB_REPOSITORY must be owner/name, not {repository!r}")
        self.token = token
        self.repository = repository
        self.api_url = api_url.rstrip("/")
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
        """Every comment on issue or pull request `number`, oldest first (all pages)."""
        found: list[dict[str, Any]] = []
        url: str | None = f"/repos/{self.repository}/issues/{number}/comments?per_page=100"
        for _ in range(MAX_PAGES):
            if url is None:
                break
            response = self._request("GET", url)
            found += response.json()
            following = response.links.get("next", {}).get("url")
            url = following if following and following.startswith(self.api_url + "/") else None
        return found

    def create_comment(self, number: int, body: str) -> dict[str, Any]:
        return self._request("POST", f"/repos/{self.repository}/issues/{number}/comments", {"body": body}).json()

    def update_comment(self, comment_id: int, body: str) -> dict[str, Any]:
        return self._request("PATCH", f"/repos/{self.repository}/issues/comments/{comment_id}", {"body": body}).json()

    def issue(self, number: int) -> dict[str, Any]:
        return self._request("GET", f"/repos/{self.repository}/issues/{number}").json()

    def upsert_comment(self, number: int, body: str, marker: str) -> tuple[str, dict[str, Any]]:
        """Update the comment that starts with `marker` (a bot's first, the oldest first),
        or create it: one comment per pull request however often this runs."""
        ours = [c for c in self.comments(number) if str(c.get("body") or "").lstrip().startswith(marker)]
        ours.sort(key=lambda c: not is_bot(c))
        if ours:
            return "updated", self.update_comment(int(ours[0]["id"]), body)
        return "created", self.create_comment(number, body)

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, url: str, body: dict[str, Any] | None = None) -> httpx.Response:
        path = url.removeprefix(self.api_url).split("?")[0]
        try:
            response = self._client.request(method, url, json=body)
        except httpx.HTTPError as error:
            raise PublishError(self.scrub(f"GitHub API {method} {path} failed: {error or type(error).__name__}")) from None
        if response.status_code >= 400:
            hint = " (the workflow needs `permissions: pull-requests: write`)" if response.status_code in (401, 403) else ""
            message = _message(response)
            raise PublishError(self.scrub(f"GitHub API {method} {path} answered {response.status_code}: {message}{hint}"))
        return response

    def scrub(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text


def _message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return " ".join(response.text.split())[:200] or response.reason_phrase
    return str(payload.get("message", payload))[:200] if isinstance(payload, dict) else str(payload)[:200]
