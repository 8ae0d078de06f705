"""Bill PDF benchmark: bills per second on one core, beside baselines in the same run.

    .venv/bin/python -m bench.bills_pdf [--n 200] [--seed 1] [--cpu 0]

Makes N bills with random data (names, addresses, 1–2 meters of 1–3 zones, charges, debt,
penalties; deterministic by seed, nothing written to disk), pins the process to one CPU and
times, over the same bills:

* ``render``: the real thing, ``services.documents.domain.bill_pdf.render``;
* ``qr code alone``: the ГОСТ text, segno's encoding with the fixed mask and the modules as
  a PDF path, i.e. the QR code's share of a render;
* ``baseline: qr, segno scoring masks``: the same code with segno scoring all eight masks by
  the standard's penalty rules, what the fixed mask saves;
* ``baseline: fpdf2 text page``: plain fpdf2 (``add_font`` per document, fontTools'
  subsetter at output) with the same two fonts writing the bill's text as plain lines, no QR
  code and no tables: what fpdf2 itself costs for such a page;
* ``cache hit``: ``content_hash``, what the service pays when the PDF is already cached.

Target: render ≥ 50 bills/s per core. The script reports; it does not assert.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable

import segno
from fpdf import FPDF

from services.documents.domain import bill_pdf, payment_qr
from services.documents.domain.bill import (
    BankDetails, Bill, Branch, Consumer, MeterReading, MeterRow, Supplier, ZoneCharge)

TARGET_PER_CORE = 50.0
SURNAMES = ["Петров", "Кузнецова", "Гончаренко", "Смирнов", "Ткаченко", "Сидоренко",
            "Бондаренко", "Иванова", "Коваленко", "Морозова", "Шевченко", "Оганесян"]
FIRST = ["Иван", "Елена", "Павел", "Алексей", "Николай", "Ольга", "Сергей", "Мария"]
MIDDLE = ["Сергеевич", "Викторовна", "Игоревич", "Николаевич", "Петрович", "Ивановна"]
PLACES = ["г. Краснодар", "х. Садовый", "ст. Воронежская", "г. Армавир", "п. Знаменский",
          "г. Новороссийск", "ст. Владимирская", "г. Усть-Лабинск"]
STREETS = ["ул. Красная", "ул. Ореховая", "ул. Садовая", "ул. Ленина", "пер. Южный",
           "ул. Кирова", "ул. Советов"]
BRANCHES = ["Краснодарэнергосбыт", "Анапаэнергосбыт", "Мостэнергосбыт", "Лабинскэнергосбыт",
            "Усть-Лабинскэнергосбыт"]
SUPPLIER = Supplier(
    name="АО «НЭСК»", inn="2308091759", kpp="230801001",
    bank=BankDetails(account="40702810030000003019",
                     bank_name="Краснодарское отделение № 8619 ПАО Сбербанк",
                     bic="040349602", correspondent_account="30101810100000000602"))
KOPECK = Decimal("0.01")


def random_bill(rng: random.Random) -> Bill:
    """A plausible bill: the fields vary as they do between customers."""
    year, month = rng.randint(2019, 2026), rng.randint(1, 12)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    zones = rng.choice([1, 1, 1, 2, 2, 3])
    meters, charges = [], []
    for _ in range(rng.choice([1, 1, 1, 2])):
        start = [rng.randint(100, 90000) for _ in range(zones)]
        used = [rng.randint(20, 600) for _ in range(zones)]
        serial = " ".join(str(rng.randint(1000, 99999)) for _ in range(rng.randint(2, 3)))
        meters.append(MeterRow(
            serial,
            MeterReading("КО", date(year, month, 1), tuple(start)),
            MeterReading(rng.choice(["КО", "П"]), date(next_year, next_month, 1),
                         tuple(s + u for s, u in zip(start, used)))))
    for zone in range(1, zones + 1):
        volume = Decimal(rng.randint(20, 900))
        tariff = Decimal(rng.choice(["5.15", "7.35", "10.00", "14.64", "4.1150"]))
        charges.append(ZoneCharge(zone, volume, tariff,
                                  (volume * tariff).quantize(KOPECK, ROUND_HALF_UP)))
    debt = Decimal(rng.randint(-50000, 300000)) / 100
    penalties = Decimal(rng.choice([0, 0, rng.randint(1, 50000)])) / 100
    branch = rng.choice(BRANCHES)
    return Bill(
        supplier=SUPPLIER,
        branch=Branch(name=branch, address=f"35{rng.randint(0, 9999):04d}, Краснодарский край, "
                                           f"{rng.choice(PLACES)}, {rng.choice(STREETS)}, "
                                           f"д. {rng.randint(1, 200)}",
                      hours="Пн-Чт с 8:00 до 17:00, Пт с 8:00 до 15:30",
                      site="www.nesk.ru", email=f"{branch.lower()[:6]}@nesk.ru",
                      phone=f"8 (861{rng.randint(30, 99)}) {rng.randint(2, 9)}-"
                            f"{rng.randint(10, 99)}-{rng.randint(10, 99)}"),
        consumer=Consumer(name=f"{rng.choice(SURNAMES)} {rng.choice(FIRST)} {rng.choice(MIDDLE)}",
                          address=f"{rng.choice(PLACES)}, {rng.choice(STREETS)} "
                                  f"д.{rng.randint(1, 300)} кв.{rng.randint(1, 200)}"),
        account_number=str(rng.randint(10**8, 10**12 - 1)),
        gis_id=f"{rng.randint(10, 99)}AB{rng.randint(100000, 999999)}-{rng.randint(1, 99):02d}",
        period=f"{year:04d}-{month:02d}", meters=tuple(meters), charges=tuple(charges),
        debt_at_start=debt, penalties=penalties,
        total_due=debt + sum((c.amount for c in charges), Decimal(0)) + penalties,
        due_date=date(next_year, next_month, 10))


def text_page(bill: Bill) -> bytes:
    """The baseline: fpdf2 and the same fonts, the bill's text as plain lines."""
    regular, bold = bill_pdf._font_paths()
    pdf = FPDF(unit="mm", format="A4")
    pdf.add_font("PT Sans", "", regular)
    pdf.add_font("PT Sans", "B", bold)
    pdf.add_page()
    pdf.set_font("PT Sans", "B", 12)
    pdf.cell(text=f"Счет на оплату за {bill.period}, оплатить до {bill.due_date:%d.%m.%Y}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("PT Sans", "", 9)
    branch, bank = bill.branch, bill.supplier.bank
    lines = [f"Получатель платежа: {bill.supplier.name}, лицевой счет {bill.account_number}",
             f"ИНН {bill.supplier.inn}, КПП {bill.supplier.kpp}, Р/счет {bank.account}",
             f"Банк: {bank.bank_name}, БИК {bank.bic}, К/счет {bank.correspondent_account}",
             f"Гарантирующий поставщик: {bill.supplier.name} филиал «{branch.name}»",
             f"Адрес: {branch.address}", f"Режим работы: {branch.hours}",
             f"Сайт: {branch.site}, E-mail: {branch.email}, телефон {branch.phone}",
             f"Потребитель: {bill.consumer.name}", f"Адрес: {bill.consumer.address}",
             f"Идентификатор ЖКУ в ГИС ЖКХ: {bill.gis_id}"]
    for row in bill.meters:
        lines.append(f"{row.serial}: {row.initial.values} на {row.initial.taken_on}, "
                     f"{row.final.values} на {row.final.taken_on}")
    for charge in bill.charges:
        lines.append(f"{charge.label}: {charge.consumption_kwh} кВт·ч × {charge.tariff} = "
                     f"{bill_pdf.money(charge.amount)} ₽")
    lines += [f"Задолженность {bill_pdf.money(bill.debt_at_start)} ₽, пени "
              f"{bill_pdf.money(bill.penalties)} ₽, итого {bill_pdf.money(bill.total_due)} ₽"]
    for line in lines:
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def qr_alone(bill: Bill) -> str:
    return bill_pdf._qr_path(bill_pdf._qr_modules(payment_qr.payload_for_bill(bill)))


def qr_scored(bill: Bill) -> str:
    payload = payment_qr.payload_for_bill(bill).encode("utf-8")
    code = segno.make(payload, error="m", micro=False, boost_error=False, mode="byte")
    return bill_pdf._qr_path(code.matrix)


def measure(bills: list[Bill], work: Callable[[Bill], object]) -> dict[str, float]:
    """Runs ``work`` once per bill after two warm-up calls; wall and CPU seconds."""
    for bill in bills[:2]:
        work(bill)
    times = []
    wall, cpu = time.perf_counter(), time.process_time()
    for bill in bills:
        started = time.perf_counter()
        work(bill)
        times.append(time.perf_counter() - started)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"per_s": len(bills) / wall, "cpu_per_s": len(bills) / cpu,
            "median_ms": statistics.median(times) * 1000,
            "p90_ms": statistics.quantiles(times, n=10)[-1] * 1000}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="bills per scenario")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cpu", type=int, default=None,
                        help="CPU to pin to (default: the first one allowed)")
    args = parser.parse_args(argv)

    cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    rng = random.Random(args.seed)
    bills = [random_bill(rng) for _ in range(args.n)]
    sizes = [len(bill_pdf.render(bill)) for bill in bills[:20]]
    print(f"{args.n} bills, pinned to CPU {cpu}; load average {os.getloadavg()[0]:.2f} "
          "(other load on the box skews the figures); "
          f"PDF ≈ {statistics.mean(sizes) / 1024:.0f} KiB")
    scenarios = [("render", bill_pdf.render), ("qr code alone", qr_alone),
                 ("baseline: qr, segno scoring masks", qr_scored),
                 ("baseline: fpdf2 text page", text_page),
                 ("cache hit: content_hash", bill_pdf.content_hash)]
    print(f"{'scenario':34} {'bills/s':>8} {'per CPU-s':>10} {'median ms':>10} {'p90 ms':>8}")
    results = {}
    for name, work in scenarios:
        results[name] = row = measure(bills, work)
        print(f"{name:34} {row['per_s']:8.1f} {row['cpu_per_s']:10.1f} "
              f"{row['median_ms']:10.1f} {row['p90_ms']:8.1f}")
    rate = results["render"]["cpu_per_s"]
    verdict = "PASS" if rate >= TARGET_PER_CORE else "FAIL"
    print(f"target: render ≥ {TARGET_PER_CORE:.0f} bills/s per core: {verdict} ({rate:.1f} per "
          "CPU-second)")


if __name__ == "__main__":
    main()
