"""Generator of realistic photos of a filled-in electricity bill ("Счет на оплату").

The layout follows the sample bill in the user manual (header, "Лицевой счет: NNN", the meter
table "Заводской номер | Начальные показания тип/дата 1-эт 2-эт 3-эт | Конечные показания ...").
Random account numbers, meter serials, readings and 1–3 zones; final readings either printed
or "hand-written" (other fonts, blue ink, per-digit size/rotation/offset jitter); optionally
phone-photo distortions (rotation ±7°, perspective, uneven light, blur, noise, JPEG q40–85).

Deterministic by seed. Use it from the bench (writes to a temp dir) or:

    python -m bench.bill_photos OUT_DIR --n 4 --seed 1
"""
from __future__ import annotations

import argparse
import io
import json
import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
PRINT_FONT = FONT_DIR / "DejaVuSans.ttf"
PRINT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
PRINT_COND = FONT_DIR / "DejaVuSansCondensed.ttf"
# "Handwriting": only DejaVu is installed here, so oblique/italic/light faces with jitter.
HAND_FONTS = [
    FONT_DIR / "DejaVuSans-Oblique.ttf",
    FONT_DIR / "DejaVuSerif-Italic.ttf",
    FONT_DIR / "DejaVuSansCondensed-Oblique.ttf",
    FONT_DIR / "DejaVuSerifCondensed-Italic.ttf",
    FONT_DIR / "DejaVuSansMono-Oblique.ttf",
    FONT_DIR / "DejaVuSans-ExtraLight.ttf",
]
CATEGORIES = ("printed_clean", "printed_photo", "hand_clean", "hand_photo")
MONTHS = ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
          "сентябрь", "октябрь", "ноябрь", "декабрь"]
NAMES = ["Петров Иван Сергеевич", "Сидорова Анна Павловна", "Кузнецов Олег Игоревич",
         "Смирнова Мария Олеговна", "Волков Андрей Николаевич"]
STREETS = ["ул. Ореховая", "ул. Ленина", "ул. Садовая", "пер. Южный", "ул. Мира"]


@dataclass
class MeterTruth:
    serial: str                  # digits only (the bill may print it with spaces)
    zones: int
    initial: list[int]           # per zone, len == zones
    final: list[int]


@dataclass
class BillTruth:
    account_number: str
    meters: list[MeterTruth]
    hand: bool
    photo: bool
    # the first meter again, flat (tests/data/bills/expected.json and older readers)
    meter_serial: str = ""
    zones: int = 0
    initial: list[int] = field(default_factory=list)
    final: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        m = self.meters[0]
        self.meter_serial, self.zones, self.initial, self.final = m.serial, m.zones, m.initial, m.final


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def _center_text(d: ImageDraw.ImageDraw, box, text, font, fill=(0, 0, 0)):
    x0, y0, x1, y1 = box
    l, t, r, b = d.textbbox((0, 0), text, font=font)
    d.text(((x0 + x1 - (r - l)) / 2 - l, (y0 + y1 - (b - t)) / 2 - t), text, font=font, fill=fill)


def _hand_digits(rng: random.Random, text: str, height: int) -> Image.Image:
    """Digits as a customer writes them: one font per writer, each digit jittered."""
    font_path = rng.choice(HAND_FONTS)
    base = rng.randint(int(height * 0.55), int(height * 0.8))
    ink = rng.choice([(20, 40, 150), (25, 25, 60), (10, 60, 170), (40, 40, 40)])
    slant = rng.uniform(-6, 14)
    tiles = []
    for ch in text:
        f = _font(font_path, max(10, int(base * rng.uniform(0.88, 1.12))))
        l, t, r, b = f.getbbox(ch)
        w, h = r - l + 12, b - t + 12
        tile = Image.new("L", (w, h), 0)
        ImageDraw.Draw(tile).text((6 - l, 6 - t), ch, font=f, fill=255,
                                  stroke_width=rng.choice([0, 0, 1]), stroke_fill=255)
        tile = tile.rotate(-(slant + rng.uniform(-8, 8)), resample=Image.BICUBIC, expand=True)
        tiles.append(tile)
    gap = [rng.randint(-2, int(base * 0.25)) for _ in tiles]
    width = sum(t.width for t in tiles) + sum(gap) + 10
    out = Image.new("L", (max(width, 10), height + 20), 0)
    x = 5
    for tile, g in zip(tiles, gap):
        y = (out.height - tile.height) // 2 + rng.randint(-int(height * 0.08), int(height * 0.08))
        out.paste(tile, (x, max(0, y)), tile)
        x += tile.width + g
    rgba = Image.new("RGBA", out.size, ink + (0,))
    rgba.putalpha(out.point(lambda v: int(v * 0.92)))
    return rgba


