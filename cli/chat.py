"""`scout-context chat`: follow-up questions over sources, one line of standard input each.

It takes `ask`'s options (its signature is `ask_command`'s, less the question and `--json`)
and shares its `Session`: the same engine selection, and every question after the first
continues the conversation the first started, so the corpus stays in the prefix cache.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, get_type_hints

from scout_context.errors import UnsafeAnswer, UsageError
from scout_context.sources.spec import described

from .ask import Answering, Session, ask_command, unsafe_line
from .console import err_console, markup, note
from .help_text import CACHE, ENGINES, SOURCES, teaches
from .option_sets import with_option_sets

COMMANDS = {
    "/sources": "the sources, and what of them the corpus holds",
    "/tokens": "the last prompt's size, what of it was cached, and the context",
    "/reset": "start a new conversation over the same sources",
    "/help": "this list",
}


@teaches(
    "scout-context chat .",
    "printf 'Where is the total computed?\\nAnd the fee?\\n' | scout-context chat examples/tiny-shop",
    environment=SOURCES | ENGINES | CACHE,
)
def _chat(**given: Any) -> None:
    """Chat about SOURCES: each line read is a question, answered as it is written (stdout),
    with its citations checked (stderr); each follows up the ones before.

    Lines that start with / are commands: /sources, /tokens, /reset, /help. End of input
    (Ctrl-D) leaves. Works with a pipe as well as a terminal. With --guard, an answer the
    guard does not find safe is withheld and the chat goes on; the exit code says so at the end.
    """
    if "-" in given["sources"]:
        raise UsageError("chat reads its questions from stdin: name the sources as paths or repositories, not -")
    not_safe = 0
    with Session(given, command="chat") as session:
        while (line := _read_line()) is not None:
            if not line:
                continue
            if line.startswith("/"):
                _command(session, line)
                continue
            with Answering(False, session.guard) as show:
                result = session.ask(line, show.text)
                verdict = session.check(result)
            show.done(result, verdict)
            if verdict is not None and not verdict.safe:  # said at once; the exit code tells at the end
                not_safe += 1
                err_console.print(f"[bold red]guard:[/] {markup(unsafe_line(verdict, session.guard.show_unsafe))}")
    if not_safe:
        raise UnsafeAnswer(f"the guard did not find {not_safe} answer(s) safe")


_NOT_CHATS = ("question", "json_output", "dry_run", "from_stdin", "null")


def _ask_options() -> tuple[inspect.Signature, dict[str, Any]]:
    """`ask_command`'s own parameters (its option sets unspread), less the question, --json,
    --dry-run and --stdin (stdin holds the questions), and their types: what `chat` takes."""
    ask = inspect.unwrap(ask_command)
    hints = get_type_hints(ask, include_extras=True)
    kept = [p for p in inspect.signature(ask).parameters.values() if p.name not in _NOT_CHATS]
    return inspect.Signature(kept), {p.name: hints[p.name] for p in kept}


_chat.__signature__, _chat.__annotations__ = _ask_options()  # type: ignore[attr-defined]
chat_command = with_option_sets(_chat)


def _read_line() -> str | None:
    """The next line, stripped; None at the end of input. A terminal gets a prompt (stderr)."""
    if sys.stdin.isatty():
        err_console.print("[bold cyan]?[/] ", end="")
    line = sys.stdin.readline()
    return line.strip() if line else None


def _command(session: Session, line: str) -> None:
    name = line.split()[0]
    last = session.last
    if name == "/sources":
        err_console.print(" ".join(markup(described(source)) for source in session.sources), soft_wrap=True)
        if last is not None:
            pack = last.pack
            note(
                f"{len(pack.files):,} files in {len(pack.chunks):,} chunks, {pack.tokens:,} Scout tokens in the corpus"
            )
    elif name == "/tokens":
        if last is None:
            note("no question yet: the corpus is packed at the first one")
            return
        cached, prompt = last.generation.cached_tokens, last.generation.prompt_tokens or last.prompt_tokens
        share = f" ({cached / prompt:.0%})" if prompt else ""
        note(
            f"last prompt: {prompt:,} tokens, {cached:,} of them from the prefix cache{share}; "
            f"corpus {last.pack.tokens:,} Scout tokens; turn {last.turn} of conversation {last.conversation_id}; "
            f"context {session.engine.max_model_len:,}, {session.sampling.max_tokens:,} kept for each answer"
        )
    elif name == "/reset":
        session.reset()
        note("the next question starts a new conversation over the same sources")
    else:
        if name != "/help":
            note(f"unknown command {name}")
        for command, meaning in COMMANDS.items():
            note(f"{command}  {meaning}")
        note("Ctrl-D (end of input) leaves")
