"""Everything that changes what a pack contains, in one place."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata

from ..sources.defaults import DEFAULT_MAX_FILE_BYTES

# Bump when analysis output changes for the same input, so old cache rows are not reused.
ANALYSIS_VERSION = 5


@dataclass(frozen=True, slots=True)
class PackOptions:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    default_excludes: bool = True
    redact: bool = True
    compress: bool = False
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    chunk_chars: int = 16_000  # about 4K tokens: big files are cut at definitions near this size
    pdf_password: str | None = field(default=None, repr=False)

    @property
    def analysis_key(self) -> str:
        """What changes a file's analysis besides its content: these options, the analysis
        code's version and the grammars' (the cache key beside the content hash)."""
        key = f"v{ANALYSIS_VERSION}:{_grammars()}:r{int(self.redact)}:c{int(self.compress)}:{self.chunk_chars}"
        if self.pdf_password:  # a file that needed it reads differently; the key holds only a hash
            key += ":pw" + hashlib.sha256(self.pdf_password.encode()).hexdigest()[:12]
        return key


@cache
def _grammars() -> str:
    return "ts" + metadata.version("tree-sitter-language-pack")
