"""Tables of the documents service: the documents customers submit, the copy of who takes
bills by e-mail, and the bills already announced for delivery. Bill PDFs themselves are
files in the store under their content hash (a cache), not rows."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.consumers import ProcessedEventMixin
from shared.db import UTCDateTime
from shared.grants import AccountGrantMixin, GrantsLoadMixin
from shared.idempotency import IdempotencyKeyMixin
from shared.outbox import OutboxMixin


class DocumentsBase(DeclarativeBase):
    """The documents service's own metadata."""


class Document(DocumentsBase):
    """A scan or photo a customer submitted for an account, and where its review stands."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    number: Mapped[str] = mapped_column(String(20))
    branch: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)  # who submitted it
    doc_type: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str | None] = mapped_column(String(64))  # None once the file is erased
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # of a rejection
    tariff_category: Mapped[str | None] = mapped_column(String(24))  # set on acceptance
    reviewer_id: Mapped[str | None] = mapped_column(String(36))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaperlessSubscriber(DocumentsBase):
    """Who takes an account's bills by e-mail: a copy of accounts' paperless_consent_changed
    (the monthly batch forms their bills)."""

    __tablename__ = "paperless_subscribers"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    branch: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FormedBill(DocumentsBase):
    """A bill announced to a customer for delivery (bill_formed): the batch run again for
    the same month and the same data announces nothing twice."""

    __tablename__ = "formed_bills"
    __table_args__ = (UniqueConstraint("number", "branch", "period", "user_id", "content_hash",
                                       name="uq_formed_bill"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20))
    branch: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(7), index=True)
    user_id: Mapped[str] = mapped_column(String(36))
    content_hash: Mapped[str] = mapped_column(String(64))
    formed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Outbox(OutboxMixin, DocumentsBase):
    pass


class ProcessedEvent(ProcessedEventMixin, DocumentsBase):
    pass


class AccountGrant(AccountGrantMixin, DocumentsBase):
    """Who may act on which account: a copy of accounts' grants (shared/grants.py)."""


class AccountGrantsLoad(GrantsLoadMixin, DocumentsBase):
    pass


class IdempotencyKey(IdempotencyKeyMixin, DocumentsBase):
    """A creating request's Idempotency-Key and its first answer (shared.idempotency)."""
