"""The project's configuration file: `.scout-context.toml`, or `[tool.scout-context]` in
`pyproject.toml` when the former has no such table. One loader for every table in it.

`read_table` reads one table as the caller reads a file (`pr` reads the base commit's, never
the work tree's); `read_tables` reads the tables of the file that `find_config` picks in a
folder or its git root (the CLI's `[pack]`, `[ask]`, `[engine]`), each value with its line.

A table's keys are settings fields (`scout_context.settings`), given as (dataclass, field
names) pairs, so a key's name, type and default are declared once, with its doc. A mistake
is one `UsageError` naming the file, the table and the key (and its line, in `read_tables`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError
from .settings import Setting, by_key, settings

CONFIG_FILE = ".scout-context.toml"
Fields = tuple[tuple[type, tuple[str, ...]], ...]

TOOL_TABLE = ("tool", "scout-context")

# What a value of each type must be, and how the message names it.
_CHECKS: dict[type, tuple[Callable[[Any], bool], str]] = {
    tuple: (lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value), "a list of strings"),
    str: (lambda value: isinstance(value, str), "a string"),
    bool: (lambda value: isinstance(value, bool), "true or false"),
    int: (lambda value: isinstance(value, int) and not isinstance(value, bool), "a whole number"),
    float: (lambda value: isinstance(value, int | float) and not isinstance(value, bool), "a number"),
}


def read_table(
    read: Callable[[str], bytes | None],
    table: str,
    fields: Fields,
    at: str = "",
    *,
    given: bool = False,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The values of the fields `fields` from the table `table`, by field name (the field's
    default where a key is missing, all defaults when no file has the table; with `given`,
    only the keys the table gives). A former key is read as its field's, with a warning in
    `notes`. `read(name)` gives
    a file's bytes or None when it is missing; `at` ends the file's name in messages
    (" at 1a2b3c4d5e6f")."""
    found, where = _find(read, table, at)
    if not isinstance(found, dict):
        raise UsageError(f"{where} must be a table")
    chosen = [settings(cls)[name] for cls, names in fields for name in names]
    keys = by_key(chosen)
    if unknown := set(found) - set(keys):
        known = ", ".join(each.key for each in chosen)
        raise UsageError(f"{where}: unknown settings {', '.join(sorted(unknown))} (known: {known})")
    values = {} if given else {each.name: each.default for each in chosen}
    for key, value in found.items():
        each = keys[key]
        if key == each.former and each.key in found:
            raise UsageError(f"{where}: gives both {each.former} and {each.key}: keep {each.key}")
        if key == each.former and notes is not None:
            notes.append(each.renamed(where))
        values[each.name] = checked(value, each, f"{where}: {key}")
    return values


def _find(read: Callable[[str], bytes | None], table: str, at: str) -> tuple[object, str]:
    """The first non-empty `table` of the two files, and its place for messages."""
    for name, keys in ((CONFIG_FILE, (table,)), ("pyproject.toml", ("tool", "scout-context", table))):
        raw = read(name)
        if raw is None:
            continue
        try:
            found: object = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise UsageError(f"{name}{at} is not valid TOML: {error}") from None
        for key in keys:
            found = found.get(key, {}) if isinstance(found, dict) else {}
        if found:
            return found, f"[{'.'.join(keys)}] in {name}{at}"
    return {}, ""


def checked(value: Any, each: Setting, where: str) -> Any:
    """`value` as the setting `each` takes it; else a UsageError: "{where} must be ..."."""
    valid, expected = _CHECKS[each.kind]
    if each.minimum is not None:
        expected += f" of at least {each.minimum:g}"
    if not valid(value) or (each.minimum is not None and value < each.minimum):
        raise UsageError(f"{where} must be {expected}")
    refusal = each.refusal(value)
    if refusal:
        raise UsageError(f"{where} must be {refusal}")
    return tuple(value) if each.kind is tuple else float(value) if each.kind is float else value


