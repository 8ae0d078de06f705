"""The bill as a PDF: what a customer reads on it, what a bank's app scans from it."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
import re
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pypdfium2 as pdfium
import pytest
import zxingcpp
from fontTools.ttLib import TTFont
from fontTools.ttLib.sfnt import calcChecksum

from services.documents.domain import bill_pdf, payment_qr
from services.documents.domain.bill import (
    MAX_CHARGES, MAX_METERS, MAX_TEXT, BillError, Branch, Consumer, MeterReading, MeterRow,
    ZoneCharge)
from services.documents.domain.payment_qr import PaymentQrError
from tests.unit.test_payment_qr import EXPECTED, SUPPLIER, sample_bill

ROOT = Path(__file__).resolve().parents[2]
A4_POINTS = (595.28, 841.89)


def words(text: str) -> str:
    """Extracted text with every run of spaces, no-break spaces and line ends as one space."""
    return " ".join(text.replace("\u00a0", " ").split())


class Page:
    """One rendered bill as a reader sees it: its page count, size, text and pixels."""

    def __init__(self, pdf: bytes) -> None:
        self.document = pdfium.PdfDocument(pdf)
        self.page = self.document[0]
        self.text = words(self.page.get_textpage().get_text_range())

    def image(self, dpi: float):
        return self.page.render(scale=dpi / 72, grayscale=True).to_pil()

    def close(self) -> None:
        self.page.close()
        self.document.close()


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return bill_pdf.render(sample_bill())


@pytest.fixture(scope="module")
def page(sample_pdf: bytes) -> Iterator[Page]:
    shown = Page(sample_pdf)
    yield shown
    shown.close()


def test_the_bill_is_one_a4_page_with_its_fonts_embedded(sample_pdf: bytes, page: Page):
    assert len(page.document) == 1
    assert page.page.get_size() == pytest.approx(A4_POINTS, abs=0.5)
    assert sample_pdf.count(b"/FontFile2") == 2  # PT Sans regular and bold, as subsets


def test_the_title_period_and_due_date_are_printed(page: Page):
    assert "Счет на оплату услуги по энергоснабжению за ноябрь 2018 года" in page.text
    assert "Оплатить до: 10.12.2018" in page.text
    assert "К оплате: 1 196,52 ₽" in page.text


def test_the_payee_and_its_bank_details_are_printed(page: Page):
    assert "Получатель платежа: АО «НЭСК» Лицевой счет: 123456789" in page.text
    assert "филиал АО «НЭСК» «Мостэнергосбыт», ИНН: 2308091759, КПП: 230801001" in page.text
    assert ("Р/счет: 40702810030000003019, БИК: 040349602, К/счет: 30101810100000000602"
            in page.text)
    assert "Банк: Краснодарское отделение № 8619 ПАО Сбербанк" in page.text


def test_the_branch_and_its_contacts_are_printed(page: Page):
    assert "Гарантирующий поставщик: АО «НЭСК» филиал «Мостэнергосбыт»" in page.text
    assert ("Адрес: 352570, Краснодарский край, п.г.т. Мостовской, ул. Аэродромная, д. 1"
            in page.text)
    assert "Режим работы: Пн-Чт с 8:00 до 17:00, Пт с 8:00 до 15:30" in page.text
    assert "Сайт: www.nesk.ru" in page.text
    assert "E-mail: moi-energobyt@nesk.ru" in page.text
    assert "Телефон: 8 (86192) 5-90-25" in page.text


def test_the_consumer_and_the_meter_s_address_are_printed(page: Page):
    assert ("Потребитель: Петров Иван Сергеевич Адрес установки прибора учета: "
            "х. Садовый, ул. Ореховая д.№99Б лит. А корп. 8 кв.35") in page.text


def test_the_meter_table_shows_serial_readings_types_and_dates(page: Page):
    assert ("Заводской номер Начальные показания тип/дата 1-эт 2-эт 3-эт "
            "Конечные показания тип/дата 1-эт 2-эт 3-эт") in page.text
    assert "100091150 2333 КО на 01.11.18 3007 - - КО на 01.12.18 3200 - -" in page.text
    assert "- - - - - - - - -" in page.text  # the empty row of the sample bill


def test_the_charges_debt_penalties_and_total_are_printed(page: Page):
    assert "Зона Расход, кВт·ч Тариф, ₽/кВт·ч Начислено, ₽ 1-эт 193 4,84 934,12" in page.text
    assert ("Задолженность на начало периода 250,00 Начислено за период 934,12 Пени 12,40 "
            "Итого к оплате, ₽ 1 196,52 Оплатить до 10.12.2018") in page.text


def text_of(**changes) -> str:
    """The page's text for the sample bill with ``changes``."""
    shown = Page(bill_pdf.render(dataclasses.replace(sample_bill(), **changes)))
    try:
        return shown.text
    finally:
        shown.close()


