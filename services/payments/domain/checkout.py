"""Card payments: start one over one or several accounts, follow the provider to the end,
refund, reconcile a stuck one. A payment is money only when the provider confirms it.

Statuses: created → requires_action (the card form, 3-D Secure) → pending → succeeded, or
failed (the customer may try another card on the same payment), canceled; after a refund,
partially_refunded or refunded. Nothing leaves succeeded but a refund, and a provider's
event delivered twice or late changes nothing twice.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any, Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.payments.domain import penalties, receipts
from services.payments.domain.ledger import money
from services.payments.models import (LedgerAccount, Payment, PaymentItem, ProviderEventSeen,
                                      Refund)
from services.payments.providers.base import (PaymentProvider, ProviderEvent, ProviderIntent,
                                              ProviderError)
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.work import Work

# What our payment becomes for each status the provider reports.
FROM_PROVIDER = {"requires_action": "requires_action", "pending": "pending",
                 "succeeded": "succeeded", "failed": "failed", "canceled": "canceled"}
SETTLED = ("succeeded", "refunded", "partially_refunded", "canceled")
OPEN = ("created", "requires_action", "pending", "failed")
RECONCILE_FOR = timedelta(days=7)  # after that an open payment is abandoned
WAITING = ("created", "requires_action", "pending")


def kopecks(amount: Decimal) -> int:
    return int(amount * 100)


def sbp_url(payment: Payment) -> str | None:
    """The link that opens the bank's app, while a СБП payment waits for the customer."""
    if payment.method != "sbp" or payment.status not in WAITING or not payment.action:
        return None
    return payment.action.get("confirmation_url")


def payment_view(payment: Payment, accounts: dict[int, LedgerAccount]) -> dict[str, Any]:
    return {
        "id": payment.id, "status": payment.status, "amount": money(payment.amount),
        "refunded": money(payment.refunded), "source": payment.source,
        "method": payment.method or "card", "sbp_url": sbp_url(payment),
        "receipt": receipts.view(payment.receipt),
        "provider": payment.provider, "action": payment.action,
        "failure_reason": payment.failure_reason,
        "created_at": payment.created_at.isoformat(),
        "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
        "items": [{"account_id": accounts[i.ledger_id].account_id,
                   "number": accounts[i.ledger_id].number,
                   "branch": accounts[i.ledger_id].branch, "kind": i.kind,
                   "period": i.period, "amount": money(i.amount)} for i in payment.items]}


