"""Tables of the requests service."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.consumers import ProcessedEventMixin
from shared.db import UTCDateTime
from shared.grants import AccountGrantMixin, GrantsLoadMixin
from shared.idempotency import IdempotencyKeyMixin
from shared.outbox import OutboxMixin


class RequestsBase(DeclarativeBase):
    """The requests service's own metadata."""


class Work(RequestsBase):
    """A work of the catalogue (reference data: seeded from catalogue.json, edited by admins)."""

    __tablename__ = "works"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    needs_account: Mapped[bool] = mapped_column(default=True)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # ₽; None: set on site
    active: Mapped[bool] = mapped_column(default=True)  # inactive works cannot be ordered
    position: Mapped[int] = mapped_column(Integer, default=0)  # order in the list
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WorkRequest(RequestsBase):
    """A customer's order of a work, and where it is in its life."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    work_code: Mapped[str] = mapped_column(ForeignKey("works.code"), index=True)
    # As ordered: an admin may rename a work or change its price later.
    work_title: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    number: Mapped[str | None] = mapped_column(String(20))
    branch: Mapped[str] = mapped_column(String(32), index=True)
    address: Mapped[str | None] = mapped_column(String(500))
    contact_phone: Mapped[str] = mapped_column(String(16))
    preferred_time: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), index=True)
    assignee_id: Mapped[str | None] = mapped_column(String(36), index=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)  # of a rejection or cancellation
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    messages: Mapped[list[Message]] = relationship(
        back_populates="request", order_by="Message.id", cascade="all, delete-orphan")
    history: Mapped[list[StatusChange]] = relationship(
        order_by="StatusChange.id", cascade="all, delete-orphan")


class StatusChange(RequestsBase):
    """One step of a request's life, for the timeline the customer and the operator see."""

    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    old_status: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12))
    actor_role: Mapped[str] = mapped_column(String(10))  # customer | operator | system
    actor_id: Mapped[str | None] = mapped_column(String(36))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Message(RequestsBase):
    """A message of a request's conversation; ``read_at``: when the other side opened it."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    author_role: Mapped[str] = mapped_column(String(10))  # customer | operator
    author_id: Mapped[str] = mapped_column(String(36))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[WorkRequest] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(
        order_by="Attachment.position", cascade="all, delete-orphan")


class Attachment(RequestsBase):
    """A file attached to a message; the bytes are in the file store under ``storage_key``."""

    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(40))  # from the content, not the name
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(80))


class Staff(RequestsBase):
    """Operators and admins as auth announced them: whom a request may be assigned to."""

    __tablename__ = "staff"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))
    label: Mapped[str | None] = mapped_column(String(254))  # e-mail or phone, for the queue


class Outbox(OutboxMixin, RequestsBase):
    pass


class ProcessedEvent(ProcessedEventMixin, RequestsBase):
    pass


class AccountGrant(AccountGrantMixin, RequestsBase):
    """Who may act on which account: a copy of accounts' grants (shared/grants.py)."""


class AccountGrantsLoad(GrantsLoadMixin, RequestsBase):
    pass


class IdempotencyKey(IdempotencyKeyMixin, RequestsBase):
    """A creating request's Idempotency-Key and its first answer (shared.idempotency)."""