@dataclass(frozen=True)
class Found:
    """One key of a configuration file, read."""

    setting: Setting
    value: Any
    where: str
    """The file and the key's line: ".scout-context.toml:3"."""
    note: str = ""
    """A warning for the reader, when the key is a former one (`Setting.renamed`)."""


def find_config(folder: Path) -> tuple[Path, tuple[str, ...]] | None:
    """The configuration file for commands run in `folder`, and the keys of its table of tables:
    `.scout-context.toml` (its top level), else `pyproject.toml` with a `[tool.scout-context]`
    table, in `folder`, else in its git root; None when neither has one."""
    for place in dict.fromkeys((folder, _git_root(folder))):
        if place is None:
            continue
        if (place / CONFIG_FILE).is_file():
            return place / CONFIG_FILE, ()
        pyproject = place / "pyproject.toml"
        if pyproject.is_file() and re.search(rb"^\s*\[\s*tool\.scout-context\b", pyproject.read_bytes(), re.M):
            return pyproject, TOOL_TABLE
    return None


def _git_root(folder: Path) -> Path | None:
    return next((place for place in (folder, *folder.parents) if (place / ".git").exists()), None)


def read_tables(
    path: Path,
    prefix: tuple[str, ...],
    tables: dict[str, Fields],
    shown: str,
    *,
    others: Iterable[str],
    never: dict[str, str],
) -> dict[str, list[Found]]:
    """The keys given in each of `tables` of the file `path` (under the table `prefix`), checked
    against their fields (`-` or `_` in a key alike). `others` are the tables read by others
    (left alone here); `never`, the keys never read from such a file, with what to use
    instead. A mistake is a UsageError: "{shown}:{line}: what is wrong"."""
    try:
        text = path.read_text(encoding="utf-8")
        found: object = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"{shown} is not valid TOML: {error}") from None
    for key in prefix:
        found = found.get(key, {}) if isinstance(found, dict) else {}
    lines = _Lines(text, prefix, shown)
    if not isinstance(found, dict):
        raise UsageError(f"{lines.at(())}: {'.'.join(prefix)} must be a table")
    read: dict[str, list[Found]] = {}
    for name, table in found.items():
        if name in others:
            continue
        if name not in tables:
            known = ", ".join([*tables, *others])
            raise UsageError(f"{lines.at((name,))}: unknown table [{name}] (known: {known})")
        if not isinstance(table, dict):
            raise UsageError(f"{lines.at((name,))}: {name} must be a table")
        fields = [each for cls, names in tables[name] for each in map(settings(cls).get, names) if each]
        chosen, read[name] = by_key(fields), []
        for key, value in table.items():
            at, known = lines.at((name,), key), key.replace("-", "_")
            each = chosen.get(known)
            if known in never:
                raise UsageError(f"{at}: [{name}] {key} is never read from a file: {never[known]}")
            if each is None:
                raise UsageError(f"{at}: [{name}] unknown key {key!r} (known: {', '.join(f.key for f in fields)})")
            if known == each.former and any(k.replace("-", "_") == each.key for k in table):
                raise UsageError(f"{at}: [{name}] gives both {each.former} and {each.key}: keep {each.key}")
            note = each.renamed(at) if known == each.former else ""
            read[name].append(Found(each, checked(value, each, f"{at}: [{name}] {key}"), at, note))
    return read


class _Lines:
    """Where a table or a key is in a TOML text, for messages (tomllib gives no lines)."""

    _HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")

    def __init__(self, text: str, prefix: tuple[str, ...], shown: str) -> None:
        self.lines, self.prefix, self.shown = text.splitlines(), prefix, shown

    def at(self, table: tuple[str, ...], key: str = "") -> str:
        wanted, current, header = ".".join((*self.prefix, *table)), "", 1
        for number, line in enumerate(self.lines, 1):
            if match := self._HEADER.match(line):
                current = re.sub(r"[\s\"']", "", match.group(1))
                if current == wanted:
                    header = number
            elif key and current == wanted and re.match(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
                return f"{self.shown}:{number}"
        return f"{self.shown}:{header}"
