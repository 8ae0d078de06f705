"""Phone photo → clean RGB page image for OCR.

Checks (by content, not by name): JPEG, PNG or HEIC/HEIF; ≤ 10 MB; ≤ 40 Mpx. Then EXIF
rotation, RGB, downscale, sheet detection (the bright quadrilateral of the paper: perspective
and rotation undone by one warp) or, failing that, a small-angle deskew from the table's lines,
and illumination flattening + contrast stretch (uneven light, shadows).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SKEW = 20.0           # degrees of skew undone when no sheet edge is found
WORK_SIDE = 1600          # longest side handed to the engine (the engine itself caps at 1280)

try:  # HEIC from iPhones; pillow-heif bundles libheif in its wheel, needs no network
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIC_SUPPORTED = True
except ImportError:  # pragma: no cover
    HEIC_SUPPORTED = False


class PhotoRejected(ValueError):
    """The upload is not a usable photo. ``field`` is the form field, ``reason`` a code."""

    def __init__(self, reason: str, message: str, field: str = "photo"):
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.message = message


@dataclass
class Prepared:
    image: np.ndarray        # RGB uint8
    format: str
    original_size: tuple[int, int]
    sheet_found: bool
    skew_deg: float


def sniff(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"heim", b"heis", b"hevc",
                                              b"hevx", b"mif1", b"msf1"):
        return "HEIF"
    raise PhotoRejected("unsupported_type", "The photo must be a JPEG, PNG or HEIC image.")


def load(data: bytes) -> tuple[Image.Image, str]:
    """Checked, EXIF-rotated RGB image."""
    if not data:
        raise PhotoRejected("empty", "The photo is empty.")
    if len(data) > MAX_BYTES:
        raise PhotoRejected("too_large", f"The photo is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    kind = sniff(data)
    if kind == "HEIF" and not HEIC_SUPPORTED:
        raise PhotoRejected("unsupported_type", "HEIC photos are not supported; send a JPEG.")
    try:
        img = Image.open(io.BytesIO(data))
        if img.format not in ("JPEG", "PNG", "HEIF", "MPO"):
            raise PhotoRejected("unsupported_type", "The photo must be a JPEG, PNG or HEIC image.")
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise PhotoRejected("too_many_pixels", f"The photo has more than {MAX_PIXELS // 1_000_000} Mpx.")
        if min(w, h) < 200:
            raise PhotoRejected("too_small", "The photo is too small to read.")
        if kind == "JPEG":  # decode at a reduced scale straight away: much faster, less memory
            img.draft("RGB", (WORK_SIDE, WORK_SIDE))
        img = ImageOps.exif_transpose(img)
        img = img.convert("RGB")
    except PhotoRejected:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise PhotoRejected("unreadable", "The photo could not be decoded.") from e
    return img, kind


def _order(pts: np.ndarray) -> np.ndarray:
    s = pts.sum(1)
    d = np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]],
                    dtype=np.float32)


def _quad_of(mask: np.ndarray, total: int) -> tuple[float, np.ndarray] | None:
    """The largest region of ``mask`` if it is a convex quadrilateral of 25–97 % of the frame."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    c = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(c)
    if area < 0.25 * total or area > 0.97 * total:
        return None  # no sheet, or the sheet fills the frame (scan): nothing to undo
    approx = cv2.approxPolyDP(c, 0.02 * cv2.arcLength(c, True), True)
    if len(approx) != 4 or not cv2.isContourConvex(approx):
        return None
    quad = _order(approx.reshape(4, 2).astype(np.float32))
    if not _sheet_like(quad):
        return None   # e.g. the lit part of a page with a shadow's edge across it
    return area, quad


def _sheet_like(quad: np.ndarray) -> bool:
    """A photographed rectangle: corners within 90 ± 25°, opposite sides within 1.35×."""
    sides = [quad[(i + 1) % 4] - quad[i] for i in range(4)]
    lengths = [float(np.linalg.norm(v)) for v in sides]
    if min(lengths) < 1:
        return False
    for i in range(4):
        a, b = -sides[i - 1], sides[i]
        cos = float(np.dot(a, b)) / (lengths[i - 1] * lengths[i])
        if abs(cos) > math.cos(math.radians(65)):
            return False
    return all(max(lengths[i], lengths[i + 2]) <= 1.35 * min(lengths[i], lengths[i + 2]) for i in (0, 1))


