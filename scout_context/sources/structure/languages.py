"""Which languages have structure, and the tree-sitter node types that make it: per
language, the nodes that are definitions (and of what kind), the wrappers around one
definition (decorators, export), the containers that are looked through (namespaces,
Rust `mod`, C preprocessor guards), and what a function body becomes when compressed.
Adding a language is one entry in `RULES` (and its file names in `_EXTENSIONS`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath


@dataclass(frozen=True, slots=True)
class Rules:
    kinds: dict[str, str]  # definition node type -> kind
    wrappers: frozenset[str] = frozenset()  # nodes around one definition (decorators, export)
    scopes: dict[str, str] | None = None  # looked-through containers -> outline kind ("" = none)
    placeholder: str = "{ ... }"  # what a function body becomes when compressed


FUNCTIONS = frozenset({"function", "method"})
CONTAINERS = frozenset({"class", "struct", "interface", "trait", "impl", "enum"})
ATTACHED = frozenset({"comment", "line_comment", "block_comment", "multiline_comment", "attribute_item"})
NEEDS_BODY = frozenset({"struct_specifier", "class_specifier", "union_specifier", "enum_specifier", "mod_item"})
VAR_DECLS = frozenset({"lexical_declaration", "variable_declaration"})
VAR_KINDS = {
    "arrow_function": "function",
    "function_expression": "function",
    "function": "function",
    "generator_function": "function",
    "class": "class",
}
KEYWORD_KINDS = {"struct": "struct", "enum": "enum", "interface": "interface", "extension": "impl"}
NAME_TYPES = frozenset({"identifier", "simple_identifier", "type_identifier", "constant", "name"})

_C_KINDS = {
    "function_definition": "function",
    "struct_specifier": "struct",
    "union_specifier": "struct",
    "enum_specifier": "enum",
    "type_definition": "type",
}
_C_SCOPES = {
    "preproc_ifdef": "",
    "preproc_if": "",
    "preproc_else": "",
    "preproc_elif": "",
    "preproc_elifdef": "",
    "linkage_specification": "",
}
_JS_KINDS = {
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "class_declaration": "class",
    "method_definition": "method",
}
_TS_KINDS = _JS_KINDS | {
    "abstract_class_declaration": "class",
    "function_signature": "function",
    "abstract_method_signature": "method",
    "interface_declaration": "interface",
    "type_alias_declaration": "type",
    "enum_declaration": "enum",
}
_TS_RULES = Rules(
    _TS_KINDS,
    frozenset({"export_statement", "ambient_declaration", "expression_statement"}),
    {"internal_module": "module", "module": "module"},
)
RULES: dict[str, Rules] = {
    "python": Rules(
        {"function_definition": "function", "class_definition": "class"},
        frozenset({"decorated_definition"}),
        placeholder="...",
    ),
    "javascript": Rules(_JS_KINDS, frozenset({"export_statement"})),
    "typescript": _TS_RULES,
    "tsx": _TS_RULES,
    "go": Rules({"function_declaration": "function", "method_declaration": "method", "type_declaration": "type"}),
    "rust": Rules(
        {
            "function_item": "function",
            "function_signature_item": "function",
            "struct_item": "struct",
            "union_item": "struct",
            "enum_item": "enum",
            "trait_item": "trait",
            "impl_item": "impl",
            "type_item": "type",
            "macro_definition": "macro",
        },
        scopes={"mod_item": "module", "foreign_mod_item": ""},
    ),
    "c": Rules(_C_KINDS, scopes=_C_SCOPES),
    "cpp": Rules(
        _C_KINDS | {"class_specifier": "class"},
        frozenset({"template_declaration"}),
        _C_SCOPES | {"namespace_definition": "module"},
    ),
    "java": Rules(
        {
            "class_declaration": "class",
            "record_declaration": "class",
            "interface_declaration": "interface",
            "annotation_type_declaration": "interface",
            "enum_declaration": "enum",
            "method_declaration": "method",
            "constructor_declaration": "method",
        }
    ),
    "csharp": Rules(
        {
            "class_declaration": "class",
            "record_declaration": "class",
            "struct_declaration": "struct",
            "interface_declaration": "interface",
            "enum_declaration": "enum",
            "method_declaration": "method",
            "constructor_declaration": "method",
        },
        scopes={"namespace_declaration": "module"},
    ),
    "kotlin": Rules({"class_declaration": "class", "object_declaration": "class", "function_declaration": "function"}),
    "swift": Rules(
        {
            "class_declaration": "class",
            "protocol_declaration": "interface",
            "function_declaration": "function",
            "init_declaration": "method",
        }
    ),
    "scala": Rules(
        {
            "class_definition": "class",
            "object_definition": "class",
            "trait_definition": "trait",
            "enum_definition": "enum",
            "function_definition": "function",
        }
    ),
    "php": Rules(
        {
            "function_definition": "function",
            "class_declaration": "class",
            "interface_declaration": "interface",
            "trait_declaration": "trait",
            "enum_declaration": "enum",
            "method_declaration": "method",
        },
        scopes={"namespace_definition": "module"},
    ),
    "ruby": Rules(
        {"method": "function", "singleton_method": "function", "class": "class"},
        scopes={"module": "module"},
        placeholder="# ...",
    ),
    "bash": Rules({"function_definition": "function"}),
    "lua": Rules({"function_declaration": "function"}, placeholder="-- ..."),
}

_EXTENSIONS = {
    "py": "python", "pyi": "python", "pyw": "python",
    "js": "javascript", "mjs": "javascript", "cjs": "javascript", "jsx": "javascript",
    "ts": "typescript", "mts": "typescript", "cts": "typescript", "tsx": "tsx",
    "go": "go", "rs": "rust", "java": "java", "c": "c", "h": "c",
    "cc": "cpp", "cpp": "cpp", "cxx": "cpp", "c++": "cpp", "hh": "cpp", "hpp": "cpp", "hxx": "cpp",
    "h++": "cpp", "ipp": "cpp", "inl": "cpp", "cu": "cuda", "cuh": "cuda",
    "cs": "csharp", "rb": "ruby", "rake": "ruby", "gemspec": "ruby", "php": "php",
    "kt": "kotlin", "kts": "kotlin", "swift": "swift", "scala": "scala", "sc": "scala",
    "sh": "bash", "bash": "bash", "lua": "lua", "md": "markdown", "markdown": "markdown",
    "json": "json", "yaml": "yaml", "yml": "yaml", "toml": "toml", "html": "html", "htm": "html",
    "css": "css", "scss": "scss", "sql": "sql", "r": "r", "jl": "julia", "ex": "elixir", "exs": "elixir",
    "erl": "erlang", "hs": "haskell", "ml": "ocaml", "dart": "dart", "zig": "zig", "nix": "nix",
    "proto": "proto", "pl": "perl", "pm": "perl", "vue": "vue", "svelte": "svelte", "xml": "xml",
    "rst": "rst", "tex": "latex", "cmake": "cmake", "tf": "hcl", "hcl": "hcl", "graphql": "graphql",
}  # fmt: skip
_FILENAMES = {
    "makefile": "make", "gnumakefile": "make", "dockerfile": "dockerfile", "cmakelists.txt": "cmake",
    "rakefile": "ruby", "gemfile": "ruby", ".bashrc": "bash", ".bash_profile": "bash", ".profile": "bash",
}  # fmt: skip


def language_for(path: str) -> str | None:
    """The tree-sitter language name for a file, from its name or extension."""
    name = PurePath(path).name.lower()
    if name in _FILENAMES:
        return _FILENAMES[name]
    _, dot, ext = name.rpartition(".")
    return _EXTENSIONS.get(ext) if dot else None
