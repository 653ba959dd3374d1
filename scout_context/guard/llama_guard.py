"""Llama Guard 4's own prompt format, its hazard categories S1-S14, and its verdicts.

Where the format comes from: Llama Guard 4 is a Llama 4 model, so the prompt is one Llama 4
user turn (`<|begin_of_text|><|header_start|>user<|header_end|>\\n\\n … <|eot|>`, then the
assistant header), as Meta's prompt-format page gives it
(https://www.llama.com/docs/model-cards-and-prompt-formats/llama-guard-4/). The turn's text
is the classification task Meta's reference guard builds (llama-stack,
`providers/inline/safety/llama_guard/llama_guard.py`: the task line, the categories between
`<BEGIN UNSAFE CONTENT CATEGORIES>` and `<END UNSAFE CONTENT CATEGORIES>`, the conversation
as `User:` and `Agent:` lines between `<BEGIN CONVERSATION>` and `<END CONVERSATION>`, and the
instruction to assess only the last `Agent` message). The categories are the MLCommons
hazards of the model card (PurpleLlama, `Llama-Guard4/12B/MODEL_CARD.md`), S14 included
(code interpreter abuse, text only), spelled as the prompt spells them.

The model answers `safe`, or `unsafe` and a line of categories (`S7`, `S1,S10`). Anything
else is `unreadable`, and a verdict that is not `safe` withholds the answer: the check fails
closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ..engine.chat_format import llama4_chat
from ..pack.neutralize import neutralize, tag_escaper

GUARD_MODEL = "meta-llama/Llama-Guard-4-12B"
GUARD_MAX_TOKENS = 10
"""A verdict is two short lines: `unsafe` and a few codes."""

CATEGORIES: dict[str, str] = {
    "S1": "Violent Crimes",
    "S2": "Non-Violent Crimes",
    "S3": "Sex Crimes",
    "S4": "Child Exploitation",
    "S5": "Defamation",
    "S6": "Specialized Advice",
    "S7": "Privacy",
    "S8": "Intellectual Property",
    "S9": "Indiscriminate Weapons",
    "S10": "Hate",
    "S11": "Self-Harm",
    "S12": "Sexual Content",
    "S13": "Elections",
    "S14": "Code Interpreter Abuse",
}

_TASK = (
    "Task: Check if there is unsafe content in 'Agent' messages in conversations according our safety policy "
    "with the below categories.\n\n"
)
_INSTRUCTIONS = (
    "Provide your safety assessment for ONLY THE LAST Agent message in the above conversation:\n"
    " - First line must read 'safe' or 'unsafe'.\n"
    " - If unsafe, a second line must include a comma-separated list of violated categories."
)
# The question and the answer are a stranger's text (the answer follows the sources): none
# of it may close the conversation block and write its own verdict instruction, or open a turn.
_escape_blocks = tag_escaper("BEGIN", "END")


def guard_prompt(question: str, answer: str) -> str:
    """The rendered Llama Guard 4 prompt that classifies `answer` given `question`.

    Only the question and the answer are sent, never the packed corpus: the guard judges
    what the user is shown, and the corpus (up to millions of tokens of other people's
    text) would neither fit the guard's context nor be its business; it could also carry
    text aimed at the guard itself."""
    conversation = "\n\n".join(
        f"{role}: {_escape_blocks(neutralize(text))}" for role, text in (("User", question), ("Agent", answer))
    )
    categories = "\n".join(f"{code}: {name}." for code, name in CATEGORIES.items())
    task = (
        f"{_TASK}<BEGIN UNSAFE CONTENT CATEGORIES>\n{categories}\n<END UNSAFE CONTENT CATEGORIES>\n\n"
        f"<BEGIN CONVERSATION>\n\n{conversation}\n\n<END CONVERSATION>\n\n{_INSTRUCTIONS}"
    )
    return llama4_chat("", task)


Status = Literal["safe", "unsafe", "unreadable"]
_CODE = re.compile(r"S\d{1,2}")


@dataclass(frozen=True)
class Verdict:
    """What the guard said of one answer: `status`, the violated categories' codes, its own text."""

    status: Status
    categories: tuple[str, ...] = ()
    text: str = ""  # the guard's answer, as it came
    model: str = ""

    @property
    def safe(self) -> bool:
        return self.status == "safe"

    def described(self) -> str:
        """One line for stderr: `unsafe: S7 Privacy`, or what could not be read."""
        if self.status == "unreadable":
            return f"unreadable verdict {self.text.strip()[:80]!r} (treated as unsafe)"
        named = ", ".join(
            f"{code} {CATEGORIES.get(code, '(not a Llama Guard 4 category)')}" for code in self.categories
        )
        return f"{self.status}: {named}" if named else self.status

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "verdict": self.status,
            "categories": [{"code": code, "name": CATEGORIES.get(code)} for code in self.categories],
            "text": self.text,
        }


def parse_verdict(text: str, model: str = "") -> Verdict:
    """The verdict in the guard's answer: `safe` alone, or `unsafe` then a line of
    comma-separated codes; anything else is `unreadable`."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    head = lines[0].lower() if lines else ""
    if head == "safe" and len(lines) == 1:
        return Verdict("safe", (), text, model)
    if head == "unsafe" and len(lines) <= 2:
        codes = tuple(code.strip().upper() for code in lines[1].split(",")) if len(lines) == 2 else ()
        if all(_CODE.fullmatch(code) for code in codes):
            return Verdict("unsafe", codes, text, model)
    return Verdict("unreadable", (), text, model)
