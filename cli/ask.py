"""`scout-context ask`: answer a question from sources, with checked citations."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from scout_context.engine.base import Engine, OnText
from scout_context.engine.registry import open_engine
from scout_context.errors import UnsafeAnswer
from scout_context.guard.check import check
from scout_context.guard.llama_guard import Verdict
from scout_context.pack.result import Arranged
from scout_context.pack.styles import DEFAULT, style
from scout_context.store import Store
from scout_context.tasks.ask import ASK_MAX_TOKENS, AskResult, ask, check_instructions, usage
from scout_context.tasks.conversation import Conversation

from .console import InertStream, err_console, markup, note, print_json
from .engine_options import (
    DryRun,
    Images,
    MaxTokens,
    System,
    Timeout,
    Verbose,
    print_dry_run,
)
from .help_text import CACHE, ENGINES, SOURCES, teaches
from .option_sets import (
    EngineChoice,
    GuardChoice,
    HardwareChoice,
    SamplingChoice,
    ScreenChoice,
    SourceFilters,
    with_option_sets,
)
from .options import JsonOutput, LayoutOption, NoFit, Password, StyleOption, layout_option
from .sources import FromStdin, NulSeparated, Sources, resolve_sources
from .summary import pack_progress


@teaches(
    'scout-context ask . "Where is the cart total computed?"',
    'scout-context ask . -c "And the fee?"',
    'scout-context ask gh:org/repo@v2 "What changed in the API?" --engine openai --base-url http://gpu:8000/v1',
    environment=SOURCES | ENGINES | CACHE,
)
@with_option_sets
def ask_command(
    sources: Sources,
    question: Annotated[str, typer.Argument(help="The question, in any language.", show_default=False)],
    from_stdin: FromStdin = False,
    null: NulSeparated = False,
    continue_: Annotated[
        bool,
        typer.Option(
            "-c",
            "--continue",
            help="Ask a follow-up in the latest conversation over these SOURCES (its corpus stays cached).",
        ),
    ] = False,
    cid: Annotated[
        int | None, typer.Option("--cid", help="Ask a follow-up in this conversation (see `scout-context logs`).")
    ] = None,
    answer_language: Annotated[
        str | None, typer.Option("--answer-language", help="Answer in this language (default: the question's).")
    ] = None,
    system: System = None,
    layout: LayoutOption = "auto",
    no_fit: NoFit = False,
    engine: EngineChoice = EngineChoice(),
    max_tokens: MaxTokens = ASK_MAX_TOKENS,
    sampling: SamplingChoice = SamplingChoice(),
    filters: SourceFilters = SourceFilters(),
    screening: ScreenChoice = ScreenChoice(),
    images: Images = 5,
    timeout: Timeout = None,
    password: Password = None,
    hardware: HardwareChoice = HardwareChoice(),
    dry_run: DryRun = False,
    json_output: JsonOutput = False,
    verbose: Verbose = False,
    style_name: StyleOption = DEFAULT,
    guard: GuardChoice = GuardChoice(),
) -> None:
    """Answer QUESTION from SOURCES: pack them, run the model, stream the answer, check its citations.

    The answer goes to stdout as it is written; the citation check and usage go to stderr.
    Every run is logged (`scout-context logs`) as a turn of a conversation: `-c` continues the latest.
    """
    if dry_run:
        print_dry_run(engine.config(verbose, images, timeout, hardware))
        return
    with Session(locals()) as session, Answering(json_output, guard) as show:
        result = session.ask(question, show.text)
        verdict = session.check(result)
    show.done(result, verdict)
    if verdict is not None and not verdict.safe:
        raise UnsafeAnswer(unsafe_line(verdict, guard.show_unsafe))


class Session:
    """What `ask` and `chat` share: one command line's options (the parameters of
    `ask_command`, by name, its option sets built), the store, the engine, and the conversation that the next
    question continues (with `-c`/`--cid`, one found in the store; else none until the first
    question starts one)."""

    def __init__(self, given: dict[str, Any], command: str = "ask") -> None:
        self.command = command  # as the run log names it
        self.sources = resolve_sources(
            given["sources"], stdin=given.get("from_stdin", False), null=given.get("null", False)
        )
        engine: EngineChoice = given["engine"]
        self.config = engine.config(given["verbose"], given["images"], given["timeout"], given["hardware"])
        self.options = given["screening"].applied(given["filters"].options(given["password"]))
        self.sampling = given["sampling"].config(given["max_tokens"])
        self.layout = layout_option(given["layout"])
        self.fit_to_budget = not given["no_fit"]
        self.style = style(given["style_name"])
        self.answer_language: str | None = given["answer_language"]
        self.system: str | None = given["system"]
        self._continue: bool = given["continue_"] or given["cid"] is not None
        self._cid: int | None = given["cid"]
        self.conversation: Conversation | None = None
        self.corpus: Arranged | None = None  # the conversation's, once a question here arranged it
        self.last: AskResult | None = None
        self.guard: GuardChoice = given["guard"]
        self._guard: Engine | None = None  # opened at the first check

    def __enter__(self) -> Session:
        self.store = Store()
        try:
            # Before the engine starts: a conversation that is not there is one line, at once.
            self.conversation = Conversation.find(self.store, self.sources, self._cid) if self._continue else None
            if self.conversation is not None:
                check_instructions(self.conversation, self.system)
            self.engine = open_engine(self.config, announce=note)
        except BaseException:
            self.store.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.engine.close()
            if self._guard is not None:
                self._guard.close()
        finally:
            self.store.close()

    def check(self, result: AskResult) -> Verdict | None:
        """With --guard, Llama Guard's verdict on the answer, kept with its run; else None."""
        if not self.guard.on:
            return None
        if self._guard is None:
            self._guard = open_engine(self.guard.config(self.config))
        verdict = check(self._guard, result.question, result.answer)
        self.store.record_guard(result.run_id, verdict.as_json())
        return verdict

    def ask(self, question: str, on_text: OnText | None) -> AskResult:
        """Answer `question` as the next turn of the conversation, or as the first of a new one."""
        with pack_progress(err_console) as progress:
            result = ask(
                self.sources,
                question,
                engine=self.engine,
                store=self.store,
                options=self.options,
                sampling=self.sampling,
                answer_language=self.answer_language,
                layout=self.layout,
                fit_to_budget=self.fit_to_budget,
                progress=progress,
                on_text=on_text,
                command=self.command,
                conversation=self.conversation,
                corpus=self.corpus,
                style=self.style,
                system=self.system,
            )
        if self.conversation is None:
            self.conversation = Conversation.find(self.store, self.sources, result.conversation_id)
        self.corpus, self.last = result.pack, result
        return result

    def reset(self) -> None:
        """Let the next question start a new conversation over the same sources."""
        self.conversation = self.corpus = self.last = None


