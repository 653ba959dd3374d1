"""Progress bars on stderr (`transient_bar`, and `pack`'s over files read), and the summary
`pack` prints there."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from scout_context.pack.pipeline import Progress as ProgressCallback
from scout_context.pack.result import PackResult
from scout_context.pack.styles import DEFAULT

from .console import markup

TOP = 10


@contextmanager
def transient_bar(
    console: Console, label: str, *columns: ProgressColumn, total: float | None
) -> Iterator[tuple[Progress, TaskID]]:
    """A progress bar that is gone when done: `label` in bold, the bar, `columns`, then the
    task's description dimmed; yields the bar and its one task (of `total` steps, None while
    unknown)."""
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        *columns,
        TextColumn("[dim]{task.description}"),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # off a terminal rich would leave an empty line for it
    ) as bar:
        yield bar, bar.add_task("", total=total)


@contextmanager
def pack_progress(console: Console) -> Iterator[ProgressCallback]:
    """A transient progress bar over files read; yields the callback the packer calls."""
    with transient_bar(console, "reading", MofNCompleteColumn(), TimeElapsedColumn(), total=None) as (bar, task):

        def update(done: int, total: int, path: str) -> None:
            bar.update(task, completed=done, total=total, description=markup(path[-60:]))

        yield update


def print_summary(
    console: Console,
    result: PackResult,
    output: Path | None,
    seconds: float,
    json_output: bool,
    *,
    top: int = TOP,
    style: str = DEFAULT,
) -> None:
    """Files, tokens (of the text as written, in `style`), the `top` biggest consumers,
    skipped files by reason, redactions, chunks the screen flagged, notes."""
    head = Table.grid(padding=(0, 2))
    in_style = "" if style == DEFAULT else f", {style} style"
    head.add_row("tokens", f"[bold]{result.tokens:,}[/] (Llama 4 Scout, exact{in_style})")
    head.add_row(
        "files", f"{len(result.files):,} packed in {len(result.chunks):,} chunks, {len(result.skipped):,} skipped"
    )
    head.add_row("cache", f"{result.analysed:,} analysed, {result.reused:,} reused, {seconds:.2f} s")
    if len(result.sources) > 1:
        for source in result.sources:
            head.add_row(markup(source.label), f"{source.tokens:,} tokens in {source.files:,} files")
    head.add_row(
        "output", markup(str(output)) if output else ("not written (--json without -o)" if json_output else "stdout")
    )
    console.print(head)

    folders: dict[str, int] = defaultdict(int)
    for path, tokens in result.file_tokens.items():
        folders[path.rsplit("/", 1)[0] + "/" if "/" in path else "./"] += tokens
    consumers = Table(title="biggest consumers", title_justify="left", show_edge=False, pad_edge=False)
    consumers.add_column("file", overflow="fold")
    consumers.add_column("tokens", justify="right")
    consumers.add_column("folder", overflow="fold")
    consumers.add_column("tokens", justify="right")
    files = sorted(result.file_tokens.items(), key=lambda item: -item[1])[:top]
    dirs = sorted(folders.items(), key=lambda item: -item[1])[:top]
    for i in range(max(len(files), len(dirs))):
        f = files[i] if i < len(files) else ("", 0)
        d = dirs[i] if i < len(dirs) else ("", 0)
        consumers.add_row(markup(f[0]), f"{f[1]:,}" if f[0] else "", markup(d[0]), f"{d[1]:,}" if d[0] else "")
    if files:
        console.print(consumers)

    if result.skipped:
        by_reason: dict[str, list[str]] = defaultdict(list)
        for item in result.skipped:
            by_reason[item.reason].append(item.path)
        console.print("[bold]skipped[/]")
        for reason, paths in sorted(by_reason.items(), key=lambda item: -len(item[1])):
            more = f" and {len(paths) - 3:,} more" if len(paths) > 3 else ""
            console.print(f"  {markup(reason)} ({len(paths):,}): {markup(', '.join(paths[:3]))}{more}", soft_wrap=True)
    if result.redactions:
        kinds = Counter(kind for _, kind in result.redactions)
        console.print(
            f"[bold]redacted[/] {len(result.redactions):,} secrets ({', '.join(f'{k} {n}' for k, n in kinds.most_common())}):"
        )
        for where, kind in result.redactions[:TOP]:
            console.print(f"  {markup(where)} {markup(kind)}", soft_wrap=True)
        if len(result.redactions) > TOP:
            console.print(f"  and {len(result.redactions) - TOP:,} more (see --json)")
    if result.flagged:
        fate = "left out" if result.flagged[0].dropped else "fenced with a warning"
        console.print(f"[bold yellow]flagged[/] {len(result.flagged):,} chunks for prompt injection, {fate}:")
        for each in result.flagged[:TOP]:
            line = f"{each.finding.mark} ({each.finding.rule}): {each.finding.line}"
            console.print(f"  {markup(each.id)} {markup(line)}", soft_wrap=True)
        if len(result.flagged) > TOP:
            console.print(f"  and {len(result.flagged) - TOP:,} more (see --json)")
    for path, note in result.notes[:TOP]:
        console.print(f"[yellow]note[/] {markup(path)}: {markup(note)}", soft_wrap=True)
    if len(result.notes) > TOP:
        console.print(f"[yellow]note[/] and {len(result.notes) - TOP:,} more (see --json)")
