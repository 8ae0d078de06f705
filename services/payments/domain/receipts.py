"""54-ФЗ receipts of payments and refunds, in the one shape every provider takes.

A receipt names the buyer's e-mail or phone (where the fiscal data operator sends it) and one
item per part of the payment: electricity for an account and period, penalties (пени) for an
account as an item of their own, each with the supplier's VAT code, payment subject and
payment mode (settings ``RECEIPT_*``). The provider registers it and reports its state
(``pending`` → ``succeeded`` or ``canceled``), kept on the payment or refund beside it.
A refund's receipt returns the refunded sum item by item, in the payment's order.

Electricity paid without naming a period goes, by the ledger's rule, to the oldest open
periods (see :func:`allocated`): its receipt has one item per period it pays, and the part
beyond all the debt is an advance.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, Hashable, Iterable, Mapping, Sequence, TypeVar

from services.payments.domain import penalties
from services.payments.domain.ledger import money
from shared.errors import ValidationFailed

# (kind, account number, period, amount[, periods covered: the description of an item that
# stands for several periods])
Line = tuple[Any, ...]
Key = TypeVar("Key", bound=Hashable)  # what tells the accounts apart

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PHONE = re.compile(r"^\+7\d{10}$")
STATUSES = ("pending", "succeeded", "canceled")
MAX_DESCRIPTION = 128  # ЮKassa's limit for an item's description
MAX_ITEMS = 100  # ЮKassa's limit of items in one receipt
ADVANCE = "advance"  # the period-less part of a split line: paid beyond all the debt


def contact(email: Any, phone: Any, required: bool) -> dict[str, str]:
    """The buyer's contact for the receipt from the form (``receipt_email``,
    ``receipt_phone``); a phone is +7 and ten digits. ``required``: the provider refuses a
    receipt without one."""
    found: dict[str, str] = {}
    if email not in (None, ""):
        if not isinstance(email, str) or len(email) > 254 or not EMAIL.match(email.strip()):
            raise ValidationFailed("Неверный e-mail для чека", {"receipt_email": "not an e-mail"})
        found["email"] = email.strip()
    if phone not in (None, ""):
        digits = re.sub(r"[\s()-]", "", str(phone))
        if digits.startswith("8") and len(digits) == 11:
            digits = "+7" + digits[1:]
        if not isinstance(phone, (str, int)) or not PHONE.match(digits):
            raise ValidationFailed("Телефон для чека — +7 и 10 цифр",
                                   {"receipt_phone": "+7XXXXXXXXXX"})
        found["phone"] = digits
    if required and not found:
        raise ValidationFailed("Укажите e-mail или телефон: туда придёт кассовый чек (54-ФЗ)",
                               {"receipt_email": "e-mail or phone required for the receipt"})
    return found


def open_charges(periods: Iterable[Mapping[str, Any]]) -> list[penalties.Charge]:
    """The open periods of a statement (``ledger.Statement.of(...)["periods"]``) as the
    charges left to pay."""
    return [penalties.Charge(p["period"], Decimal(p["open"]), date.fromisoformat(p["due_date"]))
            for p in periods if Decimal(p["open"]) > 0]


def allocated(lines: Sequence[tuple[Key, str, str, str | None, Decimal]],
              debts: Mapping[Key, Sequence[penalties.Charge]]) -> list[Line]:
    """The receipt lines of a payment of ``lines`` (account key, kind, number, period, amount)
    when the accounts' open charges are ``debts`` (per account key, see :func:`open_charges`).

    Electricity naming no period is split as the ledger will credit it (penalties.allocate,
    in the order of the lines): one line per period, the oldest first, and what is beyond all
    the debt a line of its own (an advance). Named periods and penalties stay as they are. If
    the receipt would get more than MAX_ITEMS items, each split line stays one item naming
    the span of its periods."""
    left = {key: list(charges) for key, charges in debts.items()}
    out: list[list[Line]] = []
    for key, kind, number, period, amount in lines:
        charges = left.get(key)
        if kind != "electricity" or charges is None:
            out.append([(kind, number, period, amount)])
            continue
        share = penalties.allocate(charges, [penalties.Payment(date.min, amount, period)])
        left[key] = [penalties.Charge(c.period, share.outstanding[c.period], c.due)
                     for c in charges if share.outstanding[c.period] > 0]
        if period is not None:
            out.append([(kind, number, period, amount)])
            continue
        split: list[Line] = [
            (kind, number, paid, sum((part.amount for part in parts), Decimal("0")))
            for paid, parts in share.parts.items() if parts]
        if share.credit > 0:
            split.append((kind, number, None, share.credit, (ADVANCE,)))
        out.append(split)
    if sum(len(group) for group in out) > MAX_ITEMS:
        out = [[group[0]] if len(group) == 1 else
               [(group[0][0], group[0][1], None, sum((line[3] for line in group), Decimal("0")),
                 tuple(line[2] for line in group if line[2]))] for group in out]
    return [line for group in out for line in group]


def _month(period: str) -> str:
    return f"{period[5:]}.{period[:4]}"


def _span(periods: Sequence[str]) -> str:
    """«10.2026», «09–10.2026», «11.2025–02.2026»."""
    first, last = min(periods), max(periods)
    if first == last:
        return _month(first)
    if first[:4] == last[:4]:
        return f"{first[5:]}–{_month(last)}"
    return f"{_month(first)}–{_month(last)}"


def _description(kind: str, number: str, period: str | None,
                 covers: Sequence[str] = ()) -> str:
    if kind == "penalty":
        text = f"Пени за просрочку оплаты электроэнергии, л/с {number}"
    elif period:
        text = f"Электроэнергия за {_month(period)}, л/с {number}"
    elif tuple(covers) == (ADVANCE,):
        text = f"Электроэнергия (аванс), л/с {number}"
    elif covers:
        text = f"Электроэнергия за {_span(covers)}, л/с {number}"
    else:
        text = f"Электроэнергия, л/с {number}"
    return text[:MAX_DESCRIPTION]


def build(lines: Iterable[Line], customer: Mapping[str, str],
          config: Mapping[str, Any]) -> dict[str, Any]:
    """The receipt of a payment of ``lines`` (kind, account number, period, amount, and
    optionally the periods an item covers; see :func:`allocated`)."""
    items = []
    for kind, number, period, amount, *covers in lines:
        penalty = kind == "penalty"
        items.append({
            "description": _description(kind, number, period, *covers),
            "amount": money(amount),
            "quantity": "1", "kind": kind, "number": number, "period": period,
            "vat_code": config["RECEIPT_PENALTY_VAT_CODE" if penalty else "RECEIPT_VAT_CODE"],
            "payment_subject": config["RECEIPT_PENALTY_PAYMENT_SUBJECT" if penalty
                                      else "RECEIPT_PAYMENT_SUBJECT"],
            "payment_mode": config["RECEIPT_PAYMENT_MODE"]})
    return {"customer": dict(customer), "tax_system_code": config["RECEIPT_TAX_SYSTEM_CODE"],
            "items": items, "status": "pending"}


def for_refund(receipt: Mapping[str, Any], amount: Decimal) -> dict[str, Any]:
    """The receipt of a refund of ``amount`` from a payment with ``receipt``: its items in
    order, each returned up to its own sum, until ``amount`` is covered."""
    left, items = amount, []
    for item in receipt["items"]:
        if left <= 0:
            break
        part = min(left, Decimal(item["amount"]))
        items.append({**item, "amount": money(part)})
        left -= part
    return {**receipt, "items": items, "status": "pending"}


def with_status(receipt: dict[str, Any] | None, status: str | None) -> dict[str, Any] | None:
    """``receipt`` with the provider's state of it; a final state is never taken back."""
    if receipt is None or status not in STATUSES or receipt.get("status") == status:
        return receipt
    if receipt.get("status") in ("succeeded", "canceled"):
        return receipt
    return {**receipt, "status": status}


def view(receipt: Mapping[str, Any] | None, with_contact: bool = True) -> dict[str, Any] | None:
    """A receipt as the API shows it; the contact only to the payer themself."""
    if receipt is None:
        return None
    shown: dict[str, Any] = {
        "status": receipt["status"],
        "items": [{"description": i["description"], "amount": i["amount"], "kind": i["kind"],
                   "period": i["period"], "vat_code": i["vat_code"],
                   "payment_subject": i["payment_subject"], "payment_mode": i["payment_mode"]}
                  for i in receipt["items"]]}
    if with_contact:
        shown["email"] = receipt["customer"].get("email")
        shown["phone"] = receipt["customer"].get("phone")
    return shown
