"""Sets of options that several commands share, each declared once as a dataclass whose
fields are typer options (`ask` and `pr` take `EngineChoice`; `ask` takes `SourceFilters`).

A command names a set as one parameter (`engine: EngineChoice`); `@with_option_sets` spreads
the set's fields into the command's options in that place (so `--help` lists them where the
parameter stands) and calls the command with the set built from them.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, get_type_hints

from scout_context.engine.config import EngineConfig
from scout_context.pack.options import PackOptions

from .engine_options import BaseUrl, EngineName, MaxModelLen, Model, engine_config
from .options import Compress, Exclude, Include, NoDefaultExcludes, NoRedact, pack_options

R = TypeVar("R")


@dataclass(frozen=True)
class EngineChoice:
    """Which engine answers, and how it is reached."""

    engine: EngineName = "auto"
    model: Model = None
    base_url: BaseUrl = None
    max_model_len: MaxModelLen = None

    def config(self, verbose: bool, images: int = 10, timeout: float | None = None) -> EngineConfig:
        return engine_config(self.engine, self.model, self.base_url, self.max_model_len, verbose, images, timeout)


@dataclass(frozen=True)
class SourceFilters:
    """Which files of the sources are read, and how."""

    include: Include = None
    exclude: Exclude = None
    compress: Compress = False
    no_redact: NoRedact = False
    no_default_excludes: NoDefaultExcludes = False

    def options(self, password: str | None = None) -> PackOptions:
        return pack_options(
            self.include, self.exclude, self.compress, self.no_redact, self.no_default_excludes, password=password
        )


def with_option_sets(command: Callable[..., R]) -> Callable[..., R]:
    """`command` with each parameter typed as an option set (a dataclass) replaced by the
    set's fields, in its place; called, it gets the set built from their values."""
    hints = get_type_hints(command, include_extras=True)
    parameters: list[inspect.Parameter] = []
    sets: dict[str, tuple[type, list[str]]] = {}
    for parameter in inspect.signature(command).parameters.values():
        annotation = hints[parameter.name]
        if not (isinstance(annotation, type) and dataclasses.is_dataclass(annotation)):
            parameters.append(parameter.replace(annotation=annotation))
            continue
        fields = dataclasses.fields(annotation)
        types = get_type_hints(annotation, include_extras=True)
        sets[parameter.name] = (annotation, [field.name for field in fields])
        parameters += [
            inspect.Parameter(field.name, parameter.kind, default=field.default, annotation=types[field.name])
            for field in fields
        ]

    @functools.wraps(command)
    def spread(**values: Any) -> R:
        for name, (cls, names) in sets.items():
            values[name] = cls(**{each: values.pop(each) for each in names})
        return command(**values)

    signature = inspect.signature(command).replace(parameters=parameters, return_annotation=hints.get("return"))
    spread.__signature__ = signature  # type: ignore[attr-defined]
    spread.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": hints.get("return")}
    return spread
