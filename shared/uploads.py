"""Files customers upload (as base64 in JSON), judged by their content, not their name.

Images (JPEG, PNG) must decode; a PDF must parse and not be locked with a password, so the
operator can open whatever a customer sends. Used by the services that take files
(requests' paper-clip, documents' «Документы для соц. нормы»); needs Pillow and pypdf.
"""
from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader

from shared.blocking import offload
from shared.errors import ValidationFailed
from shared.work import decode_upload

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
PDF = "application/pdf"
SUFFIXES = {"image/jpeg": (".jpg", ".jpeg"), "image/png": (".png",), PDF: (".pdf",)}
MAX_PIXELS = 40_000_000

# pypdf warns about every oddity of a damaged file; the customer gets one clear error instead.
logging.getLogger("pypdf").setLevel(logging.ERROR)


class Rejected(ValueError):
    """The bytes are not an acceptable file; ``reason`` (args[0]) says why."""


def content_type(raw: bytes) -> str:
    """The file's type judged by its content: image/jpeg, image/png or application/pdf."""
    if raw.startswith(b"%PDF-"):
        try:
            reader = PdfReader(io.BytesIO(raw))
            if reader.is_encrypted:
                raise Rejected("PDF is password-protected")
            if len(reader.pages) < 1:
                raise Rejected("PDF has no pages")
        except Rejected:
            raise
        except Exception:  # a parser of untrusted bytes may fail in any way: not a PDF
            raise Rejected("damaged PDF") from None
        return PDF
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            kind = probe.format
            probe.verify()  # structure, before decoding pixels
        if kind not in IMAGE_TYPES:
            raise Rejected(f"{kind} is not JPEG, PNG or PDF")
        with Image.open(io.BytesIO(raw)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise Rejected("image has too many pixels")
            image.load()  # a truncated image fails here
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise Rejected("not JPEG, PNG or PDF") from None
    return IMAGE_TYPES[kind]


def clean_filename(name: object, kind: str) -> str:
    """The name to show and download under: no folders, no control characters, and the
    extension of what the file really is."""
    text = re.sub(r"[\x00-\x1f\x7f]", "", name.replace("\\", "/")) if isinstance(name, str) else ""
    text = PurePosixPath(text).name.strip() or "file"
    if PurePosixPath(text).suffix.lower() not in SUFFIXES[kind]:
        text += SUFFIXES[kind][0]
    return text[-120:]  # the end keeps the extension


@dataclass(frozen=True)
class Upload:
    """A checked file: the name to show, its real type, its bytes."""

    filename: str
    content_type: str
    data: bytes


def read_upload(content_base64: object, filename: object, field: str, max_bytes: int,
                data_field: str | None = None, shown: str | None = None) -> Upload:
    """One file sent as base64 → a checked :class:`Upload`, or a 422 naming ``field`` (and
    ``data_field`` for base64 that is missing or garbled)."""
    raw = decode_upload(content_base64, data_field or field, "Прикрепите файл")
    shown = shown or (filename if isinstance(filename, str) and filename else "файл")
    if len(raw) > max_bytes:
        raise ValidationFailed(f"Файл «{shown}» больше {max_bytes / 1024 / 1024:.0f} МБ",
                               {field: f"larger than {max_bytes} bytes"})
    try:
        kind = offload(content_type, raw)  # decoding is CPU work: off the eventlet hub
    except Rejected as exc:
        raise ValidationFailed(f"Файл «{shown}»: прикрепите фото (JPEG, PNG) или PDF",
                               {field: exc.args[0]}) from None
    return Upload(clean_filename(filename, kind), kind, raw)
