"""РАЗДЕЛ «ИСТОРИЯ» (рис. 21): tabs «Платежи» (one account), «Полная история платежей» (all
accounts) and «Показания» (readings by meter and period, with a monthly consumption chart)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, render_template, request, url_for

from web import paging
from web import session as web_session
from web.api import ApiError
from web.charts import Bar, bar_chart
from web.filters import period as period_name
from web.forms import FormErrors, errors_from
from web.labels import (READING_REJECT_REASONS, READING_SOURCES, READING_STATUSES,
                        zone_labels)
from web.session import login_required

bp = Blueprint("history", __name__)

TABS = ("payments", "all", "readings")
PER_PAGE = 20
READINGS_PAGE = 60  # five years of monthly readings of one meter: the chart's year on page 1

# Every status the payments service gives a payment (services/payments/models.py), as the
# customer reads it, with the colour of its badge.
PAYMENT_STATUSES: dict[str, tuple[str, str]] = {
    "created": ("Создан", "neutral"),
    "requires_action": ("Ожидает подтверждения", "warn"),
    "pending": ("В обработке", "warn"),
    "succeeded": ("Оплачен", "ok"),
    "failed": ("Не оплачен", "bad"),
    "canceled": ("Отменён", "neutral"),
    "refunded": ("Возвращён", "info"),
    "partially_refunded": ("Частично возвращён", "info"),
}
PAYMENT_TYPES = {"electricity": "За электроэнергию", "penalty": "Пени"}
PAYMENT_SOURCES = {"card": "Банковская карта", "saved_card": "Сохранённая карта",
                   "autopay": "Автоплатёж", "sbp": "СБП"}

# The readings service's sources, statuses and reasons (services/readings/models.py).
CHART_MONTHS = 12
MONTH_SHORT = ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя",
               "дек")
MONTHS_PREPOSITIONAL = ("январе", "феврале", "марте", "апреле", "мае", "июне", "июле",
                        "августе", "сентябре", "октябре", "ноябре", "декабре")


@bp.get("/history")
@login_required
def index() -> tuple[str, int]:
    """The three tabs; filters travel in the query string so a page can be bookmarked."""
    tab = request.args.get("tab") if request.args.get("tab") in TABS else "payments"
    accounts = web_session.call("GET", "/accounts") or []
    account_id = _chosen_account(accounts)
    context: dict[str, Any] = {
        "tab": tab, "accounts": accounts, "account_id": account_id, "errors": FormErrors(),
        "tabs": _tabs(account_id), "filters": {}, "rows": [], "pager": None,
        "account_options": [(a["id"], " — ".join(filter(None, (a["number"], a.get("address")))))
                            for a in accounts]}
    if tab == "readings":
        context.update(_readings(account_id, request.args.get("cursor") or "")
                       if account_id else {"meters": []})
    elif tab == "all" or account_id:
        context.update(_payments(None if tab == "all" else account_id,
                                 request.args.get("cursor") or ""))
    status = 422 if context["errors"] or context["errors"].general else 200
    return render_template("history/index.html", **context), status


def _chosen_account(accounts: list[dict[str, Any]]) -> int | None:
    """The account of the «Лицевой счет» select: the one asked for if it is the customer's,
    else the first."""
    ids = [a["id"] for a in accounts]
    try:
        asked = int(request.args.get("account_id", ""))
    except ValueError:
        asked = None
    return asked if asked in ids else (ids[0] if ids else None)


def _tabs(account_id: int | None) -> list[tuple[str, str, str]]:
    keep = {"account_id": account_id} if account_id else {}
    return [("payments", url_for("history.index", tab="payments", **keep), "Платежи"),
            ("all", url_for("history.index", tab="all"), "Полная история платежей"),
            ("readings", url_for("history.index", tab="readings", **keep), "Показания")]


def _payments(account_id: int | None, cursor: str) -> dict[str, Any]:
    """One page of payments, newest first, filtered by the dates the customer gave; the
    page after ``cursor`` (the API's ``next``), or the first."""
    filters = {"date_from": (request.args.get("date_from") or "").strip(),
               "date_to": (request.args.get("date_to") or "").strip()}
    params: dict[str, Any] = {k: v for k, v in filters.items() if v}
    if account_id:
        params["account_id"] = account_id
    try:  # a stale cursor (an old link) gives the newest page instead
        answer = paging.fetch("/payments/history", PER_PAGE, cursor, **params)
    except ApiError as exc:
        if exc.status != 422 and exc.status != 400:
            raise
        errors = errors_from(exc, known={"date_from", "date_to"})
        return {"filters": filters, "errors": errors, "rows": [], "pager": None}
    rows = [{**row,
             "status_text": PAYMENT_STATUSES.get(row["status"], (row["status"], "neutral"))[0],
             "status_kind": PAYMENT_STATUSES.get(row["status"], ("", "neutral"))[1],
             "type_text": PAYMENT_TYPES.get(row["type"], row.get("type_name") or row["type"]),
             "source_text": PAYMENT_SOURCES["sbp"] if row.get("method") == "sbp" else
             PAYMENT_SOURCES.get(row["source"], row.get("source_name") or row["source"])}
            for row in answer["items"]]
    pager = paging.links(answer, cursor, "history.index")  # newest first: «Ранее» is older
    return {"filters": filters, "rows": rows, "pager": pager}

def _readings(account_id: int, cursor: str) -> dict[str, Any]:
    """A page of readings (newest period first) grouped by meter; on the first page the
    chart sums the consumption of every meter of the account by month (a replaced meter's
    last months and the new one's first add up)."""
    answer = paging.fetch(f"/accounts/{account_id}/readings", READINGS_PAGE, cursor)
    meters: dict[str, dict[str, Any]] = {}
    by_month: dict[str, Decimal] = {}
    for reading in answer["items"]:
        meter = meters.setdefault(reading["meter_serial"], {
            "serial": reading["meter_serial"], "removed_on": reading["meter_removed_on"],
            "zone_names": zone_labels(reading.get("zones") or 1), "readings": []})
        meter["readings"].append(reading)
        status = READING_STATUSES.get(reading["status"], (reading["status"], "neutral"))
        reading["status_text"], reading["status_kind"] = status
        reading["source_text"] = READING_SOURCES.get(reading["source"], reading["source"])
        reading["reason_text"] = READING_REJECT_REASONS.get(reading.get("reason") or "",
                                                            reading.get("reason"))
        used = reading.get("consumption")
        reading["total"] = sum(used) if used else None
        if used and not cursor:
            by_month[reading["period"]] = by_month.get(reading["period"], Decimal(0)) \
                + Decimal(sum(used))
    months = sorted(by_month)[-CHART_MONTHS:]
    chart = None
    if months:
        bars = []
        for i, month in enumerate(months):
            year, number = month.split("-")
            bars.append(Bar(label=MONTH_SHORT[int(number) - 1],
                            # the year under January, and under the first bar unless a
                            # January comes right after it (the two would overlap)
                            sublabel=year if number == "01" or (i == 0 and number < "11")
                            else "",
                            value=by_month[month],
                            caption=f"{period_name(month)}: {by_month[month]} кВт·ч"))
        first, last = period_name(months[0]), period_name(months[-1])
        peak = max(months, key=lambda m: by_month[m])
        title = "Расход электроэнергии по месяцам, кВт·ч"
        description = (f"Столбчатая диаграмма за {len(months)} мес. с {first} по {last}; "
                       f"больше всего в {MONTHS_PREPOSITIONAL[int(peak[5:]) - 1]} "
                       f"{peak[:4]}: {by_month[peak]} кВт·ч.")
        chart = {"wide": bar_chart(bars, title, description, "кВт·ч"),
                 "compact": bar_chart(bars, title, description, "кВт·ч", compact=True)}
    return {"meters": list(meters.values()), "chart": chart,
            "chart_rows": [(m, by_month[m]) for m in months],
            "pager": paging.links(answer, cursor, "history.index")}
