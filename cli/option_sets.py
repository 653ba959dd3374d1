"""Sets of options that several commands share, each declared once as a dataclass whose
fields are typer options (`ask` and `pr` take `EngineChoice`; `ask` takes `SourceFilters`;
every command that starts an engine takes `HardwareChoice`; the commands that pack take
`ScreenChoice`; the commands that answer take `SamplingChoice`).

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

import typer

from scout_context.engine.config import EngineConfig, SamplingConfig
from scout_context.engine.profile import KV_DTYPES
from scout_context.errors import UnsafeAnswer
from scout_context.guard.check import guard_config
from scout_context.guard.llama_guard import GUARD_MODEL
from scout_context.pack.options import PackOptions
from scout_context.screen import MODES
from scout_context.sources.defaults import DEFAULT_MAX_FILE_BYTES

from .engine_options import BaseUrl, EngineName, MaxModelLen, Model, engine_config
from .help_text import ENGINE, INPUT, SAFETY, choices
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


def _sampling(name: str) -> Any:
    return option(SamplingConfig, name, rich_help_panel=ENGINE)


@dataclass(frozen=True)
class SamplingChoice:
    """How each answer is sampled, besides its length (`--max-tokens`, whose default is each
    command's): the `SamplingConfig` fields of `SAMPLING_SETTINGS`, keys of `[ask]` and job files."""

    temperature: Annotated[float, _sampling("temperature")] = SamplingConfig.temperature
    frequency_penalty: Annotated[float, _sampling("frequency_penalty")] = SamplingConfig.frequency_penalty
    repetition_penalty: Annotated[float, _sampling("repetition_penalty")] = SamplingConfig.repetition_penalty
    stop_repeats: Annotated[int, _sampling("stop_repeats")] = SamplingConfig.stop_repeats

    def config(self, max_tokens: int) -> SamplingConfig:
        return SamplingConfig(max_tokens=max_tokens, **dataclasses.asdict(self))


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


def _guard_option(*flags: str, help: str) -> Any:
    return typer.Option(*flags, help=help, rich_help_panel=SAFETY, show_default=False)


@dataclass(frozen=True)
class GuardChoice:
    """Whether Llama Guard 4 checks each answer before it is shown, on which engine, and
    whether an answer it does not find safe is shown anyway."""

    guard: Annotated[
        bool,
        _guard_option(
            "--guard",
            help="Check each answer with Llama Guard 4 before it is shown: the answer is written once the guard "
            "has read it, not streamed. One not found safe (unsafe, or a verdict that cannot be read) is "
            f"withheld, its categories named on stderr, and the command exits {UnsafeAnswer.exit_code}.",
        ),
    ] = False
    guard_model: Annotated[
        str | None,
        _guard_option(
            "--guard-model",
            help=f"The guard model (implies --guard): a Hugging Face id or a folder, or with --guard-url the "
            f"id it is served as (default {GUARD_MODEL}).",
        ),
    ] = None
    guard_url: Annotated[
        str | None,
        _guard_option(
            "--guard-url",
            help="A vLLM server that serves the guard model, such as http://gpu:8001/v1 (implies --guard; "
            "its key is SCOUT_API_KEY). Without it the guard runs embedded, after the answer engine closes.",
        ),
    ] = None
    show_unsafe: Annotated[
        bool, _guard_option("--show-unsafe", help="Show an answer the guard did not find safe (the exit code stays).")
    ] = False

    @property
    def on(self) -> bool:
        return self.guard or self.guard_model is not None or self.guard_url is not None

    def config(self, answering: EngineConfig) -> EngineConfig:
        """The guard engine's settings, from the answer engine's (see `guard_config`)."""
        return guard_config(answering, self.guard_model, self.guard_url)


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