def test_an_overpayment_is_shown_as_such_and_nothing_is_to_pay():
    # paid 2000.00 ahead: 250.00 owed before is now 1750.00 overpaid; 934.12 + 12.40 charged
    text = text_of(debt_at_start=Decimal("-1750.00"), total_due=Decimal("0.00"))
    assert ("Переплата на начало периода 1 750,00 Начислено за период 934,12 Пени 12,40 "
            "Итого к оплате, ₽ 0,00 Переплата (аванс) на следующий период 803,48") in text


def test_a_payment_since_the_month_began_is_its_own_line_and_the_figures_add_up():
    # 250.00 owed on the 1st stays 250.00; 300.00 paid since: 250 + 934.12 − 300 + 12.40
    text = text_of(paid=Decimal("300.00"), total_due=Decimal("896.52"))
    assert ("Задолженность на начало периода 250,00 Начислено за период 934,12 "
            "Оплачено с начала периода 300,00 Пени 12,40 Итого к оплате, ₽ 896,52") in text


def test_the_gis_identifier_and_the_tear_off_line_are_printed(page: Page):
    assert "Идентификатор ЖКУ в ГИС ЖКХ: 90BB144120-11 линия разреза" in page.text


def test_a_phone_reads_exactly_the_payment_text_from_the_page(page: Page):
    payload = payment_qr.payload_for_bill(sample_bill())
    scanned = zxingcpp.read_barcode(page.image(dpi=150))
    assert scanned is not None
    assert scanned.bytes == payload.encode("utf-8")
    assert scanned.symbology_identifier == "]Q1"  # plain byte mode: no ECI before ST00012
    assert scanned.extra["ECLevel"] == "M"
    assert scanned.extra["DataMask"] == bill_pdf.QR_MASK  # fixed, not scored: any mask reads
    assert payment_qr.parse(scanned.bytes) == EXPECTED


def test_the_code_is_printed_large_enough_for_a_phone(page: Page):
    dpi = 150
    scanned = zxingcpp.read_barcode(page.image(dpi=dpi))
    modules = 17 + 4 * int(scanned.extra["Version"])
    width_mm = (scanned.position.top_right.x - scanned.position.top_left.x) / dpi * 25.4
    assert width_mm / modules >= 0.4  # mm per module; phones need about 0.25
    # ...and a coarse, screen-like rendering still scans.
    assert zxingcpp.read_barcode(page.image(dpi=72)).bytes == scanned.bytes


def test_the_same_bill_renders_to_the_same_bytes(sample_pdf: bytes):
    assert bill_pdf.render(sample_bill()) == sample_pdf


def test_the_same_bill_renders_to_the_same_bytes_in_another_process(sample_pdf: bytes):
    # Another process, another hash seed and another wall-clock time.
    code = ("import hashlib, sys; from services.documents.domain.bill_pdf import render; "
            "from tests.unit.test_payment_qr import sample_bill; "
            "sys.stdout.write(hashlib.sha256(render(sample_bill())).hexdigest())")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHONHASHSEED": "12345"}, timeout=120,
                          check=True)
    assert done.stdout == hashlib.sha256(sample_pdf).hexdigest()


def font_programs(pdf: bytes) -> list[bytes]:
    """The embedded TrueType programs (FontFile2 streams), inflated."""
    found = re.finditer(rb"/Length (\d+)\s+/Length1 \d+\s*>>\s*stream\r?\n", pdf)
    return [zlib.decompress(pdf[m.end():m.end() + int(m[1])]) for m in found]


def test_the_embedded_fonts_are_valid_subsets_of_pt_sans(sample_pdf: bytes):
    programs = font_programs(sample_pdf)
    assert len(programs) == 2
    for program in programs:
        font = TTFont(io.BytesIO(program))
        for tag in font.reader.keys():  # each table's checksum, then the whole file's
            data = font.reader[tag]
            if tag == "head":
                data = data[:8] + bytes(4) + data[12:]
            assert calcChecksum(data) == font.reader.tables[tag].checkSum, tag
        whole, head = bytearray(program), font.reader.tables["head"].offset
        whole[head + 8:head + 12] = bytes(4)
        assert font["head"].checkSumAdjustment == (0xB1B0AFBA - calcChecksum(whole)) % 2**32
        glyf = font["glyf"]
        drawn = [name for name in font.getGlyphOrder() if glyf[name].numberOfContours]
        assert ".notdef" in drawn
        assert 20 < len(drawn) < 150 < len(font.getGlyphOrder())  # the bill's letters only
        for name in drawn:  # a composite letter brings its parts
            if glyf[name].isComposite():
                assert all(glyf[c.glyphName].numberOfContours for c in glyf[name].components)


