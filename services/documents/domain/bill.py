"""One bill («Счет на оплату услуги по энергоснабжению») as plain data.

The documents service fills these from the other services' answers (accounts: the consumer,
branch and meters; payments: charges, debt, penalties; configuration: the supplier's bank
details) and hands a :class:`Bill` to :func:`services.documents.domain.bill_pdf.render`.
Money is ``Decimal`` in roubles; it is rounded to kopecks only where it is printed or put in
the QR code. The checks here are those whose breach would print a wrong or unreadable bill.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ZONE_LABELS = ("1-эт", "2-эт", "3-эт")  # the bill's zone columns, as the sample bill heads them
MONTHS = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
          "сентябрь", "октябрь", "ноябрь", "декабрь")  # "за ноябрь 2018 года"
MAX_METERS = 4        # rows of the meter table that fit the page with the charges below
MAX_CHARGES = 6       # zone lines of the charges table that fit the page
MAX_TEXT = 200        # characters of an address that fit its box; shorter lines have less room

_PERIOD = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


class DocumentError(ValueError):
    """A value a document cannot be made from: ``field`` names it, ``reason`` says why."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


class BillError(DocumentError):
    """The bill's data would print wrong or would not fit the page."""


def _decimal(name: str, value: object) -> None:
    # A float here has already lost kopecks; refuse it rather than print a rounded guess.
    if not isinstance(value, Decimal) or not value.is_finite():
        raise BillError(name, f"must be a finite Decimal, got {value!r}")


def _digits(name: str, value: str, *lengths: int) -> None:
    if not (value.isascii() and value.isdigit() and len(value) in lengths):
        wanted = (f"{lengths[0]}–{lengths[-1]}" if len(lengths) > 2
                  else " or ".join(str(n) for n in lengths))
        raise BillError(name, f"must be {wanted} digits, got {value!r}")


def _text(name: str, value: str, limit: int = MAX_TEXT) -> None:
    if not value.strip():
        raise BillError(name, "is empty")
    if len(value) > limit:
        raise BillError(name, f"is {len(value)} characters long, at most {limit} fit the page")


@dataclass(frozen=True)
class BankDetails:
    """Where the customer pays: the supplier's settlement account and its bank."""

    account: str                # расчётный счёт, 20 digits
    bank_name: str
    bic: str                    # БИК, 9 digits
    correspondent_account: str  # корреспондентский счёт of the bank, 20 digits

    def __post_init__(self) -> None:
        _digits("bank.account", self.account, 20)
        _text("bank.bank_name", self.bank_name, 45)  # the QR code's BankName holds 45
        _digits("bank.bic", self.bic, 9)
        _digits("bank.correspondent_account", self.correspondent_account, 20)


@dataclass(frozen=True)
class Supplier:
    """The guaranteeing supplier and payee (e.g. АО «НЭСК»)."""

    name: str   # the short name, as printed beside the account number: "АО «НЭСК»"
    inn: str    # 10 digits for an organisation
    kpp: str    # 9 characters
    bank: BankDetails

    def __post_init__(self) -> None:
        _text("supplier.name", self.name, 40)
        _digits("supplier.inn", self.inn, 10, 12)
        if not re.fullmatch(r"\d{4}[0-9A-Z]{2}\d{3}", self.kpp):
            raise BillError("supplier.kpp", f"must be 9 characters (NNNNPPNNN), got {self.kpp!r}")


@dataclass(frozen=True)
class Branch:
    """The supplier's branch that serves the account, with its office and contacts."""

    name: str       # e.g. "Мостэнергосбыт"
    address: str
    hours: str      # Режим работы
    site: str
    email: str
    phone: str

    def __post_init__(self) -> None:
        limits = {"name": 40, "address": MAX_TEXT, "hours": 120, "site": 60, "email": 60,
                  "phone": 60}
        for name, limit in limits.items():
            _text(f"branch.{name}", getattr(self, name), limit)


@dataclass(frozen=True)
class Consumer:
    """The account holder and the address where the meter is installed."""

    name: str       # ФИО as registered: "Петров Иван Сергеевич"
    address: str    # адрес установки прибора учета

    def __post_init__(self) -> None:
        _text("consumer.name", self.name, 120)
        _text("consumer.address", self.address)


