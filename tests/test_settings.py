"""Settings declared once: a field's doc is the CLI's help, the job file's key and the
example's comment; `.scout-context.toml` is read by one loader against the same fields."""

from __future__ import annotations

import inspect
import re
import typing
from dataclasses import dataclass

import pytest
import yaml

from scout_context.engine.config import EngineConfig, SamplingConfig
from scout_context.errors import UsageError
from scout_context.pack.options import PackOptions
from scout_context.project_config import read_table
from scout_context.settings import setting, settings
from scout_context.tasks.jobs import CORPUS_SETTINGS, ENGINE_SETTINGS, EXAMPLE
from scout_context_cli import ask, batch, pack, pr


@dataclass(frozen=True)
class _Demo:
    count: int = setting(3, flag="--how-many", minimum=1, former="number")
    """How many to take. More is slower."""
    names: tuple[str, ...] = ()
    """Names (gitignore globs)."""
    hidden: bool = False


def test_a_fields_doc_flag_key_and_bounds_come_from_the_dataclass() -> None:
    found = settings(_Demo)
    assert list(found) == ["count", "names"]  # a field without a doc is not a setting
    count = found["count"]
    assert (count.flag, count.key, count.minimum, count.default, count.kind) == ("--how-many", "how_many", 1, 3, int)
    assert (count.former, found["names"].former) == ("number", "")  # the key files used before the option's name
    assert count.doc == "How many to take. More is slower." and count.summary == "how many to take"
    assert found["names"].kind is tuple and found["names"].flag == "--names"


def _options(command) -> dict[str, typing.Any]:
    """Each `--flag` of a command with its typer option."""
    hints = typing.get_type_hints(command, include_extras=True)
    options = {}
    for name in inspect.signature(command).parameters:
        for extra in getattr(hints[name], "__metadata__", ()):
            if getattr(extra, "param_decls", None):
                options[extra.param_decls[0]] = extra
    return options


@pytest.mark.parametrize("cls", [EngineConfig, SamplingConfig, PackOptions])
def test_every_cli_option_of_a_setting_carries_its_doc_and_minimum(cls: type) -> None:
    commands = [ask.ask_command, pack.pack_command, batch.batch_command, pr.pr_command]
    seen = {flag: option for command in commands for flag, option in _options(command).items()}
    for each in settings(cls).values():
        option = seen.get(each.flag)
        if option is None:
            continue  # a setting no command offers (a GPU knob, for example)
        assert option.help.startswith(each.doc), each.flag
        assert option.min == each.minimum, each.flag


def test_the_example_job_file_shows_every_setting_key_with_its_comment() -> None:
    lines = EXAMPLE.splitlines()
    for tables, _section in ((ENGINE_SETTINGS, "engine"), (CORPUS_SETTINGS, "corpora")):
        for cls, names in tables:
            for name in names:
                each = settings(cls)[name]
                if each.key == "include":
                    continue  # named in the comment on exclude
                line = next(line for line in lines if re.match(rf"\s+(# )?{each.key}: ", line))
                assert line.endswith(each.summary) or f"# {each.summary}" in line, line
    assert yaml.safe_load(EXAMPLE)["engine"] == {
        "engine": "auto",
        "max_tokens": 512,
        "temperature": 0,
        "frequency_penalty": 0.3,
        "repetition_penalty": 1,
        "stop_repeats": 3,
    }


def _files(**files: str):
    return lambda name: files[name].encode() if name in files else None


def test_the_configuration_file_is_read_against_the_fields() -> None:
    fields = ((PackOptions, ("include", "exclude")), (_Demo, ("names",)))
    assert read_table(_files(), "t", fields) == {"include": (), "exclude": (), "names": ()}
    toml = '[t]\nexclude = ["docs/"]\n'
    assert read_table(_files(**{".scout-context.toml": toml}), "t", fields)["exclude"] == ("docs/",)
    pyproject = '[tool.scout-context.t]\nnames = ["x"]\n'
    assert read_table(_files(**{"pyproject.toml": pyproject}), "t", fields)["names"] == ("x",)
    unknown = r"^\[t\] in .scout-context.toml at abc: unknown settings exlcude \(known: include, exclude, names\)$"
    with pytest.raises(UsageError, match=unknown):
        read_table(_files(**{".scout-context.toml": "[t]\nexlcude = []\n"}), "t", fields, at=" at abc")
    wrong = r"^\[tool.scout-context.t\] in pyproject.toml: names must be a list of strings$"
    with pytest.raises(UsageError, match=wrong):
        read_table(_files(**{"pyproject.toml": '[tool.scout-context.t]\nnames = "x"\n'}), "t", fields)
    with pytest.raises(UsageError, match=r"^.scout-context.toml is not valid TOML"):
        read_table(_files(**{".scout-context.toml": "[t\n"}), "t", fields)


def test_a_job_files_former_keys_still_work_with_one_note_each(tmp_path) -> None:
    from scout_context.tasks.jobs import JobFileError, load_job_file

    (tmp_path / "src").mkdir()
    body = "engine:\n  {engine}\n  max_tokens: 9\ncorpora:\n  c:\n    sources: [src]\njobs:\n  - {{name: j, corpus: c, questions: [q], output: r.md}}\n"
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(body.format(engine="backend: openai"))
    loaded = load_job_file(jobs)
    assert (loaded.engine.backend, loaded.sampling.max_tokens) == ("openai", 9)
    assert loaded.notes == (f"{jobs}:2: backend is now engine, the option's name (the old key still works, for now)",)
    jobs.write_text(body.format(engine="engine: openai"))
    assert load_job_file(jobs).engine.backend == "openai" and load_job_file(jobs).notes == ()
    jobs.write_text(body.format(engine="engine: openai\n  backend: vllm"))
    with pytest.raises(JobFileError, match=r"jobs.yaml:3: engine: both backend and engine are given: keep engine"):
        load_job_file(jobs)


def test_every_key_of_the_configuration_file_is_an_option_of_its_commands() -> None:
    """One name: a table's key is the flag of the option it sets, in the commands that read the
    table and have that option (at least one has it)."""
    import typer

    from cli.config_defaults import READERS, SECTIONS, command_at, option_for
    from cli.main import app

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for table, fields in SECTIONS.items():
        for cls, names in fields:
            for each in (settings(cls)[name] for name in names):
                options = [option_for(command_at(commands, path), each) for path in READERS[table]]
                flags = {option.opts[0] for option in options if option is not None}
                assert len(flags) == 1, (table, each.key)
                assert each.key == flags.pop().removeprefix("--").removeprefix("no-").replace("-", "_")