def test_documents_share_no_state_even_rendered_at_once(sample_pdf: bytes):
    # The fonts' metrics and tables are read once per process and shared by every render.
    other = sample_bill(consumer=Consumer(name="Ёлкина Үлкер Щукина", address="г. Армавир"))
    alone = bill_pdf.render(other)
    with ThreadPoolExecutor(4) as pool:
        rendered = list(pool.map(bill_pdf.render, [sample_bill(), other] * 4))
    assert rendered == [sample_pdf, alone] * 4
    assert bill_pdf.render(sample_bill()) == sample_pdf


def test_the_creation_date_comes_from_the_bill(sample_pdf: bytes):
    assert b"/CreationDate (D:20181201000000+03'00')" in sample_pdf


def test_the_content_hash_names_what_would_be_rendered():
    same = bill_pdf.content_hash(sample_bill())
    assert same == bill_pdf.content_hash(sample_bill(debt_at_start=Decimal("250.0")))
    assert re.fullmatch(r"[0-9a-f]{64}", same)
    for changed in (sample_bill(total_due=Decimal("1196.53")),
                    sample_bill(due_date=date(2018, 12, 11)),
                    sample_bill(branch=dataclasses.replace(sample_bill().branch, phone="5-90-26"))):
        assert bill_pdf.content_hash(changed) != same


def test_multi_zone_meters_show_every_zone_and_charge():
    bill = sample_bill(
        meters=(MeterRow("0113540980 02155",
                         MeterReading("П", date(2025, 6, 25), (12045, 5310, 880)),
                         MeterReading("П", date(2025, 7, 25), (12301, 5402, 915))),
                MeterRow("4712 0066 3190",
                         MeterReading("КО", date(2025, 6, 25), (411, 97)),
                         MeterReading("КО", date(2025, 7, 25), (460, 120)))),
        charges=(ZoneCharge(1, Decimal("256"), Decimal("8.53"), Decimal("2183.68")),
                 ZoneCharge(2, Decimal("92"), Decimal("7.35"), Decimal("676.20")),
                 ZoneCharge(3, Decimal("35"), Decimal("4.1150"), Decimal("144.03"))),
        period="2025-07", total_due=Decimal("3266.31"), due_date=date(2025, 8, 11))
    shown = Page(bill_pdf.render(bill))
    try:
        assert ("0113540980 02155 П на 25.06.25 12045 5310 880 П на 25.07.25 12301 5402 915"
                in shown.text)
        assert "4712 0066 3190 КО на 25.06.25 411 97 - КО на 25.07.25 460 120 -" in shown.text
        assert ("1-эт 256 8,53 2 183,68 2-эт 92 7,35 676,20 3-эт 35 4,115 144,03"
                in shown.text)
        assert "Начислено за период 3 003,91" in shown.text
        assert "за июль 2025 года" in shown.text
    finally:
        shown.close()


def test_the_longest_bill_still_fits_one_page(caplog: pytest.LogCaptureFixture):
    def long(limit: int) -> str:
        return ("ул. Длинная " * 40)[:limit]

    serial = "1195 0773 3412 99 1234 5"  # 24 characters: the cell takes a smaller size
    meter = MeterRow(serial, MeterReading("КО", date(2025, 6, 25), (99999999,) * 3),
                     MeterReading("КО", date(2025, 7, 25), (99999999,) * 3))
    bill = sample_bill(
        branch=Branch(name="Усть-Лабинскэнергосбыт", address=long(MAX_TEXT), hours=long(120),
                      site=long(60), email=long(60), phone=long(60)),
        consumer=Consumer(name=("Константинопольская " * 10)[:120], address=long(MAX_TEXT)),
        meters=(meter,) * MAX_METERS,
        charges=(ZoneCharge(1, Decimal("99999"), Decimal("14.64"), Decimal("1463985.36")),)
        * MAX_CHARGES,
        total_due=Decimal("8783912.16"),
        # the two optional rows too: «Оплачено с начала периода» and the advance
        paid=Decimal("1.00"), debt_at_start=Decimal("-9000000.00"))
    with caplog.at_level(logging.WARNING):
        shown = Page(bill_pdf.render(bill))
    try:
        assert len(shown.document) == 1
        assert shown.text.count(serial) == MAX_METERS
        assert "Итого к оплате, ₽ 8 783 912,16" in shown.text
        assert not [r for r in caplog.records if "missing" in r.getMessage()]  # every glyph
    finally:
        shown.close()


def test_a_bill_whose_payee_breaks_the_standard_is_not_rendered():
    with pytest.raises(PaymentQrError) as info:
        bill_pdf.render(sample_bill(supplier=dataclasses.replace(SUPPLIER, name="АО|НЭСК")))
    assert info.value.field == "Name"


def test_text_past_the_page_s_room_is_refused_before_rendering():
    with pytest.raises(BillError, match="consumer.address"):
        Consumer(name="Петров Иван Сергеевич", address="д" * (MAX_TEXT + 1))
