"""The Платежи tab and Полная история платежей: one row per account and kind of each payment
(id, amount, type — electricity or penalties —, source, time, status), newest first."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import and_, or_, select

from services.payments.domain import receipts
from services.payments.domain.ledger import money
from services.payments.models import LedgerAccount, Payment, PaymentItem
from shared import paging
from shared.errors import ValidationFailed
from shared.work import Work

TYPES = {"electricity": "Электроэнергия", "penalty": "Пени"}
SOURCES = {"card": "Банковская карта", "saved_card": "Сохранённая карта",
           "autopay": "Автоплатёж"}


def page(work: Work, user_id: str, accounts: list[LedgerAccount], date_from: date | None,
         date_to: date | None, cursor: Any, limit: Any) -> dict[str, Any]:
    """Newest first, a page at a time (shared/paging.py: ``{items, next}``)."""
    size = paging.limit_of(limit)
    after = paging.decode(cursor, (str, int))
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed("Начало периода позже конца",
                               {"date_from": "Начало периода позже конца"})
    by_id = {a.id: a for a in accounts}
    query = (select(PaymentItem, Payment).join(Payment)
             .where(PaymentItem.ledger_id.in_(list(by_id)), Payment.status != "created"))
    if date_from:
        query = query.where(Payment.created_at >= datetime.combine(date_from, time(0),
                                                                   tzinfo=timezone.utc))
    if date_to:
        query = query.where(Payment.created_at < datetime.combine(
            date_to + timedelta(days=1), time(0), tzinfo=timezone.utc))
    if after is not None:  # the rows after the last one given, in the same order
        moment = paging.moment(after[0])
        query = query.where(or_(Payment.created_at < moment, and_(
            Payment.created_at == moment, PaymentItem.id > after[1])))
    rows = list(work.db.execute(query.order_by(Payment.created_at.desc(), PaymentItem.id)
                                .limit(size + 1)).tuples())

    def view(row: tuple[PaymentItem, Payment]) -> dict[str, Any]:
        item, payment = row
        return {
            "payment_id": payment.id, "account_id": by_id[item.ledger_id].account_id,
            "number": by_id[item.ledger_id].number, "amount": money(item.amount),
            "type": item.kind, "type_name": TYPES[item.kind], "period": item.period,
            "source": payment.source,
            "source_name": ("Система быстрых платежей (СБП)" if payment.method == "sbp"
                            else SOURCES.get(payment.source, payment.source)),
            "created_at": payment.created_at.isoformat(),
            "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
            "status": payment.status, "mine": payment.user_id == user_id,
            "method": payment.method or "card",
            # The receipt's state and lines; its contact is the payer's own, not shown here.
            "receipt": receipts.view(payment.receipt, with_contact=False)}

    return paging.page(rows, size, view,
                       lambda row: [row[1].created_at.isoformat(), row[0].id])
