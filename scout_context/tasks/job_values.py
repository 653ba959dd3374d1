"""Typed values of a job file, read with the file and line of every mistake.

`ValueReader.read_settings` reads the keys that are settings fields (`scout_context.settings`):
the field's type says how its value is checked, its default stands in for a missing key,
its metadata gives the key and the smallest value. `example_line` writes such a key, with
the field's doc as its comment, for the example job file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..settings import Setting, by_key, settings
from .yaml_lines import Map

_COMMENT_COLUMN = 27


class JobFileError(UsageError):
    """A job file that cannot be read or is invalid: `path:line: what is wrong`."""


class ValueReader:
    """Checks of a job file's values; a mistake is a `JobFileError` naming the file, line and key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.notes: list[str] = []
        """Warnings for the reader: former keys (`Setting.renamed`)."""

    def fail(self, line: int, message: str) -> JobFileError:
        return JobFileError(f"{self.path}:{line}: {message}")

    def read_settings(
        self,
        spec: Map,
        where: str,
        cls: type,
        names: tuple[str, ...],
        choices: dict[str, tuple[str, ...]] | None = None,
        defaults: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The fields `names` of the settings dataclass `cls`, by field name, from the keys of
        `spec` (where a key is missing: its value in `defaults`, else the field's default);
        `choices` limits a text's values."""
        values, choices, defaults = {}, choices or {}, defaults or {}
        for name in names:
            each = settings(cls)[name]
            if name in defaults:
                each = replace(each, default=defaults[name])
            self.rename(spec, each, where)
            if name in choices:
                values[name] = self.choice(spec, each.key, where, choices[name], each.default)
            else:
                values[name] = self.value(spec, each, where)
        return values

    def rename(self, spec: Map, each: Setting, where: str) -> None:
        """Read the former key of `each` as its key, with a note (both given: a mistake)."""
        if each.former not in spec:
            return
        line = spec.lines[each.former]
        if each.key in spec:
            raise self.fail(line, f"{where}: both {each.former} and {each.key} are given: keep {each.key}")
        spec[each.key], spec.lines[each.key] = spec.pop(each.former), spec.lines.pop(each.former)
        self.notes.append(each.renamed(f"{self.path}:{line}"))

    def value(self, spec: Map, each: Setting, where: str) -> Any:
        """The value of the key of `each` as its type wants it."""
        key, default = each.key, each.default
        if each.kind is bool:
            return self.flag(spec, key, where, default)
        if each.kind is tuple:
            return tuple(self.texts(spec, key, where))
        if each.kind is int:
            value = self.integer(spec, key, where, default, minimum=int(each.minimum or 0))
        elif each.kind is float:
            value = self.number(spec, key, where, default, minimum=each.minimum or 0)
        else:
            return self.text(spec, key, where, default)
        refusal = each.refusal(value) if key in spec else None
        if refusal:
            raise self.fail(spec.lines[key], f"{where}.{key}: expected {refusal}")
        return value

    def mapping(self, value: Any, line: int, where: str, keys: set[str] | None, required: tuple[str, ...] = ()) -> Map:
        if not isinstance(value, Map):
            raise self.fail(getattr(value, "line", line), f"{where}: expected a mapping of keys to values")
        for key in value:
            if keys is not None and key not in keys:
                raise self.fail(value.lines[key], f"{where}: unknown key {key!r} (expected: {', '.join(sorted(keys))})")
        for key in required:
            if key not in value:
                raise self.fail(value.line, f"{where}: {key!r} is missing")
        return value

    def text(self, spec: Map, key: str, where: str, default: Any) -> Any:
        if key not in spec:
            return default
        value = spec[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(spec.lines[key], f"{where}.{key}: expected text")
        return value.strip()

    def texts(self, spec: Map, key: str, where: str) -> list[str]:
        """A list of strings; one string alone counts as a list of one."""
        value = spec.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(spec.lines[key], f"{where}.{key}: expected a list of text")
        return list(value)

    def integer(self, spec: Map, key: str, where: str, default: Any, *, minimum: int) -> Any:
        if key not in spec or spec[key] is None:
            return default
        value = spec[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.fail(spec.lines[key], f"{where}.{key}: expected a whole number of at least {minimum}")
        return value

    def number(self, spec: Map, key: str, where: str, default: float | None, *, minimum: float) -> float | None:
        if key not in spec or spec[key] is None:
            return default
        value = spec[key]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < minimum:
            raise self.fail(spec.lines[key], f"{where}.{key}: expected a number of at least {minimum:g}")
        return float(value)

    def flag(self, spec: Map, key: str, where: str, default: bool) -> bool:
        value = spec.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(spec.lines[key], f"{where}.{key}: expected true or false")
        return value

    def choice(self, spec: Map, key: str, where: str, choices: tuple[str, ...], default: str) -> str:
        value = spec.get(key, default)
        if value not in choices:
            # a default from elsewhere (a configuration file) is named at the table's line
            line = spec.lines.get(key, spec.line)
            raise self.fail(line, f"{where}.{key}: expected {' or '.join(choices)}, not {value!r}")
        return value


def keys(*tables: tuple[type, tuple[str, ...]]) -> set[str]:
    """The job-file keys of the fields named in `tables` ((settings dataclass, field names), ...),
    former keys included."""
    return set(by_key(settings(cls)[name] for cls, names in tables for name in names))


def example_line(
    cls: type, name: str, value: str | None = None, *, indent: int, off: bool = False, more: str = ""
) -> str:
    """The example job file's line for the field `name` of `cls`: its key and `value` (default:
    the field's default), commented out when `off`, then its doc's first sentence and `more`."""
    each = settings(cls)[name]
    line = f"{' ' * indent}{'# ' if off else ''}{each.key}: {_yaml(each.default) if value is None else value}"
    return f"{line.ljust(_COMMENT_COLUMN - 1)} # {each.summary}{more}"


def _yaml(value: object) -> str:
    """A default as YAML writes it: true, false, 0, 512."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
