"""Images: collection from files, folders and PDFs (real images made with Pillow, real PDFs
with reportlab), which are attached, and the exact requests both engines build: the
`openai` backend against a local server that records what it is sent, the embedded one
through the `vllm.LLM` inputs and arguments (no multimodal model runs on these machines)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from helpers import git, serving, write
from scout_context.engine.base import Events, Request
from scout_context.engine.chat_format import llama4_chat, llama4_turns
from scout_context.engine.config import EngineConfig, SamplingConfig
from scout_context.engine.models import llama4_hf_tokenizer
from scout_context.engine.multimodal import attach, openai_chat_request, vllm_inputs
from scout_context.engine.openai_remote import OpenAIEngine
from scout_context.engine.registry import open_engine
from scout_context.engine.vllm_local import VllmEngine
from scout_context.errors import UsageError
from scout_context.sources.images import ImageInput, collect_images, is_image
from scout_context.tokens import scout_tokenizer

SCOUT = "meta-llama/Llama-4-Scout-17B-16E-Instruct"
SCOUT_TEXT = "meta-llama/Llama-4-Scout-text-only"
IMAGE_ID = 200090  # <|image|>


def picture(width: int, height: int, shade: int = 0, kind: str = "PNG") -> bytes:
    """A real image with a diagonal line, so that each shade gives different bytes."""
    image = Image.new("RGB", (width, height), (shade, 128, 255 - shade))
    for x in range(min(width, height)):
        image.putpixel((x, x), (0, 0, 0))
    out = io.BytesIO()
    image.save(out, format=kind)
    return out.getvalue()


def pdf_with_images(*pages: list[bytes]) -> bytes:
    """One page per list, each image drawn at its own place."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    for images in pages:
        canvas.drawString(72, 800, "A page with figures.")
        for n, data in enumerate(images):
            canvas.drawImage(ImageReader(io.BytesIO(data)), 40 + 10 * n, 100 + 25 * n, width=200, height=150)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def images_of(*sizes: tuple[int, int]) -> list[ImageInput]:
    return [ImageInput(f"docs/{n}.png", "image/png", picture(w, h, n)) for n, (w, h) in enumerate(sizes)]


# --- recognising and collecting ------------------------------------------------------


def test_images_are_recognised_by_their_signature_not_their_name() -> None:
    for kind, mime in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")):
        assert is_image(picture(80, 80, kind=kind)) == mime
    assert is_image(b"not really a png\n") is None
    assert is_image(b"") is None
    assert is_image(b"RIFF\0\0\0\0WAVEfmt ") is None


@pytest.mark.parametrize("in_git", [False, True])
def test_a_folder_gives_the_images_of_its_documentation_places(tmp_path: Path, in_git: bool) -> None:
    arch = picture(200, 100, 1)
    root = tmp_path / "repo"
    write(
        root,
        {
            "README.md": "# repo\n",
            "banner.gif": picture(300, 80, 2, "GIF"),
            "assets/logo.webp": picture(96, 96, 3, "WEBP"),
            "docs/arch.png": arch,
            "docs/copy.png": arch,
            "docs/fake.png": "this is text with a png name\n",
            "docs/icon.png": picture(16, 16, 4),
            "docs/images/flow.jpg": picture(120, 90, 5, "JPEG"),
            "docs/manual.pdf": pdf_with_images([picture(200, 280, 6)]),
            "docs/build/out.png": picture(100, 100, 7),
            "packages/lib/docs/shot.png": picture(128, 64, 8),
            "node_modules/pkg/docs/vendored.png": picture(100, 100, 9),
            "src/app.py": "print('hi')\n",
            "src/diagram.png": picture(100, 100, 10),
            "tests/fixtures/scan.pdf": pdf_with_images([picture(150, 150, 11)]),
            "ignored/docs/x.png": picture(100, 100, 12),
            ".gitignore": "ignored/\n",
        },
    )
    if in_git:
        git(root, "init", "-q")
        git(root, "add", "-A")
    images, skipped = collect_images([root])
    assert [image.id for image in images] == [
        "assets/logo.webp",
        "banner.gif",
        "docs/arch.png",
        "docs/images/flow.jpg",
        "docs/manual.pdf#p1/img1",
        "packages/lib/docs/shot.png",
    ]
    assert [image.mime for image in images] == [
        "image/webp",
        "image/gif",
        "image/png",
        "image/jpeg",
        "image/png",
        "image/png",
    ]
    assert images[2].data == arch
    assert Image.open(io.BytesIO(images[4].data)).size == (200, 280)
    assert skipped == [
        ("docs/copy.png", "the same image as docs/arch.png"),
        ("docs/fake.png", "not an image (no PNG, JPEG, GIF, WebP or PDF signature)"),
        ("docs/icon.png", "tiny (16x16 px)"),
    ]


