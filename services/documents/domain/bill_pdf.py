"""A bill as a one-page A4 PDF, laid out after the sample bill of the user manual.

Above the tear-off line («линия разреза») is the part the sample bill shows: the title with the
period, «Оплатить до» and the sum to pay; the payee and its bank details; the supplier's branch
with its address, hours, site, e-mail and phone; the consumer and the meter's address; the
payment QR code (ГОСТ Р 56042-2014); the meter table (serial, initial and final readings per
zone with their type and date); the GIS ЖКХ identifier. Below the line, the part the customer
keeps: consumption, tariff and amount per zone, the debt at the start, penalties, the total
and the due date.

The text is set in PT Sans (ParaType's face made for Russian) from the ``fontpkg-pt-sans``
wheel and embedded as a subset, so the PDF reads the same everywhere. The output depends only
on the bill and the versions of this module, fpdf2, segno, fontTools and the font:
:func:`content_hash` names that, so the service can cache a render under it.

Rendering is CPU-bound, about 18 ms on this project's machines (a third segno encoding the QR
code, a third fpdf2 laying out the cells, the rest writing the PDF), because the costly parts
are done once per process or not at all: the fonts are read and prepared for subsetting once
(:class:`_Face`), the QR code's mask is fixed (:data:`QR_MASK`) and its modules are drawn as
a vector path. Under eventlet, call :func:`render` through ``eventlet.tpool``.
``bench/bills_pdf.py`` measures it.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import json
import logging
import re
import struct
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib.metadata import version
from itertools import accumulate
from pathlib import Path
from typing import Any, Iterable

import fontpkg
import fpdf
import segno
from fontTools import subset as ftsubset
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.output import (
    CIDSystemInfo, OutputProducer, PDFFont, PDFFontStream, _build_cmap_blocks, _tt_font_widths)
from fpdf.syntax import Name, PDFArray, PDFContentStream

from services.documents.domain.bill import MONTHS, ZONE_LABELS, Bill, BillError, MeterRow
from services.documents.domain.payment_qr import payload_for_bill

LAYOUT_VERSION = "3"  # bump when what render writes changes: cached PDFs are then rendered anew

FONT_FAMILY = "PT Sans"
STYLES = ("", "B")    # regular and bold, as fpdf2 names them: the bill's only faces
MOSCOW = timezone(timedelta(hours=3))
PAGE_W, PAGE_H, MARGIN = 210.0, 297.0, 10.0
QR_SIZE = 46.0        # mm with the quiet zone: ≥ 0.43 mm per module up to version 20
LEFT_W = 138.0        # text column beside the QR code
DASH = "-"            # what the sample bill prints in an empty cell
# The tables fpdf2 2.8.9 drops when it subsets a font (fpdf/output.py, _add_fonts).
DROPPED_TABLES = ("FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "sbix", "CBDT",
                  "CBLC", "EBDT", "EBLC", "EBSC", "SVG ", "CPAL", "COLR")

LOGGER = logging.getLogger(__name__)


@cache
def _font_paths() -> tuple[Path, Path]:
    """Regular and bold PT Sans from the installed font package."""
    return fontpkg.path(FONT_FAMILY, weight=400), fontpkg.path(FONT_FAMILY, weight=700)


def _checksum(data: bytes) -> int:
    """The sfnt checksum: the sum of big-endian 32-bit words, zero-padded, modulo 2³²."""
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


class _Face:
    """One PT Sans face, read once per process: fpdf2's metrics to lay text out with, and
    the font program cut into glyphs, so that embedding a document's subset is joining bytes.

    fpdf2 would parse the file for every document (≈ 3 ms a face) and run fontTools'
    subsetter at output (≈ 8 ms a face). Here the subsetter runs once, over every glyph, with
    fpdf2's options (the same tables dropped, hinting kept) and the glyph IDs kept; a
    document's subset is that font with the glyphs it does not use left empty, as fontTools'
    ``retain_gids`` makes it, and the PDF's CIDToGIDMap points into it.
    """

    def __init__(self, path: Path, style: str) -> None:
        self.template = TTFFont(FPDF(), path, FONT_FAMILY.lower() + style, style)
        self.template.ttfont.close()  # documents copy the metrics; the file is not read again

        font = TTFont(path, recalcTimestamp=False)
        font.recalcBBoxes = False  # subsetting leaves every outline as it is
        options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True,
                                   retain_gids=True)
        options.drop_tables += DROPPED_TABLES
        order = font.getGlyphOrder()
        subsetter = ftsubset.Subsetter(options)
        subsetter.populate(glyphs=order)
        subsetter.subset(font)
        self.gid = {name: gid for gid, name in enumerate(order)}
        self.closure = tuple(self._drawn(font["glyf"], name) for name in order)
        buffer = io.BytesIO()
        font.save(buffer)
        data = buffer.getvalue()

        self.version, count = struct.unpack_from(">IH", data)
        tables = {}
        for index in range(count):
            tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * index)
            tables[tag] = data[offset:offset + length]
        head = bytearray(tables[b"head"])
        struct.pack_into(">I", head, 8, 0)  # checksumAdjustment: 0 while the sums are taken
        tables[b"head"] = bytes(head)
        self.long_loca = struct.unpack_from(">h", head, 50)[0] == 1
        loca, glyf = tables.pop(b"loca"), tables.pop(b"glyf")
        if self.long_loca:
            offsets = struct.unpack(f">{len(order) + 1}I", loca)
        else:
            offsets = tuple(2 * o for o in struct.unpack(f">{len(order) + 1}H", loca))
        self.glyphs = tuple(glyf[offsets[g]:offsets[g + 1]] for g in range(len(order)))
        # Each glyph's horizontal metrics (advance and side bearing; past numberOfHMetrics the
        # side bearing alone). A document zeroes those of the glyphs it does not draw: the
        # PDF gives the widths itself, and zeros compress away.
        hmtx, longs = tables.pop(b"hmtx"), struct.unpack_from(">H", tables[b"hhea"], 34)[0]
        self.metrics = tuple(hmtx[4 * g:4 * g + 4] if g < longs else
                             hmtx[2 * longs + 2 * g:2 * longs + 2 * g + 2]
                             for g in range(len(order)))
        self.tables = {tag: (table, _checksum(table)) for tag, table in tables.items()}

    def _drawn(self, glyf: Any, name: str) -> frozenset[int]:
        """The glyph's ID and, for a composite, those of every glyph it is made of."""
        found = {self.gid[name]}
        glyph = glyf[name]
        if glyph.isComposite():
            for component in glyph.components:
                found |= self._drawn(glyf, component.glyphName)
        return frozenset(found)

    def add_to(self, pdf: FPDF) -> None:
        """What ``add_font`` does, without reading the file: the metrics are shared (no
        document changes them), the subset and its bookkeeping are the document's own."""
        font = copy.copy(self.template)
        font.i = len(pdf.fonts) + 1
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.subset = SubsetMap(font)
        pdf.fonts[font.fontkey] = font

    def program(self, gids: Iterable[int]) -> bytes:
        """The TrueType font program with only these glyphs (and their parts) drawn."""
        keep = {0}  # .notdef: what a viewer draws for a code it cannot map
        for gid in gids:
            keep |= self.closure[gid]
        drawn = [gid in keep for gid in range(len(self.glyphs))]
        glyf = b"".join(glyph for glyph, used in zip(self.glyphs, drawn) if used)
        metrics = b"".join(m if used else bytes(len(m)) for m, used in zip(self.metrics, drawn))
        offsets = list(accumulate((len(glyph) if used else 0
                                   for glyph, used in zip(self.glyphs, drawn)), initial=0))
        if self.long_loca:
            loca = struct.pack(f">{len(offsets)}I", *offsets)
        else:
            loca = struct.pack(f">{len(offsets)}H", *(o // 2 for o in offsets))
        tables = dict(self.tables)
        for tag, table in ((b"glyf", glyf), (b"loca", loca), (b"hmtx", metrics)):
            tables[tag] = (table, _checksum(table))

        count = len(tables)
        power = 1 << (count.bit_length() - 1)
        directory = [struct.pack(">IHHHH", self.version, count, 16 * power,
                                 power.bit_length() - 1, 16 * (count - power))]
        body, offset, total, head_at = [], 12 + 16 * count, 0, 0
        for tag in sorted(tables):
            table, checksum = tables[tag]
            directory.append(struct.pack(">4sIII", tag, checksum, offset, len(table)))
            head_at = offset if tag == b"head" else head_at
            body.append(table + b"\0" * (-len(table) % 4))
            offset += len(body[-1])
            total += checksum
        font = bytearray(b"".join(directory + body))
        total += _checksum(bytes(font[:12 + 16 * count]))  # the whole file's sum, by parts
        struct.pack_into(">I", font, head_at + 8, (0xB1B0AFBA - total) & 0xFFFFFFFF)
        return bytes(font)


@cache
def _face(style: str) -> _Face:
    regular, bold = _font_paths()
    return _Face(bold if style == "B" else regular, style)


class _FontStream(PDFFontStream):
    # The font programs are most of a bill's bytes and of its deflate time: level 1 deflates
    # them 2.5 times as fast as fpdf2's default (6) for 4 % more bytes (≈ 2.5 KiB a bill).
    _COMPRESSION_LEVEL = 1


class _Output(OutputProducer):
    """fpdf2's output with the fonts' subsets from :meth:`_Face.program` instead of
    fontTools' subsetter: the objects fpdf2 2.8.9 writes for a TrueType font, in its order."""

    def _add_fonts(self, *_: object) -> dict[int, PDFFont]:
        objects: dict[int, PDFFont] = {}
        for font in sorted(self.fpdf.fonts.values(), key=lambda font: font.i):
            assert isinstance(font, TTFFont), "the bill sets only its own faces"
            face = _face(font.emphasis.style)
            name = f"MPDFAA+{font.name}"
            if font.missing_glyphs:
                LOGGER.warning("Font %s is missing the following glyphs: %s", name,
                               ", ".join(repr(chr(c)) for c in font.missing_glyphs[:10]))
            composite = PDFFont(subtype="Type0", base_font=name, encoding="Identity-H")
            self._add_pdf_obj(composite, "fonts")
            objects[font.i] = composite
            cid_font = PDFFont(subtype="CIDFontType2", base_font=name,
                               d_w=font.desc.missing_width, w=_tt_font_widths(font))
            self._add_pdf_obj(cid_font, "fonts")
            composite.descendant_fonts = PDFArray([cid_font])

            to_glyph, to_text = {}, []
            for glyph, code in font.subset.items():
                if glyph is None:
                    continue
                to_glyph[code] = face.gid[glyph.glyph_name]
                if isinstance(glyph.unicode, tuple) and glyph.unicode:
                    text = "".join(map(chr, glyph.unicode)).encode("utf-16-be").hex().upper()
                    to_text.append(f"<{code:04X}> <{text}>\n")
            composite.to_unicode = PDFContentStream((
                "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
                "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                f"{_build_cmap_blocks(to_text, 'bfchar')}"
                "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
            ).encode("latin-1"))
            self._add_pdf_obj(composite.to_unicode, "fonts")

            cid_font.c_i_d_system_info = CIDSystemInfo()
            self._add_pdf_obj(cid_font.c_i_d_system_info, "fonts")
            cid_font.font_descriptor = copy.copy(font.desc)  # the face's own takes no ids
            cid_font.font_descriptor.font_name = Name(name)
            self._add_pdf_obj(cid_font.font_descriptor, "fonts")
            # Up to the highest code used, not fpdf2's 65 536 entries: ISO 32000-1 §9.7.4.2
            # only says where a code's entry is, and deflating 128 KiB of zeros twice a bill
            # cost as much as the rest of the fonts' objects.
            cid_to_gid = bytearray(2 * (max(to_glyph) + 1))
            for code, gid in to_glyph.items():
                struct.pack_into(">H", cid_to_gid, 2 * code, gid)
            cid_font.c_i_d_to_g_i_d_map = PDFContentStream(contents=cid_to_gid, compress=True)
            self._add_pdf_obj(cid_font.c_i_d_to_g_i_d_map, "fonts")
            program = _FontStream(contents=face.program(to_glyph.values()))
            self._add_pdf_obj(program, "fonts")
            cid_font.font_descriptor.font_file2 = program

            # As fpdf2 does after output: the caches would keep the document's glyphs alive.
            font.subset.pick.cache_clear()
            font.subset.get_glyph.cache_clear()
        return objects


def money(amount: Decimal) -> str:
    """Roubles as a Russian bill prints them: "1 234,56" (kopecks rounded half up)."""
    rounded = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) + 0  # + 0: no "-0,00"
    return f"{rounded:,.2f}".replace(",", "\u00a0").replace(".", ",")


def _number(value: Decimal, places: int = 0) -> str:
    """A consumption or tariff with at least ``places`` decimals and no trailing zeros
    beyond them: "193", "7,35", "4,6825"."""
    text = f"{value:f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(places, "0")
    return whole + ("," + fraction if fraction else "")


def _creation_date(bill: Bill) -> datetime:
    # Fixed by the bill itself (midnight of the month after the period, Moscow time), so the
    # same bill gives the same bytes whenever it is rendered.
    year, month = bill.year_month
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime(year, month, 1, tzinfo=MOSCOW)


# Any of the eight masks makes a valid code (ISO/IEC 18004 §7.8.2): a reader learns the one
# used from the format information and unmasks by it. The penalty score only steers away from
# patterns that can trouble a reader (long runs, blocks, finder look-alikes), and scoring all
# eight in pure Python was 20 ms of segno's 26 ms. Our codes differ little (the same payee
# block, then the account, period and payer): on 150 random bills segno's scoring chose mask 2
# for 120, and mask 2's penalty was 0.3 % above the best on average. The tests scan the page
# at 150 and 72 dpi.
QR_MASK = 2
_DARK_RUN = re.compile(rb"\x01+")


def _qr_modules(payload: str) -> tuple[bytearray, ...]:
    """The code's rows, one byte a module (1 = dark), without the quiet zone."""
    # Byte mode, UTF-8, no ECI header: what the ST00012 flag promises bank apps (given bytes,
    # segno cannot fall back to Latin-1 for a text that happens to fit it). Level M is the
    # usual choice for printed payment codes.
    code = segno.make(payload.encode("utf-8"), error="m", micro=False, boost_error=False,
                      mode="byte", mask=QR_MASK)
    return code.matrix


def _qr_path(rows: tuple[bytearray, ...]) -> str:
    """The dark modules as one PDF path in module units: a rectangle per horizontal run.

    One path filled once, so a rasteriser leaves no seams between abutting modules; vector,
    so the code stays sharp at any zoom and costs no image to encode or decode."""
    return " ".join(f"{run.start()} {y} {run.end() - run.start()} 1 re"
                    for y, row in enumerate(rows) for run in _DARK_RUN.finditer(row))


class _Page:
    """The drawing helpers the layout uses, over one fpdf2 page (coordinates: top-left, mm)."""

    def __init__(self, bill: Bill) -> None:
        self.pdf = pdf = FPDF(unit="mm", format="A4")
        pdf.set_creation_date(_creation_date(bill))
        pdf.set_title(f"Счет на оплату, л/с {bill.account_number}, {bill.period}")
        pdf.set_author(bill.supplier.name)
        pdf.set_lang("ru")
        pdf.set_auto_page_break(False)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        for style in STYLES:
            _face(style).add_to(pdf)
        pdf.add_page()
        pdf.set_line_width(0.2)

    def font(self, size: float, bold: bool = False) -> None:
        self.pdf.set_font(FONT_FAMILY, "B" if bold else "", size)

    def width(self, text: str) -> float:
        """``get_string_width`` in the current font: the same sum of the glyphs' advances,
        without first splitting the text into styled fragments (several times the cost)."""
        pdf = self.pdf
        return pdf.current_font.get_text_width(text, pdf.font_size_pt, None)[1] / pdf.k

    def pair(self, x: float, y: float, label: str, value: str, size: float = 8.5,
             bold: bool = False, width: float | None = None) -> tuple[float, float]:
        """``label`` then ``value`` from (x, y); the value wraps within ``width`` (under
        itself) if one is given. Returns (x after the value's first line, y below it)."""
        pdf, step = self.pdf, size * 0.46
        pdf.c_margin = 0  # the label ends with a space; no padding around free text
        pdf.set_xy(x, y)
        if label:
            self.font(size)
            pdf.cell(text=label, h=step)
        self.font(size, bold)
        if width is None or self.width(value) <= width - (pdf.get_x() - x):
            pdf.cell(text=value, h=step)  # one line: a cell costs a tenth of a multi_cell
            return pdf.get_x(), y + step
        pdf.multi_cell(width - (pdf.get_x() - x), step, value, align="L", new_x="LMARGIN",
                       new_y="NEXT")
        return pdf.get_x(), pdf.get_y()

    def cell(self, x: float, y: float, w: float, h: float, text: str, size: float = 8,
             bold: bool = False, align: str = "C", border: int = 1) -> None:
        """A table cell: ``text`` in a box of w × h at (x, y), in a smaller size if it
        would not fit."""
        self.font(size, bold)
        self.pdf.c_margin = 0.8
        while size > 5 and self.width(text) > w - 1.6:
            size -= 0.5
            self.font(size, bold)
        self.pdf.set_xy(x, y)
        self.pdf.cell(w, h, text, border=border, align=align)


def _reading_cells(row: MeterRow | None, side: str) -> list[str]:
    if row is None:
        return [DASH] * (1 + len(ZONE_LABELS))
    reading = row.initial if side == "initial" else row.final
    values = [str(v) for v in reading.values] + [DASH] * (len(ZONE_LABELS) - len(reading.values))
    return [f"{reading.kind} на {reading.taken_on:%d.%m.%y}", *values]


def _header(page: _Page, bill: Bill) -> float:
    year, month = bill.year_month
    page.pair(MARGIN, 11, "", "Счет на оплату", size=13, bold=True)
    page.pair(MARGIN, 17.5, "", f"услуги по энергоснабжению за {MONTHS[month - 1]} {year} года",
              size=10)
    page.pair(132, 11, "Оплатить до: ", f"{bill.due_date:%d.%m.%Y}", size=11, bold=True)
    page.pair(132, 17, "К оплате: ", f"{money(bill.total_due)} ₽", size=11, bold=True)
    page.pdf.line(MARGIN, 24.5, PAGE_W - MARGIN, 24.5)
    return 27.0


def _parties(page: _Page, bill: Bill, y: float) -> float:
    """Payee and bank details, the supplier's branch and contacts, the consumer."""
    supplier, bank, branch = bill.supplier, bill.supplier.bank, bill.branch
    x, w = MARGIN, LEFT_W
    after, _ = page.pair(x, y, "Получатель платежа: ", supplier.name, bold=True)
    _, y = page.pair(max(after + 6, 80), y - 0.4, "Лицевой счет: ", bill.account_number,
                     size=9.5, bold=True)
    _, y = page.pair(x, y + 0.4, "", f"филиал {supplier.name} «{branch.name}», "
                                     f"ИНН: {supplier.inn}, КПП: {supplier.kpp}", width=w)
    _, y = page.pair(x, y, "", f"Р/счет: {bank.account}, БИК: {bank.bic}, "
                               f"К/счет: {bank.correspondent_account}", width=w)
    _, y = page.pair(x, y, "Банк: ", bank.bank_name, width=w)
    _, y = page.pair(x, y + 2, "Гарантирующий поставщик: ",
                     f"{supplier.name} филиал «{branch.name}»", width=w)
    _, y = page.pair(x, y, "Адрес: ", branch.address, width=w)
    _, y = page.pair(x, y, "Режим работы: ", branch.hours, width=w)
    _, y = page.pair(x, y, "Сайт: ", branch.site, width=w)
    _, y = page.pair(x, y, "E-mail: ", branch.email, width=w)
    _, y = page.pair(x, y, "Телефон: ", branch.phone, width=w)
    _, y = page.pair(x, y + 2, "", "Потребитель:")
    _, y = page.pair(x, y + 0.5, "", bill.consumer.name, size=9.5, bold=True, width=w)
    _, y = page.pair(x, y + 1, "", "Адрес установки прибора учета:")
    _, y = page.pair(x, y + 0.5, "", bill.consumer.address, size=9.5, bold=True, width=w)
    return y


def _qr(page: _Page, bill: Bill, y: float) -> float:
    pdf, x = page.pdf, PAGE_W - MARGIN - QR_SIZE
    rows = _qr_modules(payload_for_bill(bill))
    module = QR_SIZE / (len(rows) + 8)  # the quiet zone: 4 modules each side, left blank
    scale = module * pdf.k
    # fpdf2 has no call for a many-rectangle path; its raw content writer puts ours on the
    # page. The matrix maps module units (x right, y down) onto the page's points.
    pdf._out(f"q 0 g {scale:.5f} 0 0 {-scale:.5f} {(x + 4 * module) * pdf.k:.2f} "
             f"{(PAGE_H - (y - 1.5 + 4 * module)) * pdf.k:.2f} cm {_qr_path(rows)} f Q")
    page.cell(x, y - 2.5 + QR_SIZE, QR_SIZE, 4, "QR-код для оплаты", border=0)
    return y + QR_SIZE + 2


def _meter_table(page: _Page, bill: Bill, y: float) -> float:
    serial_w, kind_w = 36.0, 28.0
    zone_w = (PAGE_W - 2 * MARGIN - serial_w - 2 * kind_w) / (2 * len(ZONE_LABELS))
    side_w = kind_w + zone_w * len(ZONE_LABELS)
    x0 = MARGIN
    page.cell(x0, y, serial_w, 10, "", border=1)
    page.cell(x0, y + 1, serial_w, 4, "Заводской", border=0)
    page.cell(x0, y + 5, serial_w, 4, "номер", border=0)
    for offset, title in ((serial_w, "Начальные показания"),
                          (serial_w + side_w, "Конечные показания")):
        page.cell(x0 + offset, y, side_w, 5, title, bold=True)
        page.cell(x0 + offset, y + 5, kind_w, 5, "тип/дата")
        for index, label in enumerate(ZONE_LABELS):
            page.cell(x0 + offset + kind_w + index * zone_w, y + 5, zone_w, 5, label)
    y += 10
    rows: list[MeterRow | None] = [*bill.meters]
    rows += [None] * max(0, 2 - len(rows))  # the sample bill keeps an empty row to fill in
    for row in rows:
        page.cell(x0, y, serial_w, 6, row.serial if row else DASH, size=9, bold=row is not None)
        for offset, side in ((serial_w, "initial"), (serial_w + side_w, "final")):
            kind, *values = _reading_cells(row, side)
            page.cell(x0 + offset, y, kind_w, 6, kind)
            for index, value in enumerate(values):
                page.cell(x0 + offset + kind_w + index * zone_w, y, zone_w, 6, value, size=9)
        y += 6
    return y


def _tear_off(page: _Page, bill: Bill, y: float) -> float:
    pdf = page.pdf
    page.pair(MARGIN, y + 2, "Идентификатор ЖКУ в ГИС ЖКХ: ", bill.gis_id, size=9, bold=True)
    y += 11
    with pdf.local_context():
        pdf.set_dash_pattern(dash=1.5, gap=1.2)
        pdf.line(MARGIN, y, PAGE_W - MARGIN, y)
    label_w = 22.0
    pdf.set_fill_color(255, 255, 255)
    pdf.rect((PAGE_W - label_w) / 2, y - 1.5, label_w, 3, style="F")
    page.cell((PAGE_W - label_w) / 2, y - 1.5, label_w, 3, "линия разреза", size=7, border=0)
    return y + 5


def _charges(page: _Page, bill: Bill, y: float) -> float:
    year, month = bill.year_month
    page.pair(MARGIN, y, "", f"Расчет платы за электроэнергию за {MONTHS[month - 1]} {year} года",
              size=10.5, bold=True)
    _, y = page.pair(MARGIN, y + 6, "Лицевой счет: ", bill.account_number, size=9, bold=True)
    _, y = page.pair(MARGIN, y + 0.5, "Потребитель: ", bill.consumer.name, size=9, width=LEFT_W)
    y += 2
    widths = (34.0, 52.0, 52.0, 52.0)
    heads = ("Зона", "Расход, кВт·ч", "Тариф, ₽/кВт·ч", "Начислено, ₽")
    x = MARGIN
    for w, head in zip(widths, heads):
        page.cell(x, y, w, 6, head, bold=True)
        x += w
    y += 6
    for charge in bill.charges:
        cells = (charge.label, _number(charge.consumption_kwh), _number(charge.tariff, 2),
                 money(charge.amount))
        x = MARGIN
        for w, text, align in zip(widths, cells, "CRRR"):
            page.cell(x, y, w, 5.5, text, size=9, align=align)
            x += w
        y += 5.5
    y += 2
    label_w = sum(widths[:3])
    # An overpayment is shown as such, never as a negative debt or a negative sum to pay.
    start = (("Переплата на начало периода", money(-bill.debt_at_start), False)
             if bill.debt_at_start < 0 else
             ("Задолженность на начало периода", money(bill.debt_at_start), False))
    left = bill.debt_at_start + bill.charged + bill.penalties - bill.paid
    # Payments since the period began: the debt at its start never moves with them.
    paid = (("Оплачено с начала периода", money(bill.paid), False),) if bill.paid else ()
    summary = (start, ("Начислено за период", money(bill.charged), False), *paid,
               ("Пени", money(bill.penalties), False),
               ("Итого к оплате, ₽", money(max(bill.total_due, Decimal(0))), True),
               *((("Переплата (аванс) на следующий период", money(-left), False),)
                 if left < 0 else ()),
               ("Оплатить до", f"{bill.due_date:%d.%m.%Y}", True))
    for label, value, strong in summary:
        page.cell(MARGIN, y, label_w, 5.5, label, size=9, bold=strong, align="L")
        page.cell(MARGIN + label_w, y, widths[3], 5.5, value, size=9, bold=strong, align="R")
        y += 5.5
    return y


def render(bill: Bill) -> bytes:
    """The bill as a one-page A4 PDF; the same bill always gives the same bytes.

    Raises :class:`~services.documents.domain.payment_qr.PaymentQrError` when the payee's
    details cannot make a standard QR code, and :class:`BillError` if the content would not
    fit one page.
    """
    page = _Page(bill)
    y = _header(page, bill)
    qr_bottom = _qr(page, bill, y)
    y = max(_parties(page, bill, y), qr_bottom) + 2
    y = _meter_table(page, bill, y)
    y = _tear_off(page, bill, y)
    y = _charges(page, bill, y)
    if page.pdf.pages_count != 1 or y > PAGE_H - MARGIN:
        raise BillError("layout", f"the bill runs {y - PAGE_H + MARGIN:.0f} mm past the page")
    return bytes(page.pdf.output(output_producer_class=_Output))


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value.normalize() + 0)  # equal amounts hash alike: 250.0 == 250.00
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot hash {type(value).__name__}")


@cache
def _versions() -> dict[str, str]:
    return {"layout": LAYOUT_VERSION, "fpdf2": fpdf.__version__, "segno": segno.__version__,
            "fonttools": version("fonttools"), "font": version("fontpkg-pt-sans")}


def content_hash(bill: Bill) -> str:
    """A hex SHA-256 naming what :func:`render` makes of this bill: equal bills and the same
    versions of the layout, fpdf2, segno, fontTools and the font give the same hash (a cache
    key)."""
    stamp = {"versions": _versions(), "bill": dataclasses.asdict(bill)}
    text = json.dumps(stamp, default=_plain, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
