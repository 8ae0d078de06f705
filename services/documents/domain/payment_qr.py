"""The payment QR code's text, ГОСТ Р 56042-2014: build it, check it, read it back.

The text is ``ST0001`` (format and version), an encoding flag (``2`` = UTF-8, the only one
built here), then ``|``-separated ``Key=Value`` fields: the five required ones first and in
this order (Name, PersonalAcc, BankName, BIC, CorrespAcc; together at most 300 bytes), then
optional ones. A bank's app scans it and fills the payment form.

Payee values come from configuration, so a bad one is refused (:class:`PaymentQrError`):
printing it would send customers' money astray. Payer values come from the registry as they
were typed; :func:`payload_for_bill` cleans those (line breaks and ``|`` cannot be encoded)
instead of refusing the whole bill.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Mapping

from services.documents.domain.bill import MONTHS, Bill, DocumentError

FORMAT = "ST0001"
UTF8_FLAG = "2"
SEPARATOR = "|"
ENCODINGS = {"1": "cp1251", "2": "utf-8", "3": "koi8_r"}
REQUIRED = ("Name", "PersonalAcc", "BankName", "BIC", "CorrespAcc")
MAX_REQUIRED_BYTES = 300
# Our own bound, not the standard's: it keeps the code at QR version ≤ 20 (97 modules at
# level M), so a module is ≥ 0.43 mm at the printed size and any phone camera resolves it.
MAX_PAYLOAD_BYTES = 660
# Payer details only fill in the bank's form (PersAcc already names the payer): when a long
# address or name would make the code too dense, they are left out, in this order.
PAYER_FIELDS = ("PayerAddress", "MiddleName", "FirstName", "LastName")
TECH_CODE_UTILITIES = "02"  # «Коммунальные услуги, ЖКХ» in the standard's list of TechCode


@dataclass(frozen=True)
class _Rule:
    pattern: str | None = None  # the whole value must match
    max_len: int | None = None  # in characters
    what: str = ""              # the pattern in words, for the error message


_DIGITS_20 = _Rule(r"\d{20}", what="20 digits")
_KOPECKS = _Rule(r"\d{1,18}", what="a whole number of kopecks, up to 18 digits")
_DATE = _Rule(r"(0[1-9]|[12]\d|3[01])\.(0[1-9]|1[0-2])\.\d{4}", what="a date dd.MM.yyyy")

# Fields of the standard (tables 2, 3 and 4). Lengths are the standard's where it gives them.
RULES: dict[str, _Rule] = {
    # Table 2: required.
    "Name": _Rule(max_len=160),
    "PersonalAcc": _DIGITS_20,
    "BankName": _Rule(max_len=45),
    "BIC": _Rule(r"\d{9}", what="9 digits"),
    "CorrespAcc": _DIGITS_20,
    # Table 3: additional.
    "Sum": _KOPECKS,
    "Purpose": _Rule(max_len=210),
    "PayeeINN": _Rule(r"\d{10}|\d{12}", what="10 or 12 digits"),
    "PayerINN": _Rule(r"\d{10}|\d{12}", what="10 or 12 digits"),
    "DrawerStatus": _Rule(max_len=2),
    "KPP": _Rule(r"\d{4}[0-9A-Z]{2}\d{3}", what="9 characters NNNNPPNNN"),
    "CBC": _Rule(max_len=20),
    "OKTMO": _Rule(max_len=11),
    "PaytReason": _Rule(max_len=2),
    "TaxPeriod": _Rule(max_len=10),
    "DocNo": _Rule(max_len=15),
    "DocDate": _DATE,
    "TaxPaytKind": _Rule(max_len=2),
    # Table 4: other additional fields (the standard gives no lengths for most of them).
    **{name: _Rule() for name in (
        "LastName", "FirstName", "MiddleName", "PayerAddress", "PersonalAccount", "DocIdx",
        "PensAcc", "Contract", "PersAcc", "Flat", "Phone", "PayerIdType", "PayerIdNum",
        "ChildFio", "Category", "ServiceName", "CounterId", "CounterVal", "QuittId", "InstNum",
        "ClassNum", "SpecFio", "RuleId", "ExecId", "RegType", "UIN")},
    "BirthDate": _DATE,
    "PaymTerm": _DATE,
    "QuittDate": _DATE,
    "PaymPeriod": _Rule(r"(0[1-9]|1[0-2])\d{4}", what="MMYYYY"),
    "AddAmount": _KOPECKS,
    "TechCode": _Rule(r"0[1-9]|1[0-5]", what="a code 01–15"),
}
_CANONICAL = {name.lower(): name for name in RULES}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PaymentQrError(DocumentError):
    """The QR text breaks the standard: ``field`` names the field, ``reason`` says how."""


def _check_value(name: str, value: str, separator: str) -> None:
    rule = RULES[name]
    if not value:
        raise PaymentQrError(name, "is empty (leave an optional field out instead)")
    if separator in value:
        raise PaymentQrError(name, f"contains the separator {separator!r}")
    if _CONTROL.search(value):
        raise PaymentQrError(name, "contains a line break or another control character")
    if rule.pattern is not None and not re.fullmatch(rule.pattern, value):
        raise PaymentQrError(name, f"must be {rule.what}, got {value!r}")
    if rule.max_len is not None and len(value) > rule.max_len:
        raise PaymentQrError(name, f"is {len(value)} characters long, at most {rule.max_len}")


def _check(pairs: list[tuple[str, str]], flag: str = UTF8_FLAG, separator: str = SEPARATOR) -> None:
    """Every rule of the standard (and our size bound) over the fields in payload order."""
    encoding = ENCODINGS[flag]
    names = [name for name, _ in pairs]
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise PaymentQrError(missing[0], "missing: the standard requires " + ", ".join(REQUIRED))
    if tuple(names[:len(REQUIRED)]) != REQUIRED:
        raise PaymentQrError(next(a for a, b in zip(names, REQUIRED) if a != b),
                             "out of order: the required fields come first, as "
                             + ", ".join(REQUIRED))
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen:
            raise PaymentQrError(name, "appears twice")
        seen.add(name)
        _check_value(name, value, separator)
    for name, value in pairs:
        try:
            value.encode(encoding)
        except UnicodeEncodeError as error:
            raise PaymentQrError(name, f"has characters that {encoding} cannot encode") from error
    required = separator.join(f"{n}={v}" for n, v in pairs[:len(REQUIRED)])
    size = len(required.encode(encoding))
    if size > MAX_REQUIRED_BYTES:
        raise PaymentQrError("Name", f"the required fields take {size} bytes, "
                                     f"at most {MAX_REQUIRED_BYTES}: shorten Name or BankName")
    total = len(_join(pairs, flag, separator).encode(encoding))
    if total > MAX_PAYLOAD_BYTES:
        raise PaymentQrError("payload", f"the text takes {total} bytes, at most "
                                        f"{MAX_PAYLOAD_BYTES} stay readable: shorten the "
                                        "optional fields")


def _join(pairs: list[tuple[str, str]], flag: str = UTF8_FLAG, separator: str = SEPARATOR) -> str:
    return FORMAT + flag + "".join(f"{separator}{name}={value}" for name, value in pairs)


def build(fields: Mapping[str, str | None]) -> str:
    """The QR text (UTF-8 flavour) for these fields; ``None`` values are left out.

    The required fields go first in the standard's order, then the others in the order given.
    Raises :class:`PaymentQrError` on an unknown field, a missing required one, a value of the
    wrong form or length, a value holding ``|`` or a line break, a required block over
    300 bytes, or a whole text over :data:`MAX_PAYLOAD_BYTES`.
    """
    for name in fields:
        if name not in RULES:
            raise PaymentQrError(name, "is not a field of ГОСТ Р 56042-2014")
    present = {name: value for name, value in fields.items() if value is not None}
    ordered = [n for n in REQUIRED if n in present] + [n for n in present if n not in REQUIRED]
    pairs = [(name, present[name]) for name in ordered]
    _check(pairs)
    return _join(pairs)


def parse(payload: str | bytes) -> dict[str, str]:
    """The fields of a QR text, in order, after checking it as :func:`build` does.

    Accepts the text as decoded or as the raw bytes (decoded by its encoding flag). Field
    names are matched without regard to case, as banks' apps do, and returned in the
    standard's spelling. Raises :class:`PaymentQrError` when the text breaks the standard.
    """
    raw = payload if isinstance(payload, bytes) else payload[:7].encode("ascii", "replace")
    flag = raw[6:7].decode("ascii", "replace")
    if raw[:6] != FORMAT.encode() or flag not in ENCODINGS:
        raise PaymentQrError("header", f"must start with {FORMAT} and an encoding flag 1, 2 or 3")
    encoding = ENCODINGS[flag]
    if isinstance(payload, bytes):
        try:
            text = payload.decode(encoding)
        except UnicodeDecodeError as error:
            raise PaymentQrError("header", f"the text is not valid {encoding}") from error
    else:
        text = payload
    if len(text) < 8:
        raise PaymentQrError("Name", "missing")
    separator = text[7]
    body = text[8:]
    if body.endswith(separator):  # some producers close the text with a separator
        body = body[:-1]
    pairs: list[tuple[str, str]] = []
    for item in body.split(separator):
        key, equals, value = item.partition("=")
        name = _CANONICAL.get(key.lower())
        if not equals or name is None:
            raise PaymentQrError(key or "field", "is not a Key=Value field of ГОСТ Р 56042-2014")
        pairs.append((name, value))
    _check(pairs, flag, separator)
    return dict(pairs)


def clean(value: str) -> str:
    """A free-text value made encodable: line breaks and runs of spaces become one space,
    the separator ``|`` becomes ``/`` (neither can stand inside a value)."""
    return " ".join(value.replace(SEPARATOR, "/").split())


def kopecks(amount: Decimal) -> int:
    """Roubles to whole kopecks, rounding half up (the QR's Sum is in kopecks)."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def payload_for_bill(bill: Bill) -> str:
    """The QR text that pays this bill: the supplier as payee, the account, the total.

    Sum is the total due and is left out when nothing is due (the payer types an amount).
    The penalty is inside Sum and not repeated as AddAmount, which some apps add on top.
    Payer details that would push the text past :data:`MAX_PAYLOAD_BYTES` are left out.
    """
    year, month = bill.year_month
    bank = bill.supplier.bank
    total = kopecks(bill.total_due)
    names = clean(bill.consumer.name).split(" ", 2)
    names += [""] * (3 - len(names))
    fields: dict[str, str | None] = {
        "Name": bill.supplier.name,
        "PersonalAcc": bank.account,
        "BankName": bank.bank_name,
        "BIC": bank.bic,
        "CorrespAcc": bank.correspondent_account,
        "PayeeINN": bill.supplier.inn,
        "KPP": bill.supplier.kpp,
        "Sum": str(total) if total > 0 else None,
        "Purpose": f"Оплата электроэнергии за {MONTHS[month - 1]} {year}, "
                   f"л/с {bill.account_number}",
        "PersAcc": bill.account_number,
        "PaymPeriod": f"{month:02d}{year:04d}",
        "LastName": names[0] or None,
        "FirstName": names[1] or None,
        "MiddleName": names[2] or None,
        "PayerAddress": clean(bill.consumer.address),
        "TechCode": TECH_CODE_UTILITIES,
    }
    droppable = list(PAYER_FIELDS)
    while True:
        try:
            return build(fields)
        except PaymentQrError as error:
            if error.field != "payload" or not droppable:
                raise
            fields[droppable.pop(0)] = None
