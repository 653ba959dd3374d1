"""`scout-context pr`: summarize a pull request, locally or as a CI bot.

Exit codes: 0 done, 2 usage error, 3 engine unreachable, 4 context too large even after
fitting, 5 publishing failed (6 to 8: the engine's own, see `errors.py`), 10 the guard
(`--guard`) did not find the summary safe; `--soft-fail`
turns 3 and above into a warning and exit 0, so the bot never blocks a merge, and turns a
missing server address (`--engine openai` without SCOUT_BASE_URL: a pull request from a fork
or Dependabot, which gets no secrets) into a notice and exit 0.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

import typer

from scout_context.engine.config import EngineConfig
from scout_context.engine.registry import open_engine
from scout_context.errors import PublishError, ScoutError, UnsafeAnswer, UsageError
from scout_context.guard.check import judged
from scout_context.guard.llama_guard import Verdict
from scout_context.output import write_output
from scout_context.store import Store
from scout_context.tasks.github import GITHUB_TIMEOUT_S, Actions, GitHub
from scout_context.tasks.pr import PullRequest, base_engine, summarize_pr
from scout_context.tasks.pr_report import MARKER, Report, as_json, render_markdown

from .config_defaults import SECTIONS, not_given
from .console import err_console, inert, json_text, markup
from .engine_options import MaxTokens, System, Timeout, Verbose
from .help_text import ACTIONS, CACHE, ENGINES, teaches
from .option_sets import EngineChoice, GuardChoice, HardwareChoice, SamplingChoice, ScreenChoice, with_option_sets
from .options import Exclude, Include, pack_options

FORMATS = ("markdown", "json")


@teaches(
    "scout-context pr . --base origin/main --head HEAD -o summary.md",
    "scout-context pr --comment --soft-fail  (in a GitHub Actions job)",
    environment=ENGINES | ACTIONS | CACHE,
)
@with_option_sets
def pr_command(
    repository: Annotated[Path, typer.Argument(help="The git repository (default: the current folder).")] = Path("."),
    base: Annotated[
        str | None,
        typer.Option(
            "--base", help="The branch or commit the pull request goes into (in GitHub Actions: the event's base sha)."
        ),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option("--head", help="The pull request's last commit (default: the event's head sha, else HEAD)."),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="markdown, or json with the same fields.")
    ] = "markdown",
    output: Annotated[str, typer.Option("--output", "-o", help="Write the summary to this file; - for stdout.")] = "-",
    comment: Annotated[
        bool,
        typer.Option(
            "--comment", help="Create or update the pull request's summary comment (GITHUB_TOKEN, GITHUB_REPOSITORY)."
        ),
    ] = False,
    step_summary: Annotated[
        bool | None,
        typer.Option(
            "--step-summary/--no-step-summary",
            help="Append to GITHUB_STEP_SUMMARY (on by default in GitHub Actions).",
            show_default=False,
        ),
    ] = None,
    soft_fail: Annotated[
        bool,
        typer.Option(
            "--soft-fail",
            help="Engine, context and publishing failures (exit 3 and above) become a warning and exit 0.",
        ),
    ] = False,
    number: Annotated[
        int | None, typer.Option("--pr", min=1, help="The pull request's number (default: the event's).")
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", help="The pull request's title (default: the event's).")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="The pull request's description (default: the event's).")
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option("--budget", min=1, help="Most prompt tokens (default: the engine's context less --max-tokens)."),
    ] = None,
    include: Include = None,
    exclude: Exclude = None,
    engine: EngineChoice = EngineChoice(),
    max_tokens: MaxTokens = 768,
    sampling: SamplingChoice = SamplingChoice(),
    timeout: Timeout = None,
    verbose: Verbose = False,
    hardware: HardwareChoice = HardwareChoice(),
    system: System = None,
    screening: ScreenChoice = ScreenChoice(),  # pr screens (fence) unless --screen=off
    guard: GuardChoice = GuardChoice(),
) -> None:
    """Summarize a pull request: the diff against the merge base, with the code around it.

    Markdown (or --format json): Summary, Walkthrough, Risk, Tests, Effort, Not analysed.

    The configuration comes from the base commit; no code of the pull request runs.

    With --guard, Llama Guard 4 reads the comment as it would be published; one it does not
    find safe is not published (written, commented or summarized) unless --show-unsafe, and
    the command exits 10 (a warning with --soft-fail).

    Exit codes: 0 done, 2 usage, 3 engine unreachable, 4 context too large, 5 publishing failed,
    10 the guard did not find the summary safe.
    """
    if output_format not in FORMATS:
        raise typer.BadParameter(f"unknown format {output_format!r}: use markdown or json", param_hint="--format")
    actions = Actions.from_env()
    config = engine.config(verbose, timeout=timeout, hardware=hardware)
    pull = actions.pull_request
    base = base or (pull.get("base") or {}).get("sha")
    if not base:
        raise UsageError("--base is required outside a GitHub pull request event")
    notes: list[str] = []
    from_base = base_engine(repository, base, SECTIONS["engine"], notes)  # the trusted side's
    config = replace(config, **not_given(EngineConfig, from_base))
    for line in notes:
        _log(line)
    number = number or pull.get("number")
    if step_summary and not actions.step_summary:
        raise UsageError("--step-summary needs GITHUB_STEP_SUMMARY (set by GitHub Actions)")
    summary_file = actions.step_summary if (actions.active if step_summary is None else step_summary) else ""
    secrets = [s for s in (config.api_key, actions.token) if s]
    target = _Target(output_format, output, summary_file, int(number) if comment and number else None, secrets)
    github = (
        GitHub(actions.token, actions.repository, actions.api_url, min(config.timeout_s, GITHUB_TIMEOUT_S))
        if actions.token and actions.repository and number else None
    )  # fmt: skip
    if comment and github is None:
        raise UsageError(
            "--comment needs GITHUB_TOKEN, GITHUB_REPOSITORY and the pull request's number (from the event, or --pr)"
        )
    request = PullRequest(
        number, title if title is not None else pull.get("title") or "",
        description if description is not None else pull.get("body") or "",
    )  # fmt: skip
    if soft_fail and config.backend == "openai" and not config.base_url:
        # A pull request from a fork or from Dependabot gets no secrets: a skip, not a red check.
        _warn(
            actions,
            "skipped: no engine configured (SCOUT_BASE_URL is empty; pull requests from forks and Dependabot get no secrets)",
            level="notice",
        )
        return
    try:
        llm, store = open_engine(config, announce=_log), Store()
        try:
            result = summarize_pr(
                repository, base, head or (pull.get("head") or {}).get("sha") or "HEAD", engine=llm, store=store,
                sampling=sampling.config(max_tokens), pull_request=request, github=github,
                options=screening.applied(replace(pack_options(include, exclude, False, False, False), screen="fence")),
                budget=budget,
                system=system,
                blob_url=f"{actions.server_url}/{actions.repository}/blob" if actions.repository else "", log=_log,
            )  # fmt: skip
        finally:
            store.close()
            llm.close()
        verdict = _judged(result.report, target, guard, config) if guard.on else None
        if verdict is None or verdict.safe or guard.show_unsafe:
            _publish(result.report, target, github)
        if verdict is not None and not verdict.safe:
            fate = "published (--show-unsafe)" if guard.show_unsafe else "not published (--show-unsafe publishes it)"
            raise UnsafeAnswer(f"{verdict.model} {verdict.described()}: the summary is {fate}")
    except ScoutError as error:
        message = _scrub(str(error), target.secrets)
        if not soft_fail or error.exit_code < 3:
            raise type(error)(message) from None
        _warn(actions, f"{message} (exit {error.exit_code}, ignored: --soft-fail)")
    finally:
        if github is not None:
            github.close()


GUARD_QUESTION = "Summarize this pull request for its reviewers."
"""The user turn the guard reads the summary under: the task only, none of the pull request's
own text, which strangers write."""


def _judged(report: Report, target: _Target, guard: GuardChoice, answering: EngineConfig) -> Verdict:
    """Llama Guard's verdict on the comment as it would be published."""
    # The whole text, not the comment cut to GitHub's limit: --format json publishes it all.
    summary = _scrub(render_markdown(report, limit=sys.maxsize), target.secrets)
    [verdict] = judged(guard.config(answering), [(GUARD_QUESTION, summary)], _log)
    _log(f"{verdict.model}: {verdict.described()}")
    return verdict