def test_files_given_directly_and_several_sources(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "shot.jpg": picture(40, 30, 1, "JPEG"),  # named: even a small one is wanted
            "fake.png": "plain text\n",
            "notes.txt": "text, not an image, not listed\n",
            "broken.png": picture(100, 100, 2)[:60],
            "huge.png": b"\x89PNG\r\n\x1a\n" + bytes(20_000_001),
            "a/docs/one.png": picture(100, 100, 3),
            "b/docs/one.png": picture(100, 100, 4),
        },
    )
    names = ["shot.jpg", "fake.png", "notes.txt", "broken.png", "huge.png", "missing.png", "a", "b"]
    images, skipped = collect_images([tmp_path / name for name in names])
    assert [image.id for image in images] == ["shot.jpg", "a/docs/one.png", "b/docs/one.png"]
    assert skipped[0] == ("fake.png", "not an image (no PNG, JPEG, GIF, WebP or PDF signature)")
    assert skipped[1][0] == "broken.png" and skipped[1][1].startswith("cannot decode: ")
    assert skipped[2] == ("huge.png", "too large (20,000,009 bytes > 20,000,000)")
    assert skipped[3] == (str(tmp_path / "missing.png"), "no such file or folder")
    assert len(skipped) == 4


def test_pdf_images_in_page_order_without_tiny_or_repeated_ones(tmp_path: Path) -> None:
    logo = picture(100, 100, 1)
    (tmp_path / "report.pdf").write_bytes(
        pdf_with_images(
            [logo, picture(300, 200, 2), picture(20, 20, 3)],
            [logo, picture(150, 400, 4, "JPEG")],
        )
    )
    images, skipped = collect_images([tmp_path / "report.pdf"])
    assert [image.id for image in images] == ["report.pdf#p1/img1", "report.pdf#p1/img2", "report.pdf#p2/img2"]
    assert [Image.open(io.BytesIO(image.data)).size for image in images] == [(100, 100), (300, 200), (150, 400)]
    assert [image.mime for image in images] == ["image/png", "image/png", "image/jpeg"]
    assert skipped == [("report.pdf", "1 embedded images under 64x64 px left out")]


def test_pdf_images_are_capped_and_damage_is_listed_not_raised(tmp_path: Path) -> None:
    (tmp_path / "many.pdf").write_bytes(
        pdf_with_images([picture(80, 80, n) for n in range(12)], [picture(80, 80, n) for n in range(12, 24)])
    )
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage\n")
    images, skipped = collect_images([tmp_path / "many.pdf", tmp_path / "broken.pdf"])
    assert len(images) == 20
    assert images[-1].id == "many.pdf#p2/img8"
    assert skipped[0] == ("many.pdf", "4 more embedded images not read (at most 20 per PDF)")
    assert skipped[1][0] == "broken.pdf" and skipped[1][1].startswith("unreadable PDF: ")


# --- the embedded engine's inputs ----------------------------------------------------


def test_vllm_inputs_put_one_placeholder_per_image_at_the_start_of_the_user_turn() -> None:
    images = images_of((200, 100), (64, 300))
    prompt = llama4_chat("Be brief.", "What is drawn?")
    inputs = vllm_inputs(prompt, images)
    assert set(inputs) == {"prompt", "multi_modal_data"}
    assert inputs["prompt"] == (
        "<|begin_of_text|><|header_start|>system<|header_end|>\n\nBe brief.<|eot|>"
        "<|header_start|>user<|header_end|>\n\n<|image|><|image|>What is drawn?<|eot|>"
        "<|header_start|>assistant<|header_end|>\n\n"
    )
    decoded = inputs["multi_modal_data"]["image"]
    assert [image.size for image in decoded] == [(200, 100), (64, 300)]
    assert all(isinstance(image, Image.Image) for image in decoded)
    assert vllm_inputs(prompt, []) == {"prompt": prompt}
    with pytest.raises(ValueError, match="Llama 4"):
        vllm_inputs("<|im_start|>user\nhi<|im_end|>\n", images)


def fake_model(folder: Path, vision: bool) -> Path:
    config: dict[str, Any] = {
        "architectures": ["Llama4ForConditionalGeneration" if vision else "Llama4ForCausalLM"],
        "model_type": "llama4" if vision else "llama4_text",
        "text_config": {"model_type": "llama4_text", "max_position_embeddings": 8192},
    }
    if vision:
        config["vision_config"] = {"image_size": 336, "patch_size": 14, "pixel_shuffle_ratio": 0.5}
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return llama4_hf_tokenizer()


def embedded(folder: Path, tokenizer: Any, limit: int) -> VllmEngine:
    engine = VllmEngine(EngineConfig(model=str(folder), limit_images=limit))
    engine.__dict__["tokenizer"] = tokenizer  # the real Llama 4 tokenizer, without a checkpoint
    return engine


