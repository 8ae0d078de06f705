"""Recognised words → account number, meter serial, final reading per zone, with confidences.

PP-OCRv6 reads no Cyrillic ("КО на 01.12.18" → "KO Ha 01.12.18", "Лицевой счет:" → " : "), so
extraction anchors on what it does read (DESIGN.md §5):
- a meter row is a line holding two dates (one row per meter, 1–3 on a bill); the dates give
  its direction. Numbers left of the first date are the serial, between the dates the initial
  readings, right of the second the final ones. The table is symmetric, so final zone k sits
  at initial zone k's position shifted by the distance between the dates; zones are filled
  from the left (1-эт first). Zone headings ("1-эт", read "1-3T") and digits running into
  letters are no values;
- every value is read a second time from its own crop (``_read_again``): the grading
  (recognise.py) prefills only values read alike twice;
- the account number is the first (topmost) "…: <6–12 digits>" above the meter table; the
  bank details (ИНН, БИК, счета) follow it on the bill.
A box that spans several cells is split by its characters' positions.

With a staged engine (detect, then recognise chosen boxes) ``read_bill`` reads in two steps.
First the boxes that can hold a date and are not long lines (width/height 2.8–14: dates, the
serial, the account line, headings), which is enough to find the meter row and the account
number. Then the boxes that could change that answer: every box on the meter row (the readings),
every box above the account number found (a higher "…: digits" would win) or above the table if
none was found, and every box if no meter row was found. The answer is the one reading every
box would give, unless a date pair better than the meter row's hides in a long line or a
narrow box elsewhere. On the sample bill that is ~21 of ~37 boxes, none of the long lines (bank
details, addresses), whose recognition costs most.
"""
from __future__ import annotations

import math
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .engine import Detection, ImageLike, OcrEngine, Quad, StagedOcrEngine, Word, get_engine
from .preprocess import prepare

DATE = re.compile(r"(\d{2})[.,](\d{2})[.,](\d{2}(?:\d{2})?)")
DIGITS = re.compile(r"\d+")
HEADER = re.compile(r"\d\s*-\s*\w*[^\W\d_]\w*")
ACCOUNT = re.compile(r"[:;]\s*(\d{6,12})(?![\d.,:/-])")   # ":" is sometimes read as ";"
# First step's boxes by width/height: "01.12.18" alone is ~3 (a 5-digit reading ~2.6, "1-эт"
# 1.6); the account box with its label ~11–12; bank and address lines 14–30
DATE_MIN_ASPECT = 2.8
LONG_BOX = 14.0


@dataclass
class Tok:
    text: str
    conf: float
    x: float        # centre
    y: float
    x0: float       # extent along x
    x1: float
    h: float
    chars: list | None = None   # [(char, conf, x centre, y centre)] when the engine gave char boxes


def _nfkc(text: str) -> str:
    norm = unicodedata.normalize("NFKC", text)
    return norm if len(norm) == len(text) else text


def _char_conf(word: Word, idx: list[int]) -> float:
    if word.chars and idx:
        return min(word.chars[i][1] for i in idx)
    return word.confidence


