"""Engine configuration, the model registry and `scout-context models`, without starting vLLM."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer import Typer
from typer.testing import CliRunner

from scout_context.engine import models
from scout_context.engine.chat_format import llama4_chat
from scout_context.engine.config import EngineConfig
from scout_context.engine.models import ModelInfo, ensure_model, llama4_hf_tokenizer
from scout_context.engine.vllm_local import VllmEngine
from scout_context.errors import ModelMissing
from scout_context.tokens import scout_tokenizer
from scout_context_cli.models import models_command

SAMPLE = (Path(__file__).parent.parent / "scout_context" / "tokens.py").read_text() + (
    "\n<|begin_of_text|><|header_start|>user<|header_end|>\n\nHé 12345 日本語 \r\n\n  x<|eot|>  \t\n"
)


def test_defaults_suit_the_cpu_and_become_vllm_arguments(isolated_cache: Path) -> None:
    config = EngineConfig()
    kwargs = config.llm_kwargs(Path("/m"), 8192)
    assert kwargs["model"] == "/m" and kwargs["max_model_len"] == 8192
    assert (kwargs["dtype"], kwargs["enforce_eager"], kwargs["enable_prefix_caching"]) == ("float32", True, True)
    assert kwargs["limit_mm_per_prompt"] == {"image": 5} and "override_generation_config" not in kwargs
    env = config.environment()
    assert env["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0" and env["VLLM_CPU_KVCACHE_SPACE"] == "2"
    for key in ("VLLM_CACHE_ROOT", "VLLM_CONFIG_ROOT", "TORCHINDUCTOR_CACHE_DIR"):
        assert Path(env[key]).is_relative_to(isolated_cache)
    tuned = EngineConfig(attn_temperature_tuning=True, max_num_batched_tokens=2048).llm_kwargs(Path("/m"), 8192)
    assert tuned["override_generation_config"] == {"attn_temperature_tuning": True}
    assert tuned["max_num_batched_tokens"] == 2048


def test_from_env_then_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCOUT_MODEL", "tiny-llama4")
    monkeypatch.setenv("SCOUT_BASE_URL", "http://gpu:8000/v1")
    config = EngineConfig.from_env(model=None, max_model_len=4096)
    assert (config.model, config.base_url, config.max_model_len) == ("tiny-llama4", "http://gpu:8000/v1", 4096)
    assert EngineConfig.from_env(model="smollm2").model == "smollm2"


def test_llama4_tokenizer_matches_the_scout_tokenizer_and_chat_format() -> None:
    tokenizer = llama4_hf_tokenizer()
    assert tokenizer.encode(SAMPLE, add_special_tokens=False) == scout_tokenizer().encode(SAMPLE)
    assert tokenizer.encode("hi")[0] == scout_tokenizer().bos_id  # adds BOS unless told not to, as Scout's does
    messages = [{"role": "system", "content": "S\n"}, {"role": "user", "content": "U"}]
    assert tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) == llama4_chat(
        "S\n", "U"
    )
    assert llama4_chat("", "U", "The answer") == (
        "<|begin_of_text|><|header_start|>user<|header_end|>\n\nU<|eot|>"
        "<|header_start|>assistant<|header_end|>\n\nThe answer"
    )


def test_unknown_and_absent_models_are_model_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="no model 'nope'"):
        ensure_model("nope")
    with pytest.raises(ModelMissing, match="meta-llama/Llama-4-Scout-17B-16E-Instruct") as caught:
        VllmEngine(EngineConfig(model="scout")).count_tokens("hi")
    assert caught.value.exit_code == 7
    (tmp_path / "config.json").write_text("{}")
    assert ensure_model(str(tmp_path)) == tmp_path


@pytest.fixture
def toy_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A registered model whose build records each run and writes a loadable folder."""
    runs: list[str] = []

    def build(target: Path) -> Iterator[str]:
        yield "writing"
        runs.append(threading.current_thread().name)
        target.mkdir()
        (target / "config.json").write_text(json.dumps({"model_type": "toy", "max_position_embeddings": 512}))

    info = ModelInfo("toy", "toy", "test", "toy", 512, 512, llama4=False, build=build)
    monkeypatch.setitem(models.KNOWN, "toy", info)
    monkeypatch.setattr(models, "_verify", lambda folder: iter(["verifying"]))
    return runs