def test_the_embedded_engine_sends_token_ids_with_placeholders_and_decoded_images(
    tmp_path: Path, tokenizer: Any
) -> None:
    engine = embedded(fake_model(tmp_path / "scout", vision=True), tokenizer, limit=2)
    assert (engine.multimodal, engine.max_images) == (True, 2)
    assert engine.llm_kwargs()["limit_mm_per_prompt"] == {"image": 2}
    images = images_of((200, 100), (90, 90), (70, 80))
    sent, skipped = attach(images, engine)
    assert sent == images[:2] and skipped == [("docs/2.png", "over the engine's image limit of 2")]

    prompt = engine.render_chat("Be brief.", "What is drawn?")
    request = engine.request_input(prompt, sent)
    ids = scout_tokenizer().encode(vllm_inputs(prompt, sent)["prompt"])
    assert set(request) == {"prompt_token_ids", "multi_modal_data"}
    assert request["prompt_token_ids"] == ids
    assert ids.count(IMAGE_ID) == 2 and ids.count(scout_tokenizer().bos_id) == 1
    user = ids.index(IMAGE_ID)
    assert scout_tokenizer().decode(ids[:user]).endswith("<|header_start|>user<|header_end|>\n\n")
    assert [image.size for image in request["multi_modal_data"]["image"]] == [(200, 100), (90, 90)]
    assert engine.request_input(prompt) == {"prompt_token_ids": scout_tokenizer().encode(prompt)}
    with pytest.raises(UsageError, match="at most 2"):
        engine.request_input(prompt, images)


def test_a_text_only_model_gets_no_images_and_no_image_limit(tmp_path: Path, tokenizer: Any) -> None:
    engine = embedded(fake_model(tmp_path / "text", vision=False), tokenizer, limit=4)
    assert (engine.multimodal, engine.max_images) == (False, 0)
    assert engine.llm_kwargs()["limit_mm_per_prompt"] == {"image": 0}
    images = images_of((100, 100), (120, 80))
    assert attach(images, engine) == ([], [(image.id, "the model reads text only") for image in images])
    with pytest.raises(UsageError, match="reads text only"):
        engine.request_input(engine.render_chat("", "hi"), images[:1])


# --- the openai backend --------------------------------------------------------------


class RecordingServer(BaseHTTPRequestHandler):
    """/v1/models, /v1/completions and /v1/chat/completions (SSE); records every POST."""

    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        served = [
            {"id": SCOUT, "max_model_len": 65536},
            {"id": "smol", "max_model_len": 8192},
            {"id": SCOUT_TEXT, "max_model_len": 8192, "input_modalities": ["text"]},
        ]
        self._send("application/json", json.dumps({"object": "list", "data": served}).encode())

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, body))
        chat = self.path == "/v1/chat/completions"
        events: list[dict[str, Any]] = [
            {"choices": [{"index": 0, "delta": {"content": piece}} if chat else {"index": 0, "text": piece}]}
            for piece in ("Two", " boxes.")
        ]
        events.append({"choices": [{"index": 0, "finish_reason": "stop", **({"delta": {}} if chat else {"text": ""})}]})
        events.append({"choices": [], "usage": {"prompt_tokens": 321, "completion_tokens": 3}})
        stream = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
        self._send("text/event-stream", stream.encode())

    def _send(self, kind: str, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadingHTTPServer]:
    with serving(RecordingServer) as httpd:
        yield httpd


def remote(server: ThreadingHTTPServer, model: str, limit: int) -> OpenAIEngine:
    config = EngineConfig(
        backend="openai", base_url=f"http://127.0.0.1:{server.server_port}/v1", model=model, limit_images=limit
    )
    engine = open_engine(config)
    assert isinstance(engine, OpenAIEngine)
    return engine


def image_part(image: ImageInput) -> dict[str, Any]:
    url = f"data:{image.mime};base64,{base64.b64encode(image.data).decode()}"
    return {"type": "image_url", "image_url": {"url": url}}