def tokens(words: list[Word]) -> list[Tok]:
    """Split each word into runs of digits / dates / dashes, located by character boxes."""
    out: list[Tok] = []
    for w in words:
        text = _nfkc(w.text)   # the recogniser sometimes emits full-width digits ("９9１")
        xs = [p[0] for p in w.box]
        ys = [p[1] for p in w.box]
        bx0, bx1, by0, by1 = min(xs), max(xs), min(ys), max(ys)
        h = by1 - by0
        nonspace = [i for i, c in enumerate(text) if not c.isspace()]
        chars = w.chars if len(w.chars) == len(nonspace) else []
        pos: dict[int, tuple[float, float]] = {}
        cy: dict[int, float] = {}
        if chars:
            for k, i in enumerate(nonspace):
                cx = [p[0] for p in chars[k][2]]
                pos[i] = (min(cx), max(cx))
                cy[i] = sum(p[1] for p in chars[k][2]) / 4
        else:
            n = max(1, len(text))
            for i in range(len(text)):
                pos[i] = (bx0 + (bx1 - bx0) * i / n, bx0 + (bx1 - bx0) * (i + 1) / n)
        cidx = {i: k for k, i in enumerate(nonspace)}

        def mk(s: int, e: int) -> Tok:
            x0, x1 = pos[s][0], pos[e - 1][1]
            conf = _char_conf(w, [cidx[i] for i in range(s, e) if i in cidx]) if chars else w.confidence
            per = [(text[i], chars[cidx[i]][1], sum(pos[i]) / 2, cy[i]) for i in range(s, e)
                   if i in cidx] if chars else None
            return Tok(text[s:e], conf, (x0 + x1) / 2, (by0 + by1) / 2, x0, x1, h, per)

        taken = set()
        for m in DATE.finditer(text):
            out.append(mk(m.start(), m.end()))
            taken.update(range(m.start(), m.end()))
        for m in HEADER.finditer(text):   # "1-эт" read as "1-3T": a column heading, no value
            taken.update(range(m.start(), m.end()))
        for m in re.finditer(r"\d+|-", text):
            if m.start() in taken:
                continue
            before, after = text[m.start() - 1: m.start()], text[m.end(): m.end() + 1]
            if before.isalpha() or after.isalpha():
                continue   # digits run into letters ("3T", "O4"): a word or a misread, no value
            # split digit runs at wide gaps between characters (a box spanning two cells)
            s = m.start()
            for i in range(m.start() + 1, m.end()):
                gap = pos[i][0] - pos[i - 1][1]
                if chars and gap > 0.9 * h:
                    out.append(mk(s, i))
                    s = i
            out.append(mk(s, m.end()))
    return out


def _one_per_position(parts: list[tuple[Tok, int]], t_of, gap: float) -> list[Tok]:
    """Parts in row order; where two boxes overlap, the character at their seam is read by both:
    copies from different boxes closer than ``gap`` are one character (the surer copy stays)."""
    kept: list[tuple[Tok, int]] = []
    for part, box in sorted(parts, key=lambda pb: t_of(pb[0])):
        if kept and kept[-1][1] != box and t_of(part) - t_of(kept[-1][0]) < gap:
            if part.conf > kept[-1][0].conf:
                kept[-1] = (part, box)
            continue
        kept.append((part, box))
    return [part for part, _ in kept]


def _field(value, conf):
    if value is None:
        return None
    return {"value": value, "confidence": round(max(0.0, min(1.0, conf)), 3)}


def find_meter_rows(toks: list[Tok]) -> list[tuple[Tok, Tok]]:
    """Every meter row: a pair of dates on one line (initial left, final right), each date in
    one pair only, best pairs first; returned top to bottom."""
    dates = [t for t in toks if DATE.fullmatch(t.text)]
    pairs = []
    for a in dates:
        for b in dates:
            dx, dy = b.x - a.x, abs(b.y - a.y)
            # one line: rows of a table are about 1.5–2.5 date heights apart
            if dx < 4 * a.h or dy > max(0.7 * a.h, 0.05 * dx):
                continue
            score = dx - 5 * dy + (50 if a.text.startswith("01") and b.text.startswith("01") else 0)
            pairs.append((score, a, b))
    rows: list[tuple[Tok, Tok]] = []
    used: set[int] = set()
    for _, a, b in sorted(pairs, key=lambda p: -p[0]):
        if id(a) in used or id(b) in used:
            continue
        used.update((id(a), id(b)))
        rows.append((a, b))
    return sorted(rows, key=lambda r: r[0].y)


def find_meter_row(toks: list[Tok]) -> tuple[Tok, Tok] | None:
    rows = find_meter_rows(toks)
    return rows[0] if rows else None


