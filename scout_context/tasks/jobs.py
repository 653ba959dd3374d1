"""Job files for `batch`: named corpora, the jobs that question them, engine settings.

A job file is YAML (see `EXAMPLE` for every key). Loading validates it completely before
anything runs; a mistake is one `UsageError` naming the file and line. Paths in it
(sources, outputs, `.md` templates) are relative to the job file's folder.

Job files are written by strangers, so loading also checks where they point, comparing
real paths (symlinks resolved): every path must lie inside the job file's folder unless
the caller allows paths outside it (`--allow-outside`; a job file cannot grant itself
that, or its author could create any file on the machine with lines of their choice);
and a report may not be written over the job file, a
corpus's source (a path inside a source folder is allowed only when the corpus's own
`exclude` list leaves it out) or a folder, whatever the options; nor over an existing
file that is not a report of ours (`report_marker`) unless `overwrite` (`--overwrite`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pathspec import GitIgnoreSpec

from ..engine import registry
from ..engine.config import EngineConfig, SamplingConfig
from ..errors import UsageError
from ..pack.options import PackOptions
from ..sources.defaults import DEFAULT_MAX_FILE_BYTES
from .report_marker import is_report

ReportFormat = Literal["markdown", "json", "html"]
FORMATS: dict[str, str] = {"markdown": ".md", "json": ".json", "html": ".html"}
DEFAULT_CONCURRENCY = 4

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECTION = re.compile(r"^## +(.+?)\s*$", re.MULTILINE)
_LANGUAGE = re.compile(r"[^\W\d_](?:[^\W\d_]|[ '(),-]){0,63}")  # letters, spaces and a few marks, one line

EXAMPLE = """\
# scout-context batch job file: `scout-context batch jobs.yaml` answers every question
# below and writes one report per job. Paths are relative to this file and must stay
# in its folder; sources or outputs elsewhere (absolute paths, ..) need the caller's
# `scout-context batch --allow-outside`.

# The engine, as for `ask` (SCOUT_BASE_URL, SCOUT_API_KEY and SCOUT_MODEL apply too).
engine:
  backend: auto            # auto: `scout-context serve` if it runs, else vllm (embedded); openai: a remote server
  # model: scout           # a known model or a model folder; with openai, the served id
  # base_url: http://gpu-box:8000/v1
  # max_model_len: 131072
  max_tokens: 512          # most tokens per answer
  temperature: 0           # 0: greedy, reproducible (and cacheable)
  # concurrency: 4         # openai: requests in flight at once
  # answer_language: English

# Corpora: what to read. Each is packed once and laid out the same way for every
# question (the `stable` layout), so the engine computes it once and reuses its cache.
corpora:
  repo:
    sources: [.]           # folders, files, PDFs, chat exports
    exclude: [reports/]    # gitignore globs; also: include
    # compress: false      # keep only signatures and docstrings
    # redact: true         # replace values that look like credentials
    # default_excludes: true
    # max_file_size: 1000000
    # budget: 200000       # most corpus tokens (default: what the engine's context holds)

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


@dataclass(frozen=True)
class Question:
    title: str
    text: str


@dataclass(frozen=True)
class Corpus:
    name: str
    sources: tuple[Path, ...]
    options: PackOptions
    budget: int | None


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
    concurrency: int
    answer_language: str | None

    def overwrites_input(self, path: Path) -> str | None:
        """Why writing `path` would overwrite this job file or a source; None when it would not."""
        return _input_at(os.path.realpath(path), self.path, self.corpora.values())

    def corpus_jobs(self) -> dict[str, list[Job]]:
        """The jobs of each corpus, corpora in the order jobs first name them."""
        grouped: dict[str, list[Job]] = {}
        for job in self.jobs:
            grouped.setdefault(job.corpus, []).append(job)
        return grouped

    @property
    def outputs(self) -> list[Path]:
        return [job.output for job in self.jobs]


class JobFileError(UsageError):
    """A job file that cannot be read or is invalid: `path:line: what is wrong`."""