@dataclass(frozen=True)
class MeterReading:
    """One side of a meter row: the reading's type as billing marks it, its date, the values.

    ``values`` holds one whole number per zone (1-эт, 2-эт, 3-эт); their count is the meter's
    zone type (one-, two- or three-zone).
    """

    kind: str               # e.g. "КО"
    taken_on: date
    values: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        if not 1 <= len(self.values) <= len(ZONE_LABELS):
            raise BillError("meters.values", f"a meter has 1 to 3 zones, got {len(self.values)}")
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in self.values):
            raise BillError("meters.values", f"readings are whole numbers ≥ 0, got {self.values}")
        if len(self.kind) > 6:
            raise BillError("meters.kind", f"at most 6 characters fit, got {self.kind!r}")


@dataclass(frozen=True)
class MeterRow:
    """A row of the meter table: serial number, initial and final readings."""

    serial: str
    initial: MeterReading
    final: MeterReading

    def __post_init__(self) -> None:
        _text("meters.serial", self.serial, 24)
        if len(self.initial.values) != len(self.final.values):
            raise BillError("meters", f"meter {self.serial}: initial and final readings have "
                                      "different numbers of zones")

    @property
    def zones(self) -> int:
        """How many tariff zones the meter counts (1, 2 or 3)."""
        return len(self.final.values)


@dataclass(frozen=True)
class ZoneCharge:
    """Consumption of one zone in the period, its tariff and the amount charged."""

    zone: int                 # 1, 2 or 3: the column 1-эт, 2-эт, 3-эт
    consumption_kwh: Decimal
    tariff: Decimal           # ₽ per kWh, VAT included
    amount: Decimal           # ₽, as billing computed it

    def __post_init__(self) -> None:
        if self.zone not in (1, 2, 3):
            raise BillError("charges.zone", f"must be 1, 2 or 3, got {self.zone!r}")
        for name in ("consumption_kwh", "tariff", "amount"):
            _decimal(f"charges.{name}", getattr(self, name))

    @property
    def label(self) -> str:
        """The zone as the bill heads it ("1-эт")."""
        return ZONE_LABELS[self.zone - 1]


@dataclass(frozen=True)
class Bill:
    """Everything printed on one bill for one account and one month."""

    supplier: Supplier
    branch: Branch
    consumer: Consumer
    account_number: str       # лицевой счёт
    gis_id: str               # идентификатор ЖКУ в ГИС ЖКХ (ЕЛС and premises), "90BB144120-11"
    period: str               # the billed month, "YYYY-MM"
    meters: tuple[MeterRow, ...]
    charges: tuple[ZoneCharge, ...]
    debt_at_start: Decimal    # задолженность на начало периода (negative: overpaid)
    penalties: Decimal        # пени
    total_due: Decimal        # итого к оплате, as billing computed it
    due_date: date            # «Оплатить до»
    paid: Decimal = Decimal(0)  # оплачено с начала периода (to this and earlier periods)

    def __post_init__(self) -> None:
        object.__setattr__(self, "meters", tuple(self.meters))
        object.__setattr__(self, "charges", tuple(self.charges))
        _digits("account_number", self.account_number, *range(5, 21))
        _text("gis_id", self.gis_id, 40)
        if not _PERIOD.fullmatch(self.period):
            raise BillError("period", f"must be YYYY-MM, got {self.period!r}")
        if len(self.meters) > MAX_METERS:
            raise BillError("meters", f"at most {MAX_METERS} meters fit the page, "
                                      f"got {len(self.meters)}")
        if len(self.charges) > MAX_CHARGES:
            raise BillError("charges", f"at most {MAX_CHARGES} charge lines fit the page, "
                                       f"got {len(self.charges)}")
        for name in ("debt_at_start", "penalties", "total_due", "paid"):
            _decimal(name, getattr(self, name))

    @property
    def year_month(self) -> tuple[int, int]:
        """The billed period as (year, month)."""
        year, month = self.period.split("-")
        return int(year), int(month)

    @property
    def charged(self) -> Decimal:
        """Начислено за период: the sum of the zone amounts."""
        return sum((c.amount for c in self.charges), Decimal(0))
