"""Where a model comes from and what its checkpoint is: a registry name (`models.KNOWN`), a
local folder, or any Hugging Face id, resolved to what vLLM loads, its config and its weights.

- A built-in CPU model (`smollm2`, `tiny-llama4`) is built here once and never needs the hub.
- Scout's registry checkpoints (`scout`, `scout-fp8`, `scout-int4`) load from the model cache
  when they are there, else from the hub by id; their configs ship with the package, so a plan
  or a dry run needs neither. Meta's checkpoint is gated: without HF_TOKEN a run stops with one
  line naming the token and the licence page.
- Another id is read from the hub (its config.json), unless HF_HUB_OFFLINE is set, when only
  the local Hugging Face cache is asked.

Every failure is one line, ModelMissing (exit 7).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scout_context.errors import ModelMissing

from . import checkpoints, models

GATED = {checkpoints.SCOUT_CHECKPOINTS["bf16"].repo}  # Meta's repositories ask users to accept the licence


@dataclass(frozen=True)
class ModelSource:
    """One model, resolved: what vLLM loads and what the plan needs to know about it."""

    name: str  # as the user gave it
    load: str  # what vLLM loads: a folder, or a Hugging Face id
    config: dict[str, Any]  # its config.json
    builtin: bool  # a CPU model made here: never the hub

    @property
    def weights(self) -> str:
        """The weights' precision (`checkpoints.precision`)."""
        return checkpoints.precision(self.config)

    def weights_gib(self) -> float:
        """The checkpoint's size: measured for Scout's, its safetensors for a folder, else estimated."""
        return checkpoints.weights_gib(self.load, self.config, None if self.hub else Path(self.load))

    @property
    def hub(self) -> bool:
        """Whether vLLM loads it from the Hugging Face hub (or its cache) rather than a folder."""
        return not Path(self.load).is_absolute()

    def check_access(self) -> None:
        """Before a real load: a gated hub model needs HF_TOKEN (unless offline, from the cache)."""
        if self.hub and self.load in GATED and not os.environ.get("HF_TOKEN") and not _offline():
            raise ModelMissing(
                f"{self.load} is gated: accept the Llama 4 licence at https://huggingface.co/{self.load} "
                "and set HF_TOKEN to a token of that account"
            )


def resolve(name: str) -> ModelSource:
    """`name` (a registry name, a folder or a Hugging Face id) as a ModelSource; built-in CPU
    models are built first if needed (once)."""
    info = models.KNOWN.get(name)
    if info is not None and info.checkpoint is not None and not info.present:
        return ModelSource(name, info.checkpoint.repo, info.checkpoint.config, False)
    folder = Path(name).expanduser()
    if info is None and folder.exists() and not (folder / "config.json").is_file():
        raise ModelMissing(f"{name} has no config.json: not a model folder")
    if info is not None or folder.exists():
        folder = models.ensure_model(name)
        config = read_config(folder / "config.json")
        return ModelSource(name, str(folder.resolve()), config, builtin=info is not None and info.build is not None)
    if name.count("/") == 1 and all(name.split("/")):
        return _from_hub(name)
    raise ModelMissing(
        f"no model {name!r}: name one of {', '.join(models.KNOWN)}, a Hugging Face id (org/name) "
        "or a folder with a config.json"
    )


def _from_hub(repo: str) -> ModelSource:
    known = next((c for c in checkpoints.SCOUT_CHECKPOINTS.values() if c.repo == repo), None)
    return ModelSource(repo, repo, known.config if known else _hub_config(repo), False)


def _hub_config(repo: str) -> dict[str, Any]:
    """The hub repository's config.json (from the local cache when offline); one-line errors."""
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            GatedRepoError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
        )
    except ImportError:
        raise ModelMissing(f"{repo}: reading a Hugging Face id needs huggingface_hub (the engine extras)") from None
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)  # its retries are not the user's business
    try:
        return read_config(Path(hf_hub_download(repo, "config.json")))
    except GatedRepoError:
        raise ModelMissing(
            f"{repo} is gated: accept its licence at https://huggingface.co/{repo} and set HF_TOKEN"
        ) from None
    except RepositoryNotFoundError:
        raise ModelMissing(f"no model {repo!r} on the Hugging Face hub (or it is private: set HF_TOKEN)") from None
    except LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE is set" if _offline() else "the hub cannot be reached"
        raise ModelMissing(f"{repo} is not in the Hugging Face cache and {why}") from None
    except (HfHubHTTPError, OSError) as error:
        raise ModelMissing(f"cannot read {repo}'s config.json from the hub: {str(error).splitlines()[0]}") from None


def read_config(file: Path) -> dict[str, Any]:
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelMissing(f"cannot read the model config {file}: {error}") from None
    if not isinstance(config, dict):
        raise ModelMissing(f"{file} is not a model config")
    return config


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