def load_job_file(path: Path, *, overwrite: bool = False, allow_outside: bool = False) -> JobFile:
    """Read and validate `path`, including where its paths point (see the module's note;
    `overwrite` lets reports replace existing files that are not reports, `allow_outside`
    lets paths lie outside the job file's folder). Raises JobFileError (exit 2)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise JobFileError(f"cannot read the job file {path}: {getattr(error, 'strerror', None) or error}") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{mark.line + 1}" if mark else "?"
        raise JobFileError(f"{path}:{where}: not valid YAML: {error.problem or error.context}") from None
    except _Duplicate as error:
        raise JobFileError(f"{path}:{error.line}: {error.key!r} is given twice") from None
    except RecursionError:
        raise JobFileError(f"{path}: not valid YAML: nested too deeply") from None
    except ValueError as error:  # a scalar the safe loader cannot convert (an int past Python's digit limit)
        raise JobFileError(f"{path}: not valid YAML: {error}") from None
    return _Reader(path, overwrite, allow_outside).job_file(data)


def template_questions(text: str, variables: dict[str, str], where: str) -> tuple[str, tuple[Question, ...]]:
    """(title, questions) of a template: `{name}` is replaced by its variable; a `# Title`
    first line is the report's title; each `## Heading` section is one question, and a
    template without sections is one instruction. Raises ValueError naming what is wrong."""
    used = set(_VARIABLE.findall(text))
    if missing := sorted(used - variables.keys()):
        raise ValueError(f"{where} needs the variable(s) {', '.join(missing)}")
    if unused := sorted(variables.keys() - used):
        raise ValueError(f"{where} has no variable(s) {', '.join(unused)} (it uses: {', '.join(sorted(used)) or 'none'})")
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


class _Duplicate(Exception):
    def __init__(self, key: Any, line: int) -> None:
        self.key, self.line = key, line


class _Map(dict):
    """A YAML mapping that remembers its line and each key's line."""

    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        self.lines: dict[str, int] = {}


class _Seq(list):
    """A YAML sequence that remembers its line and each item's line."""

    def __init__(self, items: list[Any], line: int, lines: list[int]) -> None:
        super().__init__(items)
        self.line, self.lines = line, lines


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    mapping = _Map()
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise yaml.MarkedYAMLError(problem=f"keys must be text, not {key!r}", problem_mark=key_node.start_mark)
        if key in mapping:
            raise _Duplicate(key, line)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = line
    return mapping


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    items = [loader.construct_object(item, deep=True) for item in node.value]
    return _Seq(items, node.start_mark.line + 1, [item.start_mark.line + 1 for item in node.value])


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)

_TOP = {"engine", "corpora", "jobs"}
_OUTSIDE_HINT = "run `scout-context batch --allow-outside` to allow it"
_ENGINE = {"backend", "model", "base_url", "max_model_len", "max_tokens", "temperature", "concurrency", "answer_language"}
_CORPUS = {"sources", "include", "exclude", "compress", "redact", "default_excludes", "max_file_size", "budget"}
_JOB = {"name", "title", "corpus", "questions", "template", "variables", "output", "format"}


