"""The project's configuration file: `.scout-context.toml`, or `[tool.scout-context]` in
`pyproject.toml` when the former has no such table. One loader for every table in it.

A table's keys are settings fields (`scout_context.settings`), given as (dataclass, field
names) pairs, so a key's name, type and default are declared once, with its doc. A mistake
is one `UsageError` naming the file, the table and the key. The caller says how a file is
read (`pr` reads the base commit's, never the work tree's).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from typing import Any

from .errors import UsageError
from .settings import Setting, settings

CONFIG_FILE = ".scout-context.toml"
Fields = tuple[tuple[type, tuple[str, ...]], ...]

# What a value of each type must be, and how the message names it.
_CHECKS: dict[type, tuple[Callable[[Any], bool], str]] = {
    tuple: (lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value), "a list of strings"),
    str: (lambda value: isinstance(value, str), "a string"),
}


def read_table(read: Callable[[str], bytes | None], table: str, fields: Fields, at: str = "") -> dict[str, Any]:
    """The values of the fields `fields` from the table `table`, by field name (the field's
    default where a key is missing, all defaults when no file has the table). `read(name)`
    gives a file's bytes or None when it is missing; `at` ends the file's name in messages
    (" at 1a2b3c4d5e6f")."""
    found, where = _find(read, table, at)
    if not isinstance(found, dict):
        raise UsageError(f"{where} must be a table")
    chosen = [settings(cls)[name] for cls, names in fields for name in names]
    known = [each.key for each in chosen]
    if unknown := set(found) - set(known):
        raise UsageError(f"{where}: unknown settings {', '.join(sorted(unknown))} (known: {', '.join(known)})")
    return {each.name: _value(found, each, where) for each in chosen}


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


def _value(table: dict[str, Any], each: Setting, where: str) -> Any:
    if each.key not in table:
        return each.default
    value = table[each.key]
    valid, expected = _CHECKS[each.kind]
    if not valid(value):
        raise UsageError(f"{where}: {each.key} must be {expected}")
    return tuple(value) if each.kind is tuple else value
