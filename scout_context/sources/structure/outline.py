"""A file's outline: its definitions in order (each class-like one followed by its
methods) with their lines, signature and the first line of their docs; headings for
markdown."""

from __future__ import annotations

import re
from typing import NamedTuple

from tree_sitter import Node, Tree

from ...definition import Definition
from .languages import (
    ATTACHED,
    CONTAINERS,
    FUNCTIONS,
    KEYWORD_KINDS,
    NAME_TYPES,
    NEEDS_BODY,
    RULES,
    VAR_DECLS,
    VAR_KINDS,
)
from .parsing import end_row, headings, is_docstring, node_text, parse

_MAX_SIGNATURE = 500
_MAX_DOC = 160
_COMMENT_MARKS = re.compile(r"^\s*(?:/\*+|\*+/?|///?|//!|#+|--|;+)?\s*")


def outline(text: str, language: str) -> list[Definition]:
    """Top-level definitions in order, each class-like one followed by its methods;
    headings for markdown. Best effort on files with syntax errors; never raises."""
    try:
        parsed = parse(text, language)
        if parsed is None:
            return []
        if language == "markdown":
            return [_heading(h) for h in headings(parsed[0].root_node)]
        return Structure(*parsed, language).outline()
    except Exception:  # noqa: BLE001 - a grammar that fails on odd input costs the outline, not the file
        return []


def _heading(node: Node) -> Definition:
    content = node.child_by_field_name("heading_content")
    parent = node.parent
    owner = parent if parent is not None and parent.type == "section" and parent.named_children[0] == node else node
    first_line = node_text(node).split("\n", 1)[0]
    return Definition(
        "heading",
        " ".join(node_text(content).split()) if content is not None else first_line.strip("# \t\r"),
        node.start_point.row + 1,
        end_row(owner) + 1,
        " ".join(first_line.split())[:_MAX_SIGNATURE],
    )


class DefinitionNode(NamedTuple):
    kind: str  # "" for a scope that has no outline entry
    node: Node  # the whole definition, wrappers (decorators, export) included
    core: Node  # the definition proper
    scope: bool  # looked through: its members are segmented like top-level code


