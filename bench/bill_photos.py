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
from dataclasses import asdict, dataclass
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
class BillTruth:
    account_number: str
    meter_serial: str            # digits only (the bill may print it with a space)
    zones: int
    initial: list[int]
    final: list[int]             # final reading per zone, len == zones
    hand: bool
    photo: bool


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


def render_bill(rng: random.Random, truth: BillTruth) -> Image.Image:
    W, H = 1240, 900
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
    rows = [ty, ty + 30, ty + 60, ty + 110, ty + 150]
    for yy in rows:
        d.line((xs[1] if yy == rows[1] else xs[0], yy, xs[-1], yy), fill=0, width=2)
    for i, xx in enumerate(xs):
        top = rows[0] if i in (0, 1, 5, 9) else rows[1]
        d.line((xx, top, xx, rows[-1]), fill=0, width=2)
    _center_text(d, (xs[0], rows[0] + 6, xs[1], rows[1] + 6), "Заводской", fs)
    _center_text(d, (xs[0], rows[1] - 4, xs[1], rows[2] - 4), "номер", fs)
    _center_text(d, (xs[1], rows[0], xs[5], rows[1]), "Начальные показания", fs)
    _center_text(d, (xs[5], rows[0], xs[9], rows[1]), "Конечные показания", fs)
    for base in (1, 5):
        _center_text(d, (xs[base], rows[1], xs[base + 1], rows[2]), "тип/дата", fs)
        for k in range(3):
            _center_text(d, (xs[base + 1 + k], rows[1], xs[base + 2 + k], rows[2]), f"{k + 1}-эт", fs)
    r0, r1 = rows[2], rows[3]
    serial = truth.meter_serial
    if len(serial) > 10:
        serial = serial[:9] + " " + serial[9:]
    _center_text(d, (xs[0], r0, xs[1], r1), serial, fs)
    m2 = month + 1
    d1 = f"КО на 01.{m2:02d}.{year % 100:02d}"
    d2 = f"КО на 01.{m2 % 12 + 1:02d}.{(year + (m2 == 12)) % 100:02d}"
    _center_text(d, (xs[1], r0, xs[2], r1), d1, fs)
    _center_text(d, (xs[5], r0, xs[6], r1), d2, fs)
    for k in range(3):
        _center_text(d, (xs[2 + k], r0, xs[3 + k], r1),
                     str(truth.initial[k]) if k < truth.zones else "-", f)
        cell = (xs[6 + k], r0, xs[7 + k], r1)
        if k >= truth.zones:
            _center_text(d, cell, "-", f)
        elif not truth.hand:
            _center_text(d, cell, str(truth.final[k]), f)
        else:
            hw = _hand_digits(rng, str(truth.final[k]), r1 - r0)
            if hw.width > cell[2] - cell[0] - 4:
                hw = hw.resize((cell[2] - cell[0] - 4, hw.height))
            px = cell[0] + (cell[2] - cell[0] - hw.width) // 2 + rng.randint(-6, 6)
            py = r0 + (r1 - r0 - hw.height) // 2 + rng.randint(-4, 4)
            img.paste(hw, (px, py), hw)
    for i in range(9):
        _center_text(d, (xs[i], rows[3], xs[i + 1], rows[4]), "-", f)
    d.text((60, rows[4] + 30), f"Идентификатор ЖКУ в ГИС ЖКХ:{rng.randint(10, 99)}BB144120-11", font=fs, fill=0)
    return img


def _perspective_coeffs(src, dst):
    a = []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    b = np.array(src, dtype=float).reshape(8)
    return np.linalg.solve(np.array(a, dtype=float), b).tolist()


def photo_look(rng: random.Random, img: Image.Image) -> Image.Image:
    """A phone photo of the sheet lying on a table."""
    W, H = img.size
    pad = 110
    bg_col = np.array(rng.choice([(120, 100, 80), (170, 160, 150), (90, 90, 100), (200, 190, 170)]), float)
    canvas_w, canvas_h = W + 2 * pad, H + 2 * pad
    bg = np.ones((canvas_h, canvas_w, 3)) * bg_col
    bg += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 6, bg.shape)
    canvas = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
    canvas.paste(img, (pad, pad))
    # perspective: move corners of the sheet
    j = 0.04
    src = [(pad, pad), (pad + W, pad), (pad + W, pad + H), (pad, pad + H)]
    dst = [(x + rng.uniform(-j, j) * W, y + rng.uniform(-j, j) * H) for x, y in src]
    coeffs = _perspective_coeffs(src, dst)
    canvas = canvas.transform(canvas.size, Image.PERSPECTIVE, coeffs, Image.BICUBIC,
                              fillcolor=tuple(int(c) for c in bg_col))
    canvas = canvas.rotate(rng.uniform(-7, 7), resample=Image.BICUBIC, expand=False,
                           fillcolor=tuple(int(c) for c in bg_col))
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


def make_truth(rng: random.Random, hand: bool, photo: bool) -> BillTruth:
    zones = rng.choice([1, 1, 2, 2, 3])
    initial = [rng.randint(0, 99999) if rng.random() < 0.3 else rng.randint(100, 9999) for _ in range(3)]
    final = [v + rng.randint(1, 900) for v in initial[:zones]]
    acct = str(rng.randint(10 ** 8, 10 ** 9 - 1)) if rng.random() < 0.7 else str(rng.randint(10 ** 9, 10 ** 10 - 1))
    serial = str(rng.randint(10 ** 7, 10 ** 9 - 1)) if rng.random() < 0.5 else \
        str(rng.randint(10 ** 8, 10 ** 9 - 1)) + f"{rng.randint(0, 9999):04d}"
    return BillTruth(acct, serial, zones, initial, final, hand, photo)


def generate(category: str, seed: int) -> tuple[bytes, BillTruth]:
    """One JPEG photo of the given category; same (category, seed) → same bytes."""
    rng = random.Random(f"{category}:{seed}")
    hand = category.startswith("hand")
    photo = category.endswith("photo")
    truth = make_truth(rng, hand, photo)
    img = render_bill(rng, truth)
    if photo:
        img = photo_look(rng, img)
        q = rng.randint(40, 85)
    else:
        q = 90
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q)
    return buf.getvalue(), truth


def write_set(out_dir: Path, n: int, seed: int = 0, categories=CATEGORIES) -> list[dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    index = []
    for cat in categories:
        for i in range(n):
            data, truth = generate(cat, seed * 100000 + i)
            name = f"{cat}-{seed}-{i:03d}.jpg"
            (out_dir / name).write_bytes(data)
            index.append({"file": name, "category": cat, **asdict(truth)})
    (out_dir / "expected.json").write_text(json.dumps(index, ensure_ascii=False, indent=1))
    return index


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir", type=Path)
    p.add_argument("--n", type=int, default=4, help="photos per category")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    write_set(a.out_dir, a.n, a.seed)


if __name__ == "__main__":
    main()
