"""Where scout-context keeps its files: the user cache dir (XDG), overridable by SCOUT_CACHE_DIR."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

CACHE_ENV = "SCOUT_CACHE_DIR"


def cache_dir() -> Path:
    """Root of everything scout-context caches: the store, converted models, corpora."""
    root = Path(os.environ.get(CACHE_ENV) or user_cache_dir("scout-context", appauthor=False))
    root.mkdir(parents=True, exist_ok=True)
    return root


def store_path() -> Path:
    return cache_dir() / "store.db"


def models_dir() -> Path:
    path = cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