def find_sheet(gray: np.ndarray) -> np.ndarray | None:
    """Corners (tl, tr, br, bl) of the paper if it stands out from the background.

    The bright region (Otsu), or the larger region inside edges around it: a hard shadow
    across the page splits the bright region (the lit part alone is a quadrilateral too),
    while the paper's edges stay."""
    small_scale = 500 / max(gray.shape)
    small = cv2.resize(gray, None, fx=small_scale, fy=small_scale, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (5, 5), 0)
    total = small.shape[0] * small.shape[1]
    _, th = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    th = cv2.morphologyEx(th, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    edges = cv2.dilate(cv2.Canny(small, 30, 90), np.ones((3, 3), np.uint8))
    filled = np.zeros_like(edges)
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    bright, edged = _quad_of(th, total), _quad_of(filled, total)
    if bright is None:
        return None   # alone, the edges find any framed table too
    if edged is not None and edged[0] > bright[0]:
        centre = tuple(float(v) for v in bright[1].mean(axis=0))
        if cv2.pointPolygonTest(edged[1].reshape(-1, 1, 2), centre, False) > 0:
            bright = edged
    return bright[1] / small_scale


def warp_sheet(img: np.ndarray, corners: np.ndarray) -> np.ndarray:
    tl, tr, br, bl = corners
    w = int(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    h = int(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    dst = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(corners, dst)
    return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def skew_angle(gray: np.ndarray) -> float:
    """Skew up to ±MAX_SKEW° from long straight lines (table rules, text baselines)."""
    scale = 1000 / max(gray.shape)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    edges = cv2.Canny(small, 50, 150)
    lines = cv2.HoughLinesP(edges, 1, np.pi / 720, threshold=120,
                            minLineLength=small.shape[1] // 4, maxLineGap=10)
    if lines is None:
        return 0.0
    angles = []
    for x1, y1, x2, y2 in lines.reshape(-1, 4):
        # table rules run both ways, and the page may lie sideways: the angle modulo 90°
        a = (math.degrees(math.atan2(y2 - y1, x2 - x1)) + 45) % 90 - 45
        if abs(a) <= MAX_SKEW:
            angles.append(a)
    return float(np.median(angles)) if angles else 0.0


def flatten_light(rgb: np.ndarray) -> np.ndarray:
    """Divide by a blurred background estimate, then stretch: even light, full contrast."""
    f = rgb.astype(np.float32)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    k = max(31, (max(gray.shape) // 20) | 1)
    bg = cv2.dilate(gray, np.ones((7, 7), np.uint8))   # remove text before estimating paper
    bg = cv2.GaussianBlur(bg, (k, k), 0).astype(np.float32) + 1.0
    out = f / bg[..., None] * 235.0
    lo = np.percentile(out[::2, ::2], 1.0)   # a quarter of the pixels: the same level, 4× faster
    out = (out - lo) * (255.0 / max(1.0, 250.0 - lo))
    return np.clip(out, 0, 255).astype(np.uint8)


def prepare(data: bytes) -> Prepared:
    pil, kind = load(data)
    original = pil.size
    scale = WORK_SIDE / max(pil.size)
    if scale < 1:
        pil = pil.resize((round(pil.width * scale), round(pil.height * scale)), Image.BILINEAR)
    rgb = np.asarray(pil)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    corners = find_sheet(gray)
    skew = 0.0
    if corners is not None:
        rgb = warp_sheet(rgb, corners)
    else:
        skew = skew_angle(gray)
        if abs(skew) > 0.3:
            h, w = gray.shape
            m = cv2.getRotationMatrix2D((w / 2, h / 2), skew, 1.0)
            rgb = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    rgb = flatten_light(rgb)
    return Prepared(rgb, kind, original, corners is not None, skew)
