"""YAML that remembers lines: mappings and sequences know the line of each key and item,
so a mistake found later, in validation, can name its line (`path:line: what is wrong`).

Safe loading only (`yaml.SafeLoader`); a key given twice, or one that is not text, is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class Map(dict):
    """A YAML mapping that remembers its line and each key's line."""

    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        self.lines: dict[str, int] = {}


class Seq(list):
    """A YAML sequence that remembers its line and each item's line."""

    def __init__(self, items: list[Any], line: int, lines: list[int]) -> None:
        super().__init__(items)
        self.line, self.lines = line, lines


def load_yaml(path: Path, text: str) -> Any:
    """The document in `text` (read from `path`), with `Map` and `Seq` for its collections.
    Raises ValueError `path:line: what is wrong` (line "?" when YAML names none)."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{mark.line + 1}" if mark else "?"
        raise ValueError(f"{path}:{where}: not valid YAML: {error.problem or error.context}") from None
    except _Duplicate as error:
        raise ValueError(f"{path}:{error.line}: {error.key!r} is given twice") from None
    except RecursionError:
        raise ValueError(f"{path}: not valid YAML: nested too deeply") from None
    except ValueError as error:  # a scalar the safe loader cannot convert (an int past Python's digit limit)
        raise ValueError(f"{path}: not valid YAML: {error}") from None


class _Duplicate(Exception):
    def __init__(self, key: Any, line: int) -> None:
        self.key, self.line = key, line


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Map:
    loader.flatten_mapping(node)
    mapping = Map()
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


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> Seq:
    items = [loader.construct_object(item, deep=True) for item in node.value]
    return Seq(items, node.start_mark.line + 1, [item.start_mark.line + 1 for item in node.value])


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
