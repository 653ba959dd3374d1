"""The embedded backend: `vllm.LLM` in this process, started on first use, one per process.

The prompt is tokenized here with the model's own tokenizer, without special tokens, and
handed to vLLM as token ids: the count the packer saw is the count vLLM runs, and a
rendered `<|begin_of_text|>` is the only BOS. Images go with a prompt as vLLM's
`multi_modal_data` beside one `<|image|>` id each (`multimodal.vllm_inputs`); the limit per
prompt, `limit_mm_per_prompt`, is `EngineConfig.limit_images` for a model with a vision
tower and 0 otherwise. Its `vllm.LLM` arguments and environment are `engine_settings`'s, for
the hardware at hand (CPU or GPUs). Answers stream: requests go to the `LLMEngine` step loop with
delta outputs and `Events.on_text` gets each new piece.

On a CPU the engine core runs in this process (`VLLM_ENABLE_V1_MULTIPROCESSING=0`), so no
process is spawned; with multiprocessing on, the caller's main module must be import-safe.
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
import re
import sys
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from scout_context.engine import multimodal, repeats
from scout_context.engine.base import Events, Generation, Request
from scout_context.engine.chat_format import LLAMA4_IMAGE_TOKENS, Turn, llama4_chat, template_chat
from scout_context.engine.config import DEFAULT_MODEL, EngineConfig, SamplingConfig
from scout_context.engine.engine_settings import EngineSettings, engine_settings
from scout_context.errors import ContextTooLarge, EngineOutOfMemory, ModelMissing, ScoutError, UsageError
from scout_context.sources.images import ImageInput

OUT_OF_MEMORY = re.compile(
    r"out of memory|cannot allocate memory|KV cache is needed|available KV cache memory|"
    r"Available memory .* less than|No available memory for the cache blocks",
    re.IGNORECASE,
)
_TOO_LONG = re.compile(r"longer than the maximum model length|maximum context length", re.IGNORECASE)

_live: VllmEngine | None = None
"""The process's one started engine (two would not fit beside each other on a small machine)."""


@dataclass
class _Answer:
    text: list[str] = field(default_factory=list)
    token_ids: list[int] = field(default_factory=list)
    prompt_tokens: int = 0
    cached_tokens: int = 0
    first_token_s: float = 0.0
    total_s: float = 0.0
    finish_reason: str = ""

    def generation(self) -> Generation:
        return Generation(
            text=repeats.answer_text("".join(self.text), self.finish_reason),
            prompt_tokens=self.prompt_tokens,
            cached_tokens=self.cached_tokens,
            completion_tokens=len(self.token_ids),
            finish_reason=self.finish_reason,
            first_token_s=self.first_token_s,
            total_s=self.total_s,
            token_ids=tuple(self.token_ids),
        )


