"""bench/gpu_check.py on the CPU with the tiny Llama 4: the steps a GPU run takes (plan, start
with the plan's settings, the KV capacity vLLM reports against the plan's, needles), so the
script cannot rot where no GPU is at hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import gpu_check
from scout_context.engine.models import ensure_model

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def tiny_llama4() -> Path:
    return ensure_model("tiny-llama4")  # built now, before conftest isolates the cache


def test_a_dry_run_plans_and_starts_nothing(tiny_llama4: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gpu_check.main(["--model", str(tiny_llama4), "--dry-run"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["dry_run"] is True
    assert record["hardware"]["describe"] == "CPU"
    assert record["settings"]["engine_args"]["model"] == str(tiny_llama4)
    assert record["settings"]["engine_args"]["max_model_len"] == gpu_check.CPU["max_model_len"]
    assert record["capacity"]["planned"]["tokens"] > 0
    assert record["capacity"]["reported"] is None
    assert record["needles"] == []


def test_the_cpu_run_compares_capacities_and_asks_needles(tiny_llama4: Path, tmp_path: Path) -> None:
    out = tmp_path / "check.json"
    assert gpu_check.main(["--model", str(tiny_llama4), "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["engine_env_is_planned"] is True
    capacity = record["capacity"]
    planned, reported = capacity["planned"]["tokens"], capacity["reported"]["tokens"]
    assert planned > 0 and reported > 0
    assert capacity["ratio"] == round(reported / planned, 4)
    assert capacity["within_10pct"] == (abs(reported / planned - 1) <= 0.10)
    assert capacity["reported"]["tokens_from"] == "kv_cache_size_tokens"
    assert capacity["reported"]["max_model_len"] == gpu_check.CPU["max_model_len"]
    assert record["notes"], "the CPU plan's basis is written down"

    short, most = record["needles"]
    assert (short["label"], most["label"]) == ("short", "planned maximum")
    for needle in (short, most):
        assert needle["scored"] is False and needle["score"] is None  # random weights: noise
        assert 0 < needle["haystack_tokens"] < needle["prompt_tokens"] < gpu_check.CPU["max_model_len"]
        assert needle["first_token_s"] > 0 and needle["total_s"] >= needle["first_token_s"]
        assert needle["expected"] and 0.3 < needle["depth"] < 0.7
    assert most["prompt_tokens"] > 0.9 * gpu_check.CPU["max_model_len"] > 2 * short["prompt_tokens"]
