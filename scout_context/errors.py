"""Errors a user can cause: each has a one-line message and a documented exit code."""

from __future__ import annotations


class ScoutError(Exception):
    """Base class: the CLI prints `str(error)` on one line and exits with `exit_code`."""

    exit_code = 1


class UsageError(ScoutError):
    """Bad arguments, a source that does not exist, an invalid job file."""

    exit_code = 2


class EngineUnreachable(ScoutError):
    """The engine is down or cannot be reached."""

    exit_code = 3


class ContextTooLarge(ScoutError):
    """The prompt does not fit the budget or the engine's context, even after fitting."""

    exit_code = 4


class PublishError(ScoutError):
    """Publishing a result (a PR comment, a step summary) failed."""

    exit_code = 5


class AuthError(ScoutError):
    """The server rejected the API key or token."""

    exit_code = 6


class ModelMissing(ScoutError):
    """The model is not present locally or not served by the server."""

    exit_code = 7


class EngineOutOfMemory(ScoutError):
    """The engine ran out of memory while starting or running."""

    exit_code = 8


class StoreError(ScoutError):
    """The cache store cannot be used: damaged, read-only, or on a full disk."""

    exit_code = 9


EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "internal error (a bug: please report it)",
    UsageError.exit_code: "usage error: bad arguments or a source that does not exist",
    EngineUnreachable.exit_code: "engine unreachable",
    ContextTooLarge.exit_code: "context too large for the budget or the engine",
    PublishError.exit_code: "publishing failed",
    AuthError.exit_code: "authentication rejected",
    ModelMissing.exit_code: "model missing",
    EngineOutOfMemory.exit_code: "engine out of memory",
    StoreError.exit_code: "the cache store cannot be used (damaged, read-only or on a full disk)",
}
