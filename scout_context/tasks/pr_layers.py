"""A pull request's context laid out in layers: the arranger `pr` uses, as `ask` and
`batch` use pack's `edges` and `stable`.

`assemble` fills a budget by priority, each layer fitted in what the ones before left:
the list of changes and the pull request's own text (capped), the diff (each hunk
widened when that fits, narrow when not), the changed files in full and the related
files (through `pack.fit`: shrunk to outlines before they are left out), then the map of
the rest of the repository. What does not fit is noted for the "Not analysed" section.

The prompt puts what changes least between pushes first (map, related files, changed
files), so a re-run can share a prefix, and the prefix cache, with the last one.
Counts are Scout's, exact per block (each block starts with `<` and ends with a newline).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..chunk import Chunk
from ..definition import Definition, Outlines
from ..pack.arrange import outline_chunk
from ..pack.fit import LEFT_OUT, file_status, fit_in_order
from ..pack.render import document
from ..tokens import scout_tokenizer
from .pr_context import Material, data

METADATA_SHARE = 5  # the pull request's text takes at most 1/5 of the budget
CHANGES_SHARE = 4  # the list of changes at most 1/4
# A report says a changed file's full text "did not fit" where the pack's notes say
# LEFT_OUT: the report's wording is part of its output (JSON and Markdown).
_REPORTED = {LEFT_OUT: "did not fit"}


@dataclass
class Context:
    """The user turn as assembled, the chunks it shows, and what each layer took."""

    user: str
    chunks: list[Chunk]
    tokens: int  # Scout's count of `user`
    layers: dict[str, int]
    not_analysed: list[tuple[str, str]]


def assemble(material: Material, budget: int) -> Context:
    """The user turn within `budget` Scout tokens, layer by layer; raises nothing: the
    caller checks that the diff got in (see `Context.layers`)."""
    count = scout_tokenizer().count
    skipped = list(material.not_analysed)
    task_tokens = count(material.task)
    changes, dropped_changes = _capped_lines(material.changes, max(budget // CHANGES_SHARE, 64))
    changes_block = (
        f'<changes files="{len(material.changes)}">\n' + "".join(f"{data(line)}\n" for line in changes) + "</changes>\n"
    )
    if dropped_changes:
        skipped.append(("list of changes", f"{_files(dropped_changes, 'changed file')} not listed to fit"))
    left = budget - task_tokens - count(changes_block)
    meta_block, meta_skipped = _metadata(
        material.metadata, max(min(left, budget // METADATA_SHARE), 0), material.warnings
    )
    skipped += meta_skipped
    left -= count(meta_block)
    layers = {"changes": count(changes_block), "pull_request": count(meta_block), "task": task_tokens}

    diff, left, diff_skipped = _fit_diff(material.diff, left)
    skipped += diff_skipped
    layers["diff"] = sum(c.tokens for c in diff)

    shown = [c for c in material.changed_files if not _covered(c, diff)]  # small files: the diff shows them whole
    changed, left, status = _fit_chunks(shown, left, material.outlines)
    skipped += [(path, f"full text {_REPORTED.get(what, what)}") for path, what in status.items()]
    related, left, status = _fit_chunks(material.related, left, material.outlines)
    if status:
        names = ", ".join(sorted(status)[:10]) + (", …" if len(status) > 10 else "")
        skipped.append(
            (_files(len(status), "related file"), f"importers and imports partly or wholly left out: {names}")
        )
    layers["changed_files"] = sum(c.tokens for c in changed)
    layers["related_files"] = sum(c.tokens for c in related)
    inlined = {c.path for c in related if c.path not in status}
    map_block, map_note = _repository_map([p for p in material.map_paths if p not in inlined], material.outlines, left)
    if map_note:
        skipped.append(("repository map", map_note))
    layers["repository_map"] = count(map_block)

    chunks = [*related, *changed, *diff]
    user = (
        map_block + "".join(document(c) for c in related) + "".join(document(c) for c in changed)
        + changes_block + "".join(document(c) for c in diff) + meta_block + material.task
    )  # fmt: skip
    return Context(user, chunks, sum(layers.values()), layers, skipped)


def _fit_diff(items: Sequence[tuple[Chunk, list[Chunk]]], left: int) -> tuple[list[Chunk], int, list[tuple[str, str]]]:
    """The diff within `left` tokens, as broad as it can be: first every hunk in its
    narrow form (three lines of context; a new file's outline), in order, then each
    widened back while the difference fits. What stays narrow or out is listed."""
    chosen: list[list[Chunk]] = []
    for wide, narrow in items:
        taken = []
        for piece in narrow or [wide]:
            if piece.tokens <= left:
                taken.append(piece)
                left -= piece.tokens
        chosen.append(taken)
    skipped = []
    for (wide, narrow), taken in zip(items, chosen, strict=False):
        if narrow and wide.tokens - sum(c.tokens for c in taken) <= left:
            left -= wide.tokens - sum(c.tokens for c in taken)
            taken[:] = [wide]
        where = f"{wide.path}:{wide.start_line}-{wide.end_line}"
        if not taken:
            skipped.append((where, "diff did not fit"))
        elif taken != [wide] and len(taken) == len(narrow):
            skipped.append(
                (where, "shown with less context to fit" if wide.source == "diff" else "new file: outline only")
            )
        elif taken != [wide]:
            skipped.append((where, "diff partly left out"))
    return [c for taken in chosen for c in taken], left, skipped


def _covered(chunk: Chunk, diff: Sequence[Chunk]) -> bool:
    """Whether the diff documents of the chunk's file show all of its lines."""
    line = chunk.start_line
    for c in sorted((c for c in diff if c.path == chunk.path and c.source == "diff"), key=lambda c: c.start_line):
        if c.start_line <= line <= c.end_line:
            line = c.end_line + 1
    return line > chunk.end_line


def _fit_chunks(chunks: Sequence[Chunk], left: int, outlines: Outlines) -> tuple[list[Chunk], int, dict[str, str]]:
    """`pack.fit` in the given order (whole, else the outline, else left out) within `left`
    tokens: the kept chunks, what is left, and per path what happened (`file_status`),
    files with an outline first."""
    fitted = fit_in_order(chunks, left, lambda c, room: outline_chunk(c, outlines, room))
    status = file_status(chunks, fitted)
    shrunk_ids = set(fitted.shrunk)
    shrunk = {c.path for c in chunks if c.id in shrunk_ids}
    return fitted.chunks, left - fitted.tokens, {p: status[p] for p in sorted(status, key=lambda p: p not in shrunk)}


def _capped_lines(lines: Sequence[str], cap: int) -> tuple[list[str], int]:
    count = scout_tokenizer().count
    kept, used = [], 0
    for line in lines:
        used += count(line) + 1
        if used > cap:
            break
        kept.append(line)
    return kept, len(lines) - len(kept)


def _metadata(
    parts: Sequence[tuple[str, str]], cap: int, warnings: Mapping[str, str]
) -> tuple[str, list[tuple[str, str]]]:
    """The `<pull_request>` block within `cap` tokens: parts in order, the first that does
    not fit cut short, the rest left out (and listed); a part with a screen's warning
    inside `<flagged warning="...">` (a tag no part can write: `data` escapes it)."""
    count = scout_tokenizer().count
    opening, closing = "<pull_request>\n", "</pull_request>\n"
    left = cap - count(opening) - count(closing)
    body, skipped = "", []
    for what, text in parts:
        piece = data(text.strip()) + "\n"
        if what in warnings:
            piece = f'<flagged warning="{warnings[what]}">\n{piece}</flagged>\n'
        tokens = count(piece)
        if tokens <= left:
            body, left = body + piece, left - tokens
        elif left > 32:
            cut = _truncate(piece, left - 8)
            body, left = body + cut + "[…]\n", 0
            skipped.append((what, f"cut to {len(cut):,} of {len(piece):,} characters to fit"))
        else:
            left = 0
            skipped.append((what, "did not fit"))
    return (opening + body + closing if body else ""), skipped


def _truncate(text: str, tokens: int) -> str:
    """The longest prefix of `text` (cut at a line or word) within `tokens`."""
    count = scout_tokenizer().count
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if count(text[:mid]) <= tokens:
            low = mid
        else:
            high = mid - 1
    cut = text[:low]
    at = max(cut.rfind("\n"), cut.rfind(" "))
    return cut[:at] if at > len(cut) // 2 else cut


def _repository_map(paths: Sequence[str], outlines: Outlines, budget: int) -> tuple[str, str]:
    """The `<repository_map>` block within `budget`: every path if they fit (else the first
    ones), then outlines, file by file, while they fit."""
    count = scout_tokenizer().count
    if not paths or budget < 32:
        return "", f"{_files(len(paths))} not listed (no room)" if paths else ""
    entries = {p: data(p) + "\n" for p in paths}
    sizes = {p: count(entries[p]) for p in paths}
    left = budget - 24  # the tags
    listed = []
    for p in paths:
        if sizes[p] > left:
            break
        listed.append(p)
        left -= sizes[p]
    outlined = 0
    for p in listed:
        lines = "".join(f"  {data(_outline_line(d))}\n" for d in outlines.get(p, ()) if d.kind != "heading")
        if not lines:
            continue
        tokens = count(lines)
        if tokens > left:
            break
        entries[p] += lines
        left -= tokens
        outlined += 1
    block = f'<repository_map files="{len(paths)}">\n' + "".join(entries[p] for p in listed) + "</repository_map>\n"
    while count(block) > budget and listed:  # per-line counts are close, not exact: trim to be sure
        listed.pop()
        block = f'<repository_map files="{len(paths)}">\n' + "".join(entries[p] for p in listed) + "</repository_map>\n"
    with_outline = sum(1 for p in listed if any(d.kind != "heading" for d in outlines.get(p, ())))
    notes = []
    if len(listed) < len(paths):
        notes.append(f"{len(paths) - len(listed)} of {len(paths)} files not listed")
    if outlined < with_outline:
        notes.append(f"outlines of {_files(with_outline - outlined)} left out")
    return (block if listed else ""), "; ".join(notes)


def _files(count: int, noun: str = "file") -> str:
    return f"{count:,} {noun}{'s' * (count != 1)}"


def _outline_line(d: Definition) -> str:
    text = " ".join((d.signature or f"{d.kind} {d.name}").split())
    return f"{text[:160]}  # lines {d.start_line}-{d.end_line}"
