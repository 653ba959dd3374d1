"""`scout-context batch`: many questions and reports over packed corpora, each prefilled once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from scout_context.engine.config import EngineConfig
from scout_context.engine.registry import open_engine
from scout_context.errors import UsageError
from scout_context.output import write_output
from scout_context.store import Store
from scout_context.tasks.batch import BatchResult, Progress as ProgressCallback, answered, guard_answers, run_batch
from scout_context.tasks.jobs import EXAMPLE, load_job_file
from scout_context.tasks.openai_batch import export_openai_batch, read_openai_batch
from scout_context.tasks.reports import summary_json, write_reports

from .ask import unsafe_line
from .config_defaults import table_values
from .console import err_console, markup, note, print_json
from .engine_options import System, Timeout, Verbose
from .help_text import CACHE, ENGINES, SOURCES, teaches
from .option_sets import GuardChoice, HardwareChoice, ScreenChoice, with_option_sets
from .options import JsonOutput
from .summary import transient_bar

DEFAULT_JOB_FILE = Path("jobs.yaml")


@teaches(
    "scout-context batch --init jobs.yaml",
    "SCOUT_BASE_URL=http://gpu:8000/v1 scout-context batch jobs.yaml --guard-url http://gpu:8001/v1",
    environment=SOURCES | ENGINES | CACHE,
)
@with_option_sets
def batch_command(
    jobs: Annotated[
        Path | None,
        typer.Argument(
            help="The job file (YAML); with --init, where to write one (default jobs.yaml).",
            metavar="JOBS.yaml",
            show_default=False,
        ),
    ] = None,
    init: Annotated[bool, typer.Option("--init", help="Write a commented example job file and stop.")] = False,
    json_output: JsonOutput = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Answer again what earlier runs already answered (it allows no overwriting: see --overwrite).",
        ),
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Let reports replace existing files that are not scout-context reports (never the job file or a source).",
        ),
    ] = False,
    allow_outside: Annotated[
        bool,
        typer.Option(
            "--allow-outside",
            help="Let the job file's sources, templates and reports lie outside its folder (absolute paths, .., links leading out).",
        ),
    ] = False,
    export_openai_batch_file: Annotated[
        Path | None,
        typer.Option(
            "--export-openai-batch",
            help="Write the pending requests as an OpenAI batch file for `vllm run-batch` instead of running them.",
            metavar="FILE.jsonl",
        ),
    ] = None,
    import_openai_batch_file: Annotated[
        Path | None,
        typer.Option(
            "--import-openai-batch",
            help="Take the answers from the output of `vllm run-batch` instead of the engine.",
            metavar="FILE.jsonl",
        ),
    ] = None,
    timeout: Timeout = None,
    verbose: Verbose = False,
    hardware: HardwareChoice = HardwareChoice(),
    system: System = None,
    screening: ScreenChoice = ScreenChoice(),
    guard: GuardChoice = GuardChoice(),
) -> None:
    """Answer the questions of a job file's jobs and write a report per job.

    Each corpus is packed once and laid out the same way for all its questions, so the
    engine computes it once (prefix cache). Answers are kept in the store: a rerun skips
    what is done (--force redoes it) and an interrupted run loses nothing already answered.
    Before anything runs, a report that would replace the job file, a source or a folder is
    refused, and so is one that would replace a file that is not a scout-context report,
    unless --overwrite; paths outside the job file's folder need --allow-outside.
    With --guard, Llama Guard 4 reads every answer once all are written (after the answer
    engine closes, when embedded); an answer it does not find safe is withheld from the
    reports, its categories named, unless --show-unsafe. A guard that cannot run leaves the
    reports unwritten (the answers stay stored: the next run only judges them).
    Exit status: 0 when every question is done or cached (and, with --guard, found safe);
    otherwise that of the first failed question's error (2 missing from an imported batch, 3
    engine unreachable, 4 context too large, 8 out of memory, 1 unexpected), else 10 for an
    answer not found safe, after the reports are written.
    """
    if init:
        _init(jobs or DEFAULT_JOB_FILE)
        return
    if jobs is None:
        raise UsageError("name a job file (or write one with --init)")
    if export_openai_batch_file and import_openai_batch_file:
        raise UsageError("--export-openai-batch and --import-openai-batch go in separate runs")
    defaults = table_values("engine")  # the configuration file's, under the job file's own
    job_file = load_job_file(jobs, overwrite=overwrite, allow_outside=allow_outside, defaults=defaults)
    for line in job_file.notes:
        note(line)
    if system is not None:  # the command line's instructions over the job file's
        job_file = replace(job_file, system=system)
    corpora = {
        name: replace(corpus, options=screening.applied(corpus.options)) for name, corpus in job_file.corpora.items()
    }
    job_file = replace(job_file, corpora=corpora)  # the command line's screening over the job file's
    if export_openai_batch_file and (reason := job_file.overwrites_input(export_openai_batch_file)):
        raise UsageError(f"--export-openai-batch: {export_openai_batch_file} {reason}")
    imported = read_openai_batch(import_openai_batch_file) if import_openai_batch_file else None
    config = replace(
        job_file.engine, verbose=verbose, **hardware.given()
    )  # the command line's hardware over the job file's
    engine = open_engine(config if timeout is None else replace(config, timeout_s=timeout), announce=note)
    store = Store()
    try:
        if export_openai_batch_file:
            count = export_openai_batch(
                job_file, engine=engine, store=store, output=export_openai_batch_file, force=force
            )
            _exported(count, export_openai_batch_file, jobs, engine.model_name, json_output)
            return
        total = sum(len(job.questions) for job in job_file.jobs)
        ignore = [import_openai_batch_file] if import_openai_batch_file else []
        with _progress(total) as progress:
            result = run_batch(
                job_file, engine=engine, store=store, force=force, imported=imported, ignore=ignore, progress=progress
            )
    finally:
        store.close()
        engine.close()
    if guard.on and answered(result):
        _guarded(result, guard, config if timeout is None else replace(config, timeout_s=timeout))
    write_reports(result)
    if json_output:
        print_json(summary_json(result))
    else:
        _print_summary(result)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _guarded(result: BatchResult, guard: GuardChoice, answering: EngineConfig) -> None:
    """Every answer of `result` judged by the guard (`guard_answers`); those not found safe
    named on stderr."""
    guard_answers(result, guard.config(answering), guard.show_unsafe, announce=note)
    store = Store()  # each verdict kept with its run, as ask's is (`logs --json`'s guard)
    try:
        for run_id, verdict in {q.run_id: q.verdict for q in answered(result) if q.run_id and q.verdict}.items():
            store.record_guard(run_id, verdict.as_json())
    finally:
        store.close()
    for report in result.jobs:
        for q in report.questions:
            if q.verdict is not None and not q.verdict.safe:
                err_console.print(
                    f"[bold red]guard:[/] {markup(report.job.name)}: {markup(q.title[:60])}: "
                    f"{markup(unsafe_line(q.verdict, guard.show_unsafe))}",
                    soft_wrap=True,
                )


def _init(path: Path) -> None:
    if path.exists():
        raise UsageError(f"{path} exists already: name another file")
    write_output(path, EXAMPLE)
    err_console.print(f"wrote {markup(str(path))}: edit it, then run [bold]scout-context batch {markup(str(path))}[/]")


@contextmanager
def _progress(total: int) -> Iterator[ProgressCallback]:
    """A transient bar over questions, with the time left, on stderr."""
    columns = (TaskProgressColumn(), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn())
    with transient_bar(err_console, "batch", *columns, total=total) as (bar, task):

        def update(done: float, status: str) -> None:
            bar.update(task, completed=done, description=markup(status[-70:]))

        yield update


def _exported(count: int, output: Path, jobs: Path, model: str, json_output: bool) -> None:
    if json_output:
        print_json({"requests": count, "output": str(output)})
        return
    err_console.print(
        f"wrote {count} requests to {markup(str(output))}; run them with "
        f"[bold]vllm run-batch -i {markup(str(output))} -o results.jsonl --model MODEL --served-model-name {markup(model)}[/], "
        f"then [bold]scout-context batch {markup(str(jobs))} --import-openai-batch results.jsonl[/]",
        soft_wrap=True,
    )


def _shown(path: Path) -> str:
    """`path` relative to the working folder when it is inside it."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def _print_summary(result: BatchResult) -> None:
    table = Table(show_edge=False, pad_edge=False)
    for column in ("job", "done", "cached", "failed", "prompt tok", "from cache", "report"):
        table.add_column(column, overflow="fold", justify="left" if column in ("job", "report") else "right")
    for report in result.jobs:
        questions = report.questions
        table.add_row(
            markup(report.job.name),
            *(str(sum(q.status == status for q in questions)) for status in ("done", "cached", "failed")),
            f"{sum(q.prompt_tokens for q in questions):,}",
            f"{sum(q.cached_tokens for q in questions):,}",
            markup(_shown(report.job.output)),
        )
    err_console.print(table)
    for report in result.jobs:
        for q in report.questions:
            if q.status == "failed":
                err_console.print(
                    f"[red]failed[/] {markup(report.job.name)}: {markup(q.title[:60])}: {markup(q.error)}",
                    soft_wrap=True,
                )
    err_console.print(f"[dim]{result.seconds:.1f} s[/]")
