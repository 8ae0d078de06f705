"""Jinja filters: money, dates and periods as a Russian customer reads them."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

THIN_SPACE, NBSP = "\u202f", "\u00a0"
MONTHS = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь",
          "октябрь", "ноябрь", "декабрь")
MONTHS_GENITIVE = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                   "сентября", "октября", "ноября", "декабря")


def money(value: Any, unit: bool = True) -> str:
    """``1234.5`` → ``1 234,50 ₽`` (a narrow no-break space between thousands)."""
    if value in (None, ""):
        return "—"
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return str(value)
    sign = "−" if amount < 0 else ""
    whole, _, cents = f"{abs(amount):.2f}".partition(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    text = sign + THIN_SPACE.join(groups) + "," + cents
    return text + NBSP + "₽" if unit else text


def _parse(value: Any) -> date | datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, (date, datetime)):
        return value
    text = str(value)
    try:
        if "T" in text or " " in text.strip():
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def ru_date(value: Any) -> str:
    """ISO date or time → ``dd.mm.yyyy``."""
    parsed = _parse(value)
    return parsed.strftime("%d.%m.%Y") if parsed else (str(value) if value else "—")


def make_ru_datetime(tz: str):
    zone = ZoneInfo(tz)

    def ru_datetime(value: Any) -> str:
        """ISO time → ``dd.mm.yyyy HH:MM:SS`` in the supplier's time zone (as the manual)."""
        parsed = _parse(value)
        if isinstance(parsed, datetime):
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(zone)
            return parsed.strftime("%d.%m.%Y %H:%M:%S")
        return ru_date(value)
    return ru_datetime


def period(value: Any, genitive: bool = False) -> str:
    """``2018-11`` → ``ноябрь 2018``."""
    try:
        year, month = str(value)[:7].split("-")
        names = MONTHS_GENITIVE if genitive else MONTHS
        return f"{names[int(month) - 1]} {year}"
    except (ValueError, IndexError):
        return str(value or "—")


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        money=money, ru_date=ru_date, period=period,
        ru_datetime=make_ru_datetime(app.config["NESK"]["SUPPLIER_TIMEZONE"]))
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
