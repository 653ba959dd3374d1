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
    count: int = setting(3, flag="--how-many", key="how_many", minimum=1)
    """How many to take. More is slower."""
    names: tuple[str, ...] = ()
    """Names (gitignore globs)."""
    hidden: bool = False


def test_a_fields_doc_flag_key_and_bounds_come_from_the_dataclass() -> None:
    found = settings(_Demo)
    assert list(found) == ["count", "names"]  # a field without a doc is not a setting
    count = found["count"]
    assert (count.flag, count.key, count.minimum, count.default, count.kind) == ("--how-many", "how_many", 1, 3, int)
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
    assert yaml.safe_load(EXAMPLE)["engine"] == {"backend": "auto", "max_tokens": 512, "temperature": 0}


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
