"""OCR engines behind a small interface; one engine per process, loaded lazily.

``RapidOcrEngine`` runs PaddleOCR's PP-OCRv6 small det/rec models that ship *inside* the
rapidocr wheel, on onnxruntime sessions it makes itself (threads, memory arena and spinning
chosen here; rapidocr's config does not reach them all). The model paths are given explicitly,
so rapidocr never tries to download anything (checked with the network namespace removed:
``unshare -rn``). rapidocr's own pre/post-processing (DB boxes, CTC decoding, per-character
boxes) is reused; its ``RapidOCR`` pipeline is not, because it recognises every detected box,
and most boxes on a bill are Cyrillic lines PP-OCRv6 cannot read (DESIGN.md §5).

The engine is *staged*: ``detect`` finds the text boxes once, ``recognise`` reads only the boxes
asked for, so ``read_bill`` reads the meter row and the account line and skips the rest.
``read`` (detect + recognise all) is the whole interface another engine has to implement.

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
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, Union, runtime_checkable

import cv2
import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]
ImageLike = Union[np.ndarray, Image.Image]

TEXT_SCORE = 0.5   # rapidocr's Global.text_score: lines read with less confidence are dropped


@dataclass
class Word:
    """One recognised text box: text, confidence 0..1, 4 corner points (tl, tr, br, bl)."""
    text: str
    confidence: float
    box: Quad
    # Per-character (text, confidence, box) when the engine provides them.
    chars: list[tuple[str, float, Quad]] = field(default_factory=list)

    @property
    def center(self) -> Point:
        xs = [p[0] for p in self.box]
        ys = [p[1] for p in self.box]
        return (sum(xs) / 4, sum(ys) / 4)


@dataclass
class Detection:
    """Text boxes found on one image, before recognition."""
    image: Any             # what the engine crops from (its own colour order / scale)
    boxes: list[Quad]      # in the caller's image pixels, reading order


class OcrEngine(Protocol):
    name: str

    def read(self, image: ImageLike) -> list[Word]:
        """Text boxes of an RGB image (numpy HxWx3 uint8 or PIL)."""
        ...


@runtime_checkable
class StagedOcrEngine(Protocol):
    """An engine that detects first and recognises only the boxes asked for."""
    name: str

    def read(self, image: ImageLike) -> list[Word]: ...

    def detect(self, image: ImageLike) -> Detection: ...

    def recognise(self, detection: Detection, indices: Sequence[int]) -> list[Word | None]:
        """One entry per index: the word, or None if nothing legible was read there."""
        ...


def _to_rgb_array(image: ImageLike) -> np.ndarray:
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image)


def _session(model: Path, threads: int | None) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    # Every box and page has a new input shape: an arena or a memory pattern planned for one
    # shape only grows the peak (measured: bench/README.md), so plain allocations.
    opts.enable_cpu_mem_arena = False
    opts.enable_mem_pattern = False
    opts.intra_op_num_threads = threads or 0    # 0: one per physical core
    opts.inter_op_num_threads = 1
    # Idle pool threads spin by default, burning a core that other requests on the box need.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])


class RapidOcrEngine:
    """PP-OCRv6 small det/rec from the rapidocr wheel on onnxruntime, offline, staged."""

    name = "rapidocr"

    def __init__(self, det_side: int = 960, rec_batch: int = 1, threads: int | None = None,
                 char_boxes: bool = True):
        import rapidocr
        from rapidocr.cal_rec_boxes import CalRecBoxes
        from rapidocr.ch_ppocr_det import TextDetector
        from rapidocr.ch_ppocr_rec import TextRecognizer
        from rapidocr.main import DEFAULT_CFG_PATH
        from rapidocr.utils.log import logger as rapid_log
        from rapidocr.utils.parse_parameters import ParseParams

        rapid_log.setLevel(logging.WARNING)
        models = Path(rapidocr.__file__).parent / "models"
        det = models / "PP-OCRv6_det_small.onnx"
        rec = models / "PP-OCRv6_rec_small.onnx"
        for p in (det, rec):
            if not p.exists():
                raise RuntimeError(f"rapidocr wheel lacks its model {p}; reinstall rapidocr")
        cfg = ParseParams.load(DEFAULT_CFG_PATH)

        def section(name: str, model: Path, **changes: Any) -> Any:
            # rapidocr's "custom session" hook (cfg.session) needs a config that holds objects
            # (ParseParams is rapidocr's OmegaConf)
            values = {**ParseParams.to_container(cfg[name]), **changes, "session": _session(model, threads)}
            return ParseParams.create(values, flags={"allow_objects": True})

        # The detector sees the page with its long side shrunk to det_side (rapidocr's default
        # scales the SHORT side up to 736: ≈3× the pixels of a page photo). Detection cost and
        # memory grow with its pixels; below 960 thin hand-written digits start to go missing.
        self._det_side = det_side
        self._det = TextDetector(section("Det", det))
        self._rec = TextRecognizer(section("Rec", rec, font_path=None, rec_batch_num=rec_batch))
        self._char_boxes = CalRecBoxes() if char_boxes else None
        # The angle classifier is not run on the crops read (it flips short ones: "93" → "36",
        # DESIGN.md §5); ``page_turn`` asks it about the page's long lines, by majority.
        self._cls = _session(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx", threads)
        # rapidocr's detector keeps per-call state; one call at a time per engine (onnxruntime
        # already uses every core for one image, so this costs no throughput).
        self._lock = threading.Lock()

    def detect(self, image: ImageLike) -> Detection:
        bgr = np.ascontiguousarray(_to_rgb_array(image)[:, :, ::-1])   # the models take cv2's BGR
        h, w = bgr.shape[:2]
        scale = min(1.0, self._det_side / max(h, w))
        size = (max(32, round(w * scale / 32) * 32), max(32, round(h * scale / 32) * 32))
        # Shrink by area averaging: rapidocr's bilinear resize skips pixels and loses thin
        # hand-written strokes (a light "8" vanished at 736 px).
        small = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        pre = self._det.get_preprocess()   # rapidocr's normalisation, without its resize
        x = pre.permute(pre.normalize(small))[np.newaxis].astype(np.float32)
        with self._lock:
            pred = self._det.session(x)
            boxes, _ = self._det.postprocess_op(pred, (h, w))   # boxes in full-size pixels
        boxes = self._det.sorted_boxes(boxes) if len(boxes) else boxes
        return Detection(bgr, [_quad(b) for b in boxes])

    def recognise(self, detection: Detection, indices: Sequence[int]) -> list[Word | None]:
        from rapidocr.ch_ppocr_rec import TextRecInput, TextRecOutput
        from rapidocr.utils.process_img import get_rotate_crop_image

        if not indices:
            return []
        quads = [np.array(detection.boxes[i], dtype=np.float32) for i in indices]
        crops = [get_rotate_crop_image(detection.image, q.copy()) for q in quads]
        with self._lock:
            rec = self._rec(TextRecInput(img=crops, return_word_box=self._char_boxes is not None))
        out: list[Word | None] = [None] * len(indices)
        keep = [k for k, (t, s) in enumerate(zip(rec.txts, rec.scores)) if t.strip() and s >= TEXT_SCORE]
        chars: list[list[tuple[str, float, Quad]]] = [[] for _ in keep]
        if self._char_boxes is not None and keep:
            sub = TextRecOutput(txts=tuple(rec.txts[k] for k in keep), scores=[rec.scores[k] for k in keep],
                                word_results=tuple(rec.word_results[k] for k in keep))
            sub = self._char_boxes([crops[k] for k in keep], np.array([quads[k] for k in keep]), sub, True)
            for n, items in enumerate(sub.word_results):
                chars[n] = [(c, float(s), _quad(b)) for c, s, b in items if b is not None]
        for n, k in enumerate(keep):
            out[k] = Word(rec.txts[k], float(rec.scores[k]), detection.boxes[indices[k]], chars[n])
        return out

    def turned(self, detection: Detection, k: int) -> Detection:
        """The detection of the page turned by ``k`` quarter turns counter-clockwise
        (``np.rot90``), without detecting again: the image turned and the boxes moved with it
        (the detector finds a line's box whichever way the line runs)."""
        h, w = detection.image.shape[:2]
        k %= 4

        def move(p: Point) -> Point:
            x, y = p
            if k == 1:
                return (y, w - 1 - x)
            if k == 2:
                return (w - 1 - x, h - 1 - y)
            return (h - 1 - y, x) if k == 3 else (x, y)

        # the corner that ends up top left is the one k places on (tl, tr, br, bl)
        boxes = [tuple(move(q[(i + k) % 4]) for i in range(4)) for q in detection.boxes]
        image = np.ascontiguousarray(np.rot90(detection.image, k))
        order: Any = self._det.sorted_boxes(np.array(boxes, np.float32)) if boxes else []
        return Detection(image, [_quad(b) for b in order])

    def page_turn(self, detection: Detection) -> int:
        """Quarter turns counter-clockwise (``np.rot90``'s k) that make the page upright.

        Sideways pages show as text boxes taller than wide. Which way up: a bill's lines are
        left-aligned, so their starts line up and their ends do not; upright, the starts are
        the boxes' left edges (upside down: the right ones; sideways: top or bottom). When
        the two are too close to tell, the angle classifier votes over the longest boxes
        (short ones are left out: it flips those, "93" → "36").
        """
        h, w = detection.image.shape[:2]
        spans = []
        for q in detection.boxes:
            xs, ys = [p[0] for p in q], [p[1] for p in q]
            spans.append((min(xs), max(xs), min(ys), max(ys)))
        wide = [b for b in spans if b[1] - b[0] >= 3 * (b[3] - b[2])]
        tall = [b for b in spans if b[3] - b[2] >= 3 * (b[1] - b[0])]
        if len(wide) + len(tall) < 3:
            return 0
        sideways = len(tall) > len(wide)
        if sideways:
            starts, ends = _aligned([b[2] for b in tall], h), _aligned([b[3] for b in tall], h)
        else:
            starts, ends = _aligned([b[0] for b in wide], w), _aligned([b[1] for b in wide], w)
        if max(starts, ends) >= 1.5 * min(starts, ends):
            flipped = ends > starts
        else:
            flipped = self._classifier_flips(detection, tall if sideways else wide, spans)
        if sideways:   # read top to bottom (starts on top) it needs a quarter turn back
            return -1 if flipped else 1
        return 2 if flipped else 0

    def _classifier_flips(self, detection: Detection, lines: list, spans: list) -> bool:
        """The angle classifier's vote over the 12 longest lines, weighted by length."""
        from rapidocr.utils.process_img import get_rotate_crop_image

        picked = sorted(((spans.index(b), max(b[1] - b[0], b[3] - b[2])) for b in lines),
                        key=lambda x: -x[1])[:12]
        batch = np.zeros((len(picked), 3, 48, 192), np.float32)
        for n, (i, _) in enumerate(picked):
            crop = get_rotate_crop_image(detection.image, np.array(detection.boxes[i], np.float32))
            ch, cw = crop.shape[:2]
            width = min(192, max(1, int(48 * cw / max(1, ch))))
            small = cv2.resize(crop, (width, 48)).astype(np.float32) / 255.0
            batch[n, :, :, :width] = ((small - 0.5) / 0.5).transpose(2, 0, 1)
        with self._lock:
            probs = self._cls.run(None, {self._cls.get_inputs()[0].name: batch})[0]
        weights = np.array([length for _, length in picked])
        return float((weights * (probs[:, 1] - probs[:, 0])).sum()) > 0

    def read(self, image: ImageLike) -> list[Word]:
        det = self.detect(image)
        return [w for w in self.recognise(det, range(len(det.boxes))) if w is not None]


def _aligned(edges: list[float], size: int) -> int:
    """How many of these edges line up: the most within ±1 % of the page's size."""
    bins = np.floor(np.array(edges) / max(1.0, 0.01 * size)).astype(int)
    count = np.bincount(bins - bins.min())
    near = count.copy()
    near[1:] += count[:-1]
    near[:-1] += count[1:]
    return int(near.max())


def _quad(box: Sequence) -> Quad:
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