@dataclass(frozen=True)
class _Target:
    """Where the summary goes: the output, the step summary (a path or ""), the pull
    request to comment on (or None), and the values to scrub from all of it."""

    format: str
    output: str
    step_summary: str
    comment_on: int | None
    secrets: list[str]


def _publish(report: Report, target: _Target, github: GitHub | None) -> None:
    markdown = _scrub(render_markdown(report), target.secrets)
    if target.format == "json":
        _write(_scrub(json_text(as_json(report, markdown)), target.secrets), target.output)
    else:
        _write(markdown, target.output)
    if target.step_summary:
        try:
            with open(target.step_summary, "a", encoding="utf-8") as handle:
                handle.write(markdown + "\n")
        except OSError as error:
            raise PublishError(f"cannot append to GITHUB_STEP_SUMMARY: {error.strerror or error}") from None
    if target.comment_on is not None and github is not None:
        state, posted = github.upsert_comment(target.comment_on, markdown, MARKER)
        _log(f"comment {state}: {posted.get('html_url') or posted.get('id')}")


def _log(message: str) -> None:
    err_console.print(f"[dim]{markup(message)}[/]", soft_wrap=True)


def _write(text: str, output: str) -> None:
    """Plain text, never through the terminal renderer (no wrapping, no markup); on stdout
    (a CI log) inert: no control characters, no workflow commands."""
    if output == "-":
        sys.stdout.write(inert(text, lines=True))
        sys.stdout.flush()
        return
    write_output(output, text)


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _warn(actions: Actions, message: str, level: str = "warning") -> None:
    """A warning (or a notice) on stderr; in GitHub Actions, as a workflow command (an annotation)."""
    if actions.active:
        escaped = inert(message).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        sys.stderr.write(f"::{level} title=scout-context pr::{escaped}\n")
    else:
        err_console.print(f"[bold yellow]{level}:[/] {markup(message)}", highlight=False, soft_wrap=True)
