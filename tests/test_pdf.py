"""PDF extraction on real files made with reportlab (and pypdf for labels, outlines,
encryption and corruption), with the default engine and, when installed, PyMuPDF."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pypdf import PdfWriter
from pypdf.constants import PageLabelStyle
from pypdf.generic import NameObject
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from scout_context.sources.pdf import EMPTY, SCANNED, PdfError, PdfText, extract, is_pdf

HAS_PYMUPDF = importlib.util.find_spec("pymupdf") is not None
HAS_CRYPTOGRAPHY = importlib.util.find_spec("cryptography") is not None
ENGINES = [
    "pypdf",
    pytest.param("pymupdf", marks=pytest.mark.skipif(not HAS_PYMUPDF, reason="PyMuPDF not installed")),
]

Draw = Callable[[Canvas], None]


def text_page(*lines: str) -> Draw:
    def draw(canvas: Canvas) -> None:
        for row, line in enumerate(lines):
            canvas.drawString(72, 760 - 16 * row, line)

    return draw


def two_columns(canvas: Canvas) -> None:
    """Drawn column by column, as typesetters do."""
    for column, x in (("left", 60), ("right", 320)):
        for row in range(12):
            canvas.drawString(x, 760 - 14 * row, f"{column} line {row:02d} of the column")


def scanned(canvas: Canvas) -> None:
    from PIL import Image

    image = Image.new("L", (200, 280), 255)
    for x in range(20, 180):
        image.putpixel((x, 40), 0)
    canvas.drawImage(ImageReader(image), 40, 100, width=500, height=700)


def blank(canvas: Canvas) -> None:
    canvas.rect(100, 100, 50, 50)


def make_pdf(*pages: Draw, title: str = "") -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    if title:
        canvas.setTitle(title)
    for draw in pages:
        draw(canvas)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def rewrite(data: bytes, change: Callable[[PdfWriter], None]) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(data))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def numbered(count: int) -> bytes:
    return make_pdf(*(text_page(f"Body of page {n}.") for n in range(1, count + 1)))


def encrypted(user: str, owner: str, algorithm: str = "AES-256") -> bytes:
    return rewrite(numbered(2), lambda w: w.encrypt(user_password=user, owner_password=owner, algorithm=algorithm))


# --- text --------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_text_per_page_in_order(engine: str) -> None:
    data = make_pdf(text_page("Alpha first", "Alpha second"), text_page("Beta"), text_page("Gamma"), title="Report")
    result = extract(data, engine=engine)
    assert [(p.number, p.label) for p in result.pages] == [(1, "1"), (2, "2"), (3, "3")]
    assert result.pages[0].text == "Alpha first\nAlpha second\n"
    assert [p.text for p in result.pages[1:]] == ["Beta\n", "Gamma\n"]
    assert (result.skipped, result.images, result.title) == ([], 0, "Report")
    assert all(p.heading == "" for p in result.pages)


@pytest.mark.parametrize("engine", ENGINES)
def test_two_columns_read_one_column_then_the_other(engine: str) -> None:
    lines = extract(make_pdf(two_columns), engine=engine).pages[0].text.splitlines()
    assert lines == [f"{c} line {r:02d} of the column" for c in ("left", "right") for r in range(12)]


def test_text_is_normalized() -> None:
    text = extract(make_pdf(text_page("trailing   ", "", "", "end"))).pages[0].text
    assert text.endswith("end\n") and "\r" not in text and "\0" not in text
    assert all(line == line.rstrip() for line in text.splitlines())


# --- labels and outline --------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_page_labels_roman_then_arabic(engine: str) -> None:
    def label(writer: PdfWriter) -> None:
        writer.set_page_label(0, 1, style=PageLabelStyle.LOWERCASE_ROMAN)
        writer.set_page_label(2, 5, style=PageLabelStyle.DECIMAL, start=1)

    result = extract(rewrite(numbered(6), label), engine=engine)
    assert [p.label for p in result.pages] == ["i", "ii", "1", "2", "3", "4"]
    assert result.pages[2].text == "Body of page 3.\n"


@pytest.mark.parametrize("engine", ENGINES)
def test_repeated_labels_get_the_page_number(engine: str) -> None:
    def label(writer: PdfWriter) -> None:
        writer.set_page_label(0, 2, style=PageLabelStyle.DECIMAL, start=1)
        writer.set_page_label(3, 4, style=PageLabelStyle.DECIMAL, prefix="A-", start=3)
        writer.set_page_label(5, 6, style=PageLabelStyle.DECIMAL, start=1)

    result = extract(rewrite(numbered(7), label), engine=engine)
    assert [p.label for p in result.pages] == ["1", "2", "3", "A-3", "A-4", "1@6", "2@7"]


@pytest.mark.parametrize("engine", ENGINES)
def test_outline_gives_nested_headings(engine: str) -> None:
    def outline(writer: PdfWriter) -> None:
        part1 = writer.add_outline_item(title="Part I", page_number=1)
        writer.add_outline_item(title="Chapter 1", page_number=1, parent=part1)
        chapter2 = writer.add_outline_item(title="Chapter 2", page_number=3, parent=part1)
        writer.add_outline_item(title="2.1  Details", page_number=3, parent=chapter2)
        writer.add_outline_item(title="Part II", page_number=5)

    result = extract(rewrite(numbered(6), outline), engine=engine)
    assert [p.heading for p in result.pages] == [
        "",
        "Part I > Chapter 1",
        "Part I > Chapter 1",
        "Part I > Chapter 2 > 2.1 Details",
        "Part I > Chapter 2 > 2.1 Details",
        "Part II",
    ]


# --- pages without text --------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_scanned_and_empty_pages_are_reported_not_packed(engine: str) -> None:
    result = extract(make_pdf(text_page("Before"), scanned, blank, text_page("After")), engine=engine)
    assert [p.number for p in result.pages] == [1, 4]
    assert result.skipped == [("2", SCANNED), ("3", EMPTY)]
    assert result.images == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_broken_content_stream_skips_only_that_page(engine: str, capfd: pytest.CaptureFixture[str]) -> None:
    def corrupt(writer: PdfWriter) -> None:
        contents = writer.pages[1]["/Contents"].get_object()
        raw = contents._data  # the page's encoded stream bytes
        contents._data = raw[:10] + bytes(b ^ 0x5A for b in raw[10:])

    result = extract(rewrite(numbered(3), corrupt), engine=engine)
    assert [p.text for p in result.pages] == ["Body of page 1.\n", "Body of page 3.\n"]
    [(label, reason)] = result.skipped
    assert label == "2" and reason.startswith("broken content stream: ") and "\n" not in reason
    assert capfd.readouterr() == ("", "")


def test_decompression_bomb_page_is_skipped() -> None:
    def bomb(writer: PdfWriter) -> None:
        contents = writer.pages[1]["/Contents"].get_object()
        contents._data = zlib.compress(b" " * 60_000_000, 9)  # 60 KB that inflate to 60 MB
        contents[NameObject("/Filter")] = NameObject("/FlateDecode")

    result = extract(rewrite(numbered(3), bomb))
    assert [p.number for p in result.pages] == [1, 3]
    assert result.skipped[0][0] == "2" and result.skipped[0][1].startswith("over a resource limit: ")


# --- encryption ----------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["AES-256", "AES-128", "RC4-128"])
@pytest.mark.parametrize("engine", ENGINES)
def test_encrypted(engine: str, algorithm: str) -> None:
    data = encrypted("user-pw", "owner-pw", algorithm)
    if engine == "pypdf" and algorithm.startswith("AES") and not HAS_CRYPTOGRAPHY:
        with pytest.raises(PdfError, match=r"cryptography.*pip install pypdf\[crypto\]"):
            extract(data, password="user-pw")
        return
    with pytest.raises(PdfError, match="--password"):
        extract(data, engine=engine)
    with pytest.raises(PdfError, match=r"^wrong password$"):
        extract(data, password="nope", engine=engine)
    for password in ("user-pw", "owner-pw"):
        assert extract(data, password=password, engine=engine).pages[1].text == "Body of page 2.\n"


@pytest.mark.parametrize("engine", ENGINES)
def test_owner_password_only_opens_without_one(engine: str) -> None:
    data = encrypted("", "owner-pw")
    assert len(extract(data, engine=engine).pages) == 2
    assert len(extract(data, password="for another file", engine=engine).pages) == 2


def test_password_for_an_unencrypted_file_is_ignored() -> None:
    assert len(extract(numbered(2), password="secret").pages) == 2


def _run_without(module: str, code: str) -> str:
    """Run `code` in a fresh interpreter in which `module` cannot be imported."""
    script = f"import sys; sys.modules[{module!r}] = None\n{code}"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("algorithm", ["AES-256", "AES-128"])
def test_aes_without_cryptography_names_the_package(tmp_path: Path, algorithm: str) -> None:
    path = tmp_path / "aes.pdf"
    path.write_bytes(encrypted("user-pw", "owner-pw", algorithm))
    code = (
        "from pathlib import Path\nfrom scout_context.sources.pdf import PdfError, extract\n"
        f"try:\n    extract(Path({str(path)!r}).read_bytes(), password='user-pw')\n"
        "except PdfError as error:\n    print(error)\n"
    )
    out = _run_without("cryptography", code)
    assert out == "needs the 'cryptography' package for AES encryption (pip install pypdf[crypto])\n"


def test_pymupdf_engine_when_not_installed() -> None:
    code = (
        "from scout_context.sources.pdf import PdfError, extract\n"
        "try:\n    extract(b'%PDF-1.4\\n', engine='pymupdf')\nexcept PdfError as error:\n    print(error)\n"
    )
    assert _run_without("pymupdf", code) == "PyMuPDF is not installed: pip install 'scout-context[fast-pdf]'\n"


# --- files that are not (whole) PDFs -------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_truncated_file_gives_pdf_error_or_pages(engine: str) -> None:
    data = numbered(12)
    try:
        result = extract(data[: len(data) // 2], engine=engine)
    except PdfError as error:
        assert "\n" not in str(error) and str(error).startswith("truncated or corrupt PDF: ")
    else:
        assert all(p.text.startswith("Body of page") for p in result.pages)


@pytest.mark.parametrize("engine", ENGINES)
def test_html_named_pdf(engine: str, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_text("<html><head><title>Login</title></head><body>Session expired</body></html>")
    data = path.read_bytes()
    assert not is_pdf(data)
    with pytest.raises(PdfError, match=r"^not a PDF \(starts with '<html'\)$"):
        extract(data, engine=engine)


def test_is_pdf_by_content() -> None:
    assert is_pdf(numbered(1))
    assert is_pdf(b"\xef\xbb\xbfjunk before the header\n%PDF-1.7\n")
    assert not is_pdf(b" " * 1024 + b"%PDF-1.7\n")


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_file(engine: str) -> None:
    with pytest.raises(PdfError, match=r"^empty file$"):
        extract(b"", engine=engine)


def test_unknown_engine() -> None:
    with pytest.raises(PdfError, match="unknown PDF engine"):
        extract(numbered(1), engine="poppler")


# --- fuzz ----------------------------------------------------------------------------

SEED = rewrite(
    make_pdf(text_page("One"), two_columns, scanned, title="Seed"),
    lambda w: (
        w.add_outline_item(title="Start", page_number=0),
        w.set_page_label(0, 2, style=PageLabelStyle.UPPERCASE_ROMAN),
    ),
)


HEADER = SEED.index(b"\n") + 1


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEED)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "flip", "splice", "zero"]))
        # Mostly past the header line: a broken header is one quick "not a PDF".
        at = draw(st.integers(HEADER, len(data) - 1)) if len(data) > HEADER else 0
        if kind == "truncate":
            del data[at:]
        elif kind == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "zero":
            data[at : at + draw(st.integers(1, 64))] = b"\0" * 8
        else:
            start = draw(st.integers(0, len(SEED) - 1))
            data[at:at] = SEED[start : start + draw(st.integers(1, 400))]
        if not data:
            break
    return bytes(data)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=150, deadline=4000, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated())
def test_fuzz_only_pdf_text_or_pdf_error(engine: str, data: bytes) -> None:
    try:
        result = extract(data, engine=engine)
    except PdfError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert isinstance(result, PdfText)
        assert len({p.label for p in result.pages} | {label for label, _ in result.skipped}) == (
            len(result.pages) + len(result.skipped)
        )
