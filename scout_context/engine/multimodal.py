"""Images for a multimodal model: which are sent, and the request each backend builds.

Placement: the images come first in the user turn, before its text, as in Meta's own
examples (llama_models' `llama4/scripts/chat_completion.py`: media items, then the text)
and in the chat template, which writes one `<|image|>` per image part where the part is.
The embedded engine's prompt therefore gets one bare `<|image|>` per image right after
`<|header_start|>user<|header_end|>\\n\\n`; vLLM's Llama 4 processor (`mllama4.py`,
`_get_prompt_updates`) replaces each `<|image|>` id with that image's full block,
`<|image_start|>` [tiles of `<|patch|>` with separators] `<|image|>` `<|patch|>`x144
`<|image_end|>`, sized from its aspect ratio, so `<|image_start|>`/`<|image_end|>` must
not be written by hand (they would appear twice). The remote engine sends the same
order as chat parts: the `image_url` parts, then the text.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scout_context.engine import repeats
from scout_context.engine.chat_format import llama4_header
from scout_context.engine.config import SamplingConfig
from scout_context.errors import UsageError
from scout_context.sources.images import ImageInput

if TYPE_CHECKING:
    from scout_context.engine.base import Engine

IMAGE = "<|image|>"


def attach(images: Sequence[ImageInput], engine: Engine) -> tuple[list[ImageInput], list[tuple[str, str]]]:
    """The images to send with one prompt (in order, up to the engine's limit) and
    (id, reason) for the rest."""
    if not images:
        return [], []
    if not engine.multimodal:
        return [], [(image.id, "the model reads text only") for image in images]
    limit = engine.max_images
    return list(images[:limit]), [(image.id, f"over the engine's image limit of {limit}") for image in images[limit:]]


def within_limit(images: Sequence[ImageInput], engine: Engine) -> None:
    """UsageError when one prompt carries more images than `engine` takes."""
    if len(images) > engine.max_images:
        takes = f"at most {engine.max_images}" if engine.multimodal else f"none: {engine.model_name} reads text only"
        raise UsageError(f"{len(images)} images for one prompt; the engine takes {takes}")


def vllm_inputs(prompt_text: str, images: Sequence[ImageInput]) -> dict[str, Any]:
    """The `vllm.LLM` input for a rendered Llama 4 prompt and its images: one `<|image|>`
    per image at the start of the last user turn, and the decoded images in that order.
    ValueError when images come with a prompt that has no Llama 4 user turn."""
    if not images:
        return {"prompt": prompt_text}
    turn = prompt_text.rfind(llama4_header("user"))
    if turn < 0:
        raise ValueError("images need a prompt in Llama 4's chat format (no user turn found)")
    at = turn + len(llama4_header("user"))
    return {
        "prompt": prompt_text[:at] + IMAGE * len(images) + prompt_text[at:],
        "multi_modal_data": {"image": [_decoded(image) for image in images]},
    }


def openai_chat_request(
    model: str,
    system: str,
    user_text: str,
    images: Sequence[ImageInput],
    sampling: SamplingConfig,
    assistant: str = "",
) -> dict[str, Any]:
    """A streamed `/v1/chat/completions` body: the images as data-URL `image_url` parts,
    then the text. An `assistant` prefill is continued, not answered (vLLM's
    `continue_final_message`)."""
    parts: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": data_url(image)}} for image in images]
    parts.append({"type": "text", "text": user_text})
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": parts})
    body: dict[str, Any] = {"model": model, "messages": messages, **request_options(sampling)}
    if assistant:
        messages.append({"role": "assistant", "content": assistant})
        body.update(add_generation_prompt=False, continue_final_message=True)
    return body


def request_options(sampling: SamplingConfig) -> dict[str, Any]:
    """The sampling and streaming fields both OpenAI endpoints take."""
    options: dict[str, Any] = {
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if sampling.frequency_penalty:
        options["frequency_penalty"] = sampling.frequency_penalty
    if sampling.repetition_penalty != 1.0:  # vLLM's own field: a server that is not vLLM never sees it unasked
        options["repetition_penalty"] = sampling.repetition_penalty
    if (detection := repeats.detection(sampling)) is not None:
        options["repetition_detection"] = detection
    if sampling.seed is not None:
        options["seed"] = sampling.seed
    if sampling.stop:
        options["stop"] = list(sampling.stop)
    return options


def data_url(image: ImageInput) -> str:
    return f"data:{image.mime};base64,{base64.b64encode(image.data).decode('ascii')}"


def _decoded(image: ImageInput) -> Any:
    """The image as a loaded PIL image (vLLM's processor converts it to RGB)."""
    from PIL import Image

    decoded = Image.open(io.BytesIO(image.data))
    decoded.load()
    return decoded
