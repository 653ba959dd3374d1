"""The pull request summary: the model's prose parsed leniently, and the structure built here.

The model is asked for SUMMARY, FILES, RISK, TESTS and EFFORT in a strict short format;
whatever it writes, the report keeps its shape: the hidden marker, the headings, a
walkthrough row per file (or group of files changed alike) from the diff, what was not
analysed, and the footer. A section the model left out or garbled says so. A comment
stays within GitHub's size limit by trimming walkthrough rows, never mid-table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..screen.base import Flagged
from .citations import Citation
from .pr_context import Changed

MARKER = "<!-- scout-context:pr-summary -->"
COMMENT_LIMIT = 65_536  # GitHub's limit on a comment body, in characters
SECTION_CHARS = 4_000
DESCRIPTION_CHARS = 200
UNUSABLE = "_The model's answer had no usable {what}._"
_SECTIONS = {
    "summary": "summary", "overview": "summary", "files": "files", "file": "files", "walkthrough": "files",
    "changes": "files", "risk": "risk", "risks": "risk", "tests": "tests", "test": "tests", "testing": "tests",
    "effort": "effort",
}  # fmt: skip
_HEADING = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?[*_]{0,2}[ \t]*("
    + "|".join(_SECTIONS)
    + r")[ \t]*[*_]{0,2}[ \t]*(?::|-|–|—|$)[*_]{0,2}[ \t]*(.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_SPECIAL = re.compile(r"<\|[^|>\s]{1,40}\|>|<\\?\|im_(?:start|end)\|>")
_COMMENT = re.compile(r"<!--|-->")
_MENTION = re.compile(r"(?<![\w`])@(?=[A-Za-z0-9])")
# What would load something from elsewhere when the comment is shown (a tracking pixel, a
# spoofed badge): Markdown images (inline, reference, shortcut) and embedding HTML tags.
# Written as character references, which end image syntax and tags in text and HTML
# blocks alike (a backslash would not, inside an HTML block).
_EMBED = re.compile(
    r"!(?=\[)|<(?=/?(?:img|image|picture|source|video|audio|svg|iframe|object|embed|input)\b)", re.IGNORECASE
)
_REFERENCE = {"!": "&#33;", "<": "&lt;"}
_FILE_LINE = re.compile(r"^[ \t]*(?:[-*•]|\d+[.)])?[ \t]*`?([^`:\s][^`:]*?)`?[ \t]*(?::|—|–| - )[ \t]*(.+)$")
_MD_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]+(.*?))?[ \t#]*$")
_CITED = re.compile(r"\[`?([^\[\]`\s]+?):(\d+)(?:-(\d+))?`?\](?!\()")
_STATUS = {"A": "added", "M": "modified", "D": "deleted", "R": "renamed", "C": "copied", "T": "type changed"}


@dataclass
class Prose:
    summary: str = ""
    files: dict[str, str] = field(default_factory=dict)
    risk: str = ""
    tests: str = ""
    effort: int | None = None
    effort_reason: str = ""


@dataclass
class Row:
    files: list[str]
    change: str
    description: str
    lines: int


@dataclass
class Report:
    base: str
    head: str
    merge_base: str
    summary: str
    walkthrough: list[Row]
    risk: str
    tests: str
    effort: int
    effort_reason: str
    effort_source: str  # "model" or "diff size"
    not_analysed: list[tuple[str, str]]
    model: str
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    citations: list[Citation] = field(default_factory=list)
    blob_url: str = ""  # https://github.com/o/r/blob/<head>: valid citations become links
    built_with_llama: bool = False
    redactions: list[tuple[str, str]] = field(default_factory=list)  # (where, kind): secrets kept from the model
    flagged: list[Flagged] = field(default_factory=list)  # what the screen fenced or dropped


def parse_answer(text: str, paths: Sequence[str]) -> Prose:
    """The model's sections, found by their headings in any common spelling; text before
    the first heading counts as the summary."""
    text = clean(text)
    parts: dict[str, list[str]] = {}
    matches = list(_HEADING.finditer(text))
    if matches and text[: matches[0].start()].strip():
        parts.setdefault("summary", []).append(text[: matches[0].start()])
    if not matches:
        parts["summary"] = [text]
    for match, following in zip(matches, [*matches[1:], None], strict=False):
        end = following.start() if following else len(text)
        parts.setdefault(_SECTIONS[match.group(1).lower()], []).append(match.group(2) + "\n" + text[match.end() : end])
    section = {key: _tidy("\n".join(values)) for key, values in parts.items()}
    prose = Prose(
        section.get("summary", ""),
        _file_lines(section.get("files", ""), paths),
        section.get("risk", ""),
        section.get("tests", ""),
    )
    effort = re.search(r"\b([1-5])\b(?:\s*(?:/|out of)\s*5)?", section.get("effort", ""))
    if effort:
        prose.effort = int(effort.group(1))
        reason = section["effort"][effort.end() :].strip(" \t\n.:-–—,;()")
        prose.effort_reason = reason.split("\n")[0][:300]
    return prose


def clean(text: str) -> str:
    """Model text made safe for a comment: no special tokens, no HTML comments (that could
    hide text or forge the marker), no @mentions that would notify people, no external
    images (a Markdown image stays a link to its address; an `<img>` tag shows as text)."""
    text = _SPECIAL.sub("", text.replace("\r\n", "\n"))
    text = _EMBED.sub(lambda m: _REFERENCE[m.group(0)], text)
    return _MENTION.sub("@\u200b", _COMMENT.sub("", text))


def _tidy(text: str) -> str:
    """Trimmed, headings made bold (the report's own headings stay the only ones), repeated
    lines (a weak model's loops) dropped, capped at SECTION_CHARS."""
    lines: list[str] = []
    seen: set[str] = set()
    for line in text.strip().split("\n"):
        heading = _MD_HEADING.match(line)
        if heading:
            line = f"**{heading.group(1)}**" if heading.group(1) else ""
        key = line.strip().lower()
        if key and key in seen:
            continue
        seen.add(key)
        lines.append(line.rstrip())
    tidy = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if len(tidy) > SECTION_CHARS:
        cut = tidy[:SECTION_CHARS]
        tidy = cut[: max(cut.rfind("\n"), cut.rfind(". ") + 1, SECTION_CHARS // 2)].rstrip() + " […]"
    return tidy


def _file_lines(text: str, paths: Sequence[str]) -> dict[str, str]:
    """`- path: one line` entries that name a changed file (by path, or by a unique name)."""
    by_name: dict[str, list[str]] = {}
    for path in paths:
        by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)
    found: dict[str, str] = {}
    for line in text.split("\n"):
        match = _FILE_LINE.match(line)
        if not match:
            continue
        named = match.group(1).strip().strip("*_")
        candidates = [named] if named in paths else by_name.get(named, [])
        if len(candidates) == 1 and candidates[0] not in found and match.group(2).strip():
            found[candidates[0]] = match.group(2).strip()
    return found


def effort_from_size(changed: Sequence[Changed]) -> int:
    """1 to 5 from the lines changed in inlined files, when the model gives no estimate."""
    lines = sum(c.change.added + c.change.deleted for c in changed if not c.category)
    return 1 + sum(lines > limit for limit in (10, 50, 250, 1000))


def walkthrough(changed: Sequence[Changed], descriptions: dict[str, str]) -> list[Row]:
    """One row per file; files changed alike (the same edits, or summarized for the same
    reason: lock files, generated, renamed without changes) share a row."""
    groups: dict[str, list[Changed]] = {}
    for c in changed:
        key = (
            f"category:{c.category}"
            if c.category and c.category != "deleted"
            else f"edit:{c.digest}"
            if c.digest
            else c.change.path
        )
        groups.setdefault(key, []).append(c)
    rows = []
    for key, members in groups.items():
        if len(members) > 1 and key.startswith("edit:"):
            first = members[0]
            change = f"{_STATUS[first.change.status]} {_counts(first)} each"
            text = next((descriptions[m.change.path] for m in members if m.change.path in descriptions), "")
            text = text or "the same edit in each file" + (
                f" ({', '.join(first.touched[:3])})" if first.touched else ""
            )
        elif len(members) > 1:
            added, deleted = sum(m.change.added for m in members), sum(m.change.deleted for m in members)
            change = f"{key.split(':', 1)[1]}, +{added} −{deleted} in total"
            text = "summarized, not reviewed line by line"
        else:
            (single,) = members
            change = _change(single)
            text = descriptions.get(single.change.path) or _mechanical(single)
        lines = sum(m.change.added + m.change.deleted for m in members)
        rows.append(Row([m.change.path for m in members], change, text[:DESCRIPTION_CHARS], lines))
    return rows


def _counts(c: Changed) -> str:
    return "binary" if c.change.binary else f"+{c.change.added} −{c.change.deleted}"


def _change(c: Changed) -> str:
    status = _STATUS[c.change.status]
    if c.change.old_path:
        status += f" from `{c.change.old_path}`"
    return f"{status} {_counts(c)}" + (f" ({c.category})" if c.category and c.category != "deleted" else "")


def _mechanical(c: Changed) -> str:
    if c.touched:
        return (
            "changes " + ", ".join(f"`{name}`" for name in c.touched[:4]) + (" and more" if len(c.touched) > 4 else "")
        )
    return {"A": "new file", "D": "file removed"}.get(c.change.status, "")


# -- rendering ----------------------------------------------------------------------------


def render_markdown(report: Report, limit: int = COMMENT_LIMIT) -> str:
    """The comment: marker, sections, footer, within `limit` characters (UTF-16 units, as
    GitHub counts them): walkthrough rows go first (smallest changes first, replaced by one
    closing row), then "Not analysed" items, then prose is cut at paragraph borders."""
    rows = list(report.walkthrough)
    not_analysed = list(report.not_analysed)
    prose = {"summary": report.summary, "risk": _linked(report.risk, report), "tests": report.tests}

    def render() -> str:
        return _markdown(report, rows, not_analysed, prose)

    text = render()
    if _size(text) <= limit:
        return text
    excess = _size(text) - limit + 200  # room for the closing row
    dropped: set[int] = set()
    for row in sorted(rows, key=lambda r: r.lines):
        if excess <= 0:
            break
        dropped.add(id(row))
        excess -= _size(_row(row)) + 1
    rows = [r for r in rows if id(r) not in dropped]
    text = render()
    while _size(text) > limit and len(not_analysed) > 1:
        del not_analysed[len(not_analysed) // 2 :]
        text = render()
    for key in ("summary", "risk", "tests"):
        while _size(text) > limit and "\n\n" in prose[key]:
            prose[key] = prose[key].rsplit("\n\n", 1)[0] + "\n\n[…]"
            text = render()
    return text


def _markdown(report: Report, rows: list[Row], not_analysed: list[tuple[str, str]], prose: dict[str, str]) -> str:
    """The Markdown of `report` showing only `rows` of its walkthrough and the first
    `not_analysed` items (with a line for the rest of each)."""
    parts = [MARKER, "## Summary", prose["summary"] or UNUSABLE.format(what="summary"), "## Walkthrough"]
    if report.walkthrough:
        table = ["| File | Change |", "| --- | --- |", *(_row(r) for r in rows)]
        kept = {id(r) for r in rows}
        hidden = [r for r in report.walkthrough if id(r) not in kept]
        if hidden:
            files = sum(len(r.files) for r in hidden)
            lines = sum(r.lines for r in hidden)
            table.append(
                f"| … {files:,} more file{'s' * (files != 1)} | {lines:,} lines changed, left out of this table to fit |"
            )
        parts.append("\n".join(table))
    else:
        parts.append("_No files changed._")
    parts += ["## Risk", prose["risk"] or UNUSABLE.format(what="risk assessment")]
    parts += ["## Tests", prose["tests"] or UNUSABLE.format(what="test assessment")]
    source = (
        "" if report.effort_source == "model" else f" (estimated from the {report.effort_source}: the model gave none)"
    )
    reason = f": {_cell(report.effort_reason)}" if report.effort_reason else ""
    parts += ["## Effort", f"**{report.effort} / 5**{reason}{source}"]
    if report.flagged:
        parts += ["## Flagged for prompt injection", _flagged(report.flagged)]
    parts.append("## Not analysed")
    if not_analysed:
        items = [f"- {_code(what)}: {_cell(why)}" for what, why in not_analysed]
        if len(not_analysed) < len(report.not_analysed):
            items.append(f"- … and {len(report.not_analysed) - len(not_analysed):,} more")
        parts.append("\n".join(items))
    else:
        parts.append("Nothing: the whole diff was in the model's context.")
    parts += ["---", footer(report)]
    return "\n\n".join(parts) + "\n"


def _flagged(flagged: Sequence[Flagged], shown: int = 10) -> str:
    """The flagged items, each with the line that matched: text written to steer the model
    that a reviewer should read for themselves."""
    how = "left out" if all(f.dropped for f in flagged) else "fenced with a warning"
    items = [f"- {_code(f.id)} ({f.finding.mark}): {_code(clean(f.finding.line)[:160])}" for f in flagged[:shown]]
    if len(flagged) > shown:
        items.append(f"- … and {len(flagged) - shown:,} more")
    return f"The model was told to distrust these ({how}):\n" + "\n".join(items)


def footer(report: Report) -> str:
    llama = " · Built with Llama" if report.built_with_llama else ""
    return (
        f"<sub>scout-context · {_cell(report.model)} · {report.prompt_tokens:,} prompt tokens "
        f"({report.cached_tokens:,} cached) · {report.completion_tokens:,} output tokens · "
        f"`{report.merge_base[:7]}..{report.head[:7]}`{llama}</sub>"
    )


def _row(row: Row) -> str:
    files = ", ".join(_code(path) for path in row.files)
    text = f"{row.change}" + (f" · {row.description}" if row.description else "")
    return f"| {files} | {_cell(text)} |"


def _cell(text: str) -> str:
    return " ".join(clean(text).split()).replace("|", "\\|")


def _code(text: str) -> str:
    """`text` as one code span: the fence is longer than any run of backticks inside it
    (a path like ``a``` ![x](y)``` cannot close the span early and add Markdown)."""
    text = " ".join(text.split())
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def _linked(text: str, report: Report) -> str:
    """Valid `[path:line]` citations as links to the head's file, when the host is known."""
    if not report.blob_url:
        return text
    valid = {c.id for c in report.citations if c.valid}

    def link(match: re.Match[str]) -> str:
        path, start, end = match.groups()
        cited = f"{path}:{start}" + (f"-{end}" if end else "")
        if cited not in valid:
            return match.group(0)
        lines = f"L{start}" + (f"-L{end}" if end else "")
        return f"[{cited}]({report.blob_url}/{path}#{lines})"

    return _CITED.sub(link, text)


def _size(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def as_json(report: Report, markdown: str) -> dict:
    """The same fields as the Markdown, for scripts."""
    return {
        "marker": MARKER,
        "base": report.base,
        "head": report.head,
        "merge_base": report.merge_base,
        "summary": report.summary,
        "walkthrough": [
            {"files": r.files, "change": r.change, "description": r.description, "lines": r.lines}
            for r in report.walkthrough
        ],
        "risk": report.risk,
        "tests": report.tests,
        "effort": {"score": report.effort, "reason": report.effort_reason, "source": report.effort_source},
        "not_analysed": [{"item": what, "reason": why} for what, why in report.not_analysed],
        "citations": [c.as_json(quoted=False) for c in report.citations],
        "redactions": len(report.redactions),
        "redacted": [{"where": where, "kind": kind} for where, kind in report.redactions],
        "flagged": [f.as_json() for f in report.flagged],
        "footer": {
            "model": report.model,
            "prompt_tokens": report.prompt_tokens,
            "cached_tokens": report.cached_tokens,
            "completion_tokens": report.completion_tokens,
        },
        "markdown": markdown,
    }
