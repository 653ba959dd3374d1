"""Settings declared once: a dataclass field, with its doc as the string literal after it.

The CLI's options (`cli/setting_options.py`), the job file's keys and the comments of its
example (`tasks/jobs.py`, `tasks/job_values.py`) and the `.scout-context.toml` tables
(`project_config.py`) are all built from `settings(cls)`, so a setting's name, default,
type, bounds and help are written in one place: a field with a doc is a setting. A field's doc is read from the class's source (as vLLM does for its
config dataclasses); what only one surface needs goes in `setting(...)`'s metadata: the
CLI flag when it is not `--field-name`, the smallest value allowed, and the key that files
used before it took the option's name (`former`, still read, with a warning). The key in
files is always the option's name: `--max-file-size` is `max_file_size`, `--no-redact` is
`redact`.

A doc is written for users: its first sentence says what the setting is (the example job
file's comment), the whole doc is the option's `--help`. Where to add a setting: a field
with a doc in its dataclass, then the surface that offers it (an `option(...)` in `cli/`,
a name in `jobs.ENGINE_SETTINGS` or `CORPUS_SETTINGS`, a table's fields for `read_table`).
"""

from __future__ import annotations

import ast
import inspect
import itertools
import re
import textwrap
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from functools import cache
from typing import Any

from .errors import UsageError

_SENTENCE_END = re.compile(r"\.(?:\s|$)")


@dataclass(frozen=True)
class Setting:
    """One field of a settings dataclass, as every surface sees it."""

    name: str
    """The field's name (the keyword of the dataclass)."""
    doc: str
    """The field's doc on one line ("" when it has none)."""
    kind: type
    """bool, int, float, str or tuple (of str), whether or not None is allowed."""
    default: Any
    """The field's default (MISSING for a required field)."""
    flag: str
    """The CLI option: `--field-name` unless the field says otherwise."""
    key: str
    """The key in job files and configuration files: the flag's name, `-` as `_`, without `no-`."""
    former: str
    """The key files used before `key` ("" when none): still read, with a warning (`renamed`)."""
    minimum: float | None
    """The smallest value accepted, for numbers."""
    excluded: Mapping[float, str]
    """Values above the minimum still refused, each with what is accepted instead
    (`--stop-repeats` 1: "0 (never) or a count of at least 2")."""
    env: str
    """The environment variable that gives it ("" when none does): it beats a configuration file."""

    @property
    def summary(self) -> str:
        """The doc's first sentence, as a comment in a file: "most tokens in the answer"."""
        first = _SENTENCE_END.split(self.doc, maxsplit=1)[0].strip()
        word = first.split(" ", 1)[0]
        return first if len(word) > 1 and word.isupper() else first[:1].lower() + first[1:]  # "KV cache" stays

    def renamed(self, where: str) -> str:
        """The warning for a file that uses the former key, at `where` ("jobs.yaml:3")."""
        return f"{where}: {self.former} is now {self.key}, the option's name (the old key still works, for now)"

    def refusal(self, value: Any) -> str | None:
        """What is accepted instead of `value`, when `value` is one of `excluded`: "0 (never)
        or a count of at least 2, not 1"; else None."""
        if isinstance(value, bool) or not isinstance(value, int | float) or value not in self.excluded:
            return None
        return f"{self.excluded[value]}, not {value:g}"


def check_excluded(instance: Any) -> None:
    """UsageError for the first field of the settings dataclass `instance` whose value is
    one of its `excluded`: "--stop-repeats is 0 (never) or a count of at least 2, not 1"."""
    cls: type = type(instance)
    for each in settings(cls).values():
        refusal = each.refusal(getattr(instance, each.name))
        if refusal:
            raise UsageError(f"{each.flag} is {refusal}")


def by_key(chosen: Iterable[Setting]) -> dict[str, Setting]:
    """The settings `chosen` by the keys files may use for them: each key and each former key."""
    return {key: each for each in chosen for key in (each.key, each.former) if key}


def setting(
    default: Any = MISSING,
    *,
    flag: str = "",
    minimum: float | None = None,
    excluded: Mapping[float, str] | None = None,
    env: str = "",
    former: str = "",
    repr: bool = True,
) -> Any:
    """A dataclass field with what the surfaces need besides its name, type and doc."""
    metadata = {"flag": flag, "minimum": minimum, "excluded": excluded or {}, "env": env, "former": former}
    return field(default=default, repr=repr, metadata=metadata)


@cache
def settings(cls: type) -> dict[str, Setting]:
    """The fields of the dataclass `cls` that have a doc, by field name, in declaration order."""
    docs = _field_docs(cls)
    hints = typing.get_type_hints(cls)
    found = {}
    for each in fields(cls):
        if each.name not in docs:
            continue
        meta = each.metadata
        flag = meta.get("flag") or "--" + each.name.replace("_", "-")
        found[each.name] = Setting(
            name=each.name,
            doc=docs[each.name],
            kind=_kind(hints[each.name]),
            default=each.default,
            flag=flag,
            key=flag.removeprefix("--").removeprefix("no-").replace("-", "_"),
            former=meta.get("former", ""),
            minimum=meta.get("minimum"),
            excluded=meta.get("excluded", {}),
            env=meta.get("env", ""),
        )
    return found


def _field_docs(cls: type) -> dict[str, str]:
    """Each field's doc: the string literal right after its annotated assignment."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for statement, following in itertools.pairwise(body):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = " ".join(following.value.value.split())
    return docs


def _kind(hint: Any) -> type:
    """The type a value is read as, without None: `int | None` -> int, `tuple[str, ...]` -> tuple."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return typing.get_origin(hint) or hint
