"""What kind of file a path names, as ranking weighs it: docs, side files (tests,
benchmarks, test data, changelogs), generated or bundled copies, and the code itself.

A question's answer is most often the code: docs explain it in the user's words, tests
and changelogs mention everything, and generated or bundled copies (`dist/`, `vendor/`,
minified bundles, type stubs, protobuf output) repeat what their source defines. Their
lexical score is scaled down (`lexical_weight`), so they still rank when nothing else
matches, and a docs-only corpus ranks as before (the scale is relative to the best).
Docs are good guides, though: ranking's second pass reads the best chunks, docs among
them, for the code they name, and only then scales docs down again (DOC_ANSWER_SCALE)
where the corpus has code, so a page that points at the answer no longer holds a place
the answer needs.
"""

from __future__ import annotations

DOC_WEIGHT = 0.6  # lexical scale of docs and READMEs
DOC_ANSWER_SCALE = 0.5  # and of their score again, after the second pass has read them
SIDE_WEIGHT = 0.5  # of tests, benchmarks, test data and changelogs (see `is_side_file`)
GENERATED_WEIGHT = 0.5  # of generated and bundled copies (see `is_generated`)

DOC_SUFFIXES = (".md", ".markdown", ".rst", ".txt", ".adoc")
SIDE_FOLDERS = frozenset("test tests testing __tests__ spec specs benchmarks testdata fixtures".split())
CHANGELOGS = ("changes", "changelog", "history", "news", "releases", "release-notes", "release_notes")
GENERATED_FOLDERS = frozenset("dist build vendor node_modules third_party generated".split())
GENERATED_SUFFIXES = (
    ".d.ts",
    ".d.mts",
    ".d.cts",
    ".min.js",
    ".min.mjs",
    ".bundle.js",
    ".pb.go",
    "_pb2.py",
    "_pb2_grpc.py",
)


def lexical_weight(path: str) -> float:
    """The scale of `path`'s lexical score: side files, then generated copies, then docs
    weigh less than code (1.0)."""
    if is_side_file(path):
        return SIDE_WEIGHT
    if is_generated(path):
        return GENERATED_WEIGHT
    return DOC_WEIGHT if is_doc(path) else 1.0


def is_side_file(path: str) -> bool:
    """A test, a benchmark, test data or a changelog: `tests/…`, `testdata/…`,
    `test_x.py`, `x_test.go`, `x.spec.ts`, `conftest.py`, `CHANGES.rst`."""
    folders, _, name = path.lower().rpartition("/")
    if SIDE_FOLDERS.intersection(folders.split("/")):
        return True
    stem = name.split(".", 1)[0]
    return (
        stem.startswith("test_")
        or stem.endswith(("_test", "_tests"))
        or name == "conftest.py"
        or ".test." in name
        or ".spec." in name
        or (stem in CHANGELOGS and (name == stem or name.endswith(DOC_SUFFIXES)))
    )


def is_generated(path: str) -> bool:
    """A generated or bundled copy: under `dist/`, `build/`, `vendor/`, `node_modules/`,
    `third_party/` or `generated/`, a type stub (`index.d.ts`), a minified bundle, or
    protobuf output (`x.pb.go`, `x_pb2.py`)."""
    folders, _, name = path.lower().rpartition("/")
    return bool(GENERATED_FOLDERS.intersection(folders.split("/"))) or name.endswith(GENERATED_SUFFIXES)


def is_doc(path: str) -> bool:
    """README, prose files and anything under a doc/ or docs/ folder."""
    lowered = f"/{path.lower()}"
    return lowered.endswith(DOC_SUFFIXES) or "/doc/" in lowered or "/docs/" in lowered or is_readme(path)


def is_readme(path: str) -> bool:
    return path[path.rfind("/") + 1 :].lower().startswith("readme")
