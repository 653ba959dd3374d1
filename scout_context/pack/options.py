"""Everything that changes what a pack contains, in one place (`PackOptions`); and how a pack
is laid out and written (`Presentation`), which changes no analysis."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import metadata

from ..errors import UsageError
from ..screen.base import MODES
from ..settings import setting
from ..sources.defaults import DEFAULT_MAX_FILE_BYTES

# Bump when analysis output changes for the same input, so old cache rows are not reused.
ANALYSIS_VERSION = 5


@dataclass(frozen=True, slots=True)
class PackOptions:
    """What to pack and how; a field's doc is also its `--help` and job-file comment (see `settings`)."""

    include: tuple[str, ...] = ()
    """Only files matching these globs (gitignore syntax). On the command line: one glob per --include."""
    exclude: tuple[str, ...] = ()
    """Leave out files matching these globs (gitignore syntax). On the command line: one glob per --exclude."""
    default_excludes: bool = setting(True, flag="--no-default-excludes")
    """Leave out lock files, minified code, dependencies, build output, media and archives.
    --no-default-excludes packs them too; the list:"""
    redact: bool = setting(True, flag="--no-redact")
    """Replace values that look like credentials. --no-redact keeps them."""
    compress: bool = False
    """Keep signatures and docstrings, drop function bodies."""
    max_file_bytes: int = setting(DEFAULT_MAX_FILE_BYTES, flag="--max-file-size", minimum=1)
    """Skip files larger than this many bytes."""
    chunk_chars: int = 16_000  # about 4K tokens: big files are cut at definitions near this size
    pdf_password: str | None = setting(None, flag="--password", env="SCOUT_PDF_PASSWORD", repr=False)
    """Password for encrypted PDFs (or set SCOUT_PDF_PASSWORD)."""

    screen: str = "off"
    """Screen every chunk for prompt injection: fence, drop or off. fence keeps a flagged chunk
    behind a warning the model is told about (--screen alone), drop leaves it out."""
    screen_model: str | None = None
    """Screen with this Prompt Guard 2 classifier (meta-llama/Llama-Prompt-Guard-2-86M or -22M,
    or its folder), on the GPU when there is one; without it, the built-in rules."""

    def __post_init__(self) -> None:
        if self.screen not in MODES:
            raise UsageError(f"screen must be one of {', '.join(MODES)}, not {self.screen!r}")

    @property
    def analysis_key(self) -> str:
        """What changes a file's analysis besides its content: these options, the analysis
        code's version and the grammars' (the cache key beside the content hash)."""
        key = f"v{ANALYSIS_VERSION}:{_grammars()}:r{int(self.redact)}:c{int(self.compress)}:{self.chunk_chars}"
        if self.pdf_password:  # a file that needed it reads differently; the key holds only a hash
            key += ":pw" + hashlib.sha256(self.pdf_password.encode()).hexdigest()[:12]
        return key


@dataclass(frozen=True)
class Presentation:
    """How a pack is laid out around a question and written; each field's doc is its `--help`
    (the choices are `pack.arrange.LAYOUTS` and `pack.styles.STYLES`)."""

    layout: str = "auto"
    """auto: stable when the whole corpus fits, else edges; stable: the corpus does not depend on the question
    (prefix caching pays across questions; over the budget, what is kept is chosen without it), a short tail
    quotes the lines that match the question, then asks it; edges: the most relevant chunks at the start and
    the end, the question before and after."""
    style: str = "xml"
    """How the pack is written; every style keeps the ids visible, and counts are exact in each. The styles:"""


@cache
def _grammars() -> str:
    return "ts" + metadata.version("tree-sitter-language-pack")
