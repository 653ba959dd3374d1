"""Screening sources for prompt injection: text written to steer the model that reads it.

A `Screener` (`base`) scores chunk texts and returns, per chunk, a `Finding` or None:
`rules` (phrases aimed at an assistant, in many languages, and hidden text; always
offline) and `prompt_guard` (Meta's Prompt Guard 2 classifier through transformers).
`choose` picks one from the settings; `apply` marks a pack's flagged chunks (a warning
on the chunk that the renderers show and the system prompt explains) or leaves them out.

Screening is its own layer: redaction (`sources.secrets`) hides credentials, and
neutralization (`pack.neutralize`) keeps a source from acting as prompt structure; neither
looks at what a sentence asks the model to do. No screener is complete: a finding is a
warning, and no finding is no proof.
"""

from .base import MODES, Finding, Screener

__all__ = ["MODES", "Finding", "Screener"]