class Checkout:
    def __init__(self, work: Work, provider: PaymentProvider,
                 config: Mapping[str, Any]) -> None:
        self.work = work
        self.db = work.db
        self.provider = provider
        self.config = config  # the RECEIPT_* settings

    def _accounts(self, payment: Payment) -> dict[int, LedgerAccount]:
        ids = {item.ledger_id for item in payment.items}
        return {a.id: a for a in self.db.scalars(select(LedgerAccount).where(
            LedgerAccount.id.in_(ids)))}

    def view(self, payment: Payment) -> dict[str, Any]:
        return payment_view(payment, self._accounts(payment))

    def _event_payload(self, payment: Payment) -> dict[str, Any]:
        view = self.view(payment)
        return {"payment_id": payment.id, "user_id": payment.user_id, "amount": view["amount"],
                "source": payment.source, "provider": payment.provider, "items": view["items"]}

    # ---- starting ------------------------------------------------------------------------

    def create(self, user_id: str | None, idempotency_key: str,
               items: list[tuple[LedgerAccount, str, Decimal, str | None]], *,
               source: str = "card", save_card: bool = False, customer_ref: str | None = None,
               saved_card_ref: str | None = None, method: str = "card",
               receipt_contact: Mapping[str, str] | None = None,
               debts: Mapping[int, Sequence[penalties.Charge]] | None = None) -> Payment:
        """Start a payment of ``items`` (account, kind, amount, period) by ``method`` (card or
        sbp), its 54-ФЗ receipt sent to ``receipt_contact`` (e-mail and/or phone); with the
        accounts' open charges (``debts``, per ledger id) the receipt names the periods that
        electricity without a period pays. The same idempotency key from the same user gives
        back the same payment (a double click)."""
        existing = self.db.scalar(select(Payment).where(
            Payment.user_id == user_id, Payment.idempotency_key == idempotency_key))
        if existing is not None:
            return self._same_or_conflict(existing, items)
        total = sum((amount for _, _, amount, _ in items), Decimal("0"))
        payment = Payment(id=str(uuid.uuid4()), user_id=user_id,
                          idempotency_key=idempotency_key, amount=total, status="created",
                          source=source, provider=self.provider.name, save_card=save_card,
                          customer_ref=customer_ref, card_ref=saved_card_ref, created_at=self.work.now, updated_at=self.work.now,
                          refunded=Decimal("0"), method=method)
        payment.items = [PaymentItem(ledger_id=account.id, kind=kind, amount=amount,
                                     period=period) for account, kind, amount, period in items]
        if self.provider.receipts:
            payment.receipt = receipts.build(receipts.allocated(
                [(account.id, kind, account.number, period, amount)
                 for account, kind, amount, period in items], debts or {}),
                receipt_contact or {}, self.config)
        self.db.add(payment)
        try:
            self.db.flush()
        except IntegrityError:  # the same click, a moment earlier, in another worker
            self.db.rollback()
            existing = self.db.scalar(select(Payment).where(
                Payment.user_id == user_id, Payment.idempotency_key == idempotency_key))
            assert existing is not None
            return self._same_or_conflict(existing, items)
        self.work.record("payment_created", {**self._event_payload(payment),
                                             "created_at": self.work.now.isoformat()})
        self.db.commit()  # the payment exists before the provider hears of it
        try:
            intent = self._start_at_provider(payment)
        except ProviderError as exc:
            # Left "created": the reconciliation asks again with the same idempotency key.
            payment.failure_reason = exc.code
            self.db.commit()
            raise
        self.apply_intent(payment, intent)
        return payment

    def _start_at_provider(self, payment: Payment) -> ProviderIntent:
        """Ask the provider to start ``payment``; always with the same arguments and key, so
        asking again (a lost answer, the reconciliation) finds the same provider payment."""
        purposes = ", ".join(sorted({f"л/с {a.number}"
                                     for a in self._accounts(payment).values()}))
        intent = self.provider.create_payment(
            payment_id=payment.id, amount_kopecks=kopecks(payment.amount),
            description=f"Оплата электроэнергии: {purposes}",
            customer_ref=payment.customer_ref, save_card=payment.save_card,
            saved_card_ref=payment.card_ref, idempotency_key=f"create-{payment.id}",
            metadata={"payment_id": payment.id},
            method="sbp" if payment.method == "sbp" else "card", receipt=_sent(payment.receipt))
        payment.provider_ref = intent.provider_ref
        return intent

    def _same_or_conflict(self, payment: Payment,
                          items: list[tuple[LedgerAccount, str, Decimal, str | None]]) -> Payment:
        wanted = sorted((a.id, k, amount, p) for a, k, amount, p in items)
        have = sorted((i.ledger_id, i.kind, i.amount, i.period) for i in payment.items)
        if wanted != have:
            raise Conflict("Этот ключ уже использован для другого платежа",
                           {"idempotency_key": "already used for another payment"})
        return payment

    # ---- what the provider says ----------------------------------------------------------

    def apply_intent(self, payment: Payment, intent: ProviderIntent) -> None:
        """Move the payment to what the provider reports, once; commits."""
        self._move(payment, FROM_PROVIDER.get(intent.status, payment.status),
                   intent.failure_reason, intent)
        payment.receipt = receipts.with_status(payment.receipt, intent.receipt_status)
        self.db.commit()

    def _move(self, payment: Payment, status: str, reason: str | None,
              intent: ProviderIntent | None = None) -> None:
        if payment.status in SETTLED or status == payment.status and status != "requires_action":
            return  # final, or already there: a replay changes nothing
        payment.updated_at = self.work.now
        if status == "requires_action" and intent is not None:
            action = {"next_action": intent.next_action,
                      "confirmation_url": intent.sbp_url or intent.confirmation_url,
                      "client_secret": intent.client_secret}
            payment.action = {k: v for k, v in action.items() if v is not None}
        payment.status = status
        if status == "succeeded":
            payment.paid_at = self.work.now
            payment.action = None
            payment.failure_reason = None
            self.work.record("payment_succeeded", {**self._event_payload(payment),
                                                   "paid_at": self.work.now.isoformat()})
        elif status in ("failed", "canceled"):
            payment.failure_reason = reason or status
            self.work.record("payment_failed", {**self._event_payload(payment),
                                                "reason": payment.failure_reason})

    def apply_event(self, event: ProviderEvent) -> dict[str, Any]:
        """A verified webhook: applied once per event id, never moving a settled payment."""
        if self.db.get(ProviderEventSeen, event.event_id) is not None:
            return {"duplicate": True}
        self.db.add(ProviderEventSeen(event_id=event.event_id, received_at=self.work.now))
        payment = None
        if event.provider_ref:
            payment = self.db.scalar(select(Payment).where(
                Payment.provider_ref == event.provider_ref))
        if payment is None and event.metadata.get("payment_id"):
            payment = self.db.get(Payment, event.metadata["payment_id"])
        if payment is not None and event.status in FROM_PROVIDER:
            if payment.provider_ref is None:
                payment.provider_ref = event.provider_ref
            self._move(payment, FROM_PROVIDER[event.status], event.failure_reason)
            payment.receipt = receipts.with_status(payment.receipt, event.receipt_status)
        self.db.commit()
        return {"duplicate": False, "payment_id": payment.id if payment else None}

    def reconcile(self, older_than: timedelta) -> int:
        """Ask the provider about payments left open for too long (a lost webhook)."""
        cutoff = self.work.now - older_than
        # A failed payment stays open too: the customer may pay it with another card.
        stuck = list(self.db.scalars(select(Payment).where(
            Payment.status.in_(OPEN), Payment.updated_at < cutoff,
            Payment.created_at > self.work.now - RECONCILE_FOR,
            Payment.provider == self.provider.name)))
        for payment in stuck:
            try:
                intent = (self._start_at_provider(payment) if payment.provider_ref is None
                          else self.provider.retrieve(payment.provider_ref))
            except ProviderError:
                continue  # still unreachable: next time
            payment.updated_at = self.work.now
            self.apply_intent(payment, intent)
        return len(stuck)

    # ---- refunds -------------------------------------------------------------------------

    def refund(self, payment_id: object, amount: Decimal, reason: str, operator_id: str
               ) -> Payment:
        """An operator returns (part of) a succeeded payment to the card."""
        payment = self.db.get(Payment, payment_id) if isinstance(payment_id, str) else None
        if payment is None:
            raise NotFound("Платёж не найден", {"payment_id": "unknown"})
        if payment.status not in ("succeeded", "partially_refunded"):
            raise Conflict("Вернуть можно только проведённый платёж",
                           {"payment_id": f"status is {payment.status}"})
        if amount > payment.amount - payment.refunded:
            raise ValidationFailed("Сумма возврата больше остатка платежа",
                                   {"amount": f"at most {money(payment.amount - payment.refunded)}"})
        count = self.db.scalar(select(func.count()).where(Refund.payment_id == payment.id))
        receipt = receipts.for_refund(payment.receipt, amount) if payment.receipt else None
        if (receipt is not None and not receipt["customer"]
                and self.provider.receipt_contact_required):
            raise Conflict("Некуда отправить чек возврата: контакты плательщика удалены по его "
                           "запросу. Оформите возврат в личном кабинете ЮKassa",
                           {"payment_id": "no receipt contact"})
        result = self.provider.refund(payment.provider_ref or "", kopecks(amount),
                                      idempotency_key=f"refund-{payment.id}-{count + 1}",
                                      receipt=_sent(receipt))
        self.db.add(Refund(payment_id=payment.id, amount=amount, reason=reason,
                           operator_id=operator_id, provider_ref=result.refund_ref,
                           receipt=receipts.with_status(receipt, result.receipt_status),
                           created_at=self.work.now))
        payment.refunded = payment.refunded + amount
        payment.status = "refunded" if payment.refunded >= payment.amount else "partially_refunded"
        payment.updated_at = self.work.now
        self.work.record("payment_refunded", {**self._event_payload(payment),
                                              "refunded": money(amount), "reason": reason,
                                              "refunded_at": self.work.now.isoformat()})
        self.db.commit()
        return payment

    def refunds_of(self, payment: Payment) -> list[dict[str, Any]]:
        return [{"amount": money(r.amount), "reason": r.reason,
                 "created_at": r.created_at.isoformat(), "receipt": receipts.view(r.receipt)}
                for r in self.db.scalars(select(Refund).where(Refund.payment_id == payment.id)
                                         .order_by(Refund.id))]

    # ---- receipts ------------------------------------------------------------------------

    def refresh_receipts(self, payment: Payment) -> None:
        """Ask the provider about receipts still pending (the payment's, its refunds');
        commits. A provider that is away leaves them pending."""
        try:
            if payment.receipt and payment.receipt["status"] == "pending" \
                    and payment.status not in WAITING and payment.provider_ref:
                self.apply_intent(payment, self.provider.retrieve(payment.provider_ref))
            for refund in self.db.scalars(select(Refund).where(Refund.payment_id == payment.id)):
                if refund.receipt and refund.receipt["status"] == "pending" and refund.provider_ref:
                    seen = self.provider.retrieve_refund(refund.provider_ref)
                    if seen is not None:
                        refund.receipt = receipts.with_status(refund.receipt, seen.receipt_status)
        except ProviderError:
            pass
        self.db.commit()

    def last_contact(self, user_id: str) -> dict[str, str]:
        """The receipt contact of the user's latest payment (for an automatic payment)."""
        for receipt in self.db.scalars(select(Payment.receipt).where(
                Payment.user_id == user_id, Payment.receipt.is_not(None))
                .order_by(Payment.created_at.desc()).limit(20)):
            if receipt and receipt.get("customer"):
                return dict(receipt["customer"])
        return {}


def _sent(receipt: dict[str, Any] | None) -> dict[str, Any] | None:
    """A receipt as the provider is asked with it: without our own state of it (a retry must
    ask exactly the same, whatever the state became)."""
    return None if receipt is None else {k: v for k, v in receipt.items() if k != "status"}

