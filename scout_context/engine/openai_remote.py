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

Failures become one-line typed errors naming the URL, never the API key (nor a password in
the address): a reply that is not what the API promises (an HTML page, JSON of another shape,
a stream without completions) is the server's fault, exit 3 like an unreachable one. The
timeout (`EngineConfig.timeout_s`, `--timeout`, `SCOUT_TIMEOUT`) bounds each wait for the
server's next bytes, not the whole answer: a long answer streams for minutes, and a
million-token prompt can take minutes before its first token.
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

from scout_context.engine import repeats
from scout_context.engine.base import Events, Generation, Request
from scout_context.engine.chat_format import LLAMA4_IMAGE_TOKENS, Turn, llama4_chat, llama4_turns, messages
from scout_context.engine.config import EngineConfig, SamplingConfig
from scout_context.engine.multimodal import openai_chat_request, request_options, within_limit
from scout_context.errors import AuthError, ContextTooLarge, EngineUnreachable, ModelMissing, ScoutError, UsageError
from scout_context.http_replies import media_type
from scout_context.pack.neutralize import BUILTIN_SPECIAL_TOKENS, SpecialTokenEscaper, special_token_escaper
from scout_context.sources.images import ImageInput
from scout_context.tokens import scout_tokenizer

_TOO_LONG = re.compile(r"maximum context length|longer than the maximum model length|max_model_len", re.IGNORECASE)
_LLAMA4 = re.compile(r"llama-?4", re.IGNORECASE)
_SLACK_EVENTS = 16
"""Pieces of streamed text allowed beyond `max_tokens`: a server that keeps sending past
them ignores the limit, and would otherwise fill memory and the terminal without end."""