class Answering:
    """An answer on stdout: streamed as it is written (with --guard, written whole once the
    guard found it safe, or with --show-unsafe), then its citations and usage on stderr; or,
    with `--json`, the whole result as JSON at the end."""

    def __init__(self, json_output: bool, guard: GuardChoice) -> None:
        self.json_output = json_output
        self.guard = guard
        self._stream = InertStream(sys.stdout.write)
        self.text = None if json_output or guard.on else self._write

    def __enter__(self) -> Answering:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self._stream.close()  # what was streamed of an answer that failed stays on screen
        if kind is not None and not self._stream.at_line_start:
            sys.stdout.write("\n")

    def _write(self, _: int, text: str) -> None:
        self._stream.write(text)
        sys.stdout.flush()

    def done(self, result: AskResult, verdict: Verdict | None) -> None:
        withheld = verdict is not None and not verdict.safe and not self.guard.show_unsafe
        if self.json_output:
            guard = None if verdict is None else verdict.as_json() | {"withheld": withheld}
            print_json(as_json(result) | {"guard": guard} | ({"answer": None} if withheld else {}))
            return
        if verdict is not None and verdict.safe:
            note(f"{verdict.model}: safe")
        if withheld:
            return
        if verdict is not None:
            self._stream.write(result.answer)
        if not self._stream.at_line_start:  # an answer that ends its line gets no blank line after it
            sys.stdout.write("\n")
            sys.stdout.flush()
        valid = sum(c.valid for c in result.citations)
        err_console.print(f"[bold]citations[/] {valid} of {len(result.citations)} check out")
        for c in result.citations:
            mark = "[green]✓[/]" if c.valid else f"[red]✗[/] {markup(c.reason)}"
            quote = f' "{markup(c.quote)}"' if c.quote else ""
            err_console.print(f"  {mark} {markup(c.id)}{quote}", soft_wrap=True)
        if result.left_out:
            note(f"left out {result.left_out} of the earlier answers and turns to fit the context (the corpus stays)")
        if result.corpus_changed:
            note(
                "the sources changed since the conversation began: it keeps its corpus; citations are checked against the files now"
            )
        u = usage(result)
        err_console.print(
            f"[dim]{result.generation.prompt_tokens:,} prompt tokens ({u['cached_tokens']:,} cached), "
            f"{u['completion_tokens']:,} answer tokens, first token in {result.timings['first_token_s']:.1f} s, "
            f"{result.timings['total_s']:.1f} s in all, run {result.run_id}, "
            f"conversation {result.conversation_id} turn {result.turn}[/]"
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
        "flagged": [each.as_json() for each in result.pack.flagged],
        "layout": result.pack.layout,
        "shrunk": result.pack.shrunk,
        "dropped": result.pack.dropped,
        "run_id": result.run_id,
        "conversation_id": result.conversation_id,
        "turn": result.turn,
        "left_out_turns": result.left_out,
        "sources_changed": result.corpus_changed,
    }


def unsafe_line(verdict: Verdict, shown: bool) -> str:
    """What stderr says of an answer the guard did not find safe."""
    fate = "shown (--show-unsafe)" if shown else "withheld (--show-unsafe shows it)"
    return f"{verdict.model} {verdict.described()}: the answer is {fate}"