def _paste_hand(rng: random.Random, img: Image.Image, cell: tuple[int, int, int, int], text: str) -> None:
    """Hand-written digits in a table cell, a little off centre."""
    x0, y0, x1, y1 = cell
    hw = _hand_digits(rng, text, y1 - y0)
    if hw.width > x1 - x0 - 4:
        hw = hw.resize((x1 - x0 - 4, hw.height))
    px = x0 + (x1 - x0 - hw.width) // 2 + rng.randint(-6, 6)
    py = y0 + (y1 - y0 - hw.height) // 2 + rng.randint(-4, 4)
    img.paste(hw, (px, py), hw)


def render_bill(rng: random.Random, truth: BillTruth) -> Image.Image:
    W, H = 1240, 900 + 50 * (len(truth.meters) - 1)
    img = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(img)
    f = _font(PRINT_FONT, 17)
    fb = _font(PRINT_BOLD, 17)
    fs = _font(PRINT_COND, 15)
    ft = _font(PRINT_BOLD, 24)
    month = rng.randrange(12)
    year = rng.randint(2018, 2025)
    _center_text(d, (0, 20, W, 50), "Счет на оплату", ft)
    _center_text(d, (0, 52, W, 74), "услуги по энергоснабжению", f)
    _center_text(d, (0, 76, W, 98), f"за {MONTHS[month]} {year} года", f)
    _center_text(d, (0, 100, W, 122), f"Оплатить до: 10.{(month + 1) % 12 + 1:02d}.{year}", fb)
    y = 140
    x = 60
    d.text((x, y), "Получатель платежа:", font=f, fill=0)
    x += d.textlength("Получатель платежа: ", font=f)
    d.text((x, y), "НЭСК", font=fb, fill=0)
    x += d.textlength("НЭСК", font=fb) + rng.randint(30, 90)
    d.text((x, y), "Лицевой счет:", font=f, fill=0)
    x += d.textlength("Лицевой счет: ", font=f)
    d.text((x, y), truth.account_number, font=fb, fill=0)
    lines = [
        'филиал АО "НЭСК" "Мостэнергосбыт" ИНН: 2308091759, Р/счет: 40702810',
        "N 3019, БИК: 040149002, К/счет: 30101810100000000002",
        'Гарантирующий поставщик: АО "НЭСК" филиал "Автэнергосбыт"',
        "Адрес: 352570 г. Мостовской, ул.Аэродромная, д.1",
        "Режим работы: Пн-Чт с 8:00 до 17:00 (Пт 15:30)",
        "Сайт: www.nesk.ru E-Mail: moi-energobyt@nesk.ru  Телефон: 5-90-25",
    ]
    y += 30
    for line in lines:
        d.text((60, y), line, font=fs, fill=0)
        y += 24
    y += 10
    d.text((60, y), "Потребитель:", font=f, fill=0)
    d.text((60, y + 24), rng.choice(NAMES), font=fb, fill=0)
    d.text((60, y + 54), "Адрес установки прибора учета:", font=f, fill=0)
    d.text((60, y + 78), f"х. Садовый, {rng.choice(STREETS)} д.№{rng.randint(1, 120)} кв.{rng.randint(1, 90)}",
           font=fb, fill=0)
    d.rectangle((1000, y - 10, 1160, y + 150), outline=0, width=2)
    _center_text(d, (1000, y - 10, 1160, y + 150), "QR-код", fs)

    # meter table
    ty = y + 180
    cols = [170, 170, 95, 95, 95, 170, 95, 95, 95]
    x0 = (W - sum(cols)) // 2
    xs = [x0]
    for c in cols:
        xs.append(xs[-1] + c)
    rows = [ty, ty + 30, ty + 60]
    for yy in rows:
        d.line((xs[1] if yy == rows[1] else xs[0], yy, xs[-1], yy), fill=0, width=2)
    for i, xx in enumerate(xs):
        top = rows[0] if i in (0, 1, 5, 9) else rows[1]
        d.line((xx, top, xx, rows[2]), fill=0, width=2)
    _center_text(d, (xs[0], rows[0] + 6, xs[1], rows[1] + 6), "Заводской", fs)
    _center_text(d, (xs[0], rows[1] - 4, xs[1], rows[2] - 4), "номер", fs)
    _center_text(d, (xs[1], rows[0], xs[5], rows[1]), "Начальные показания", fs)
    _center_text(d, (xs[5], rows[0], xs[9], rows[1]), "Конечные показания", fs)
    for base in (1, 5):
        _center_text(d, (xs[base], rows[1], xs[base + 1], rows[2]), "тип/дата", fs)
        for k in range(3):
            _center_text(d, (xs[base + 1 + k], rows[1], xs[base + 2 + k], rows[2]), f"{k + 1}-эт", fs)
    rows = rows[:3] + [rows[2] + 50 * (i + 1) for i in range(len(truth.meters) + 1)]
    for yy in rows[3:]:
        d.line((xs[0], yy, xs[-1], yy), fill=0, width=2)
    for xx in xs:
        d.line((xx, rows[2], xx, rows[-1]), fill=0, width=2)
    m2 = month + 1
    d1 = f"КО на 01.{m2:02d}.{year % 100:02d}"
    d2 = f"КО на 01.{m2 % 12 + 1:02d}.{(year + (m2 == 12)) % 100:02d}"
    for meter, r0, r1 in zip(truth.meters, rows[2:], rows[3:]):
        serial = meter.serial
        if len(serial) > 10:
            serial = serial[:9] + " " + serial[9:]
        _center_text(d, (xs[0], r0, xs[1], r1), serial, fs)
        _center_text(d, (xs[1], r0, xs[2], r1), d1, fs)
        _center_text(d, (xs[5], r0, xs[6], r1), d2, fs)
        for k in range(3):
            _center_text(d, (xs[2 + k], r0, xs[3 + k], r1),
                         str(meter.initial[k]) if k < meter.zones else "-", f)
            cell = (xs[6 + k], r0, xs[7 + k], r1)
            if k >= meter.zones:
                _center_text(d, cell, "-", f)
            elif not truth.hand:
                _center_text(d, cell, str(meter.final[k]), f)
            else:
                _paste_hand(rng, img, cell, str(meter.final[k]))
    for i in range(9):
        _center_text(d, (xs[i], rows[-2], xs[i + 1], rows[-1]), "-", f)
    d.text((60, rows[-1] + 30), f"Идентификатор ЖКУ в ГИС ЖКХ:{rng.randint(10, 99)}BB144120-11", font=fs, fill=0)
    return img


