"""The Prompt Guard screener on a tiny DeBERTa-v2 sequence classifier built at test time:
random weights from a config, a word-level tokenizer built locally (tokenizer.json), then a
few dozen training steps so that one word, `zzinject`, is what it flags. The screener's
windows, batches and matching line are then checked against a model whose answer is known."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest

from helpers import write
from scout_context.errors import ModelMissing
from scout_context.screen.prompt_guard import PromptGuard
from test_cli import cli

TRIGGER = "zzinject"
WORDS = "the a of to and in is it that for on with as def return import class self value list none if else print data".split()


@pytest.fixture(scope="session")
def tiny_guard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import DebertaV2Config, DebertaV2ForSequenceClassification, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-prompt-guard")
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", TRIGGER, *WORDS])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
    )
    torch.manual_seed(0)
    rng = random.Random(0)
    config = DebertaV2Config(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        num_labels=2,
        pad_token_id=0,
        type_vocab_size=0,
    )
    model = DebertaV2ForSequenceClassification(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(100):
        labels = [rng.random() < 0.5 for _ in range(16)]
        batch = tokenizer(
            [_words(rng, rng.choice([8, 16, 32, 64]), label) for label in labels], padding=True, return_tensors="pt"
        )
        loss = model(**batch, labels=torch.tensor([int(label) for label in labels])).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _words(rng: random.Random, count: int, trigger: bool) -> str:
    words = [rng.choice(WORDS) for _ in range(count)]
    if trigger:
        words[rng.randrange(count)] = TRIGGER
    return " ".join(words)


def _lines(words: list[str], per_line: int = 10) -> str:
    return "\n".join(" ".join(words[i : i + per_line]) for i in range(0, len(words), per_line)) + "\n"


def test_a_finding_in_a_later_window_is_found_and_its_line_named(tiny_guard: Path) -> None:
    guard = PromptGuard(str(tiny_guard), window=64, overlap=16)
    rng = random.Random(1)
    words = [rng.choice(WORDS) for _ in range(150)]
    words[125] = TRIGGER  # only the third window (tokens 92-150; the body is 62, the step 46) holds it
    text = _lines(words)
    windows = guard._windows(0, text)
    assert len(windows) == 3 and windows[-1].span[1] == len(text.rstrip("\n"))
    assert [TRIGGER in text[a:b] for a, b in (w.span for w in windows)] == [False, False, True]
    first, second = text[windows[0].span[0] : windows[0].span[1]], text[: windows[1].span[1]]
    assert guard.screen([first]) == [None]
    (finding,) = guard.screen([text])
    assert finding is not None and finding.score > 0.9 and finding.kind == "injection"
    assert finding.line == " ".join(words[120:130]) and finding.rule == str(tiny_guard)
    assert TRIGGER not in second


def test_windows_overlap_so_a_phrase_across_a_border_is_seen_whole(tiny_guard: Path) -> None:
    guard = PromptGuard(str(tiny_guard), window=64, overlap=16)
    text = _lines(["data"] * 200)
    spans = [w.span for w in guard._windows(0, text)]
    assert all(b_start < a_end for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    assert spans[0][0] == 0 and spans[-1][1] == len(text.rstrip("\n"))


def test_windows_of_all_texts_are_scored_in_batches(tiny_guard: Path) -> None:
    guard = PromptGuard(str(tiny_guard), window=64, overlap=16, batch=4)
    sizes: list[int] = []
    guard._model.register_forward_hook(lambda _module, _args, output: sizes.append(output.logits.shape[0]))
    rng = random.Random(2)
    texts = [_words(rng, 20, trigger=i in (3, 7)) for i in range(10)]
    found = guard.screen(texts)
    assert [i for i, f in enumerate(found) if f] == [3, 7]
    assert sizes[:3] == [4, 4, 2]  # ten one-window texts; then each flagged text's lines, one batch each


def test_a_model_that_cannot_be_loaded_is_model_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="the screen model"):
        PromptGuard(str(tmp_path / "absent"))


def test_pack_screens_with_the_model_when_one_is_named(tiny_guard: Path, tmp_path: Path) -> None:
    write(tmp_path, {"a.md": "the value of data\n", "b.md": f"import data\nprint {TRIGGER} now\n"})
    proc = cli("pack", str(tmp_path), "--screen", "--screen-model", str(tiny_guard), "--json")
    assert proc.returncode == 0, proc.stderr
    (flagged,) = json.loads(proc.stdout)["flagged"]
    assert flagged["id"] == "b.md:1-2" and flagged["line"] == f"print {TRIGGER} now" and flagged["score"] > 0.9


def test_its_findings_are_kept_under_its_folder_and_settings(tiny_guard: Path, tmp_path: Path) -> None:
    """The identity the store keeps findings under changes with the settings and with any
    file of the folder, and not between two loads of the same."""
    import shutil

    from scout_context.screen.kept import screen_kept
    from scout_context.store import Store

    folder = tmp_path / "guard"
    shutil.copytree(tiny_guard, folder)
    first = PromptGuard(str(folder), window=64, overlap=16)
    assert first.identity and first.identity == PromptGuard(str(folder), window=64, overlap=16).identity
    assert PromptGuard(str(folder), window=64, overlap=8).identity != first.identity
    texts = ["the value of data", f"import data\nprint {TRIGGER} now"]
    store = Store(tmp_path / "store.db")
    try:
        found = screen_kept(first, texts, store)
        assert found[0] is None and found[1] is not None and found[1].line == f"print {TRIGGER} now"
        assert store.conn.execute("SELECT count(*) FROM screenings").fetchone()[0] == 2
        again = PromptGuard(str(folder), window=64, overlap=16)
        again.screen = lambda texts: pytest.fail(f"screened again: {texts}")  # type: ignore[method-assign]
        assert screen_kept(again, texts, store) == found
        config = folder / "config.json"
        config.write_text(config.read_text())  # the same bytes, a new time: a changed folder
        changed = PromptGuard(str(folder), window=64, overlap=16).identity
        assert changed != first.identity
        (folder / "README.md").symlink_to(tmp_path / "gone")  # a dangling link beside the model
        linked = PromptGuard(str(folder), window=64, overlap=16)
        assert linked.identity and linked.identity != changed
    finally:
        store.close()
