"""The Платежи tab and Полная история платежей: one row per account and kind of each payment
(id, amount, type — electricity or penalties —, source, time, status), newest first."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from services.payments.domain.ledger import money
from services.payments.models import LedgerAccount, Payment, PaymentItem
from shared.errors import ValidationFailed
from shared.work import Work

TYPES = {"electricity": "Электроэнергия", "penalty": "Пени"}
SOURCES = {"card": "Банковская карта", "saved_card": "Сохранённая карта",
           "autopay": "Автоплатёж"}


def page(work: Work, user_id: str, accounts: list[LedgerAccount], date_from: date | None,
         date_to: date | None, number: Any, per_page: Any) -> dict[str, Any]:
    try:
        number, per_page = int(number), int(per_page)
    except (TypeError, ValueError):
        raise ValidationFailed("Неверные параметры страницы",
                               {"page": "integers expected"}) from None
    if number < 1 or not 1 <= per_page <= 100:
        raise ValidationFailed("Страница с 1, не больше 100 строк",
                               {"per_page": "1 to 100", "page": "from 1"})
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed("Начало периода позже конца", {"date_from": "after date_to"})
    by_id = {a.id: a for a in accounts}
    query = (select(PaymentItem, Payment).join(Payment)
             .where(PaymentItem.ledger_id.in_(list(by_id)), Payment.status != "created"))
    if date_from:
        query = query.where(Payment.created_at >= datetime.combine(date_from, time(0),
                                                                   tzinfo=timezone.utc))
    if date_to:
        query = query.where(Payment.created_at < datetime.combine(
            date_to + timedelta(days=1), time(0), tzinfo=timezone.utc))
    total = work.db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = work.db.execute(query.order_by(Payment.created_at.desc(), PaymentItem.id)
                           .offset((number - 1) * per_page).limit(per_page)).tuples()
    return {"page": number, "per_page": per_page, "total": total, "rows": [{
        "payment_id": payment.id, "account_id": by_id[item.ledger_id].account_id,
        "number": by_id[item.ledger_id].number, "amount": money(item.amount),
        "type": item.kind, "type_name": TYPES[item.kind], "period": item.period,
        "source": payment.source, "source_name": SOURCES.get(payment.source, payment.source),
        "created_at": payment.created_at.isoformat(),
        "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
        "status": payment.status, "mine": payment.user_id == user_id} for item, payment in rows]}
