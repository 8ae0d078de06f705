"""What payments does when a user deletes their account (auth.user_deleted, 152-ФЗ).

Payment records stay: they are accounting documents (402-ФЗ ст. 29: kept at least five
years; the fiscal receipts of 54-ФЗ are the provider's and the fiscal data operator's), and
a refund or a chargeback still needs them. They name the user only by the random user id,
whose phone and e-mail auth has erased; payments keeps no payer's name (the provider's
customer is made without one), and the e-mail or phone a receipt was sent to is erased from
the payment's copy of the receipt (the fiscal receipt itself is the operator's). What goes is what serves the person, not the
books: automatic payments stop first (no card is charged for a deleted user), saved cards
are detached at the provider (it will not charge them again), the provider's customer is
forgotten here, card references leave the payment records, and the copy of the user's
access to accounts goes.

Every step is safe to repeat, so the handler needs no claim on the event id (the claim is
keyed by the event id alone: of several handlers of one event in a service only one could
make it).
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.payments.models import AutoPay, Customer, Link, Payment
from services.payments.providers.base import NotFound, PaymentProvider, ProviderError

log = logging.getLogger(__name__)


def forget_user(db: Session, provider: PaymentProvider, user_id: str, now: datetime) -> int:
    """Erase the user's non-accounting payment data; returns how many cards were detached.
    A provider that cannot be reached raises (the event is retried); cards of a provider
    no longer configured cannot be reached at all and are logged."""
    db.execute(update(AutoPay).where(AutoPay.user_id == user_id, AutoPay.cancelled_at.is_(None))
               .values(cancelled_at=now))
    db.execute(delete(Link).where(Link.user_id == user_id))
    db.commit()  # autopays off before any call to the provider
    detached = 0
    for customer in list(db.scalars(select(Customer).where(Customer.user_id == user_id))):
        if customer.provider != provider.name:
            log.warning("saved cards of a deleted user left at a provider no longer configured",
                        extra={"provider": customer.provider, "user_id": user_id})
            continue
        try:
            cards = provider.list_cards(customer.customer_ref)
        except NotFound:
            cards = []  # the provider has forgotten the customer already
        for card in cards:
            try:
                provider.detach_card(card.ref)
            except NotFound:
                continue  # detached meanwhile
            except ProviderError as exc:
                if exc.code != "payment_method_unexpected_state":  # not saved any more
                    raise
                continue
            detached += 1
        db.delete(customer)
        db.commit()  # each customer forgotten once its cards are: a retry skips it
    db.execute(update(Payment).where(Payment.user_id == user_id)
               .values(card_ref=None, customer_ref=None))
    for payment in db.scalars(select(Payment).where(Payment.user_id == user_id)):
        if payment.receipt and payment.receipt.get("customer"):
            payment.receipt = {**payment.receipt, "customer": {}}
    db.commit()
    return detached