@dataclass
class Layout:
    """Where extraction looked: what decides which other boxes could change its answer."""
    rows: list[tuple[float, float, float, float, float]]   # per meter row: x, y on it, its direction, its height
    table_top: float
    account_limit: float | None    # boxes centred below this y cannot change the account number


def extract(words: list[Word]) -> dict:
    result = _extract(words)[0]
    for meter in result["meters"]:
        meter.pop("spans")
    return result


def _meter(toks: list[Tok], d1: Tok, d2: Tok) -> tuple[dict, tuple[float, float, float, float, float]]:
    """Serial and final readings of the meter row whose dates are d1 (initial) and d2 (final)."""
    ux, uy = d2.x - d1.x, d2.y - d1.y
    norm = math.hypot(ux, uy)
    ux, uy = ux / norm, uy / norm
    rh = max(d1.h, d2.h)

    def t_of(t: Tok) -> float:
        return (t.x - d1.x) * ux + (t.y - d1.y) * uy

    def off(t: Tok) -> float:
        return abs(-(t.x - d1.x) * uy + (t.y - d1.y) * ux)

    meter: dict = {"serial": None, "readings": {"1": None, "2": None, "3": None}, "zones": None,
                   "spans": {}}
    half1 = (d1.x1 - d1.x0) / 2
    half2 = (d2.x1 - d2.x0) / 2
    t2 = t_of(d2)
    on_row = [t for t in toks if t is not d1 and t is not d2 and not DATE.fullmatch(t.text)
              and off(t) < 0.75 * rh]
    serial = sorted((t for t in on_row if t.text.isdigit() and t_of(t) < -half1), key=t_of)
    # the serial's cell: left of the first date, within one table's width of it
    serial = [t for t in serial if t_of(t) > -1.2 * t2]
    initial = sorted((t for t in on_row if half1 < t_of(t) < t2 - half2), key=t_of)
    final = sorted((t for t in on_row if t2 + half2 * 0.8 < t_of(t) < 2.2 * t2), key=t_of)
    if serial:
        meter["serial"] = _field("".join(t.text for t in serial), min(t.conf for t in serial))
    # initial columns: numbers between the dates (dashes mark unused zones)
    init_cols = [t for t in initial if t.text.isdigit()][:3]
    zones = len(init_cols) if init_cols else None
    slots: dict[int, list[tuple[Tok, int]]] = {}   # column → (token or character, its box)
    if init_cols:
        expect = [t_of(c) + t2 for c in init_cols]
        pitch = (expect[1] - expect[0]) if len(expect) > 1 else 4 * rh
        for n, t in enumerate(final):
            if not t.text.isdigit():
                continue
            # a box spanning several cells: give each character to its own column
            parts = [Tok(c, cc, x, y, x, x, t.h) for c, cc, x, y in t.chars] if t.chars else [t]
            for part in parts:
                k = min(range(len(expect)), key=lambda i: abs(t_of(part) - expect[i]))
                if abs(t_of(part) - expect[k]) < 0.75 * max(pitch, 3 * rh):
                    slots.setdefault(k, []).append((part, n))
    else:
        digits = [t for t in final if t.text.isdigit()][:3]
        for k, t in enumerate(digits):
            slots[k] = [(t, k)]
        zones = len(digits) or None
    meter["zones"] = zones
    for k, parts in slots.items():
        ts = _one_per_position(parts, t_of, 0.4 * rh)
        value = "".join(t.text for t in ts)
        conf = min(t.conf for t in ts)
        if init_cols and k < len(init_cols) and int(value) < int(init_cols[k].text):
            conf *= 0.5  # a meter does not run backwards (save a roll-over): doubtful
        meter["readings"][str(k + 1)] = _field(value, conf)
        # where the value lies for the second, independent read: its table cell (from the
        # initial column's position and the columns' pitch), not where its characters were
        # assigned; with one zone only, the characters' span
        src = [t for t, _ in parts]
        x0, x1, pad = min(t.x0 for t in ts), max(t.x1 for t in ts), 0.45 * rh
        if init_cols and len(init_cols) > 1:   # inside the cell's rules
            cx = d1.x + expect[k] * ux
            # the cell estimated from the initial column is off by up to ~0.2 pitch; a value
            # lying across its edge lost a digit there ("3830" read again "383"): the crop
            # takes in the characters read, but only a little beyond the cell (a digit of the
            # next cell, given to this value by the first read, stays out: no false agreement)
            reach, margin = 0.1 * pitch, 0.2 * rh
            x0 = max(min(cx - 0.45 * pitch, x0 - margin), cx - 0.45 * pitch - reach)
            x1 = min(max(cx + 0.45 * pitch, x1 + margin), cx + 0.45 * pitch + reach)
            pad = 0.0
        meter["spans"][str(k + 1)] = (x0 - pad, x1 + pad, sum(t.y for t in ts) / len(ts),
                                      max(t.h for t in src))
    return meter, (d1.x, d1.y, ux, uy, rh)


