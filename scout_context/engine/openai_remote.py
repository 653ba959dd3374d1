"""The remote backend: a vLLM OpenAI-compatible server, over HTTP with streaming.

- `/v1/models`: the model id (SCOUT_MODEL picks one when several are served) and its
  `max_model_len`.
- `/v1/completions`: the rendered prompt with `add_special_tokens: false` (one BOS), streamed
  as server-sent events; the last event's usage gives prompt, cached and completion tokens
  (cached tokens need the server's `--enable-prompt-tokens-details`).
- `/v1/chat/completions` instead when a prompt carries images, which a raw prompt cannot:
  the rendered Llama 4 turn is split back into its system and user messages, the images
  become data-URL `image_url` parts (`multimodal.openai_chat_request`); streamed the same way.
- Images: a Llama 4 model (Scout and Maverick read images) takes up to
  `EngineConfig.limit_images` per prompt, unless its /v1/models entry lists input
  modalities without "image". Other models count as text-only: their prompts come from the
  server's chat template and cannot be split back into messages.
- Counting: Llama 4 models with the local Scout tokenizer (same ids, no round trip); other
  models with the server's `/tokenize`. Their chat format comes from the server too
  (`/tokenize` with messages, then `/detokenize`), and the spellings of their special
  tokens in the messages are escaped first (`neutralize.special_token_escaper`: the
  server's `/tokenizer_info` where it is enabled, and the common families' built in).

Failures become one-line typed errors; the API key is never shown.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import httpx

from scout_context.engine.base import Generation, OnDone, OnText, llama4_chat
from scout_context.engine.config import EngineConfig, SamplingConfig
from scout_context.engine.multimodal import llama4_turns, openai_chat_request, request_options, within_limit
from scout_context.errors import AuthError, ContextTooLarge, EngineUnreachable, ModelMissing, ScoutError, UsageError
from scout_context.pack.neutralize import BUILTIN_SPECIAL_TOKENS, SpecialTokenEscaper, special_token_escaper
from scout_context.sources.images import ImageInput
from scout_context.tokens import scout_tokenizer

_TOO_LONG = re.compile(r"maximum context length|longer than the maximum model length|max_model_len", re.IGNORECASE)
_LLAMA4 = re.compile(r"llama-?4", re.IGNORECASE)


class OpenAIEngine:
    """`Engine` over a remote vLLM server."""

    def __init__(self, config: EngineConfig) -> None:
        if not config.base_url:
            raise UsageError("--engine openai needs the server's address: --base-url or SCOUT_BASE_URL")
        self.config = config
        self.base_url = config.base_url.rstrip("/").removesuffix("/v1")
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(config.timeout_s, connect=min(10.0, config.timeout_s)),
        )

    @cached_property
    def _served(self) -> list[dict[str, Any]]:
        """The entries of /v1/models."""
        return self._call("GET", "/v1/models").get("data") or []

    def served_models(self) -> list[str]:
        return [str(card.get("id")) for card in self._served]

    @cached_property
    def _card(self) -> dict[str, Any]:
        """The entry of the model in use: SCOUT_MODEL's, or the first served."""
        ids = self.served_models()
        if not ids:
            raise ModelMissing(f"the engine at {self.base_url} serves no model")
        if self.config.model is None:
            return self._served[0]
        if self.config.model not in ids:
            raise ModelMissing(f"{self.config.model} is not served at {self.base_url}; it serves: {', '.join(ids)}")
        return self._served[ids.index(self.config.model)]

    @property
    def model_name(self) -> str:
        return self._card["id"]

    @cached_property
    def max_model_len(self) -> int:
        served = self._card.get("max_model_len")
        if served and self.config.max_model_len:
            return min(int(served), self.config.max_model_len)
        if served or self.config.max_model_len:
            return int(served or self.config.max_model_len)
        raise UsageError(f"the engine at {self.base_url} does not report max_model_len: pass --max-model-len")

    @property
    def _is_llama4(self) -> bool:
        return bool(_LLAMA4.search(self.model_name) or _LLAMA4.search(str(self._card.get("root") or "")))

    @cached_property
    def multimodal(self) -> bool:
        architecture = self._card.get("architecture")  # OpenRouter-style entries say what they read
        nested = architecture.get("input_modalities") if isinstance(architecture, dict) else None
        modalities = self._card.get("input_modalities") or nested
        return self._is_llama4 and (modalities is None or "image" in modalities)

    @property
    def max_images(self) -> int:
        return self.config.limit_images if self.multimodal else 0

    def render_chat(self, system: str, user: str, assistant: str = "") -> str:
        if self._is_llama4:
            return llama4_chat(system, user, assistant)
        escape = self._special_tokens.escape
        messages = [{"role": "system", "content": escape(system)}] if system else []
        messages.append({"role": "user", "content": escape(user)})
        tokens = self._call(
            "POST", "/tokenize", {"model": self.model_name, "messages": messages, "add_generation_prompt": True}
        )["tokens"]
        return self._call("POST", "/detokenize", {"model": self.model_name, "tokens": tokens})["prompt"] + assistant

    @cached_property
    def _special_tokens(self) -> SpecialTokenEscaper:
        """The escape for this model's special-token spellings: the served tokenizer's, where
        the server lists them (vLLM's /tokenizer_info, on with
        --enable-tokenizer-info-endpoint), and the common families' built in."""
        try:
            info = self._call("GET", "/tokenizer_info")
        except (ScoutError, ValueError):  # not enabled (404), or not vLLM's
            info = {}
        return special_token_escaper((*BUILTIN_SPECIAL_TOKENS, *_spellings(info, top=True)))

    def count_tokens(self, text: str) -> int:
        if self._is_llama4:
            return scout_tokenizer().count(text)
        body = {"model": self.model_name, "prompt": text, "add_special_tokens": False}
        return int(self._call("POST", "/tokenize", body)["count"])

    def generate(
        self,
        prompts: Sequence[str],
        sampling: SamplingConfig,
        on_text: OnText | None = None,
        images: Sequence[Sequence[ImageInput]] | None = None,
        on_done: OnDone | None = None,
    ) -> list[Generation]:
        per_prompt = images if images is not None else [()] * len(prompts)
        generations = []
        for i, (prompt, shown) in enumerate(zip(prompts, per_prompt, strict=True)):
            generations.append(self._complete(i, *self._request(prompt, shown, sampling), on_text))
            if on_done is not None:
                on_done(i, generations[-1])
        return generations

    def close(self) -> None:
        self._client.close()

    def _request(
        self, prompt: str, images: Sequence[ImageInput], sampling: SamplingConfig
    ) -> tuple[str, dict[str, Any]]:
        """The endpoint and body for one prompt: a raw completion, or a chat with images."""
        if not images:
            body = {"model": self.model_name, "prompt": prompt, "add_special_tokens": False}
            return "/v1/completions", {**body, **request_options(sampling)}
        within_limit(images, self)
        try:
            system, user, assistant = llama4_turns(prompt)
        except ValueError as error:
            raise UsageError(str(error)) from None
        return "/v1/chat/completions", openai_chat_request(self.model_name, system, user, images, sampling, assistant)

    def _complete(self, index: int, path: str, body: dict[str, Any], on_text: OnText | None) -> Generation:
        parts: list[str] = []
        usage: dict[str, Any] = {}
        finish_reason, first_token_s = "", 0.0
        started = time.perf_counter()
        with self._transport_errors(), self._client.stream("POST", path, json=body) as response:
            if response.status_code >= 400:
                response.read()
                raise self._http_error(response.status_code, _error_message(response))
            for event in _sse_events(response.iter_lines()):
                if "error" in event:
                    error = event["error"]
                    raise self._http_error(int(error.get("code") or 500), str(error.get("message", error)))
                for choice in event.get("choices") or []:
                    text = choice.get("text") or (choice.get("delta") or {}).get("content") or ""
                    if text:
                        first_token_s = first_token_s or time.perf_counter() - started
                        parts.append(text)
                        if on_text is not None:
                            on_text(index, text)
                    finish_reason = choice.get("finish_reason") or finish_reason
                usage = event.get("usage") or usage
        return Generation(
            text="".join(parts),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            cached_tokens=int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            finish_reason=finish_reason,
            first_token_s=first_token_s,
            total_s=time.perf_counter() - started,
        )

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._transport_errors():
            response = self._client.request(method, path, json=body)
        if response.status_code >= 400:
            raise self._http_error(response.status_code, _error_message(response))
        return response.json()

    @contextmanager
    def _transport_errors(self) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException as error:
            reason = f"did not answer in time ({type(error).__name__})"
            raise EngineUnreachable(f"the engine at {self.base_url} {reason}") from None
        except httpx.TransportError as error:
            reason = str(error) or type(error).__name__
            raise EngineUnreachable(f"cannot reach the engine at {self.base_url}: {reason}") from None

    def _http_error(self, status: int, message: str) -> ScoutError:
        if self.config.api_key:
            message = message.replace(self.config.api_key, "***")
        message = " ".join(message.split())[:300]
        if status in (401, 403):
            return AuthError(f"the engine at {self.base_url} rejected the API key (HTTP {status}): check SCOUT_API_KEY")
        if status == 404 and "model" in message.lower():
            return ModelMissing(f"the engine at {self.base_url}: {message}")
        if status in (400, 413) and _TOO_LONG.search(message):
            return ContextTooLarge(f"the engine at {self.base_url}: {message}")
        if status >= 500:
            return EngineUnreachable(f"the engine at {self.base_url} failed (HTTP {status}): {message}")
        return ScoutError(f"the engine at {self.base_url} refused the request (HTTP {status}): {message}")


def _spellings(info: Any, top: bool = False) -> list[str]:
    """The token spellings in a /tokenizer_info answer (a tokenizer_config.json): the
    `*_token` entries, `additional_special_tokens`, `extra_special_tokens` and every
    added token, each a string or an `AddedToken`-like {"content": ...}."""
    if isinstance(info, str):
        return [info]
    if isinstance(info, list):
        return [s for item in info for s in _spellings(item)]
    if not isinstance(info, dict):
        return []
    if not top:
        return [info["content"]] if isinstance(info.get("content"), str) else [s for v in info.values() for s in _spellings(v)]
    wanted = ("additional_special_tokens", "extra_special_tokens", "added_tokens_decoder")
    return [s for key, value in info.items() if key.endswith("_token") or key in wanted for s in _spellings(value)]


def _error_message(response: httpx.Response) -> str:
    """The message of an OpenAI-style error body ({"error": {"message"}}), or its text."""
    try:
        payload = response.json()
    except ValueError:
        return response.text or response.reason_phrase
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or error)
    return str(error)


def _sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The JSON payloads of a server-sent event stream, up to `[DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        try:
            yield json.loads(data)
        except ValueError:
            raise EngineUnreachable(f"the engine sent an event that is not JSON: {data[:100]}") from None
