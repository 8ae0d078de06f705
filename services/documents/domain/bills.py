"""A bill made from the other services' answers at this moment, and its PDF cached by content.

Three internal RPCs give the data (the caller has checked the account's ownership first):
``accounts.bill_card`` (the consumer, the GIS ЖКХ id, the branch's and the supplier's
reference data), ``readings.bill_readings`` (per meter, the initial and the final reading of
the period) and ``payments.bill_amounts`` (the period's charge by zone or range, what else
is owed, penalties, the total and the due date). :func:`assemble` turns them into a
:class:`~services.documents.domain.bill.Bill`; :func:`cached_pdf` renders it once per
content hash, so the same data always gives back the same stored bytes.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Mapping, Sequence

from services.documents.domain import bill_pdf
from services.documents.domain.bill import (
    MAX_METERS, MONTHS, BankDetails, Bill, BillError, Branch, Consumer, MeterReading, MeterRow,
    Supplier, ZoneCharge)
from shared.errors import ValidationFailed
from shared.storage import FileStore

DASH = "-"  # what the sample bill prints for a value it does not have
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_period(value: object) -> str:
    """A billed month as ``YYYY-MM``, or a 422 naming the field."""
    if not isinstance(value, str) or not _PERIOD.match(value):
        raise ValidationFailed("Период в формате ГГГГ-ММ", {"period": "YYYY-MM"})
    return value


def period_title(period: str) -> str:
    """"2018-11" → "ноябрь 2018", as the bill's title says it."""
    year, month = period.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def filename(number: str, period: str) -> str:
    return f"Счет_{number}_{period}.pdf"


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def printed_serial(serial: str) -> str:
    """The serial as the sample bill prints it: the last 4 digits apart ("100091150 2333"),
    the ones a customer types as the proof when adding the account."""
    return f"{serial[:-4]} {serial[-4:]}" if len(serial) > 4 and " " not in serial else serial


def _supplier(data: Mapping[str, Any]) -> Supplier:
    bank = data["bank"]
    return Supplier(name=data["name"], inn=data["inn"], kpp=data["kpp"], bank=BankDetails(
        account=bank["account"], bank_name=bank["bank_name"], bic=bank["bic"],
        correspondent_account=bank["correspondent_account"]))


def _branch(data: Mapping[str, Any], supplier: Mapping[str, Any]) -> Branch:
    # A branch whose contacts are not configured shows the supplier's site and support
    # e-mail, its town for the address, and a dash where nothing is known.
    return Branch(name=data["name"], address=data.get("address") or data.get("city") or DASH,
                  hours=data.get("hours") or DASH,
                  site=data.get("site") or supplier.get("site") or DASH,
                  email=data.get("email") or supplier.get("support_email") or DASH,
                  phone=data.get("phone") or DASH)


def _reading(data: Mapping[str, Any]) -> MeterReading:
    return MeterReading(kind=data["kind"], taken_on=date.fromisoformat(data["date"]),
                        values=tuple(data["values"]))


def meter_rows(meters: Sequence[Mapping[str, Any]]) -> tuple[MeterRow, ...]:
    """Rows of the meter table: the meters with both an initial and a final reading for
    the period (a meter's very first reading, or a period without one, has no row)."""
    rows = [MeterRow(printed_serial(m["serial"]), _reading(m["initial"]), _reading(m["final"]))
            for m in meters if m.get("initial") and m.get("final")]
    return tuple(rows[:MAX_METERS])


def zone_charges(amounts: Mapping[str, Any], meters: Sequence[Mapping[str, Any]]
                 ) -> tuple[ZoneCharge, ...]:
    """The charge's lines per zone (billing) or per volume range (the built-in accrual,
    printed in the zone columns 1-эт, 2-эт, 3-эт). A charge without lines prints as one
    line of the period's consumption at its average price."""
    lines = amounts.get("lines") or []
    if lines:
        try:
            return tuple(ZoneCharge(zone=int(line.get("zone") or line.get("range") or index),
                                    consumption_kwh=_money(line.get("kwh") or 0),
                                    tariff=_money(line.get("price") or 0),
                                    amount=_money(line["amount"]))
                         for index, line in enumerate(lines, start=1))
        except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError):
            # Billing's lines are free-form JSON: one it cannot print is its data error.
            raise BillError("charges", "a line is not {zone|range, kwh, price, amount}") \
                from None
    charged = _money(amounts["charged"])
    kwh = Decimal(sum(sum(m.get("consumption") or ()) for m in meters))
    price = (charged / kwh).quantize(Decimal("0.01"), ROUND_HALF_UP) if kwh else Decimal(0)
    return (ZoneCharge(zone=1, consumption_kwh=kwh, tariff=price, amount=charged),)


def assemble(card: Mapping[str, Any], meters: Sequence[Mapping[str, Any]],
             amounts: Mapping[str, Any], period: str) -> Bill:
    """The bill from the three services' answers (raises BillError when they cannot make a
    printable bill, e.g. the supplier's bank details are not configured)."""
    supplier = card["supplier"]
    return Bill(
        supplier=_supplier(supplier), branch=_branch(card["branch_info"], supplier),
        consumer=Consumer(name=card["holder_name"], address=card["address"]),
        account_number=card["number"], gis_id=card.get("gis_id") or DASH, period=period,
        meters=meter_rows(meters), charges=zone_charges(amounts, meters),
        debt_at_start=_money(amounts["debt_at_start"]), penalties=_money(amounts["penalties"]),
        total_due=_money(amounts["total_due"]), due_date=date.fromisoformat(amounts["due_date"]),
        paid=_money(amounts.get("paid") or "0"))


def fetch(accounts: Any, readings: Any, payments: Any, number: str, branch: str,
          period: str) -> tuple[dict[str, Any], Bill]:
    """Ask the three services (RPC proxies, in a service or a standalone cluster proxy) and
    assemble the bill. Payments first: no charge for the period is the usual "no bill"."""
    amounts = payments.bill_amounts(number=number, branch=branch, period=period)
    card = accounts.bill_card(number=number, branch=branch)
    meters = readings.bill_readings(account_id=card["account_id"], period=period)
    return card, assemble(card, meters, amounts, period)


def cached_pdf(store: FileStore, bill: Bill, render: Callable[[Bill], bytes] = bill_pdf.render
               ) -> tuple[str, bytes]:
    """(content hash, PDF): from the store if this very bill was rendered before, else
    rendered now (``render`` is bill_pdf.render, offloaded by the service) and stored."""
    key = bill_pdf.content_hash(bill)
    try:
        return key, store.get(key)
    except FileNotFoundError:
        pass
    pdf = render(bill)
    store.put(pdf, key)
    return key, pdf