def _extract(words: list[Word]) -> tuple[dict, Layout]:
    toks = tokens(words)
    result: dict = {"account_number": None, "meter_serial": None,
                    "readings": {"1": None, "2": None, "3": None}, "zones": None, "meters": [],
                    "account_candidates": []}
    table_top = math.inf
    lines = []
    for d1, d2 in find_meter_rows(toks):
        meter, line = _meter(toks, d1, d2)
        if meter["zones"] is None and meter["serial"] is None:
            continue   # two dates with nothing around them: not a meter row
        result["meters"].append(meter)
        lines.append(line)
        table_top = min(table_top, min(d1.y, d2.y) - 3 * max(d1.h, d2.h))
    if result["meters"]:
        first = result["meters"][0]
        result.update(meter_serial=first["serial"], readings=first["readings"], zones=first["zones"])
    # account number: topmost "…: digits" above the table
    cands = []
    ws = sorted(words, key=lambda w: w.center[1])
    for i, w in enumerate(ws):
        cy = w.center[1]
        if cy >= table_top:
            continue
        h = max(p[1] for p in w.box) - min(p[1] for p in w.box)
        text = _nfkc(w.text)
        result["account_candidates"] += re.findall(r"(?<!\d)\d{6,12}(?!\d)", text)
        for m in ACCOUNT.finditer(text):
            cands.append((cy, m.group(1), w.confidence, h))
        if w.text.strip().isdigit() and 6 <= len(w.text.strip()) <= 12:
            # the ":" may be a separate box just left of the number
            left = min(p[0] for p in w.box)
            for v in ws:
                if v is w or not v.text.rstrip().endswith((":", ";")):
                    continue
                if abs(v.center[1] - cy) < 0.6 * h and 0 <= left - max(p[0] for p in v.box) < 3 * h:
                    cands.append((cy, w.text.strip(), w.confidence, h))
    account_limit = None
    if cands:
        cy, value, conf, h = min(cands)
        result["account_number"] = _field(value, conf * (1.0 if 8 <= len(value) <= 10 else 0.8))
        account_limit = cy + h   # its ":" may sit a little lower than the number
    return result, Layout(lines, table_top, account_limit)


def _aspect(q: Quad) -> float:
    w = math.dist(q[0], q[1])
    h = math.dist(q[0], q[3])
    return w / max(h, 1.0)


def _may_matter(q: Quad, layout: Layout) -> bool:
    """Could reading this box (not read yet) change the result extracted so far?"""
    if not layout.rows:
        return True
    xs = [p[0] for p in q]
    cy = sum(p[1] for p in q) / 4
    for x0, y0, ux, uy, rh in layout.rows:
        # its tokens sit at (x, cy) for x across the box; extraction keeps those within
        # 0.75 rh of the row line, so test both ends of that segment (wider, for safety)
        offs = [-(x - x0) * uy + (cy - y0) * ux for x in (min(xs), max(xs))]
        if offs[0] * offs[1] <= 0 or min(map(abs, offs)) < rh:
            return True
    limit = layout.table_top if layout.account_limit is None else min(layout.table_top, layout.account_limit)
    return cy < limit


