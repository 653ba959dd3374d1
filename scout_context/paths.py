"""Where scout-context keeps its files: the user cache dir (XDG), overridable by SCOUT_CACHE_DIR."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

CACHE_ENV = "SCOUT_CACHE_DIR"


def cache_root() -> Path:
    """Root of everything scout-context caches: the store, converted models, corpora."""
    return Path(os.environ.get(CACHE_ENV) or user_cache_dir("scout-context", appauthor=False))


def cache_dir() -> Path:
    """`cache_root`, created when missing."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    return root


def store_path() -> Path:
    """The store's file; not created here (the store reports a folder it cannot create)."""
    return cache_root() / "store.db"


def models_dir() -> Path:
    path = cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
