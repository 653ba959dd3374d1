"""Files left out of a repository pack by default (gitignore syntax), in one place.

`--no-default-excludes` turns the whole list off; `--help` shows it.
"""

from __future__ import annotations

LOCK_FILES = (
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lockb",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "pdm.lock",
    "Cargo.lock",
    "Gemfile.lock",
    "composer.lock",
    "go.sum",
    "mix.lock",
    "pubspec.lock",
    "Podfile.lock",
    "flake.lock",
    "packages.lock.json",
    "gradle.lockfile",
)
MINIFIED = ("*.min.js", "*.min.css", "*.min.mjs", "*.bundle.js", "*.chunk.js", "*.js.map", "*.css.map", "*.map")
VENDORED_AND_BUILD = (
    "node_modules/",
    "bower_components/",
    "vendor/",
    "third_party/",
    "dist/",
    "build/",
    "target/",
    ".venv/",
    "venv/",
    "__pycache__/",
    ".tox/",
    ".nox/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".hypothesis/",
    ".next/",
    ".nuxt/",
    ".svelte-kit/",
    ".cache/",
    ".gradle/",
    ".idea/",
    ".vscode/",
    "*.egg-info/",
    ".eggs/",
    "coverage/",
    "htmlcov/",
)
MEDIA_AND_ARCHIVES = (
    "*.png",
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.bmp",
    "*.ico",
    "*.webp",
    "*.tiff",
    "*.psd",
    "*.mp3",
    "*.wav",
    "*.flac",
    "*.ogg",
    "*.mp4",
    "*.mov",
    "*.avi",
    "*.mkv",
    "*.webm",
    "*.woff",
    "*.woff2",
    "*.ttf",
    "*.otf",
    "*.eot",
    "*.zip",
    "*.tar",
    "*.gz",
    "*.tgz",
    "*.bz2",
    "*.xz",
    "*.7z",
    "*.rar",
    "*.whl",
    "*.jar",
    "*.pyc",
    "*.pyo",
    "*.so",
    "*.dylib",
    "*.dll",
    "*.exe",
    "*.o",
    "*.a",
    "*.class",
    ".DS_Store",
)

DEFAULT_EXCLUDES: tuple[str, ...] = LOCK_FILES + MINIFIED + VENDORED_AND_BUILD + MEDIA_AND_ARCHIVES

# Files larger than this are skipped and listed; `--max-file-size` changes it.
DEFAULT_MAX_FILE_BYTES = 1_000_000


def describe() -> str:
    """The list as shown by `--help`."""
    return ", ".join(DEFAULT_EXCLUDES)