class Structure:
    """The definitions of one parsed file, by the rules of its language."""

    def __init__(self, tree: Tree, data: bytes, language: str) -> None:
        self.root = tree.root_node
        self.data = data
        self.rules = RULES[language]
        self.python = language == "python"

    def classify(self, node: Node) -> DefinitionNode | None:
        rules, kind = self.rules, node.type
        if rules.scopes and kind in rules.scopes:
            if kind in NEEDS_BODY and node.child_by_field_name("body") is None:
                return None
            return DefinitionNode(rules.scopes[kind], node, node, True)
        if kind in rules.wrappers:
            for child in node.named_children:
                inner = self.classify(child)
                if inner is not None:
                    return inner._replace(node=node)
            return None
        if kind in VAR_DECLS:
            declarators = [c for c in node.named_children if c.type == "variable_declarator"]
            value = declarators[0].child_by_field_name("value") if len(declarators) == 1 else None
            if value is None or value.type not in VAR_KINDS:
                return None
            return DefinitionNode(VAR_KINDS[value.type], node, node, False)
        found = rules.kinds.get(kind)
        if found is None or (kind in NEEDS_BODY and node.child_by_field_name("body") is None):
            return None
        if kind == "type_declaration":  # Go: `type X struct {...}`
            spec = next((c for c in node.named_children if c.type == "type_spec"), None)
            shape = spec.child_by_field_name("type") if spec is not None else None
            shapes = {"struct_type": "struct", "interface_type": "interface"}
            found = shapes.get(shape.type, "type") if shape is not None else "type"
        elif found == "class":  # Swift/Kotlin spell structs, enums, interfaces as class_declaration
            keyword = next((c.type for c in node.children[:4] if c.type in KEYWORD_KINDS), None)
            found = KEYWORD_KINDS.get(keyword or "", found)
        return DefinitionNode(found, node, node, False)

    def body(self, core: Node) -> Node | None:
        body = core.child_by_field_name("body")
        if body is not None:
            return body
        if core.type in VAR_DECLS:
            declarator = next(c for c in core.named_children if c.type == "variable_declarator")
            value = declarator.child_by_field_name("value")
            return value.child_by_field_name("body") if value is not None else None
        return next((c for c in reversed(core.named_children) if c.type.endswith("body")), None)

    def members(self, definition: DefinitionNode) -> list[Node]:
        body = self.body(definition.core)
        if body is not None:
            return body.named_children
        return definition.core.named_children if definition.scope else []

    def outline(self) -> list[Definition]:
        found: list[Definition] = []
        self._outline(self.root.named_children, found)
        return found

    def _outline(self, nodes: list[Node], found: list[Definition]) -> None:
        for node in nodes:
            definition = self.classify(node)
            if definition is None:
                continue
            if definition.kind:
                found.append(self.definition(definition, definition.kind))
            if definition.scope:
                self._outline(self.members(definition), found)
            elif definition.kind in CONTAINERS:
                for member in self.members(definition):
                    method = self.classify(member)
                    if method is not None and method.kind in FUNCTIONS and not method.scope:
                        found.append(self.definition(method, "method"))

    def definition(self, definition: DefinitionNode, kind: str) -> Definition:
        node = definition.node
        return Definition(
            kind,
            self.name(definition.core),
            node.start_point.row + 1,
            end_row(node) + 1,
            self.signature(definition),
            self.doc(definition),
        )

    def doc(self, definition: DefinitionNode) -> str:
        """The first non-empty line of the docstring (Python) or of the comments right
        above the definition (other languages), without quotes or comment marks."""
        if self.python:
            body = self.body(definition.core)
            statements = [c for c in body.named_children if c.type != "comment"] if body is not None else []
            if not statements or not is_docstring(statements[0]):
                return ""
            text = node_text(statements[0]).lstrip("rRuUbBfF").strip("\"'")
        else:
            comments: list[Node] = []
            node, row = definition.node.prev_named_sibling, definition.node.start_point.row
            while node is not None and node.type in ATTACHED and end_row(node) >= row - 1:
                comments.append(node)
                row = node.start_point.row
                node = node.prev_named_sibling
            text = "\n".join(node_text(c) for c in reversed(comments) if "comment" in c.type)
        for line in text.splitlines():
            line = _COMMENT_MARKS.sub("", line).rstrip(" */")
            if line:
                return line[:_MAX_DOC]
        return ""

    def name(self, core: Node) -> str:
        kind = core.type
        if kind == "impl_item":
            trait, type_ = core.child_by_field_name("trait"), core.child_by_field_name("type")
            name = node_text(type_) if type_ is not None else ""
            return f"{node_text(trait)} for {name}" if trait is not None else name
        if kind == "type_declaration":
            core = next((c for c in core.named_children if c.type == "type_spec"), core)
        elif kind in VAR_DECLS:
            core = next(c for c in core.named_children if c.type == "variable_declarator")
        elif kind in ("function_definition", "type_definition") and core.child_by_field_name("declarator"):
            node = core
            while (inner := node.child_by_field_name("declarator")) is not None:
                node = inner
            return " ".join(node_text(node).split())
        named = core.child_by_field_name("name")
        if named is None:
            named = next((c for c in core.named_children if c.type in NAME_TYPES), None)
        return " ".join(node_text(named).split()) if named is not None else ""

    def signature(self, definition: DefinitionNode) -> str:
        core = definition.core
        source = self.data
        body = self.body(core)
        if body is not None and body.start_byte > core.start_byte:
            end = body.start_byte
            if self.python:  # up to the colon, not a comment after it
                end = max((c.end_byte for c in core.children if c.type == ":" and c.end_byte <= end), default=end)
            signature = " ".join(source[core.start_byte : end].decode("utf-8", "replace").split())
        else:
            first_line = source[core.start_byte : core.end_byte].split(b"\n", 1)[0]
            signature = " ".join(first_line.decode("utf-8", "replace").split()).rstrip("{; ")
        return signature[:_MAX_SIGNATURE]