def _perspective_coeffs(src, dst):
    a = []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    b = np.array(src, dtype=float).reshape(8)
    return np.linalg.solve(np.array(a, dtype=float), b).tolist()


def photo_look(rng: random.Random, img: Image.Image, tilt: float = 7.0, jitter: float = 0.04,
               pad: int = 110) -> Image.Image:
    """A phone photo of the sheet lying on a table: tilt (degrees) and perspective ``jitter``."""
    W, H = img.size
    bg_col = np.array(rng.choice([(120, 100, 80), (170, 160, 150), (90, 90, 100), (200, 190, 170)]), float)
    canvas_w, canvas_h = W + 2 * pad, H + 2 * pad
    bg = np.ones((canvas_h, canvas_w, 3)) * bg_col
    bg += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 6, bg.shape)
    canvas = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
    canvas.paste(img, (pad, pad))
    # perspective: move corners of the sheet
    src = [(pad, pad), (pad + W, pad), (pad + W, pad + H), (pad, pad + H)]
    dst = [(x + rng.uniform(-jitter, jitter) * W, y + rng.uniform(-jitter, jitter) * H) for x, y in src]
    coeffs = _perspective_coeffs(src, dst)
    canvas = canvas.transform(canvas.size, Image.PERSPECTIVE, coeffs, Image.BICUBIC,
                              fillcolor=tuple(int(c) for c in bg_col))
    angle = rng.uniform(-tilt, tilt) if tilt <= 7 else rng.choice([-1, 1]) * rng.uniform(tilt - 4, tilt)
    canvas = canvas.rotate(angle, resample=Image.BICUBIC, expand=angle > 7,
                           fillcolor=tuple(int(c) for c in bg_col))
    canvas_w, canvas_h = canvas.size
    # uneven light: a linear gradient plus a soft shadow blob
    a = np.asarray(canvas).astype(np.float32)
    yy, xx = np.mgrid[0:canvas_h, 0:canvas_w].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    g = (xx * math.cos(ang) + yy * math.sin(ang))
    g = (g - g.min()) / (g.max() - g.min())
    light = 1.0 - rng.uniform(0.15, 0.4) * g
    cx, cy, r = rng.uniform(0, canvas_w), rng.uniform(0, canvas_h), rng.uniform(200, 600)
    light *= 1.0 - rng.uniform(0.0, 0.25) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    warm = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 0.98)], np.float32)
    a = a * light[..., None] * warm
    a += np.random.default_rng(rng.randrange(1 << 30)).normal(0, rng.uniform(2, 7), a.shape)
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.3)))
    scale = rng.uniform(1.0, 1.35)   # phones shoot more pixels than the bill needs
    return out.resize((int(out.width * scale), int(out.height * scale)), Image.BICUBIC)