class _Reader:
    """Validation with the file and line of every mistake."""

    def __init__(self, path: Path, overwrite: bool, allow_outside: bool) -> None:
        self.path = path
        self.root = path.resolve().parent
        self.overwrite = overwrite
        self.allow_outside = allow_outside

    def fail(self, line: int, message: str) -> JobFileError:
        return JobFileError(f"{self.path}:{line}: {message}")

    def job_file(self, data: Any) -> JobFile:
        if isinstance(data, _Map) and "allow_outside" in data:
            raise self.fail(data.lines["allow_outside"], f"allow_outside is the caller's choice, not the job file's: {_OUTSIDE_HINT}")
        top = self.mapping(data, 1, "the job file", _TOP, required=("corpora", "jobs"))
        engine = self.mapping(top.get("engine", _Map()), top.lines.get("engine", 1), "engine", _ENGINE)
        backend = self.choice(engine, "backend", "engine", (registry.AUTO, *registry.names()), registry.AUTO)
        config = EngineConfig.from_env(
            backend=backend,
            model=self.text(engine, "model", "engine", None),
            base_url=self.text(engine, "base_url", "engine", None),
            max_model_len=self.integer(engine, "max_model_len", "engine", None, minimum=256),
        )
        sampling = SamplingConfig(
            temperature=self.number(engine, "temperature", "engine", 0.0),
            max_tokens=self.integer(engine, "max_tokens", "engine", 512, minimum=1),
        )
        concurrency = self.integer(engine, "concurrency", "engine", DEFAULT_CONCURRENCY, minimum=1)
        answer_language = self.text(engine, "answer_language", "engine", None)
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
        if not isinstance(jobs_list, _Seq) or not jobs_list:
            raise self.fail(top.lines["jobs"], "jobs: expected a list of jobs")
        jobs = tuple(self.job(i, spec, line, corpora) for i, (spec, line) in enumerate(zip(jobs_list, jobs_list.lines)))
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
            engine=config,
            sampling=sampling,
            concurrency=concurrency,
            answer_language=answer_language,
        )

    def corpus(self, name: str, spec: Any, line: int) -> Corpus:
        where = f"corpora.{name}"
        spec = self.mapping(spec, line, where, _CORPUS, required=("sources",))
        sources = self.texts(spec, "sources", where)
        if not sources:
            raise self.fail(spec.lines["sources"], f"{where}.sources: name at least one folder or file")
        for source in sources:
            if not (self.root / source).exists():
                raise self.fail(spec.lines["sources"], f"{where}.sources: no such file or folder: {source}")
            self.inside_folder(source, spec.lines["sources"], f"{where}.sources")
        options = PackOptions(
            include=tuple(self.texts(spec, "include", where)),
            exclude=tuple(self.texts(spec, "exclude", where)),
            default_excludes=self.flag(spec, "default_excludes", where, True),
            redact=self.flag(spec, "redact", where, True),
            compress=self.flag(spec, "compress", where, False),
            max_file_bytes=self.integer(spec, "max_file_size", where, DEFAULT_MAX_FILE_BYTES, minimum=1),
        )
        budget = self.integer(spec, "budget", where, None, minimum=1)
        return Corpus(name, tuple(self.root / source for source in sources), options, budget)

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

    def template(self, spec: _Map, where: str) -> tuple[str, tuple[Question, ...]]:
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
                raise self.fail(line, f"{where}.template: cannot read {name}: {getattr(error, 'strerror', None) or error}") from None
        else:
            shipped = resources.files("scout_context.prompts") / f"{name}.md"
            if not shipped.is_file():
                shipped_names = (p.name for p in resources.files("scout_context.prompts").iterdir())
                known = sorted(name[:-3] for name in shipped_names if name.endswith(".md"))
                raise self.fail(line, f"{where}.template: no template {name!r} (shipped: {', '.join(known)}; or a .md path)")
            text = shipped.read_text(encoding="utf-8")
        variables_line = spec.lines.get("variables", line)
        variables = self.mapping(spec.get("variables", _Map()), variables_line, f"{where}.variables", None)
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

    def output(self, spec: _Map, where: str, name: str, corpora: dict[str, Corpus]) -> tuple[ReportFormat, Path]:
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
        """Fail unless `relative` (really: links resolved) is inside the job file's folder
        or the file allows paths outside it."""
        if not self.allow_outside and not _within(os.path.realpath(self.root / relative), str(self.root)):
            raise self.fail(
                line,
                f"{where}: {relative} is outside the job file's folder {self.root}; {_OUTSIDE_HINT}",
            )

    def writable(self, output: str, line: int, where: str, corpora: dict[str, Corpus]) -> None:
        """Fail when a report at `output` would leave the folder, overwrite an input or a
        folder, or overwrite a file that is not a report without `overwrite`."""
        self.inside_folder(output, line, where)
        real = os.path.realpath(self.root / output)
        if reason := _input_at(real, self.path, corpora.values()):
            raise self.fail(line, f"{where}: {output} {reason}")
        if os.path.isdir(real):
            raise self.fail(line, f"{where}: {output} is a folder: name a file")
        if ".git" in Path(real).parts:  # a new ref or config there would change the repository
            raise self.fail(line, f"{where}: {output} is inside a git directory: name a file outside .git")
        if os.path.exists(real) and not self.overwrite and not is_report(real):
            raise self.fail(
                line,
                f"{where}: {output} exists and is not a scout-context report: "
                "name another output, or run with --overwrite to replace it",
            )

    # --- typed values ------------------------------------------------------------------

    def mapping(self, value: Any, line: int, where: str, keys: set[str] | None, required: tuple[str, ...] = ()) -> _Map:
        if not isinstance(value, _Map):
            raise self.fail(getattr(value, "line", line), f"{where}: expected a mapping of keys to values")
        for key in value:
            if keys is not None and key not in keys:
                raise self.fail(value.lines[key], f"{where}: unknown key {key!r} (expected: {', '.join(sorted(keys))})")
        for key in required:
            if key not in value:
                raise self.fail(value.line, f"{where}: {key!r} is missing")
        return value

    def text(self, spec: _Map, key: str, where: str, default: Any) -> Any:
        if key not in spec:
            return default
        value = spec[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(spec.lines[key], f"{where}.{key}: expected text")
        return value.strip()

    def texts(self, spec: _Map, key: str, where: str) -> list[str]:
        """A list of strings; one string alone counts as a list of one."""
        value = spec.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(spec.lines[key], f"{where}.{key}: expected a list of text")
        return list(value)

    def integer(self, spec: _Map, key: str, where: str, default: Any, *, minimum: int) -> Any:
        if key not in spec or spec[key] is None:
            return default
        value = spec[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.fail(spec.lines[key], f"{where}.{key}: expected a whole number of at least {minimum}")
        return value

    def number(self, spec: _Map, key: str, where: str, default: float) -> float:
        value = spec.get(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise self.fail(spec.lines[key], f"{where}.{key}: expected a number of at least 0")
        return float(value)

    def flag(self, spec: _Map, key: str, where: str, default: bool) -> bool:
        value = spec.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(spec.lines[key], f"{where}.{key}: expected true or false")
        return value

    def choice(self, spec: _Map, key: str, where: str, choices: tuple[str, ...], default: str) -> str:
        value = spec.get(key, default)
        if value not in choices:
            raise self.fail(spec.lines[key], f"{where}.{key}: expected {' or '.join(choices)}, not {value!r}")
        return value


def _input_at(real: str, job_path: Path, corpora: Iterable[Corpus]) -> str | None:
    """Why the real path `real` is an input (the job file, a source, a path a corpus reads),
    as the end of a sentence that starts with the path; None when it is none of them."""
    if real == os.path.realpath(job_path):
        return "is the job file: name another output"
    for corpus in corpora:
        for source in corpus.sources:
            root = os.path.realpath(source)
            if real == root:
                return f"is a source of corpus {corpus.name}: name another output"
            if _within(real, root) and not _excluded(os.path.relpath(real, root), corpus.options.exclude):
                return (
                    f"is inside the sources of corpus {corpus.name}: name another output, "
                    f"or add its folder to corpora.{corpus.name}.exclude"
                )
    return None


def _excluded(relative: str, exclude: tuple[str, ...]) -> bool:
    """Whether the corpus's own `exclude` globs leave `relative` out (as packing matches them)."""
    return bool(exclude) and GitIgnoreSpec.from_lines(exclude).match_file(relative.replace(os.sep, "/"))


def _within(path: str, folder: str) -> bool:
    """Whether the real path `path` is `folder` or inside it."""
    return os.path.commonpath([path, folder]) == folder
