"""Errors a user can cause: each has a one-line message and a documented exit code.

Each kind declares its exit code and what the code means in its class statement, which also
lists the code in `EXIT_CODES`; a narrower kind (`class PdfError(UsageError)`) keeps its
parent's code.
"""

from __future__ import annotations

from typing import Any, ClassVar

EXIT_CODES: dict[int, str] = {0: "success", 1: "internal error (a bug: please report it)"}
"""What each exit code means: filled in by each kind below as it is declared."""


class ScoutError(Exception):
    """Base class: the CLI prints `str(error)` on one line and exits with `exit_code`."""

    exit_code: ClassVar[int] = 1

    def __init_subclass__(cls, *, exit_code: int = 0, meaning: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if exit_code:
            cls.exit_code = exit_code
            EXIT_CODES[exit_code] = meaning


class UsageError(ScoutError, exit_code=2, meaning="usage error: bad arguments or a source that does not exist"):
    """Bad arguments, a source that does not exist, an invalid job file."""


class EngineUnreachable(ScoutError, exit_code=3, meaning="engine unreachable"):
    """The engine is down or cannot be reached."""


class ContextTooLarge(ScoutError, exit_code=4, meaning="context too large for the budget or the engine"):
    """The prompt does not fit the budget or the engine's context, even after fitting."""


class PublishError(ScoutError, exit_code=5, meaning="publishing failed"):
    """Publishing a result (a PR comment, a step summary) failed."""


class AuthError(ScoutError, exit_code=6, meaning="authentication rejected"):
    """The server rejected the API key or token."""


class ModelMissing(ScoutError, exit_code=7, meaning="model missing"):
    """The model is not present locally or not served by the server."""


class EngineOutOfMemory(ScoutError, exit_code=8, meaning="engine out of memory"):
    """The engine ran out of memory while starting or running."""


class StoreError(
    ScoutError, exit_code=9, meaning="the cache store cannot be used (damaged, read-only or on a full disk)"
):
    """The cache store cannot be used: damaged, read-only, or on a full disk."""


class UnsafeAnswer(
    ScoutError, exit_code=10, meaning="the guard (--guard) found the answer unsafe or its verdict unreadable"
):
    """Llama Guard did not find the answer safe: it is withheld unless --show-unsafe."""