def test_a_model_is_built_once_even_by_concurrent_callers(toy_model: list[str]) -> None:
    threads = [threading.Thread(target=ensure_model, args=("toy",)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(toy_model) == 1
    assert models.KNOWN["toy"].present
    assert not list(models.KNOWN["toy"].path.parent.glob(".toy.partial-*"))


def test_a_failed_build_leaves_nothing(monkeypatch: pytest.MonkeyPatch, toy_model: list[str]) -> None:
    def broken(folder: Path) -> Iterator[str]:
        yield "verifying"
        raise RuntimeError("does not load")

    monkeypatch.setattr(models, "_verify", broken)
    with pytest.raises(RuntimeError):
        ensure_model("toy")
    info = models.KNOWN["toy"]
    assert not info.present and not list(info.path.parent.glob(".toy.partial-*"))


def test_models_command_lists_presence_context_and_llama4_licence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCOUT_BASE_URL", raising=False)
    app = Typer()
    app.command()(models_command)
    app.command("other")(lambda: None)  # two commands, so `models` is addressed by name as in the real CLI
    listed = json.loads(CliRunner().invoke(app, ["models-command", "--json"]).stdout)
    by_name = {row["name"]: row for row in listed}
    assert list(by_name) == ["scout", "scout-fp8", "scout-int4", "smollm2", "tiny-llama4"]
    assert not by_name["scout"]["present"] and not by_name["scout"]["buildable"]
    needs = {name: row["needs"].split(" (")[0] for name, row in by_name.items()}
    assert needs == {
        "scout": "4 x H100 80GB",
        "scout-fp8": "2 x H100 80GB",
        "scout-int4": "1 x H100 80GB",
        "smollm2": "CPU",
        "tiny-llama4": "CPU",
    }
    assert by_name["smollm2"]["buildable"] and by_name["smollm2"]["context_length"] == 8192
    assert by_name["scout"]["context_length"] == 10_485_760
    assert by_name["smollm2"]["license"] is None
    for name in ("scout", "tiny-llama4"):
        assert "Built with Llama" in by_name[name]["license"] and "700 million" in by_name[name]["license"]
    shown = CliRunner().invoke(app, ["models-command"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "10,485,760" in shown.stdout and "Built with Llama" not in shown.stdout
    assert "Built with Llama" in shown.stderr and "10,485,760" not in shown.stderr  # the list is the result


def test_the_next_budget_shrinks_what_was_used_by_the_engines_overshoot():
    from scout_context.engine.refit import smaller_budget

    # 654 of 782 Scout tokens used, the prompt 1,100 engine tokens against 976 (shell 60):
    # scaled from what was used, not from the budget that fitting did not fill
    assert smaller_budget(782, 654, 1100, 976, 60) == int(654 * 916 / 1040 * 0.98) == 564
    assert (
        smaller_budget(500, 500, 977, 976, 60) == 489 and smaller_budget(500, 10, 70, 976, 60) == 499
    )  # below the last


def test_fitting_to_the_engine_builds_again_for_smaller_budgets_until_its_tokenizer_counts_the_prompt_within_the_limit():
    from scout_context.engine.refit import ROUNDS, fit_to_engine

    budgets: list[int] = []

    def build(budget: int, ratio: float = 1.3, content: int = 1000) -> tuple[int, int, int]:
        """What a packer fills of `budget` (at most `content`), counted `ratio` times over by the engine."""
        budgets.append(budget)
        used = min(budget, content)
        return used, used, 60 + int(used * ratio)

    assert fit_to_engine(build, 916, 976, 60) == (690, 60 + int(690 * 1.3)) and budgets == [916, 690]
    budgets.clear()
    assert fit_to_engine(build, 916, 976, 60, refit=False) == (916, 1250) and budgets == [916]
    budgets.clear()
    built, tokens = fit_to_engine(lambda b: (budgets.append(b), b, b, 977)[1:], 916, 976, 60)  # never fits
    assert tokens == 977 and len(budgets) == ROUNDS and built == budgets[-1] < budgets[0]  # the last try, over
    budgets.clear()
    assert fit_to_engine(lambda b: build(b, content=500), 916, 976, 60)[0] == 500 and budgets == [916]