class VllmEngine:
    """`Engine` over an embedded `vllm.LLM`."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.model_name = config.model or DEFAULT_MODEL
        self._llm: Any = None
        self._request_ids = itertools.count()

    @cached_property
    def settings(self) -> EngineSettings:
        """The `vllm.LLM` arguments, environment and plan for this model on this machine
        (`engine_settings`); a built-in CPU model is built first if needed."""
        return engine_settings(self.config)

    @property
    def model_path(self) -> Path:
        """The model folder, or its Hugging Face id as a path."""
        return Path(self.settings.source.load)

    @property
    def max_model_len(self) -> int:
        return int(self.settings.engine_args["max_model_len"])

    @cached_property
    def tokenizer(self) -> Any:
        """The model's transformers tokenizer: the one vLLM itself loads."""
        import transformers

        if not self.config.verbose:
            transformers.logging.set_verbosity_error()
        self.settings.source.check_access()
        try:
            return transformers.AutoTokenizer.from_pretrained(self.settings.source.load)
        except OSError as error:  # not in the cache and not reachable, or not a tokenizer
            where = self.settings.source.load
            raise ModelMissing(
                f"cannot load {self.model_name}'s tokenizer from {where}: {str(error).splitlines()[0]}"
            ) from None

    @cached_property
    def is_llama4(self) -> bool:
        config = self.settings.source.config
        return str(config.get("text_config", config).get("model_type", "")).startswith("llama4")

    concurrent_calls: int | None = 1
    """One `vllm.LLM` per process, one call at a time: it batches the call's prompts itself."""

    def image_tokens(self, images: Sequence[ImageInput]) -> int:
        return len(images) * LLAMA4_IMAGE_TOKENS  # images go only to Llama 4 prompts (`vllm_inputs`)

    def render_chat(self, system: str, user: str, assistant: str = "", history: Sequence[Turn] = ()) -> str:
        if self.is_llama4:
            return llama4_chat(system, user, assistant, history)
        return template_chat(self.tokenizer, system, user, assistant, history)

    def count_tokens(self, text: str) -> int:
        return len(self._encode(text))

    @cached_property
    def multimodal(self) -> bool:
        """Whether the model has a vision tower (a `vision_config`, as Scout's checkpoints have)."""
        return bool(self.settings.source.config.get("vision_config"))

    @property
    def max_images(self) -> int:
        """`EngineConfig.limit_images` for a multimodal model, else 0."""
        return self.config.limit_images if self.multimodal else 0

    def llm_kwargs(self) -> dict[str, Any]:
        """Exactly the `vllm.LLM` arguments it starts with (`engine_settings`)."""
        return self.settings.engine_args

    def request_input(self, prompt: str, images: Sequence[ImageInput] = ()) -> dict[str, Any]:
        """What `generate` hands vLLM for one prompt: its token ids (the tokenizer's, no
        special tokens added) and, with images, the decoded images (`multimodal.vllm_inputs`)."""
        if images:
            multimodal.within_limit(images, self)
        inputs = multimodal.vllm_inputs(prompt, images)
        inputs["prompt_token_ids"] = self._encode(inputs.pop("prompt"))
        return inputs

    def generate(
        self, requests: Sequence[Request], sampling: SamplingConfig, events: Events | None = None
    ) -> list[Generation]:
        events = events or Events()
        inputs = [self.request_input(request.prompt, request.images) for request in requests]
        for each in inputs:
            tokens = len(each["prompt_token_ids"])
            if tokens >= self.max_model_len:
                raise ContextTooLarge(
                    f"the prompt is {tokens:,} tokens; {self.model_name} runs with a context of "
                    f"{self.max_model_len:,} (--max-model-len)"
                )
        llm = self._start()
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt
        from vllm.sampling_params import RequestOutputKind

        params = SamplingParams(
            temperature=sampling.temperature,
            max_tokens=sampling.max_tokens,
            frequency_penalty=sampling.frequency_penalty,
            repetition_penalty=sampling.repetition_penalty,
            repetition_detection=repeats.vllm_detection(sampling),
            seed=sampling.seed,
            stop=list(sampling.stop),
            output_kind=RequestOutputKind.DELTA,
        )
        engine = llm.llm_engine
        answers = [_Answer() for _ in inputs]
        index: dict[str, int] = {}
        started = time.perf_counter()
        with _translated(self.model_name):
            try:
                for i, each in enumerate(inputs):
                    request_id = f"scout-{next(self._request_ids)}"
                    engine.add_request(request_id, TokensPrompt(**each), params)
                    index[request_id] = i
                while engine.has_unfinished_requests():
                    for output in engine.step():
                        i = index[output.request_id]
                        self._collect(output, answers[i], started)
                        if output.outputs[0].text:
                            events.text(i, output.outputs[0].text)
                        if output.finished:
                            events.done(i, answers[i].generation())
            finally:  # an error or Ctrl-C leaves nothing running in the engine
                engine.abort_request([request_id for request_id, i in index.items() if not answers[i].finish_reason])
        return [answer.generation() for answer in answers]

    @staticmethod
    def _collect(output: Any, answer: _Answer, started: float) -> None:
        """Add one delta `vllm.RequestOutput` to its answer."""
        piece = output.outputs[0]
        if piece.token_ids and not answer.token_ids:
            answer.first_token_s = time.perf_counter() - started
            answer.prompt_tokens = len(output.prompt_token_ids or ())
            answer.cached_tokens = output.num_cached_tokens or 0
        answer.token_ids.extend(piece.token_ids)
        answer.text.append(piece.text)
        if output.finished:
            answer.total_s = time.perf_counter() - started
            answer.finish_reason = piece.finish_reason or "stop"

    def close(self) -> None:
        """Stop the engine and free its memory (a later `generate` starts it again)."""
        global _live
        if self._llm is None:
            return
        self._llm.llm_engine.engine_core.shutdown()
        self._llm = None
        if _live is self:
            _live = None
        from vllm.distributed.parallel_state import destroy_distributed_environment, destroy_model_parallel

        destroy_model_parallel()
        destroy_distributed_environment()
        gc.collect()

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def _start(self) -> Any:
        """The `vllm.LLM`, started on first use; another started engine is closed first."""
        global _live
        if self._llm is not None:
            return self._llm
        if _live is not None:
            _live.close()
        self.settings.source.check_access()
        kwargs = self.llm_kwargs()
        os.environ.update(self.settings.env)
        with _translated(self.model_name), _quiet(self.config.verbose):
            try:
                from vllm import LLM
            except ImportError as error:
                raise UsageError(f"the vllm engine needs vLLM, which is not installed ({error})") from None
            self._llm = LLM(**kwargs)
        _live = self
        return self._llm


@contextmanager
def _translated(model_name: str) -> Iterator[None]:
    """Turn vLLM's failures a user can cause into one-line typed errors. The original
    exceptions' frames are cleared first: they hold the half-built engine (gigabytes of
    buffers sized by max_model_len), which would otherwise live as long as the error."""
    try:
        yield
    except ScoutError:
        raise
    except Exception as error:  # vLLM raises ValueError/RuntimeError/torch.OutOfMemoryError with prose
        message = " ".join(str(error).split())
        if isinstance(error, MemoryError) or OUT_OF_MEMORY.search(message):
            typed: ScoutError = EngineOutOfMemory(
                f"not enough memory for {model_name}: {_shorten(message)} (lower --max-model-len or the KV cache space)"
            )
        elif _TOO_LONG.search(message):
            typed = ContextTooLarge(_shorten(message))
        else:
            raise
        _drop_frames(error)
        raise typed from None


def _drop_frames(error: BaseException | None) -> None:
    while error is not None:
        traceback.clear_frames(error.__traceback__)
        error.__traceback__ = None
        error = error.__cause__ or error.__context__
    gc.collect()


@contextmanager
def _quiet(verbose: bool) -> Iterator[None]:
    """Unless verbose, silence what vLLM's start prints besides its log (whose level
    `EngineConfig.environment` sets): Python warnings, torch's log warnings ("Triton not
    available") and C++ warnings written straight to file descriptor 2 (NUMA binding).
    Failures still arrive as exceptions."""
    if verbose:
        yield
        return
    torch_logger = logging.getLogger("torch")
    level = torch_logger.level
    torch_logger.setLevel(logging.ERROR)
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull, warnings.catch_warnings():
            os.dup2(devnull.fileno(), 2)
            warnings.simplefilter("ignore")
            yield
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        torch_logger.setLevel(level)


def _shorten(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