def _shadow(rng: random.Random, img: Image.Image) -> Image.Image:
    """A hard-edged shadow (a hand, the phone) across a third to half of the page."""
    a = np.asarray(img).astype(np.float32)
    h, w = a.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    d = xx * math.cos(ang) + yy * math.sin(ang)
    cut = np.percentile(d, rng.uniform(50, 70))
    edge = 1 / (1 + np.exp(np.clip(-(d - cut) / rng.uniform(4, 25), -50, 50)))   # soft or sharp
    dark = 1.0 - rng.uniform(0.45, 0.65) * edge
    return Image.fromarray(np.clip(a * dark[..., None], 0, 255).astype(np.uint8))


def _glare(rng: random.Random, img: Image.Image) -> Image.Image:
    """A lamp's reflection: a bright, partly washed-out spot somewhere on the page."""
    a = np.asarray(img).astype(np.float32)
    h, w = a.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    rx, ry = rng.uniform(0.06, 0.15) * w, rng.uniform(0.05, 0.12) * h
    spot = np.exp(-(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2))
    a = a + spot[..., None] * rng.uniform(120, 200)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _crop(rng: random.Random, img: Image.Image) -> Image.Image:
    """The photo taken too close: the page's margins cut off, no background left."""
    w, h = img.size
    box = (int(w * rng.uniform(0.03, 0.045)), int(h * rng.uniform(0.05, 0.14)),
           int(w * (1 - rng.uniform(0.03, 0.045))), int(h * (1 - rng.uniform(0.05, 0.1))))
    return img.crop(box)


# How a customer's photo goes wrong. Each is applied to a rendered page (the sheet, upright).
DEGRADATIONS = ("scan", "photo", "rot90", "rot180", "rot270", "exif", "skew15", "perspective",
                "shadow", "glare", "small800", "jpeg_heavy", "crop")
CATEGORIES = ("printed", "hand", "pdf", "multi")
SHORT_DEGRADATIONS = ("photo", "rot90", "rot180", "exif", "skew15", "shadow", "small800", "crop")
_EXIF_ORIENTATION = {90: 6, 180: 3, 270: 8}   # pixels turned by N° counter-clockwise → tag


def degrade(rng: random.Random, page: Image.Image, how: str) -> tuple[bytes, dict]:
    """JPEG bytes of ``page`` photographed the way ``how`` names, and what was done."""
    quality = rng.randint(55, 85)
    exif = None
    info: dict = {}
    if how == "scan":
        img, quality = page, 90
    elif how == "skew15":
        img = photo_look(rng, page, tilt=15)
    elif how == "perspective":
        img = photo_look(rng, page, jitter=0.09, pad=200)
    elif how == "crop":
        img = photo_look(rng, _crop(rng, page), tilt=2, jitter=0.0, pad=0)
    else:
        img = photo_look(rng, page)
    if how == "shadow":
        img = _shadow(rng, img)
    elif how == "glare":
        img = _glare(rng, img)
    elif how == "small800":
        img = img.resize((800, round(img.height * 800 / img.width)), Image.LANCZOS)
    elif how == "jpeg_heavy":
        quality = rng.randint(12, 22)
    elif how in ("rot90", "rot180", "rot270", "exif"):
        turn = int(how[3:]) if how != "exif" else rng.choice([90, 180, 270])
        img = img.rotate(turn, expand=True)
        info["turned"] = turn
        if how == "exif":
            exif = Image.Exif()
            exif[0x0112] = _EXIF_ORIENTATION[turn]
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, **({"exif": exif} if exif is not None else {}))
    info["quality"] = quality
    return buf.getvalue(), info


