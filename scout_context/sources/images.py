"""Images for a multimodal model: files named directly, image files in a folder's
documentation places, and the pictures embedded in PDFs.

An image is recognised by its signature (PNG, JPEG, GIF, WebP), never by its name, and
must decode. In a folder, the file set is `pack`'s (git's view, `.gitignore`,
`.scoutignore`, no vendored or build folders) narrowed to documentation places: the root
itself, any `docs/`, `doc/` or `documentation/` folder with its subfolders (such as
`docs/images/`), and `assets/` at the root. A PDF there, or named directly, gives its
embedded images in page order: at most 20 per PDF, none under 64x64 px, a picture drawn
on many pages once. Ids are relative to the source (`docs/arch.png`,
`report.pdf#p3/img1`), prefixed with the source's name when there are several. Anything
left out comes back with its reason; bad input never raises.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .defaults import VENDORED_AND_BUILD
from .files import collect, display_path
from .pdf import PYPDF_CONFIG, error_line, is_pdf, quiet_pypdf
from .spec import SourceSpec, local_path, source_labels

MAX_IMAGE_BYTES = 20_000_000
MAX_PDF_BYTES = 200_000_000
MAX_PIXELS = 50_000_000
PDF_IMAGE_CAP = 20
MIN_SIDE = 64

_DOC_FOLDERS = {"docs", "doc", "documentation"}
_ROOT_FOLDERS = {"assets"}
_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf"}
_HEAD = 1024


@dataclass(frozen=True, slots=True)
class ImageInput:
    """One image to send: where it came from, its MIME type and its encoded bytes."""

    id: str
    mime: str
    data: bytes


def is_image(data: bytes) -> str | None:
    """The MIME type of PNG, JPEG, GIF or WebP `data` by its signature, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def collect_images(paths: Sequence[SourceSpec]) -> tuple[list[ImageInput], list[tuple[str, str]]]:
    """The images of `paths` in a deterministic order, and (id, reason) for those left out
    (lists and stdin bring none)."""
    found = _Found()
    for spec, label in zip(paths, source_labels(paths), strict=False):
        path = local_path(spec)
        if path is None:
            continue
        if path.is_dir():
            _folder(path, f"{label}/" if len(paths) > 1 else "", found)
        elif path.is_file():
            _file(str(path), label, _size(str(path)), found, named=True)
        else:
            reason = "not a regular file" if path.exists() else "no such file or folder"
            found.skip(display_path(str(path)), reason)
    return found.images, found.skipped


@dataclass
class _Found:
    images: list[ImageInput] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)  # content hash -> id

    def skip(self, id: str, reason: str) -> None:
        self.skipped.append((id, reason))

    def add(self, id: str, mime: str, data: bytes) -> None:
        digest = hashlib.sha256(data).hexdigest()
        if digest in self.seen:
            self.skip(id, f"the same image as {self.seen[digest]}")
        else:
            self.seen[digest] = id
            self.images.append(ImageInput(id, mime, data))


def _folder(root: Path, prefix: str, found: _Found) -> None:
    files, skipped = collect(root, exclude=VENDORED_AND_BUILD, default_excludes=False, max_file_bytes=2**62)
    for entry in skipped:
        if _in_docs(entry.path) and os.path.splitext(entry.path)[1].lower() in _SUFFIXES:
            found.skip(prefix + entry.path, entry.reason)
    for file in files:
        if _in_docs(file.rel):
            _file(file.abspath, prefix + file.shown, file.size, found, named=False)


def _in_docs(rel: str) -> bool:
    folders = [part.lower() for part in rel.split("/")[:-1]]
    return not folders or folders[0] in _ROOT_FOLDERS or any(part in _DOC_FOLDERS for part in folders)


def _file(path: str, id: str, size: int, found: _Found, *, named: bool) -> None:
    """One file: an image (tiny ones only when named), a PDF's images, or nothing."""
    head = _read(path, _HEAD)
    if isinstance(head, str):
        found.skip(id, head)
        return
    mime = is_image(head)
    if mime is None and not is_pdf(head):
        if os.path.splitext(path)[1].lower() in _SUFFIXES:
            found.skip(id, "not an image (no PNG, JPEG, GIF, WebP or PDF signature)")
        return
    limit = MAX_IMAGE_BYTES if mime else MAX_PDF_BYTES
    if size > limit:
        found.skip(id, f"too large ({size:,} bytes > {limit:,})")
        return
    data = _read(path, limit)
    if isinstance(data, str):
        found.skip(id, data)
    elif mime is None:
        _pdf(data, id, found)
    else:
        problem = _check(data, tiny_ok=named)
        if problem:
            found.skip(id, problem)
        else:
            found.add(id, mime, data)


def _check(data: bytes, *, tiny_ok: bool) -> str:
    """Why an image file cannot be sent ("" when it can): it must decode in full."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    return f"too large ({width}x{height} px > {MAX_PIXELS:,} pixels)"
                image.load()
    except Exception as error:  # noqa: BLE001 - Pillow raises many types on damaged data
        return f"cannot decode: {error_line(error)}"
    if not tiny_ok and min(width, height) < MIN_SIDE:
        return f"tiny ({width}x{height} px)"
    return ""


def _pdf(data: bytes, id: str, found: _Found) -> None:
    """The embedded images of one PDF, page by page."""
    import pypdf

    try:
        with quiet_pypdf(), pypdf.apply_configuration(**PYPDF_CONFIG):
            reader = pypdf.PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                found.skip(id, "encrypted PDF: its images cannot be read")
                return
            _pdf_pages(reader, id, found)
    except Exception as error:  # noqa: BLE001 - pypdf raises many types on damaged files
        found.skip(id, f"unreadable PDF: {error_line(error)}")


def _pdf_pages(reader: Any, id: str, found: _Found) -> None:
    kept = tiny = left = 0
    drawn: set[str] = set()  # hashes already taken from this PDF
    for number, page in enumerate(reader.pages, start=1):
        try:
            count = len(page.images)
        except Exception as error:  # noqa: BLE001
            found.skip(f"{id}#p{number}", f"images unreadable: {error_line(error)}")
            continue
        for index in range(count):
            if kept == PDF_IMAGE_CAP:
                left += count - index
                break
            image_id = f"{id}#p{number}/img{index + 1}"
            try:
                embedded = page.images[index]
                picture = embedded.image
                width, height = picture.size
                data, mime = embedded.data, is_image(embedded.data)
                if mime is None:  # JPEG 2000, TIFF (CCITT), ...: sent as PNG
                    data, mime = _as_png(picture), "image/png"
            except Exception as error:  # noqa: BLE001
                found.skip(image_id, f"cannot decode: {error_line(error)}")
                continue
            if min(width, height) < MIN_SIDE:
                tiny += 1
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest in drawn:
                continue
            drawn.add(digest)
            found.add(image_id, mime, data)
            kept += 1
    if tiny:
        found.skip(id, f"{tiny} embedded images under {MIN_SIDE}x{MIN_SIDE} px left out")
    if left:
        found.skip(id, f"{left} more embedded images not read (at most {PDF_IMAGE_CAP} per PDF)")


def _as_png(picture: Any) -> bytes:
    if picture.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
        picture = picture.convert("RGB")
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def _read(path: str, limit: int) -> bytes | str:
    try:
        with open(path, "rb") as handle:
            return handle.read(limit)
    except OSError as error:
        return f"unreadable: {error.strerror or error}"


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
