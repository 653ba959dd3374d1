"""Everything that changes what a pack contains, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import metadata

from ..sources.defaults import DEFAULT_MAX_FILE_BYTES

# Bump when analysis output changes for the same input, so old cache rows are not reused.
ANALYSIS_VERSION = 1


@dataclass(frozen=True, slots=True)
class PackOptions:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    default_excludes: bool = True
    redact: bool = True
    compress: bool = False
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    chunk_chars: int = 16_000  # about 4K tokens: big files are cut at definitions near this size
    budget: int | None = None

    @property
    def analysis_key(self) -> str:
        """What changes a file's analysis besides its content: these options, the analysis
        code's version and the grammars' (the cache key beside the content hash)."""
        return f"v{ANALYSIS_VERSION}:{_grammars()}:r{int(self.redact)}:c{int(self.compress)}:{self.chunk_chars}"


@cache
def _grammars() -> str:
    return "ts" + metadata.version("tree-sitter-language-pack")
