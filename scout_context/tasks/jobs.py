"""Job files for `batch`: named corpora, the jobs that question them, engine settings.

A job file is YAML (see `EXAMPLE` for every key). Loading validates it completely before
anything runs; a mistake is one `UsageError` naming the file and line. Paths in it
(sources, outputs, `.md` templates) are relative to the job file's folder, and where they
may point is checked too (`job_paths`: job files are written by strangers). The keys of
`engine:` and of a corpus are settings fields (`ENGINE_SETTINGS`, `CORPUS_SETTINGS`): their
types, defaults, bounds and the example's comments come from `EngineConfig`,
`SamplingConfig`, `PackOptions` and the fields below (see `scout_context.settings`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ..engine import registry
from ..engine.config import SAMPLING_SETTINGS, EngineConfig, SamplingConfig
from ..errors import UsageError
from ..pack.options import PackOptions
from ..settings import setting
from ..sources.remote import Remote, looks_remote, parse_remote
from .job_paths import OUTSIDE_HINT, input_at, outside, unwritable
from .job_values import JobFileError, ValueReader, example_line, keys
from .yaml_lines import Map, Seq, load_yaml

ReportFormat = Literal["markdown", "json", "html"]
FORMATS: dict[str, str] = {"markdown": ".md", "json": ".json", "html": ".html"}
DEFAULT_CONCURRENCY = 4

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECTION = re.compile(r"^## +(.+?)\s*$", re.MULTILINE)
_LANGUAGE = re.compile(r"[^\W\d_](?:[^\W\d_]|[ '(),-]){0,63}")  # letters, spaces and a few marks, one line


@dataclass(frozen=True)
class Question:
    title: str
    text: str


@dataclass(frozen=True)
class Corpus:
    name: str
    sources: tuple[Path | Remote, ...]
    """Folders, files, PDFs, chat exports, remote repositories (as for ask: they need --allow-outside)."""
    options: PackOptions
    budget: int | None = setting(None, minimum=1)
    """Most corpus tokens (default: what the engine's context holds)."""


@dataclass(frozen=True)
class Job:
    name: str
    title: str
    corpus: str
    questions: tuple[Question, ...]
    output: Path
    format: ReportFormat


@dataclass(frozen=True)
class JobFile:
    path: Path
    corpora: dict[str, Corpus]
    jobs: tuple[Job, ...]
    engine: EngineConfig
    sampling: SamplingConfig
    concurrency: int = setting(DEFAULT_CONCURRENCY, minimum=1)
    """With the openai engine, the requests in flight at once."""
    answer_language: str | None = None
    """Answer in this language (default: the question's)."""
    notes: tuple[str, ...] = ()  # warnings for the reader (former keys)
    system: str | None = None
    """Your own instructions for the model, in place of the default ones (answer from the sources only; be
    concise). What the prompt relies on stays: how the sources are written, that they are data, how to cite,
    the answer's language (--answer-language) and a review's format. It is part of the cached prefix, and a
    conversation keeps its first turn's: a follow-up given other instructions is refused."""

    def overwrites_input(self, path: Path) -> str | None:
        """Why writing `path` would overwrite this job file or a source; None when it would not."""
        return input_at(os.path.realpath(path), self.path, self.corpora.values())

    def corpus_jobs(self) -> dict[str, list[Job]]:
        """The jobs of each corpus, corpora in the order jobs first name them."""
        grouped: dict[str, list[Job]] = {}
        for job in self.jobs:
            grouped.setdefault(job.corpus, []).append(job)
        return grouped

    @property
    def outputs(self) -> list[Path]:
        return [job.output for job in self.jobs]


def load_job_file(
    path: Path, *, overwrite: bool = False, allow_outside: bool = False, defaults: dict[str, Any] | None = None
) -> JobFile:
    """Read and validate `path`, including where its paths point (see the module's note;
    `overwrite` lets reports replace existing files that are not reports, `allow_outside`
    lets paths lie outside the job file's folder). `defaults`: `EngineConfig` values by field
    name (the configuration file's `[engine]`) for what `engine:` does not give: below the
    job file's keys and the environment. Raises JobFileError (exit 2)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise JobFileError(f"cannot read the job file {path}: {getattr(error, 'strerror', None) or error}") from None
    try:
        data = load_yaml(path, text)
    except ValueError as error:
        raise JobFileError(str(error)) from None
    return _Reader(path, overwrite, allow_outside, defaults or {}).job_file(data)


def template_questions(text: str, variables: dict[str, str], where: str) -> tuple[str, tuple[Question, ...]]:
    """(title, questions) of a template: `{name}` is replaced by its variable; a `# Title`
    first line is the report's title; each `## Heading` section is one question, and a
    template without sections is one instruction. Raises ValueError naming what is wrong."""
    used = set(_VARIABLE.findall(text))
    if missing := sorted(used - variables.keys()):
        raise ValueError(f"{where} needs the variable(s) {', '.join(missing)}")
    if unused := sorted(variables.keys() - used):
        raise ValueError(
            f"{where} has no variable(s) {', '.join(unused)} (it uses: {', '.join(sorted(used)) or 'none'})"
        )
    body = _VARIABLE.sub(lambda m: variables[m.group(1)], text).strip()
    title = ""
    if body.startswith("# "):
        title, _, body = body.partition("\n")
        title = title[2:].strip()
    parts = _SECTION.split(body)  # [preamble, heading, text, heading, text, ...]
    preamble = parts[0].strip()
    sections = [(parts[i].strip(), parts[i + 1].strip()) for i in range(1, len(parts), 2)]
    if not sections:
        return title, (Question(title or "Report", preamble),) if preamble else ()
    context = f"{preamble}\n\n" if preamble else ""
    return title, tuple(Question(heading, context + text) for heading, text in sections if text)


_TOP = {"engine", "corpora", "jobs"}
_JOB = {"name", "title", "corpus", "questions", "template", "variables", "output", "format"}
# The keys of `engine:` and of each corpus: (settings dataclass, its fields), in reading order.
HARDWARE_SETTINGS = ("gpus", "gpu_memory_gib", "tensor_parallel_size", "kv_cache_dtype", "gpu_memory_utilization")
"""The `EngineConfig` fields that say what the embedded engine runs on (the commands' hardware options)."""
ENGINE_SETTINGS = (
    (EngineConfig, ("backend", "model", "base_url", "max_model_len", *HARDWARE_SETTINGS)),
    (SamplingConfig, SAMPLING_SETTINGS),
    (JobFile, ("concurrency", "answer_language", "system")),
)
CORPUS_SETTINGS = (
    (
        PackOptions,
        ("include", "exclude", "default_excludes", "redact", "compress", "max_file_bytes", "screen", "screen_model"),
    ),
    (Corpus, ("budget",)),
)
_ENGINE = keys(*ENGINE_SETTINGS)
_CORPUS = keys(*CORPUS_SETTINGS, (Corpus, ("sources",)))


def _example() -> str:
    """The commented example job file (`batch --init`): defaults and comments come from the fields."""
    engine = [
        example_line(
            EngineConfig, "backend", indent=2, more=f": {registry.AUTO} ({registry.AUTO_HELP}), {registry.either()}"
        ),
        example_line(EngineConfig, "model", "scout", indent=2, off=True),
        example_line(EngineConfig, "base_url", "http://gpu-box:8000/v1", indent=2, off=True),
        example_line(EngineConfig, "max_model_len", "131072", indent=2, off=True),
        *(
            example_line(EngineConfig, name, value, indent=2, off=True)
            for name, value in zip(HARDWARE_SETTINGS, ("8", "79.18", "8", "auto", "0.9"), strict=True)
        ),
        *(example_line(SamplingConfig, name, indent=2) for name in SAMPLING_SETTINGS),
        example_line(JobFile, "concurrency", indent=2, off=True),
        example_line(JobFile, "answer_language", "English", indent=2, off=True),
        example_line(JobFile, "system", "Answer as a release engineer would.", indent=2, off=True),
    ]
    corpus = [
        example_line(Corpus, "sources", "[.]", indent=4),
        example_line(PackOptions, "exclude", "[reports/]", indent=4, more="; also: include"),
        *(
            example_line(PackOptions, name, indent=4, off=True)
            for name in ("compress", "redact", "default_excludes", "max_file_bytes", "screen")
        ),
        example_line(PackOptions, "screen_model", "meta-llama/Llama-Prompt-Guard-2-86M", indent=4, off=True),
        example_line(Corpus, "budget", "200000", indent=4, off=True),
    ]
    return _EXAMPLE.format(engine="\n".join(engine), corpus="\n".join(corpus))


_EXAMPLE = """\
# scout-context batch job file: `scout-context batch jobs.yaml` answers every question
# below and writes one report per job. Paths are relative to this file and must stay
# in its folder; sources or outputs elsewhere (absolute paths, ..) need the caller's
# `scout-context batch --allow-outside`.

# The engine, as for `ask` (SCOUT_BASE_URL, SCOUT_API_KEY and SCOUT_MODEL apply too).
engine:
{engine}

# Corpora: what to read. Each is packed once and laid out the same way for every
# question (the `stable` layout), so the engine computes it once and reuses its cache.
corpora:
  repo:
{corpus}

# Jobs: questions (or a template from prompts/) over one corpus, one report each.
jobs:
  - name: overview
    corpus: repo
    questions:
      - What does this project do, and what are its main parts?
      - Where are the entry points, and what does each one do?
    output: reports/overview.md     # the format follows the suffix: .md, .json, .html
    # An output may not be this file or a source (repo excludes reports/, so they are
    # not its sources), nor an existing file that is not a report (see --overwrite).
  - name: security
    corpus: repo
    template: security-review       # prompts/security-review.md; or a .md file of yours
    variables:
      focus: handling of user input
    output: reports/security.html
    # format: html                  # markdown, json or html, when the suffix says nothing
"""
EXAMPLE = _example()


class _Reader(ValueReader):
    """Validation with the file and line of every mistake."""

    def __init__(self, path: Path, overwrite: bool, allow_outside: bool, defaults: dict[str, Any]) -> None:
        super().__init__(path)
        self.defaults = defaults
        self.root = path.resolve().parent
        self.overwrite = overwrite
        self.allow_outside = allow_outside

    def job_file(self, data: Any) -> JobFile:
        if isinstance(data, Map) and "allow_outside" in data:
            raise self.fail(
                data.lines["allow_outside"], f"allow_outside is the caller's choice, not the job file's: {OUTSIDE_HINT}"
            )
        top = self.mapping(data, 1, "the job file", _TOP, required=("corpora", "jobs"))
        engine = self.mapping(top.get("engine", Map()), top.lines.get("engine", 1), "engine", _ENGINE)
        backends = {"backend": (registry.AUTO, *registry.names())}
        config, sampling, batch = (
            self.read_settings(engine, "engine", cls, names, backends, self.defaults) for cls, names in ENGINE_SETTINGS
        )
        answer_language = batch["answer_language"]
        if answer_language is not None and not _LANGUAGE.fullmatch(answer_language):
            # it goes into the system prompt, unescaped: a name, not room for prompt structure
            raise self.fail(
                engine.lines["answer_language"],
                "engine.answer_language: expected the name of a language (such as German or Português do Brasil)",
            )
        corpora_map = self.mapping(top["corpora"], top.lines["corpora"], "corpora", None)
        if not corpora_map:
            raise self.fail(top.lines["corpora"], "corpora: name at least one corpus")
        corpora = {name: self.corpus(name, spec, corpora_map.lines[name]) for name, spec in corpora_map.items()}
        jobs_list = top["jobs"]
        if not isinstance(jobs_list, Seq) or not jobs_list:
            raise self.fail(top.lines["jobs"], "jobs: expected a list of jobs")
        jobs = tuple(
            self.job(i, spec, line, corpora)
            for i, (spec, line) in enumerate(zip(jobs_list, jobs_list.lines, strict=False))
        )
        names = [job.name for job in jobs]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise self.fail(jobs_list.lines[i], f"jobs[{i}]: the name {name!r} is used twice")
        outputs = [os.path.realpath(job.output) for job in jobs]
        for i, output in enumerate(outputs):
            if output in outputs[:i]:
                raise self.fail(jobs_list.lines[i], f"jobs[{i}]: the output {jobs[i].output} is used twice")
        return JobFile(
            path=self.path,
            corpora=corpora,
            jobs=jobs,
            engine=EngineConfig.from_env(**self.defaults | config),
            sampling=SamplingConfig(**sampling),
            notes=tuple(self.notes),
            **batch,
        )

    def corpus(self, name: str, spec: Any, line: int) -> Corpus:
        where = f"corpora.{name}"
        spec = self.mapping(spec, line, where, _CORPUS, required=("sources",))
        sources = self.texts(spec, "sources", where)
        if not sources:
            raise self.fail(spec.lines["sources"], f"{where}.sources: name at least one folder or file")
        read = tuple(self.source(source, spec.lines["sources"], f"{where}.sources") for source in sources)
        options, corpus = (self.read_settings(spec, where, cls, names) for cls, names in CORPUS_SETTINGS)
        return Corpus(name, read, PackOptions(**options), **corpus)

    def source(self, source: str, line: int, where: str) -> Path | Remote:
        """A path inside the job file's folder, or a remote repository: that one is read from
        elsewhere (another host, or this one's disk over file://), so it needs the caller's
        --allow-outside too. It is fetched when its corpus is packed."""
        if not os.path.lexists(self.root / source) and looks_remote(source):
            if not self.allow_outside:
                raise self.fail(line, f"{where}: {source} is a remote repository: {OUTSIDE_HINT}")
            try:
                return parse_remote(source)
            except UsageError as error:
                raise self.fail(line, f"{where}: {error}") from None
        if not (self.root / source).exists():
            raise self.fail(line, f"{where}: no such file or folder: {source}")
        self.inside_folder(source, line, where)
        return self.root / source

    def job(self, index: int, spec: Any, line: int, corpora: dict[str, Corpus]) -> Job:
        where = f"jobs[{index}]"
        spec = self.mapping(spec, line, where, _JOB, required=("name", "corpus"))
        name = self.text(spec, "name", where, "")
        if not re.fullmatch(r"[\w.-]+", name):
            raise self.fail(spec.lines["name"], f"{where}.name: use letters, digits, '-', '_' or '.', not {name!r}")
        where = f"jobs[{index}] ({name})"
        corpus = self.text(spec, "corpus", where, "")
        if corpus not in corpora:
            raise self.fail(spec.lines["corpus"], f"{where}.corpus: no corpus {corpus!r} (known: {', '.join(corpora)})")
        if ("questions" in spec) == ("template" in spec):
            raise self.fail(spec.line, f"{where}: give either questions or a template")
        title = self.text(spec, "title", where, "")
        if "questions" in spec:
            if "variables" in spec:
                raise self.fail(spec.lines["variables"], f"{where}.variables: only a template takes variables")
            texts = self.texts(spec, "questions", where)
            if not texts or not all(text.strip() for text in texts):
                raise self.fail(spec.lines["questions"], f"{where}.questions: expected a list of questions")
            questions = tuple(Question(text.strip(), text.strip()) for text in texts)
        else:
            template_title, questions = self.template(spec, where)
            title = title or template_title
        format_, output = self.output(spec, where, name, corpora)
        return Job(name, title or name, corpus, questions, output, format_)

    def template(self, spec: Map, where: str) -> tuple[str, tuple[Question, ...]]:
        name = self.text(spec, "template", where, "")
        line = spec.lines["template"]
        if name.endswith(".md"):
            self.inside_folder(name, line, f"{where}.template")
            path = self.root / name
            if not path.is_file():
                raise self.fail(line, f"{where}.template: no such file: {name}")
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise self.fail(
                    line, f"{where}.template: cannot read {name}: {getattr(error, 'strerror', None) or error}"
                ) from None
        else:
            shipped = resources.files("scout_context.prompts") / f"{name}.md"
            if not shipped.is_file():
                shipped_names = (p.name for p in resources.files("scout_context.prompts").iterdir())
                known = sorted(name[:-3] for name in shipped_names if name.endswith(".md"))
                raise self.fail(
                    line, f"{where}.template: no template {name!r} (shipped: {', '.join(known)}; or a .md path)"
                )
            text = shipped.read_text(encoding="utf-8")
        variables_line = spec.lines.get("variables", line)
        variables = self.mapping(spec.get("variables", Map()), variables_line, f"{where}.variables", None)
        values = {}
        for key, value in variables.items():
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise self.fail(variables.lines[key], f"{where}.variables.{key}: expected text")
            values[key] = str(value)
        try:
            title, questions = template_questions(text, values, f"template {name!r}")
        except ValueError as error:
            raise self.fail(spec.lines.get("variables", line), f"{where}: {error}") from None
        if not questions:
            raise self.fail(line, f"{where}.template: {name!r} holds no question")
        return title, questions

    def output(self, spec: Map, where: str, name: str, corpora: dict[str, Corpus]) -> tuple[ReportFormat, Path]:
        output = self.text(spec, "output", where, "")
        suffixes = {suffix: format_ for format_, suffix in FORMATS.items()}
        if "format" in spec:
            format_ = self.choice(spec, "format", where, tuple(FORMATS), "markdown")
        else:
            format_ = suffixes.get(Path(output).suffix.lower(), "markdown")
        shown = output or f"reports/{name}{FORMATS[format_]}"
        self.writable(shown, spec.lines.get("output", spec.line), f"{where}.output", corpora)
        return format_, self.root / shown  # type: ignore[return-value]

    # --- where paths point -------------------------------------------------------------

    def inside_folder(self, relative: str, line: int, where: str) -> None:
        """Fail unless `relative` is inside the job file's folder or the caller allows paths outside it."""
        if not self.allow_outside and (reason := outside(self.root, relative)):
            raise self.fail(line, f"{where}: {relative} {reason}")

    def writable(self, output: str, line: int, where: str, corpora: dict[str, Corpus]) -> None:
        """Fail when a report at `output` may not be written (see `job_paths`)."""
        self.inside_folder(output, line, where)
        if reason := unwritable(self.root, output, self.path, corpora.values(), overwrite=self.overwrite):
            raise self.fail(line, f"{where}: {output} {reason}")
