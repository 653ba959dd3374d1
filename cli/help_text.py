"""What `--help` teaches besides each option's own help: the panels options are grouped in
(each option declaration names its panel once), choices shown as choices, and each
command's examples and the environment variables it reads (`teaches`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import TypeVar

from rich.markup import escape

F = TypeVar("F", bound=Callable[..., object])

INPUT = "Input"  # what is read: sources and which of their files
FITTING = "Fitting"  # how the pack is fitted to the budget and laid out for the question
ENGINE = "Engine"  # which model answers, where, on what hardware
OUTPUT = "Output"  # what is written, where and how
SAFETY = "Safety"  # what checks the sources and the answers

# The environment variables, by what reads them (grep os.environ in the package).
CACHE = {
    "SCOUT_CACHE_DIR": "where packs, clones, the run log and servers' state are kept",
    "SCOUT_DEBUG": "set: a bug shows its traceback",
}
SOURCES = {
    "GITHUB_TOKEN": "reads private GitHub repositories (never printed or stored)",
    "SCOUT_GIT_TIMEOUT": "seconds a clone or fetch may take (300)",
    "SCOUT_PDF_PASSWORD": "the password of encrypted PDFs",
}
ENGINES = {
    "SCOUT_BASE_URL": "an OpenAI-compatible server (vLLM's) to ask",
    "SCOUT_API_KEY": "its API key",
    "SCOUT_MODEL": "the model to use",
    "SCOUT_TIMEOUT": "seconds to wait for the server",
    "HF_TOKEN": "downloads gated checkpoints (Meta's Llama 4)",
    "HF_HUB_OFFLINE": "1: never download, use the local checkpoint",
}

ACTIONS = {
    "GITHUB_EVENT_PATH": "the pull request's event (number, title, base, head)",
    "GITHUB_TOKEN": "posts or updates the comment (never printed)",
    "GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_STEP_SUMMARY": "where to post, and the job summary",
}


def choices(names: Iterable[str]) -> str:
    """The metavar of an option whose value is one of `names`: `--help` shows `[A|B|C]`
    (the command checks the value: a choice can also come from a job or config file)."""
    return f"[{'|'.join(names)}]"


def teaches(*examples: str, environment: dict[str, str] | None = None) -> Callable[[F], F]:
    """`command` with `examples` (command lines) and the `environment` variables it reads
    added to its docstring, which is its `--help`."""

    def add(command: F) -> F:
        lines = [f"  [cyan]$ {escape(each)}[/]" for each in examples]
        parts = [inspect.cleandoc(command.__doc__ or ""), "\n".join(["[bold]Examples[/]", *lines])]
        if environment:
            lines = [f"  {name}: {meaning}" for name, meaning in environment.items()]
            parts.append("\n".join(["[bold]Environment[/]", *lines]))
        command.__doc__ = "\n\n".join(parts)
        return command

    return add
