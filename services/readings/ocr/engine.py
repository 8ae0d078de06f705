"""OCR engines behind a small interface; one engine per process, loaded lazily.

``RapidOcrEngine`` runs PaddleOCR's PP-OCRv6 small det/rec models that ship *inside* the
rapidocr wheel, on onnxruntime. The model paths are given explicitly, so rapidocr never tries
to download anything (checked with the network namespace removed: ``unshare -rn``).

Any other engine (e.g. the ``paddleocr`` package where its models are installed) plugs in by
implementing ``OcrEngine.read`` and returning ``Word``s; select it with
``set_engine_factory(lambda: MyEngine())`` before the first ``get_engine()`` call (or set
``NESK_OCR_ENGINE=module:callable``). A PaddleOCR 3.x adapter is ~20 lines: call
``PaddleOCR(use_textline_orientation=False, text_det_limit_side_len=1280).predict(img)`` and map
``rec_texts``/``rec_scores``/``rec_polys`` of the result to ``Word``s.
"""
from __future__ import annotations

import importlib
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence, Union

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

Point = tuple[float, float]
ImageLike = Union[np.ndarray, Image.Image]


@dataclass
class Word:
    """One recognised text box: text, confidence 0..1, 4 corner points (tl, tr, br, bl)."""
    text: str
    confidence: float
    box: tuple[Point, Point, Point, Point]
    # Per-character (text, confidence, box) when the engine provides them.
    chars: list[tuple[str, float, tuple[Point, Point, Point, Point]]] = field(default_factory=list)

    @property
    def center(self) -> Point:
        xs = [p[0] for p in self.box]
        ys = [p[1] for p in self.box]
        return (sum(xs) / 4, sum(ys) / 4)


class OcrEngine(Protocol):
    name: str

    def read(self, image: ImageLike) -> list[Word]:
        """Text boxes of an RGB image (numpy HxWx3 uint8 or PIL)."""
        ...


def _to_rgb_array(image: ImageLike) -> np.ndarray:
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image)


class RapidOcrEngine:
    """rapidocr 3.x + onnxruntime with the wheel's PP-OCRv6 small models, offline."""

    name = "rapidocr"

    def __init__(self, max_side_len: int = 1280, det_side: int = 960, threads: int | None = None,
                 char_boxes: bool = True, use_cls: bool = False, defaults: bool = False):
        import rapidocr
        from rapidocr import RapidOCR

        models = Path(rapidocr.__file__).parent / "models"
        det = models / "PP-OCRv6_det_small.onnx"
        rec = models / "PP-OCRv6_rec_small.onnx"
        cls = models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
        for p in (det, rec, cls):
            if not p.exists():
                raise RuntimeError(f"rapidocr wheel lacks its model {p}; reinstall rapidocr")
        params: dict = {
            "Det.model_path": str(det),
            "Rec.model_path": str(rec),
            "Cls.model_path": str(cls),
            "Global.log_level": "warning",
        }
        if not defaults:
            # The angle classifier flips short crops ("93" → "36"): off (DESIGN.md §5).
            params.update({
                "Global.use_cls": use_cls,
                "Global.max_side_len": max_side_len,
                # The detector's default scales the SHORT side up to 736 (≈3× the pixels of a
                # page photo); capping the long side at 960 cut detection ~3× at equal accuracy.
                "Det.limit_type": "max",
                "Det.limit_side_len": det_side,
                "Global.return_word_box": char_boxes,
                "Global.return_single_char_box": char_boxes,
            })
        if threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        self._ocr = RapidOCR(params=params)
        # rapidocr keeps per-call parameters in shared state; one call at a time per engine.
        # (onnxruntime already uses every core for one image, so this costs no throughput.)
        self._lock = threading.Lock()

    def read(self, image: ImageLike) -> list[Word]:
        arr = _to_rgb_array(image)[:, :, ::-1]  # rapidocr takes ndarray input as BGR (cv2)
        with self._lock:
            out = self._ocr(np.ascontiguousarray(arr))
        if out.boxes is None or out.txts is None:
            return []
        words = []
        wr = out.word_results if out.word_results and len(out.word_results) == len(out.txts) else None
        for i, (box, txt, score) in enumerate(zip(out.boxes, out.txts, out.scores)):
            chars = []
            if wr is not None and wr[i]:
                for item in wr[i]:
                    if item and item[2] is not None:
                        chars.append((item[0], float(item[1]), _quad(item[2])))
            words.append(Word(txt, float(score), _quad(box), chars))
        return words


def _quad(box: Sequence) -> tuple[Point, Point, Point, Point]:
    pts = [(float(p[0]), float(p[1])) for p in box]
    if len(pts) == 2:  # axis-aligned (x0, y0), (x1, y1)
        (x0, y0), (x1, y1) = pts
        pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return tuple(pts[:4])  # type: ignore[return-value]


_factory: Callable[[], OcrEngine] | None = None
_engine: OcrEngine | None = None
_lock = threading.Lock()


def set_engine_factory(factory: Callable[[], OcrEngine] | None) -> None:
    """Choose the engine before first use (tests, or another OCR package)."""
    global _factory, _engine
    with _lock:
        _factory, _engine = factory, None


def _default_factory() -> OcrEngine:
    spec = os.environ.get("NESK_OCR_ENGINE")
    if spec:
        mod, _, attr = spec.partition(":")
        return getattr(importlib.import_module(mod), attr)()
    return RapidOcrEngine()


def get_engine() -> OcrEngine:
    """The process's engine, created on first use (thread-safe)."""
    global _engine
    eng = _engine
    if eng is None:
        with _lock:
            if _engine is None:
                _engine = (_factory or _default_factory)()
                log.info("OCR engine %s loaded", _engine.name)
            eng = _engine
    return eng
