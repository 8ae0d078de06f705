"""Tables of the payments service: the ledger (charges, payments, refunds), card payments
with their provider, saved cards and automatic payments, and the copies it keeps."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.consumers import ProcessedEventMixin
from shared.db import Money, UTCDateTime
from shared.grants import AccountGrantMixin, GrantsLoadMixin
from shared.idempotency import IdempotencyKeyMixin
from shared.outbox import OutboxMixin

PAYMENT_STATUSES = ("created", "requires_action", "pending", "succeeded", "failed",
                    "canceled", "refunded", "partially_refunded")
FINAL = ("succeeded", "failed", "canceled", "refunded", "partially_refunded")
ITEM_KINDS = ("electricity", "penalty")


class PaymentsBase(DeclarativeBase):
    """The payments service's own metadata."""


class LedgerAccount(PaymentsBase):
    """A personal account as the ledger knows it: billing names it by number and branch,
    the portal by its id (learnt from accounts when a customer first opens it)."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("number", "branch", name="uq_ledger_number_branch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20))
    branch: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    tariff_category: Mapped[str] = mapped_column(String(24), default="urban")


class Link(PaymentsBase):
    """Who may see which account (a copy of accounts' link events), for the views over all
    of a customer's accounts: the header balance and the full payment history."""

    __tablename__ = "links"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    branch: Mapped[str] = mapped_column(String(32))
    access: Mapped[str] = mapped_column(String(8))


class Charge(PaymentsBase):
    """An amount billed for a period, due by a date; from billing or the built-in accrual."""

    __tablename__ = "charges"
    __table_args__ = (UniqueConstraint("ledger_id", "period", "source",
                                       name="uq_charge_period_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ledger_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(Money)
    due_date: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(10))  # billing | accrual
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Payment(PaymentsBase):
    """One card payment, possibly over several accounts (its items); final only when the
    provider confirms it."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key",
                                       name="uq_payment_idempotency"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(Money)
    refunded: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    status: Mapped[str] = mapped_column(String(20), index=True)
    source: Mapped[str] = mapped_column(String(12))  # card | saved_card | autopay
    method: Mapped[str] = mapped_column(String(8), default="card", server_default="card")  # card | sbp
    provider: Mapped[str] = mapped_column(String(12))
    provider_ref: Mapped[str | None] = mapped_column(String(80), unique=True)
    action: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what the payer must do next
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    save_card: Mapped[bool] = mapped_column(default=False)
    # What the provider was asked with: a retry must ask the same (idempotency key)
    customer_ref: Mapped[str | None] = mapped_column(String(80))
    card_ref: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The 54-ФЗ receipt sent with it and its state (domain/receipts.py)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    items: Mapped[list["PaymentItem"]] = relationship(back_populates="payment",
                                                      cascade="all, delete-orphan",
                                                      order_by="PaymentItem.id")


class PaymentItem(PaymentsBase):
    """The part of a payment for one account: electricity (a named period or the oldest
    debt) or penalties."""

    __tablename__ = "payment_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    ledger_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    period: Mapped[str | None] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(Money)
    payment: Mapped[Payment] = relationship(back_populates="items")


class Refund(PaymentsBase):
    """Money returned by an operator (an overpayment, a double payment)."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(200))
    operator_id: Mapped[str] = mapped_column(String(36))
    provider_ref: Mapped[str | None] = mapped_column(String(80))
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # its 54-ФЗ receipt
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProviderEventSeen(PaymentsBase):
    """A provider's webhook event already applied (they may come twice or out of order)."""

    __tablename__ = "provider_events"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Customer(PaymentsBase):
    """The provider's customer record of a user, which holds their saved cards."""

    __tablename__ = "customers"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    provider: Mapped[str] = mapped_column(String(12), primary_key=True)
    customer_ref: Mapped[str] = mapped_column(String(80))


class AutoPay(PaymentsBase):
    """An automatic monthly payment of an account's bill with a saved card."""

    __tablename__ = "autopays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    ledger_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    card_ref: Mapped[str] = mapped_column(String(80))
    card_label: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AutoPayRun(PaymentsBase):
    """One automatic payment of one charge: the unique key is what stops a second run."""

    __tablename__ = "autopay_runs"

    charge_id: Mapped[int] = mapped_column(ForeignKey("charges.id"), primary_key=True)
    autopay_id: Mapped[int] = mapped_column(ForeignKey("autopays.id"))
    payment_id: Mapped[str | None] = mapped_column(String(36))
    skipped: Mapped[str | None] = mapped_column(String(60))
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MeterReading(PaymentsBase):
    """The latest reading per meter and period (from readings' events), for the accrual."""

    __tablename__ = "meter_readings"
    __table_args__ = (UniqueConstraint("ledger_id", "serial", "period",
                                       name="uq_meter_reading_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ledger_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    serial: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(7))
    values: Mapped[list[int]] = mapped_column(JSON)
    rolled_over: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SandboxIntent(PaymentsBase):
    """A provider's own records, shared by all workers: the sandbox's payments, cards and
    customers; ЮKassa's saved cards per customer (ЮKassa keeps no customers)."""

    __tablename__ = "sandbox_intents"

    ref: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class Outbox(OutboxMixin, PaymentsBase):
    pass


class ProcessedEvent(ProcessedEventMixin, PaymentsBase):
    pass


class AccountGrant(AccountGrantMixin, PaymentsBase):
    """Who may act on which account: a copy of accounts' grants (shared/grants.py)."""


class AccountGrantsLoad(GrantsLoadMixin, PaymentsBase):
    pass


class IdempotencyKey(IdempotencyKeyMixin, PaymentsBase):
    """A creating request's Idempotency-Key and its first answer (shared.idempotency)."""