def read_words(engine: OcrEngine, image: ImageLike) -> tuple[dict, int, int]:
    """Extracted fields, the number of boxes read and the number found.

    A staged engine reads the date-sized boxes first, then only the others that may matter
    (see the module docstring); any other engine reads everything.
    """
    if not isinstance(engine, StagedOcrEngine):
        words = engine.read(image)
        return extract(words), len(words), len(words)
    det: Detection = engine.detect(image)
    turn = engine.page_turn(det) if hasattr(engine, "page_turn") else 0
    if turn % 4 == 2 and hasattr(engine, "turned"):
        # upside down without EXIF: the same boxes, turned with the page (a second detection,
        # ≈0.6 s CPU, saved). A sideways page is detected again: boxes found on its vertical lines
        # lost a meter row of a 3-meter bill (1 of 4 sideways pages tried).
        det = engine.turned(det, turn)
    elif turn:
        det = engine.detect(np.rot90(np.asarray(image), turn))
    pending = set(range(len(det.boxes)))
    got: dict[int, Word] = {}
    todo: Sequence[int] = [i for i in sorted(pending) if DATE_MIN_ASPECT <= _aspect(det.boxes[i]) <= LONG_BOX]
    while True:
        for i, word in zip(todo, engine.recognise(det, todo)):
            if word is not None:
                got[i] = word
        pending.difference_update(todo)
        words = [got[i] for i in sorted(got)]   # the detector's reading order
        result, layout = _extract(words)
        todo = [i for i in sorted(pending) if _may_matter(det.boxes[i], layout)]
        if not todo:
            break
    _read_again(engine, det, result, layout)
    result["turned"] = 90 * (turn % 4)
    return result, len(det.boxes) - len(pending), len(det.boxes)


def _read_again(engine: StagedOcrEngine, det: Detection, result: dict, layout: Layout) -> None:
    """A second, independent read of every value: its own crop of the row (its table cell, or
    with one zone its characters' span and a margin; the row's height), recognised alone. ``meter["agree"][zone]`` says
    whether the digits read there are the same."""
    quads, keys = [], []
    for meter, (_, _, ux, uy, rh) in zip(result["meters"], layout.rows):
        meter["agree"] = {}
        for zone, (x0, x1, cy, h) in meter.pop("spans").items():
            half, length = 0.75 * max(h, rh), (x1 - x0) / 2
            cx, nx, ny = (x0 + x1) / 2, -uy, ux   # along the row (ux, uy), across it (nx, ny)
            quads.append(tuple((cx + s * length * ux + t * half * nx, cy + s * length * uy + t * half * ny)
                               for s, t in ((-1, -1), (1, -1), (1, 1), (-1, 1))))
            keys.append((meter, zone))
    if not quads:
        return
    again = engine.recognise(Detection(det.image, quads), range(len(quads)))
    for (meter, zone), word in zip(keys, again):
        first = meter["readings"][zone]
        digits = "".join(DIGITS.findall(_nfkc(word.text))) if word is not None else ""
        meter["agree"][zone] = first is not None and digits == first["value"]


def read_bill(photo: bytes) -> dict:
    """Photo bytes → extracted fields + timings. Raises PhotoRejected for unusable uploads.

    Plain and thread-safe: under eventlet call it through ``shared.blocking.offload``.
    """
    t0 = time.perf_counter()
    prepared = prepare(photo)
    t1 = time.perf_counter()
    result, read, found = read_words(get_engine(), prepared.image)
    t2 = time.perf_counter()
    result["timing"] = {"preprocess_s": round(t1 - t0, 3), "ocr_s": round(t2 - t1, 3),
                        "total_s": round(t2 - t0, 3), "boxes_read": read, "boxes_found": found}
    result["image"] = {"format": prepared.format, "size": list(prepared.original_size),
                       "sheet_found": prepared.sheet_found, "skew_deg": round(prepared.skew_deg, 2)}
    return result
