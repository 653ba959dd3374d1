"""`scout-context ask`: answer a question from sources, with checked citations."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from scout_context.engine.registry import open_engine
from scout_context.store import Store
from scout_context.tasks.ask import ASK_MAX_TOKENS, AskResult, ask, usage

from .console import InertStream, err_console, markup, note, print_json
from .engine_options import (
    BaseUrl,
    EngineName,
    Images,
    MaxModelLen,
    MaxTokens,
    Model,
    Temperature,
    Timeout,
    Verbose,
    engine_config,
    sampling_config,
)
from .options import (
    Compress,
    Exclude,
    Include,
    JsonOutput,
    LayoutOption,
    NoDefaultExcludes,
    NoFit,
    NoRedact,
    Password,
    layout_option,
    pack_options,
)
from .sources import FromStdin, NulSeparated, Sources, resolve_sources
from .summary import pack_progress


def ask_command(
    sources: Sources,
    question: Annotated[str, typer.Argument(help="The question, in any language.", show_default=False)],
    from_stdin: FromStdin = False,
    null: NulSeparated = False,
    json_output: JsonOutput = False,
    answer_language: Annotated[
        str | None, typer.Option("--answer-language", help="Answer in this language (default: the question's).")
    ] = None,
    layout: LayoutOption = None,
    no_fit: NoFit = False,
    engine: EngineName = "auto",
    model: Model = None,
    base_url: BaseUrl = None,
    max_model_len: MaxModelLen = None,
    max_tokens: MaxTokens = ASK_MAX_TOKENS,
    temperature: Temperature = 0.0,
    include: Include = None,
    exclude: Exclude = None,
    compress: Compress = False,
    no_redact: NoRedact = False,
    no_default_excludes: NoDefaultExcludes = False,
    images: Images = 10,
    timeout: Timeout = None,
    verbose: Verbose = False,
    password: Password = None,
) -> None:
    """Answer QUESTION from SOURCES: pack them, run the model, stream the answer, check its citations.

    The answer goes to stdout as it is written; the citation check and usage go to stderr.
    Every run is logged (`scout-context logs`).
    """
    specs = resolve_sources(sources, stdin=from_stdin, null=null)
    config = engine_config(engine, model, base_url, max_model_len, verbose, images, timeout)
    streaming = not json_output
    answer = InertStream(sys.stdout.write)

    def show(_: int, text: str) -> None:
        answer.write(text)
        sys.stdout.flush()

    llm = open_engine(config, announce=note)
    store = Store()
    try:
        with pack_progress(err_console) as progress:
            result = ask(
                specs,
                question,
                engine=llm,
                store=store,
                options=pack_options(include, exclude, compress, no_redact, no_default_excludes, password=password),
                sampling=sampling_config(max_tokens, temperature),
                answer_language=answer_language,
                layout=layout_option(layout, "edges"),
                fit_to_budget=not no_fit,
                progress=progress,
                on_text=show if streaming else None,
            )
    finally:
        store.close()
        llm.close()
    if streaming:
        answer.close()
        sys.stdout.write("\n")
        _print_citations(result)
    else:
        print_json(as_json(result))


def _print_citations(result: AskResult) -> None:
    valid = sum(c.valid for c in result.citations)
    err_console.print(f"[bold]citations[/] {valid} of {len(result.citations)} check out")
    for c in result.citations:
        mark = "[green]✓[/]" if c.valid else f"[red]✗[/] {markup(c.reason)}"
        quote = f' "{markup(c.quote)}"' if c.quote else ""
        err_console.print(f"  {mark} {markup(c.id)}{quote}", soft_wrap=True)
    u = usage(result)
    err_console.print(
        f"[dim]{result.generation.prompt_tokens:,} prompt tokens ({u['cached_tokens']:,} cached), "
        f"{u['completion_tokens']:,} answer tokens, first token in {result.timings['first_token_s']:.1f} s, "
        f"{result.timings['total_s']:.1f} s in all, run {result.run_id}[/]"
    )


def as_json(result: AskResult) -> dict:
    return {
        "answer": result.answer,
        "citations": [c.as_json() for c in result.citations],
        "usage": usage(result),
        "timings": result.timings,
        "finish_reason": result.generation.finish_reason,
        "files": result.pack.files,
        "skipped": [{"path": s.path, "reason": s.reason} for s in result.pack.skipped],
        "shrunk": result.pack.shrunk,
        "dropped": result.pack.dropped,
        "run_id": result.run_id,
    }