def test_a_llama4_model_gets_its_images_as_chat_parts_up_to_the_limit(server: ThreadingHTTPServer) -> None:
    engine = remote(server, SCOUT, limit=2)
    assert (engine.multimodal, engine.max_images) == (True, 2)
    images = [*images_of((200, 100), (90, 90)), ImageInput("shot.jpg", "image/jpeg", picture(80, 60, 9, "JPEG"))]
    sent, skipped = attach(images, engine)
    assert sent == images[:2] and skipped == [("shot.jpg", "over the engine's image limit of 2")]

    pieces: list[tuple[int, str]] = []
    prompt = engine.render_chat("Be brief.", "What is drawn?")
    [answer] = engine.generate(
        [Request(prompt, tuple(sent))],
        SamplingConfig(max_tokens=30, seed=7, stop=("###",)),
        Events(on_text=lambda i, t: pieces.append((i, t))),
    )
    assert (answer.text, answer.finish_reason, answer.prompt_tokens, answer.completion_tokens) == (
        "Two boxes.",
        "stop",
        321,
        3,
    )
    assert pieces == [(0, "Two"), (0, " boxes.")]
    path, body = server.requests[-1]  # type: ignore[attr-defined]
    assert path == "/v1/chat/completions"
    parts = [image_part(sent[0]), image_part(sent[1]), {"type": "text", "text": "What is drawn?"}]
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": parts}]
    assert (body["model"], body["max_tokens"], body["temperature"], body["seed"], body["stop"]) == (
        SCOUT,
        30,
        0.0,
        7,
        ["###"],
    )
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    with pytest.raises(UsageError, match="at most 2"):
        engine.generate([Request(prompt, tuple(images))], SamplingConfig())

    engine.generate([Request(prompt)], SamplingConfig())  # no images: the raw prompt, as before
    path, body = server.requests[-1]  # type: ignore[attr-defined]
    assert path == "/v1/completions" and body["prompt"] == prompt and body["add_special_tokens"] is False


@pytest.mark.parametrize("model", ["smol", SCOUT_TEXT])
def test_a_text_only_model_is_sent_no_image(server: ThreadingHTTPServer, model: str) -> None:
    engine = remote(server, model, limit=4)
    assert (engine.multimodal, engine.max_images) == (False, 0)
    images = images_of((100, 100), (120, 80))
    sent, skipped = attach(images, engine)
    assert sent == [] and skipped == [(image.id, "the model reads text only") for image in images]
    before = len(server.requests)  # type: ignore[attr-defined]
    prompt = llama4_chat("", "What is drawn?")
    [answer] = engine.generate([Request(prompt, tuple(sent))], SamplingConfig())
    assert answer.text == "Two boxes."
    assert [path for path, _ in server.requests[before:]] == ["/v1/completions"]  # type: ignore[attr-defined]
    assert "image" not in json.dumps(server.requests[-1][1])  # type: ignore[attr-defined]
    with pytest.raises(UsageError, match="reads text only"):
        engine.generate([Request(prompt, tuple(images[:1]))], SamplingConfig())


def test_chat_request_continues_a_prefill_and_turns_round_trip() -> None:
    [image] = images_of((100, 100))
    prompt = llama4_chat("", "Describe.", "The picture shows")
    assert llama4_turns(prompt) == ("", "Describe.", "The picture shows")
    assert llama4_turns(llama4_chat("S", "U")) == ("S", "U", "")
    body = openai_chat_request(SCOUT, *llama4_turns(prompt)[:2], [image], SamplingConfig(), llama4_turns(prompt)[2])
    assert body["messages"] == [
        {"role": "user", "content": [image_part(image), {"type": "text", "text": "Describe."}]},
        {"role": "assistant", "content": "The picture shows"},
    ]
    assert (body["continue_final_message"], body["add_generation_prompt"]) == (True, False)
    for bad in ("<|im_start|>user\nhi<|im_end|>", llama4_chat("S", "U").replace("<|begin_of_text|>", "")):
        with pytest.raises(ValueError, match="not one Llama 4 chat turn"):
            llama4_turns(bad)


def test_ask_attaches_documentation_images_up_to_the_limit(server: ThreadingHTTPServer, tmp_path: Path) -> None:
    """The whole `ask` path over a remote Llama 4: images from docs/ go as chat parts,
    the one over the limit and the source folder's are listed, never sent."""
    from scout_context.pack.options import PackOptions
    from scout_context.store import Store
    from scout_context.tasks.ask import ask

    (tmp_path / "docs").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "README.md").write_text("# Boxes\n\nSee docs/.\n")
    for name, shade in (("a.png", 10), ("b.png", 90), ("c.png", 170)):
        (tmp_path / "docs" / name).write_bytes(picture(120, 100, shade))
    (tmp_path / "src" / "icon.png").write_bytes(picture(120, 100, 250))
    store = Store()
    result = ask(
        [tmp_path],
        "What do the diagrams show?",
        engine=remote(server, SCOUT, limit=2),
        store=store,
        options=PackOptions(),
        sampling=SamplingConfig(max_tokens=16),
    )
    store.close()
    path, body = server.requests[-1]  # type: ignore[attr-defined]
    assert path == "/v1/chat/completions"
    parts = body["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["image_url", "image_url", "text"]
    assert "What do the diagrams show?" in parts[-1]["text"]
    skipped = {s.path: s.reason for s in result.pack.skipped}
    assert skipped["docs/c.png"] == "over the engine's image limit of 2"
    assert "src/icon.png" not in skipped and result.answer == "Two boxes."
