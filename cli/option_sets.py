"""Sets of options that several commands share, each declared once as a dataclass whose
fields are typer options (`ask` and `pr` take `EngineChoice`; `ask` takes `SourceFilters`;
every command that starts an engine takes `HardwareChoice`; the commands that pack take
`ScreenChoice`).

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
from typing import Annotated, Any, TypeVar, get_type_hints

from scout_context.engine.config import EngineConfig
from scout_context.engine.profile import KV_DTYPES
from scout_context.pack.options import PackOptions
from scout_context.screen import MODES
from scout_context.sources.defaults import DEFAULT_MAX_FILE_BYTES

from .engine_options import BaseUrl, EngineName, MaxModelLen, Model, engine_config
from .help_text import ENGINE, INPUT, choices
from .options import Compress, Exclude, Include, NoDefaultExcludes, NoRedact, pack_options
from .setting_options import option

R = TypeVar("R")


def _hardware(name: str, **extra: Any) -> Any:
    return option(
        EngineConfig, name, show_default=False, rich_help_panel=ENGINE, **extra
    )  # unset: detected, or the job file's


@dataclass(frozen=True)
class HardwareChoice:
    """The GPUs to plan and run for (detected when not given) and how to use them: the
    `EngineConfig` fields that job files take as the same keys (`HARDWARE_SETTINGS`)."""

    gpus: Annotated[int | None, _hardware("gpus")] = None
    gpu_memory_gib: Annotated[float | None, _hardware("gpu_memory_gib")] = None
    tensor_parallel_size: Annotated[int | None, _hardware("tensor_parallel_size")] = None
    kv_cache_dtype: Annotated[str | None, _hardware("kv_cache_dtype", metavar=choices(KV_DTYPES))] = None
    gpu_memory_utilization: Annotated[float | None, _hardware("gpu_memory_utilization")] = None

    def given(self) -> dict[str, Any]:
        """The settings given, by `EngineConfig` field name."""
        return {f.name: value for f in dataclasses.fields(self) if (value := getattr(self, f.name)) is not None}


@dataclass(frozen=True)
class EngineChoice:
    """Which engine answers, and how it is reached."""

    engine: EngineName = "auto"
    model: Model = None
    base_url: BaseUrl = None
    max_model_len: MaxModelLen = None

    def config(
        self, verbose: bool, images: int = 5, timeout: float | None = None, hardware: HardwareChoice | None = None
    ) -> EngineConfig:
        given = hardware.given() if hardware is not None else None
        return engine_config(
            self.engine, self.model, self.base_url, self.max_model_len, verbose, images, timeout, given
        )


@dataclass(frozen=True)
class SourceFilters:
    """Which files of the sources are read, and how."""

    include: Include = None
    exclude: Exclude = None
    compress: Compress = False
    no_redact: NoRedact = False
    no_default_excludes: NoDefaultExcludes = False

    def options(self, password: str | None = None, max_file_size: int = DEFAULT_MAX_FILE_BYTES) -> PackOptions:
        return pack_options(
            self.include, self.exclude, self.compress, self.no_redact, self.no_default_excludes, max_file_size, password
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


def _screen(name: str, **extra: Any) -> Any:
    return option(PackOptions, name, show_default=False, rich_help_panel=INPUT, **extra)


@dataclass(frozen=True)
class ScreenChoice:
    """Screening for prompt injection (`scout_context.screen`): the `PackOptions` fields
    `screen` and `screen_model`; unset, the configuration's or job file's value holds."""

    screen: Annotated[str | None, _screen("screen", metavar=choices(MODES))] = None
    screen_model: Annotated[str | None, _screen("screen_model")] = None

    def applied(self, options: PackOptions) -> PackOptions:
        """`options` with the screening given here."""
        given = {f.name: value for f in dataclasses.fields(self) if (value := getattr(self, f.name)) is not None}
        return dataclasses.replace(options, **given)