def make_truth(rng: random.Random, hand: bool, photo: bool, meters: int = 1) -> BillTruth:
    out = []
    for _ in range(meters):
        zones = rng.choice([1, 1, 2, 2, 3])
        initial = [rng.randint(0, 99999) if rng.random() < 0.3 else rng.randint(100, 9999) for _ in range(3)]
        final = [v + rng.randint(1, 900) for v in initial[:zones]]
        serial = str(rng.randint(10 ** 7, 10 ** 9 - 1)) if rng.random() < 0.5 else \
            str(rng.randint(10 ** 8, 10 ** 9 - 1)) + f"{rng.randint(0, 9999):04d}"
        out.append(MeterTruth(serial, zones, initial, final))
    acct = str(rng.randint(10 ** 8, 10 ** 9 - 1)) if rng.random() < 0.7 else str(rng.randint(10 ** 9, 10 ** 10 - 1))
    return BillTruth(acct, out, hand, photo)


def render_pdf_bill(rng: random.Random, hand: bool) -> tuple[Image.Image, BillTruth]:
    """The project's own PDF bill (services.documents), rendered at 150 dpi; with ``hand`` the
    final readings are whited out and written in by hand, as a customer fills a blank."""
    import pypdfium2 as pdfium

    from bench.bills_pdf import random_bill
    from services.documents.domain import bill_pdf

    bill = random_bill(rng)
    page = pdfium.PdfDocument(bill_pdf.render(bill))[0]
    scale = 150 / 72
    img = page.render(scale=scale).to_pil().convert("RGB")
    meters = [MeterTruth(m.serial.replace(" ", ""), m.zones, list(m.initial.values), list(m.final.values))
              for m in bill.meters]
    if hand:
        text = page.get_textpage()
        mm = 72 / 25.4 * scale
        d = ImageDraw.Draw(img)
        zone_w = (bill_pdf.PAGE_W - 2 * bill_pdf.MARGIN - 36 - 56) / 6
        for m in bill.meters:
            found = text.search(m.serial).get_next()
            assert found, m.serial
            _, bottom, _, top = text.get_charbox(found[0])
            y0 = (page.get_height() - top) * scale - 0.25 * mm
            y1 = y0 + 5.4 * mm
            for k, value in enumerate(m.final.values):
                x0 = (bill_pdf.MARGIN + 36 + 28 + 3 * zone_w + 28 + k * zone_w) * mm
                cell = (int(x0 + 3), int(y0), int(x0 + zone_w * mm - 3), int(y1))
                d.rectangle(cell, fill=(255, 255, 255))
                _paste_hand(rng, img, (cell[0] - 3, cell[1] - 3, cell[2] + 3, cell[3] + 3), str(value))
    return img, BillTruth(bill.account_number, meters, hand, True)


def render_page(category: str, rng: random.Random) -> tuple[Image.Image, BillTruth]:
    """An upright page of the category: printed, hand (hand-written finals), pdf (the
    project's own bill, half of them hand-filled), multi (2–3 meters)."""
    if category == "pdf":
        return render_pdf_bill(rng, hand=rng.random() < 0.5)
    hand = category == "hand" or (category == "multi" and rng.random() < 0.5)
    truth = make_truth(rng, hand, True, meters=rng.choice([2, 3]) if category == "multi" else 1)
    return render_bill(rng, truth), truth


def generate(category: str, degradation: str, seed: int) -> tuple[bytes, BillTruth, dict]:
    """One JPEG photo; same (category, degradation, seed) → same bytes."""
    rng = random.Random(f"{category}:{seed}")
    page, truth = render_page(category, rng)
    data, info = degrade(random.Random(f"{category}:{degradation}:{seed}"), page, degradation)
    return data, truth, info


def write_set(out_dir: Path, n: int, seed: int = 0, categories=CATEGORIES,
              degradations=DEGRADATIONS) -> list[dict]:
    """n photos per (category, degradation); the index is also written to expected.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    index = []
    for cat in categories:
        for how in degradations:
            for i in range(n):
                data, truth, info = generate(cat, how, seed * 100000 + i)
                name = f"{cat}-{how}-{seed}-{i:03d}.jpg"
                (out_dir / name).write_bytes(data)
                index.append({"file": name, "category": cat, "degradation": how, **info, **asdict(truth)})
    (out_dir / "expected.json").write_text(json.dumps(index, ensure_ascii=False, indent=1))
    return index


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir", type=Path)
    p.add_argument("--n", type=int, default=2, help="photos per category and degradation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--short", action="store_true", help="fewer degradations (SHORT_DEGRADATIONS)")
    a = p.parse_args()
    write_set(a.out_dir, a.n, a.seed, degradations=SHORT_DEGRADATIONS if a.short else DEGRADATIONS)


if __name__ == "__main__":
    main()
