"""PDF text per page: pypdf by default, PyMuPDF (the optional `fast-pdf` extra, AGPL-3.0)
on request. Pages keep their printed label and the outline heading in effect; scanned,
empty and broken pages are reported instead of packed; every failure is one PdfError line.

Page labels are made unique for chunk ids: the first page with a printed label keeps it, a
later page with the same label gets "<label>@<page number>" (e.g. a second "1" range on
page 40 gives "1@40"); a page with no label, or an empty one, is labelled by its number.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import UsageError

_T = TypeVar("_T")
# The PDF header may follow some junk; readers look for it in the first 1,024 bytes.
_PROBE = 1024
# Per-stream ceilings against decompression bombs (pypdf's defaults are 75 MB; no page's
# text needs that much), and no external jbig2dec run on untrusted input.
_LIMIT = 50_000_000
PYPDF_CONFIG: dict[str, Any] = {
    "zlib_maximum_output_length": _LIMIT,
    "lzw_maximum_output_length": _LIMIT,
    "run_length_maximum_output_length": _LIMIT,
    "brotli_maximum_output_length": _LIMIT,
    "array_based_stream_maximum_output_length": _LIMIT,
    "jbig2dec_binary": None,
    "disable_legacy_handling": True,
}
_MESSAGE_CHARS = 120
_ENGINES = ("pypdf", "pymupdf")
_NEEDS_PASSWORD = "encrypted: give the password with --password"
_NEEDS_CRYPTO = "needs the 'cryptography' package for AES encryption (pip install pypdf[crypto])"
_NO_PYMUPDF = "PyMuPDF is not installed: pip install 'scout-context[fast-pdf]'"
SCANNED = "no text layer (scanned image)"
EMPTY = "empty page"


class PdfError(UsageError):
    """A PDF that cannot be read at all; the message is one line, without the file name."""


@dataclass(frozen=True, slots=True)
class PdfPage:
    number: int  # 1-based physical page number
    label: str  # printed page label, unique in the file (see the module docstring)
    heading: str  # outline titles in effect on this page, joined with " > "; "" if none
    text: str  # "\n" line ends, no NUL, no trailing spaces, ends with "\n"


@dataclass(frozen=True, slots=True)
class PdfText:
    pages: list[PdfPage]  # pages with text, in order
    skipped: list[tuple[str, str]]  # (page label, reason)
    images: int  # distinct image XObjects (inline images not counted)
    title: str  # from the document information, "" if none


def is_pdf(data: bytes) -> bool:
    """True when `data` has a PDF header, whatever the file is called."""
    return b"%PDF-" in data[:_PROBE]


def extract(data: bytes, *, password: str | None = None, engine: str = "pypdf") -> PdfText:
    """The text of every page of the PDF `data`. A page whose content cannot be read is
    skipped and reported; anything wrong with the file as a whole raises PdfError, and
    nothing else is raised or printed. `password` is ignored for unencrypted files."""
    if not data.strip():
        raise PdfError("empty file" + (" (whitespace only)" if data else ""))
    if not is_pdf(data):
        raise PdfError(_not_pdf(data))
    if engine not in _ENGINES:
        raise PdfError(f"unknown PDF engine {engine!r} (use {' or '.join(_ENGINES)})")
    try:
        with quiet_pypdf():
            return _with_pypdf(data, password) if engine == "pypdf" else _with_pymupdf(data, password)
    except PdfError:
        raise
    except Exception as error:
        raise PdfError(f"truncated or corrupt PDF: {error_line(error)}") from error


# --- pypdf ---------------------------------------------------------------------------


def _with_pypdf(data: bytes, password: str | None) -> PdfText:
    import pypdf
    from pypdf.errors import DependencyError, LimitReachedError

    try:
        with pypdf.apply_configuration(**PYPDF_CONFIG):
            reader = pypdf.PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                _unlock(reader.decrypt, password)
            return _read_pypdf(reader)
    except DependencyError as error:
        raise PdfError(_NEEDS_CRYPTO if "cryptography" in str(error) else error_line(error)) from error
    except LimitReachedError as error:
        raise PdfError(f"over a resource limit: {error_line(error)}") from error


def _read_pypdf(reader: Any) -> PdfText:
    from pypdf.errors import DependencyError, LimitReachedError

    count = _page_count(len(reader.pages))
    labels = _unique_labels(_optional(lambda: reader.page_labels, []), count)
    headings = _headings(_optional(lambda: _toc_pypdf(reader), []), count)
    seen: set[object] = set()
    pages: list[PdfPage] = []
    skipped: list[tuple[str, str]] = []
    for index in range(count):
        text = ""
        try:
            page = reader.pages[index]
            text = _normalize(page.extract_text())
            found = _images_pypdf(page)
            # Inline images (BI ... EI) are found only by pypdf's full parse: textless pages only.
            reason = "" if text else SCANNED if found or len(page.images) else EMPTY
        except DependencyError:
            raise  # AES-128 files open without `cryptography`, their streams do not
        except LimitReachedError as error:
            reason = f"over a resource limit: {error_line(error)}"
        except Exception as error:  # noqa: BLE001 - damage raises bare ValueError, KeyError, ...
            reason = f"broken content stream: {error_line(error)}"
        else:
            seen |= found
        _keep(pages, skipped, index, labels, headings, text, reason)
    title = _optional(lambda: reader.metadata.title or "", "")
    return PdfText(pages, skipped, len(seen), _clean(title))


def _toc_pypdf(reader: Any) -> list[tuple[int, str, int | None]]:
    """The outline as (level, title, 0-based page or None), in document order."""
    toc: list[tuple[int, str, int | None]] = []

    def walk(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):  # the children of the entry before it
                walk(item, level + 1)
            else:
                toc.append((level, str(item.title or ""), reader.get_destination_page_number(item)))

    walk(reader.outline, 1)
    return toc


def _images_pypdf(page: Any) -> set[object]:
    """Image XObjects drawn by the page or by the forms it draws (no decoding), keyed by
    object reference so that an image on many pages counts once."""
    from pypdf.generic import DictionaryObject, IndirectObject

    found: set[object] = set()
    forms: set[object] = set()
    todo = [page]
    while todo:
        resources = todo.pop().get("/Resources")
        resources = resources.get_object() if resources is not None else None
        xobjects = resources.get("/XObject") if isinstance(resources, DictionaryObject) else None
        xobjects = xobjects.get_object() if xobjects is not None else None
        if not isinstance(xobjects, DictionaryObject):
            continue
        for ref in xobjects.values():
            target = ref.get_object()
            if not isinstance(target, DictionaryObject):
                continue
            key = (ref.idnum, ref.generation) if isinstance(ref, IndirectObject) else id(target)
            subtype = target.get("/Subtype")
            if subtype == "/Image":
                found.add(key)
            elif subtype == "/Form" and key not in forms:
                forms.add(key)
                todo.append(target)
    return found


# --- PyMuPDF -------------------------------------------------------------------------


def _with_pymupdf(data: bytes, password: str | None) -> PdfText:
    try:
        import pymupdf
    except ImportError:
        raise PdfError(_NO_PYMUPDF) from None
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    with pymupdf.open(stream=data, filetype="pdf") as doc:
        if not doc.is_pdf:
            raise PdfError(_not_pdf(data))
        if doc.needs_pass:
            _unlock(doc.authenticate, password)
        count = _page_count(doc.page_count)
        labels = _unique_labels(_optional(lambda: [page.get_label() for page in doc], []), count)
        toc: list[list[Any]] = _optional(doc.get_toc, [])
        headings = _headings([(level, title, page - 1 if page > 0 else None) for level, title, page, *_ in toc], count)
        seen: set[object] = set()
        pages: list[PdfPage] = []
        skipped: list[tuple[str, str]] = []
        for index in range(count):
            text = ""
            pymupdf.TOOLS.reset_mupdf_warnings()
            try:
                page = doc[index]
                text = _normalize(page.get_text())
                found = {image[0] for image in page.get_images(full=True)}
                # MuPDF does not raise on a broken content stream: it warns and returns less.
                problem = pymupdf.TOOLS.mupdf_warnings()
                reason = (
                    ""
                    if text
                    else f"broken content stream: {error_line(problem)}"
                    if problem
                    else SCANNED
                    if found or page.get_image_info()
                    else EMPTY
                )
            except Exception as error:  # noqa: BLE001 - one broken page must not lose the others
                reason = f"broken content stream: {error_line(error)}"
            else:
                seen |= found
            _keep(pages, skipped, index, labels, headings, text, reason)
        title = _clean(_optional(lambda: doc.metadata["title"] or "", ""))
    return PdfText(pages, skipped, len(seen), title)


# --- shared --------------------------------------------------------------------------


def _unlock(try_password: Callable[[str], Any], password: str | None) -> None:
    """Open an encrypted file with `password`, else with the empty user password (files
    with an owner password only open without one); PdfError when neither works."""
    if password and try_password(password):
        return
    if try_password(""):
        return
    raise PdfError("wrong password" if password else _NEEDS_PASSWORD)


def _page_count(count: int) -> int:
    """A PDF has at least one page; none left means the page tree was lost."""
    if count < 1:
        raise PdfError("truncated or corrupt PDF: no pages found")
    return count


def _keep(
    pages: list[PdfPage],
    skipped: list[tuple[str, str]],
    index: int,
    labels: list[str],
    headings: list[str],
    text: str,
    reason: str,
) -> None:
    if reason:
        skipped.append((labels[index], reason))
    else:
        pages.append(PdfPage(index + 1, labels[index], headings[index], text))


def _unique_labels(raw: list[str], count: int) -> list[str]:
    """One printed label per page, unique: see the module docstring."""
    labels: list[str] = []
    seen: set[str] = set()
    for index in range(count):
        label = _clean(str(raw[index])) if index < len(raw) else ""
        label = label or str(index + 1)
        while label in seen:
            label = f"{label}@{index + 1}"
        seen.add(label)
        labels.append(label)
    return labels


def _headings(toc: list[tuple[int, str, int | None]], count: int) -> list[str]:
    """Per page, the path of the outline entry in effect: the last entry (in outline order)
    pointing at this page or the nearest page before it."""
    path: list[str] = []
    marks: list[tuple[int, int, str]] = []
    for order, (level, title, page) in enumerate(toc):
        del path[max(level - 1, 0) :]
        path.append(_clean(title))
        if page is not None and 0 <= page < count:
            marks.append((page, order, " > ".join(path)))
    marks.sort()
    headings: list[str] = []
    current, next_mark = "", 0
    for page in range(count):
        while next_mark < len(marks) and marks[next_mark][0] <= page:
            current = marks[next_mark][2]
            next_mark += 1
        headings.append(current)
    return headings


def _normalize(text: str) -> str:
    """LF line ends, no NUL, no trailing spaces or blank edges; "" when there is no text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "")
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")
    return text + "\n" if text.strip() else ""


def _clean(value: str) -> str:
    return " ".join(value.split())


def error_line(error: BaseException | str) -> str:
    """An error as one short line."""
    message = _clean("".join(c if c.isprintable() else " " for c in str(error))) or type(error).__name__
    return message if len(message) <= _MESSAGE_CHARS else message[: _MESSAGE_CHARS - 1] + "…"


def _not_pdf(data: bytes) -> str:
    head = data.lstrip()[:5] or data[:5]
    return f"not a PDF (starts with {head.decode('latin-1')!r})"


def _optional(compute: Callable[[], _T], default: _T) -> _T:
    """Labels, outline and title are extras: when they are broken the text still counts."""
    try:
        return compute()
    except Exception:  # noqa: BLE001 - the readers raise many unrelated types on damage
        return default


@contextmanager
def quiet_pypdf() -> Iterator[None]:
    """pypdf reports what it repairs through logging and warnings: keep it off the terminal."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