class OpenAIEngine:
    """`Engine` over a remote vLLM server."""

    def __init__(self, config: EngineConfig) -> None:
        if not config.base_url:
            raise UsageError("--engine openai needs the server's address: --base-url or SCOUT_BASE_URL")
        self.config = config
        address = config.base_url.rstrip("/").removesuffix("/v1")
        try:  # the address as messages show it: without a user or password
            self.base_url = str(httpx.URL(address).copy_with(username=None, password=None))
        except httpx.InvalidURL as error:
            raise UsageError(f"--base-url is not a URL: {error}") from None
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._client = httpx.Client(
            base_url=address,
            headers=headers,
            timeout=httpx.Timeout(config.timeout_s, connect=_connect_s(config)),
        )

    @cached_property
    def _served(self) -> list[dict[str, Any]]:
        """The entries of /v1/models that name a model (an `id`); others are ignored."""
        data = self._call("GET", "/v1/models").get("data")
        if not isinstance(data, list):
            raise self._unexpected("/v1/models", "no list of models (`data`)")
        return [card for card in data if isinstance(card, dict) and isinstance(card.get("id"), str) and card["id"]]

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
        served = _count(self._card.get("max_model_len")) or None
        if served and self.config.max_model_len:
            return min(int(served), self.config.max_model_len)
        if limit := served or self.config.max_model_len:
            return int(limit)
        raise UsageError(f"the engine at {self.base_url} does not report max_model_len: pass --max-model-len")

    @property
    def is_llama4(self) -> bool:
        """Told by the served id or, behind another served name, the model it serves (`root`)."""
        return bool(_LLAMA4.search(self.model_name) or _LLAMA4.search(str(self._card.get("root") or "")))

    @cached_property
    def multimodal(self) -> bool:
        architecture = self._card.get("architecture")  # OpenRouter-style entries say what they read
        nested = architecture.get("input_modalities") if isinstance(architecture, dict) else None
        modalities = self._card.get("input_modalities") or nested
        return self.is_llama4 and (not isinstance(modalities, list) or "image" in modalities)

    @property
    def max_images(self) -> int:
        return self.config.limit_images if self.multimodal else 0

    concurrent_calls: int | None = None
    """The server schedules the requests it gets together (vLLM's --max-num-seqs)."""

    def image_tokens(self, images: Sequence[ImageInput]) -> int:
        return len(images) * LLAMA4_IMAGE_TOKENS  # only a Llama 4 model takes images here

    def render_chat(self, system: str, user: str, assistant: str = "", history: Sequence[Turn] = ()) -> str:
        if self.is_llama4:
            return llama4_chat(system, user, assistant, history)
        escape = self._special_tokens.escape
        chat = [{**m, "content": escape(m["content"])} for m in messages(system, user, history)]
        tokens = self._call(
            "POST", "/tokenize", {"model": self.model_name, "messages": chat, "add_generation_prompt": True}
        ).get("tokens")
        if not isinstance(tokens, list) or not all(_count(token) is not None for token in tokens):
            raise self._unexpected("/tokenize", "no list of token ids (`tokens`)")
        prompt = self._call("POST", "/detokenize", {"model": self.model_name, "tokens": tokens}).get("prompt")
        if not isinstance(prompt, str):
            raise self._unexpected("/detokenize", "no text (`prompt`)")
        return prompt + assistant

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
        if self.is_llama4:
            return scout_tokenizer().count(text)
        body = {"model": self.model_name, "prompt": text, "add_special_tokens": False}
        count = _count(self._call("POST", "/tokenize", body).get("count"))
        if count is None:
            raise self._unexpected("/tokenize", "no token count (`count`)")
        return count

    def generate(
        self, requests: Sequence[Request], sampling: SamplingConfig, events: Events | None = None
    ) -> list[Generation]:
        events = events or Events()
        generations = []
        for i, request in enumerate(requests):  # one at a time: the server batches across callers
            generations.append(self._complete(i, *self._request(request, sampling), events))
            events.done(i, generations[-1])
        return generations

    def close(self) -> None:
        self._client.close()

    def _request(self, request: Request, sampling: SamplingConfig) -> tuple[str, dict[str, Any]]:
        """The endpoint and body for one request: a raw completion, or a chat with images."""
        if not request.images:
            body = {"model": self.model_name, "prompt": request.prompt, "add_special_tokens": False}
            return "/v1/completions", {**body, **request_options(sampling)}
        within_limit(request.images, self)
        try:
            system, user, assistant = llama4_turns(request.prompt)
        except ValueError as error:
            raise UsageError(str(error)) from None
        return "/v1/chat/completions", openai_chat_request(
            self.model_name, system, user, request.images, sampling, assistant
        )

    def _complete(self, index: int, path: str, body: dict[str, Any], events: Events) -> Generation:
        parts: list[str] = []
        usage: dict[str, Any] = {}
        finish_reason, first_token_s, completions = "", 0.0, 0
        most_pieces = int(body["max_tokens"]) + _SLACK_EVENTS  # a piece holds at least one token
        started = time.perf_counter()
        with self._transport_errors(path), self._client.stream("POST", path, json=body) as response:
            if response.status_code >= 400:
                response.read()
                raise self._http_error(path, response.status_code, _error_message(response))
            for event in self._events(path, response.iter_lines()):
                if "error" in event:
                    raise self._stream_error(path, event["error"])
                if isinstance(event.get("usage"), dict):
                    usage = event["usage"]
                if "choices" not in event:  # a usage-only event; a stream of only these fails below
                    continue
                completions += 1
                for text, finish in self._choices(path, event["choices"]):
                    if text:
                        first_token_s = first_token_s or time.perf_counter() - started
                        parts.append(text)
                        if len(parts) > most_pieces:
                            raise self._unexpected(
                                path, f"more pieces of text than the {body['max_tokens']} tokens asked for"
                            )
                        events.text(index, text)
                    finish_reason = finish or finish_reason
            if not completions:
                raise self._unexpected(path, f"no completion (no event with `choices`; {media_type(response)})")
        details = usage.get("prompt_tokens_details")
        return Generation(
            text=repeats.answer_text("".join(parts), finish_reason),
            prompt_tokens=_count(usage.get("prompt_tokens")) or 0,
            cached_tokens=(_count(details.get("cached_tokens")) or 0) if isinstance(details, dict) else 0,
            completion_tokens=_count(usage.get("completion_tokens")) or 0,
            finish_reason=finish_reason,
            first_token_s=first_token_s,
            total_s=time.perf_counter() - started,
        )

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON object that `path` answers; any other reply is the server's fault."""
        with self._transport_errors(path):
            response = self._client.request(method, path, json=body)
        if response.status_code >= 400:
            raise self._http_error(path, response.status_code, _error_message(response))
        try:
            payload = response.json()
        except ValueError:  # also a body that is not UTF-8
            raise self._unexpected(path, f"a reply that is not JSON ({media_type(response)})") from None
        if not isinstance(payload, dict):
            raise self._unexpected(path, f"a JSON {type(payload).__name__}, not an object")
        return payload

    def _events(self, path: str, lines: Iterator[str]) -> Iterator[dict[str, Any]]:
        """The JSON objects of a server-sent event stream, up to `[DONE]`."""
        for line in lines:
            if not line.startswith("data:"):
                continue
            data = line[len("data:") :].strip()
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
            except ValueError:
                raise self._unexpected(path, "an event that is not JSON") from None
            if not isinstance(event, dict):
                raise self._unexpected(path, f"an event that is a JSON {type(event).__name__}, not an object")
            yield event

    def _choices(self, path: str, choices: Any) -> list[tuple[str, str]]:
        """(text, finish reason) of each choice of a streamed completion or chat event."""
        if not isinstance(choices, list) or not all(isinstance(choice, dict) for choice in choices):
            raise self._unexpected(path, "an event whose `choices` is not a list of objects")
        found = []
        for choice in choices:
            delta = choice.get("delta")
            text = choice.get("text") or (delta.get("content") if isinstance(delta, dict) else None) or ""
            finish = choice.get("finish_reason") or ""
            if not isinstance(text, str) or not isinstance(finish, str):
                raise self._unexpected(path, "a choice whose text or finish_reason is not a string")
            found.append((text, finish))
        return found

    def _stream_error(self, path: str, error: Any) -> ScoutError:
        """The error a stream reports in an event: {"error": {"message", "code"}}, or text."""
        details = error if isinstance(error, dict) else {}
        code = _count(details.get("code"))
        status = code if code is not None and 400 <= code < 600 else 500
        return self._http_error(path, status, str(details.get("message", error)))

    @contextmanager
    def _transport_errors(self, path: str) -> Iterator[None]:
        url = f"{self.base_url}{path}"
        try:
            yield
        except httpx.ConnectTimeout:
            raise EngineUnreachable(
                f"cannot reach the engine at {url}: no connection in {_connect_s(self.config):g} s"
            ) from None
        except httpx.TimeoutException:
            raise EngineUnreachable(
                f"the engine at {url} did not answer in time: nothing came for {self.config.timeout_s:g} s "
                "(raise --timeout or SCOUT_TIMEOUT: a long prompt can take minutes to its first token)"
            ) from None
        except httpx.TransportError as error:
            reason = str(error) or type(error).__name__
            raise EngineUnreachable(f"cannot reach the engine at {url}: {reason}") from None

    def _http_error(self, path: str, status: int, message: str) -> ScoutError:
        if self.config.api_key:
            message = message.replace(self.config.api_key, "***")
        message = " ".join(message.split())[:300]
        url = f"{self.base_url}{path}"
        if status in (401, 403):
            return AuthError(f"the engine at {url} rejected the API key (HTTP {status}): check SCOUT_API_KEY")
        if status == 404 and "model" in message.lower():
            return ModelMissing(f"the engine at {url}: {message}")
        if status in (400, 413) and _TOO_LONG.search(message):
            return ContextTooLarge(f"the engine at {url}: {message}")
        reason = "failed" if status >= 500 else "refused the request"  # a 404: not a vLLM server, or an old one
        return EngineUnreachable(f"the engine at {url} {reason} (HTTP {status}): {message}")

    def _unexpected(self, path: str, what: str) -> EngineUnreachable:
        """A reply that is not what vLLM's API promises."""
        return EngineUnreachable(
            f"the engine at {self.base_url}{path} sent {what}: is the address a vLLM server (--base-url, SCOUT_BASE_URL)?"
        )


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
        return (
            [info["content"]]
            if isinstance(info.get("content"), str)
            else [s for v in info.values() for s in _spellings(v)]
        )
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


def _count(value: Any) -> int | None:
    """`value` if it is a whole number of at least 0 (a count, a length, a token id), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _connect_s(config: EngineConfig) -> float:
    """How long to wait for a connection: the timeout, at most 10 s (a server that is up
    accepts at once; the long waits are for answers)."""
    return min(10.0, config.timeout_s)
